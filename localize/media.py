"""The one module that runs ffmpeg/ffprobe: probe, read/write audio, stream frames, encode, mux."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any, cast

import ffmpeg
import numpy as np
import soundfile as sf

from localize.errors import MediaError

StrPath = str | os.PathLike[str]

QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")  # errors only; never read the tty
# A stream is variable-rate when a uniform r_frame_rate grid would misplace its last frame by
# more than a frame (the extra half frame absorbs rounding of the last frame's duration).
VFR_DRIFT_FRAMES = 1.5
MAX_NOMINAL_RATE = 240  # a higher r_frame_rate is a timebase artefact, not a camera rate
HASH_BLOCK = 1 << 16  # samples per block when hashing, so a long stem never sits in memory
# Decoded sample format (planar ones end in "p") -> the WAV codec that stores it unchanged.
PCM_CODECS = {"u8": "pcm_u8", "s16": "pcm_s16le", "flt": "pcm_f32le", "dbl": "pcm_f64le"}


@dataclass(frozen=True)
class Overlay:
    """Raw RGBA frames composited over the picture at a fixed position, one per source frame."""

    path: Path  # n_frames * W * H * 4 bytes, frames in order
    size: tuple[int, int]  # (W, H) of each frame
    x: int  # top-left corner in display pixels
    y: int
    start: float  # seconds in the clip of the first image
    n_frames: int
    frame_rate: Fraction  # one image per source frame


@dataclass(frozen=True)
class VideoStream:
    """The first video stream of a file; sizes in pixels, durations in seconds."""

    index: int  # ffprobe stream index within the file
    codec: str  # ffprobe codec_name, e.g. "h264", "hevc"
    width: int  # coded width, before rotation
    height: int  # coded height, before rotation
    rotation: int  # degrees clockwise to turn the coded picture for display: 0/90/180/270
    display_width: int  # width after rotation: what decoding (autorotate) yields
    display_height: int  # height after rotation
    frame_rate: Fraction  # exact nominal rate, e.g. Fraction(30000, 1001)
    variable_rate: bool  # timestamps stray from the uniform frame_rate grid (VFR source)
    n_frames: int  # frames on the frame_rate grid: nb_frames for CFR, duration * rate for VFR
    pix_fmt: str  # e.g. "yuv420p"
    duration: float


@dataclass(frozen=True)
class AudioStream:
    """One audio stream of a file; rate in Hz, duration in seconds."""

    index: int  # ffprobe stream index within the file
    codec: str  # ffprobe codec_name, e.g. "aac", "pcm_s24le"
    sample_rate: int
    channels: int
    duration: float
    sample_fmt: str  # decoded sample format, e.g. "s16", "s32", "fltp"
    bits_per_sample: int  # significant bits per decoded sample; 0 when not applicable (lossy)


@dataclass(frozen=True)
class MediaInfo:
    """What ffprobe says about a file."""

    path: Path
    duration: float  # container duration in seconds
    format_name: str  # ffprobe format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    video: VideoStream | None  # first video stream (cover art excluded); None for audio files
    audio: tuple[AudioStream, ...]  # every audio stream, in file order

    @property
    def frame_duration(self) -> float:
        """Seconds per video frame; 0.0 without video."""
        return 1.0 / float(self.video.frame_rate) if self.video else 0.0


def probe(path: StrPath) -> MediaInfo:
    """Probe a media file with ffprobe."""
    path = _require_file(path)
    try:
        data = ffmpeg.probe(str(path), v="error")
    except ffmpeg.Error as exc:
        raise MediaError(f"cannot probe {path}", exc.stderr.decode(errors="replace")) from exc
    except FileNotFoundError as exc:
        raise MediaError("ffprobe is not installed (looked on PATH)") from exc
    fmt, streams = data.get("format", {}), data.get("streams", [])
    duration = float(fmt.get("duration") or 0)
    pictures = [s for s in streams if not s.get("disposition", {}).get("attached_pic")]
    videos = [s for s in pictures if s.get("codec_type") == "video"]
    return MediaInfo(
        path=path,
        duration=duration,
        format_name=str(fmt.get("format_name", "")),
        video=_video_stream(videos[0], duration) if videos else None,
        audio=tuple(_audio_stream(s, duration) for s in streams if s.get("codec_type") == "audio"),
    )


def read_audio(
    path: StrPath, sample_rate: int | None = None, channels: int | None = 1, stream: int = 0
) -> np.ndarray:
    """Decode audio stream `stream` (counting audio streams only) to float32 in [-1, 1].

    Returns (N,) when channels == 1, else (N, C); None keeps the native rate / channel count.
    Mono is the mean of the channels and a mono source is copied to every channel; other changes
    use ffmpeg's downmix, normalised to stay in [-1, 1]. Resampling may overshoot very slightly.
    """
    info = probe(path)
    if not 0 <= stream < len(info.audio):
        raise MediaError(f"{info.path}: no audio stream {stream} (it has {len(info.audio)})")
    native = info.audio[stream]
    n_out = channels or native.channels
    numpy_remix = n_out == 1 or native.channels == 1
    n_decoded = native.channels if numpy_remix else n_out
    out: dict[str, Any] = {"format": "f32le", "acodec": "pcm_f32le", "ac": n_decoded}
    out["ar"] = sample_rate or native.sample_rate
    if not numpy_remix:
        out["af"] = "aresample=rematrix_maxval=1"  # without it a downmix can exceed [-1, 1]
    node = ffmpeg.input(str(info.path))[f"a:{stream}"].output("pipe:", **out)
    raw = _run(node.global_args(*QUIET).compile(), info.path, "cannot decode audio from")
    samples = np.frombuffer(raw, np.float32).reshape(-1, n_decoded)  # (N, C)
    if n_out == n_decoded:
        samples = samples.copy()  # writable, unlike a view of the bytes
    elif n_out == 1:
        samples = samples.mean(axis=1, dtype=np.float32, keepdims=True)
    else:
        samples = np.repeat(samples, n_out, axis=1)  # mono to every channel
    return samples[:, 0] if channels == 1 else samples


def write_audio(
    path: StrPath, samples: np.ndarray, sample_rate: int, subtype: str = "PCM_24"
) -> None:
    """Write (N,) or (N, C) float samples in [-1, 1] at `sample_rate` Hz to a WAV file."""
    path = Path(path)
    data = np.asarray(samples, dtype=np.float32)
    if data.ndim not in (1, 2):
        raise ValueError(f"{path}: samples must be (N,) or (N, C), got shape {data.shape}")
    if not sf.check_format("WAV", subtype):
        allowed = ", ".join(sorted(sf.available_subtypes("WAV")))
        raise MediaError(f"{path}: WAV cannot store subtype {subtype!r}; use one of {allowed}")
    peak = float(np.max(np.abs(data))) if data.size else 0.0
    if not peak <= 1.0:  # also catches NaN
        raise MediaError(f"{path}: samples peak at {peak:.6g}, outside [-1, 1]: would clip")
    try:
        sf.write(str(path), data, sample_rate, subtype=subtype, format="WAV")
    except (RuntimeError, OSError) as exc:
        raise MediaError(f"cannot write {path}", str(exc)) from exc


def copy_audio_lossless(src: StrPath, dst: StrPath) -> None:
    """Write the first audio stream of `src` to the WAV `dst` with exactly its decoded samples.

    Same rate, channel count and bit depth; no resampling, dithering or remixing, so a PCM source
    and its copy have the same `audio_sample_hash`.
    """
    info = probe(src)
    if not info.audio:
        raise MediaError(f"{info.path}: no audio stream to copy")
    codec = _lossless_pcm_codec(info.audio[0], info.path)
    if info.format_name == "wav" and len(info.audio) == 1 and info.audio[0].codec == codec:
        # Already a plain PCM WAV: the file itself is delivered, byte for byte.
        shutil.copyfile(info.path, dst)
        return
    # bitexact leaves out the encoder tag, so equal samples also give equal file bytes.
    node = ffmpeg.input(str(info.path))["a:0"].output(
        str(dst), acodec=codec, format="wav", rf64="auto", fflags="+bitexact", map_metadata=-1
    )
    _run(node.overwrite_output().global_args(*QUIET).compile(), info.path, "cannot copy audio of")


def audio_sample_hash(path: StrPath) -> str:
    """sha256 hex of the decoded samples plus sample rate and channel count.

    PCM is read as int32 (native bits, left-aligned), FLOAT as float32, DOUBLE as float64, so two
    files hash equal exactly when they hold the same samples, whatever their headers say.
    """
    path = _require_file(path)
    digest = hashlib.sha256()
    try:
        info = sf.info(str(path))
        dtype = "int32" if info.subtype.startswith("PCM") else "float32"
        dtype = "float64" if info.subtype == "DOUBLE" else dtype
        for block in sf.blocks(str(path), blocksize=HASH_BLOCK, dtype=dtype, always_2d=True):
            digest.update(np.ascontiguousarray(block).tobytes())  # (n, C)
    except (RuntimeError, OSError) as exc:
        raise MediaError(f"cannot read samples of {path}", str(exc)) from exc
    digest.update(f"|{info.samplerate}|{info.channels}".encode())
    return digest.hexdigest()


def iter_frames(
    path: StrPath,
    chunk: int = 32,
    size: tuple[int, int] | None = None,
    start: float = 0.0,
    duration: float | None = None,
) -> Generator[np.ndarray, None, None]:
    """Stream decoded RGB frames as uint8 arrays (F, H, W, 3), F <= chunk.

    Frames are in display orientation (rotation applied) and, for a VFR source, resampled to the
    uniform `frame_rate` grid. `size=(W, H)` resizes; `start`/`duration` are in seconds.
    Closing the iterator early stops ffmpeg.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    info = probe(path)
    video = info.video
    if video is None:
        raise MediaError(f"{info.path}: no video stream")
    width, height = size or (video.display_width, video.display_height)
    filters = [f"fps={video.frame_rate}"] if video.variable_rate else []
    filters += [f"scale={width}:{height}"] if size else []
    src: dict[str, Any] = {"ss": start} if start > 0 else {}
    src |= {"t": duration} if duration is not None else {}
    out: dict[str, Any] = {"format": "rawvideo", "pix_fmt": "rgb24"}
    out |= {"vf": ",".join(filters)} if filters else {}
    node = ffmpeg.input(str(info.path), **src)["v:0"].output("pipe:", **out)
    return _frame_chunks(node.global_args(*QUIET).compile(), info.path, (height, width, 3), chunk)


class FrameWriter:
    """Encode RGB frames piped from Python into an mp4 (+faststart), optionally with AAC audio.

    Use as a context manager; an exception inside the block kills ffmpeg and removes the file.
    With `audio`, the audio is padded or trimmed to the video's length (video length wins).
    """

    def __init__(
        self,
        path: StrPath,
        width: int,
        height: int,
        frame_rate: Fraction,
        crf: int = 18,
        preset: str = "medium",
        pix_fmt: str = "yuv420p",
        codec: str = "libx264",
        audio: Path | None = None,
        audio_bitrate: str = "192k",
    ) -> None:
        self.path = Path(path)
        self.width, self.height, self.frame_rate = width, height, Fraction(frame_rate)
        self.audio = _require_file(audio) if audio is not None else None
        self.audio_bitrate = audio_bitrate
        self.n_frames = 0
        # With audio, the picture goes to a hidden sibling and is muxed on close: only then is
        # the video length known that the audio must be fitted to.
        self._video_path = self.path.with_name(f".{self.path.name}.video.mp4")
        self._video_path = self.path if self.audio is None else self._video_path
        src = {"format": "rawvideo", "pix_fmt": "rgb24", "s": f"{width}x{height}"}
        out = {"vcodec": codec, "crf": crf, "preset": preset, "pix_fmt": pix_fmt, **_tag(codec)}
        node = ffmpeg.input("pipe:", framerate=str(self.frame_rate), **src)
        node = node.output(str(self._video_path), movflags="+faststart", **out)
        self._log: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as ffmpeg)
        self._proc: subprocess.Popen[bytes] | None = _spawn(
            node.overwrite_output().global_args(*QUIET).compile(),
            stdin=subprocess.PIPE,
            stderr=self._log,
        )

    def write(self, frames: np.ndarray) -> None:
        """Append uint8 RGB frames (F, H, W, 3), or a single frame (H, W, 3)."""
        batch = np.asarray(frames)
        batch = batch[None] if batch.ndim == 3 else batch  # (F, H, W, 3)
        if batch.dtype != np.uint8 or batch.shape[1:] != (self.height, self.width, 3):
            raise ValueError(
                f"{self.path}: frames must be uint8 (F, {self.height}, {self.width}, 3), "
                f"got {batch.dtype} {batch.shape}"
            )
        if self._proc is None or self._proc.stdin is None:
            raise MediaError(f"{self.path}: the writer is already closed")
        try:
            self._proc.stdin.write(np.ascontiguousarray(batch).data.cast("B"))
        except BrokenPipeError as exc:
            raise self._fail() from exc
        self.n_frames += len(batch)

    def close(self) -> None:
        """Finish the encode (and mux the audio); a second call does nothing."""
        if self._proc is None:
            return
        with contextlib.suppress(BrokenPipeError):  # ffmpeg already quit; wait() says why
            cast(IO[bytes], self._proc.stdin).close()
        if self._proc.wait() != 0:
            raise self._fail()
        self._proc = None
        self._log.close()
        if self.audio is not None:
            try:
                encode_master(
                    self._video_path,
                    self.audio,
                    self.path,
                    video_codec="copy",
                    audio_bitrate=self.audio_bitrate,
                )
            finally:
                self._video_path.unlink(missing_ok=True)

    def abort(self) -> None:
        """Stop ffmpeg and remove whatever was written."""
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None
            self._log.close()
        self._video_path.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _fail(self) -> MediaError:
        """Collect ffmpeg's complaint, clean up, and return the error to raise."""
        _stop(cast(subprocess.Popen[bytes], self._proc))
        stderr = _read_log(self._log)
        self.abort()
        return MediaError(f"cannot encode {self.path}", stderr)


def encode_master(
    video_src: StrPath,
    audio_src: StrPath,
    dst: StrPath,
    *,
    crf: int = 18,
    preset: str = "medium",
    video_codec: str = "libx264",
    audio_bitrate: str = "192k",
    audio_sample_rate: int | None = None,
    overlays: Sequence[Overlay] = (),
    progress: Callable[[float, float], None] | None = None,
) -> None:
    """Encode the master mp4 in one pass: `video_src`'s picture, `audio_src`'s audio as AAC.

    `overlays` are composited inside the same ffmpeg process (decode, overlay, encode): each
    image sequence is placed at its start time and position; where its alpha is 0, or outside
    its frames, the source picture passes through.

    The picture is re-encoded as yuv420p at the source frame rate (constant) and display size,
    rotation applied; video_codec="copy" copies it (and its rotation flag) instead. The audio is
    padded/trimmed to the video's duration; other streams are dropped.
    progress(seconds_done, seconds_total) follows ffmpeg's progress; total = source duration.
    """
    info, sound = probe(video_src), probe(audio_src)
    if info.video is None:
        raise MediaError(f"{info.path}: no video stream")
    if not sound.audio:
        raise MediaError(f"{sound.path}: no audio stream")
    video = info.video
    if overlays and video_codec == "copy":
        raise MediaError(f"{info.path}: a copied picture stream cannot take mouth overlays")
    seconds = float(video.n_frames / video.frame_rate)
    out: dict[str, Any] = {"c:v": video_codec, "c:a": "aac", "b:a": audio_bitrate}
    out |= {"af": _fit_audio_filter(seconds), "movflags": "+faststart"}
    if video_codec != "copy":
        out |= {"crf": crf, "preset": preset, "pix_fmt": "yuv420p", **_tag(video_codec)}
        out |= {"r": str(video.frame_rate), "fps_mode": "cfr"}
    out |= {"ar": audio_sample_rate} if audio_sample_rate else {}
    picture = ffmpeg.input(str(info.path))["v:0"]
    if overlays:  # overlay times count from the first frame, whatever the source's start time
        picture = picture.filter("setpts", "PTS-STARTPTS")
    for item in overlays:
        patch = ffmpeg.input(
            str(item.path),
            f="rawvideo",
            pix_fmt="rgba",
            s=f"{item.size[0]}x{item.size[1]}",
            framerate=str(item.frame_rate),
        )["v:0"].filter("setpts", f"PTS-STARTPTS+{item.start:.6f}/TB")
        picture = ffmpeg.overlay(picture, patch, x=item.x, y=item.y, eof_action="pass")
    if video_codec != "copy" and (video.display_width % 2 or video.display_height % 2):
        picture = picture.filter("crop", "trunc(iw/2)*2", "trunc(ih/2)*2")  # 4:2:0: even sizes
    node = ffmpeg.output(picture, ffmpeg.input(str(sound.path))["a:0"], str(dst), **out)
    args = node.overwrite_output().global_args(*QUIET, "-progress", "pipe:1", "-nostats").compile()
    _run_with_progress(args, Path(dst), info.duration, progress)


def transcode_reference(
    src: StrPath, dst: StrPath, *, crf: int = 18, preset: str = "medium"
) -> None:
    """Plain ffmpeg H.264 + AAC transcode of `src`: the speed floor a render is measured against."""
    info = probe(src)
    if info.video is None:
        raise MediaError(f"{info.path}: no video stream")
    source = ffmpeg.input(str(info.path))
    streams = [source["v:0"], *([source["a:0"]] if info.audio else [])]
    out = {"vcodec": "libx264", "crf": crf, "preset": preset, "pix_fmt": "yuv420p"}
    node = ffmpeg.output(*streams, str(dst), acodec="aac", movflags="+faststart", **out)
    _run(node.overwrite_output().global_args(*QUIET).compile(), info.path, "cannot transcode")


def _run(args: list[str], path: StrPath, what: str) -> bytes:
    """Run ffmpeg/ffprobe to completion; stdout on success, MediaError(f"{what} {path}") if not."""
    with _process(args, path, what, stdout=subprocess.PIPE) as proc:
        return cast(IO[bytes], proc.stdout).read()


@contextlib.contextmanager
def _process(
    args: list[str], path: StrPath, what: str, **pipes: Any
) -> Generator[subprocess.Popen[bytes], None, None]:
    """Run ffmpeg for the with-block, its stderr in a temporary file (a pipe could fill up).

    Leaving the block normally waits for ffmpeg and raises MediaError(f"{what} {path}") if it
    failed; leaving by an exception (or a generator's close) kills it. Either way it is reaped.
    """
    with tempfile.TemporaryFile() as log:
        proc = _spawn(args, stderr=log, **pipes)
        try:
            yield proc
            failed = proc.wait() != 0
        finally:
            _stop(proc)
        if failed:
            raise MediaError(f"{what} {path}", _read_log(log))


def _spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(args, **kwargs)
    except FileNotFoundError as exc:
        raise MediaError(f"{args[0]} is not installed (looked on PATH)") from exc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill `proc` if it still runs and reap it, so no zombie is left behind."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(BrokenPipeError):  # unflushed input; the reader is gone
                pipe.close()


def _frame_chunks(
    args: list[str], path: Path, shape: tuple[int, int, int], chunk: int
) -> Generator[np.ndarray, None, None]:
    """Yield (F, H, W, 3) uint8 chunks of rawvideo from ffmpeg, started on the first next()."""
    frame_bytes = shape[0] * shape[1] * shape[2]
    with _process(args, path, "cannot decode frames from", stdout=subprocess.PIPE) as proc:
        stdout = cast(io.BufferedReader, proc.stdout)
        filled = chunk * frame_bytes
        while filled == chunk * frame_bytes:
            frames = np.empty((chunk, *shape), np.uint8)  # (F, H, W, 3)
            filled = stdout.readinto(frames.data.cast("B"))  # loops until full or EOF
            if filled >= frame_bytes:
                yield frames[: filled // frame_bytes]


def _run_with_progress(
    args: list[str], dst: Path, total: float, progress: Callable[[float, float], None] | None
) -> None:
    """Run an encode that prints `-progress` key=value lines; remove `dst` if it fails."""
    reported = 0.0
    try:
        with _process(args, dst, "cannot encode", stdout=subprocess.PIPE) as proc:
            for line in cast(IO[bytes], proc.stdout):
                key, _, value = line.decode(errors="replace").strip().partition("=")
                # out_time_ms is in microseconds too (an ffmpeg misnomer kept for compatibility).
                if key in ("out_time_us", "out_time_ms") and value.isdigit():
                    done = min(int(value) / 1e6, total)
                elif key == "progress" and value == "end":
                    done = total
                else:
                    continue
                if progress is not None and done > reported:
                    progress(done, total)
                    reported = done
    except BaseException:
        dst.unlink(missing_ok=True)
        raise


def _fit_audio_filter(seconds: float) -> str:
    """Audio filter that pads with silence or trims to exactly `seconds`."""
    return f"apad=whole_dur={seconds:.6f},atrim=duration={seconds:.6f}"


def _tag(codec: str) -> dict[str, str]:
    # hvc1 (not ffmpeg's default hev1) is the HEVC sample entry Apple players accept in mp4.
    return {"tag:v": "hvc1"} if codec in ("libx265", "hevc") else {}


def _video_stream(s: dict[str, Any], fallback_duration: float) -> VideoStream:
    duration = float(s.get("duration") or 0) or fallback_duration
    nominal, average = _fraction(s.get("r_frame_rate")), _fraction(s.get("avg_frame_rate"))
    if nominal is None or (average is not None and nominal > MAX_NOMINAL_RATE):
        nominal = average
    rate = nominal or Fraction(25)  # only still images lack both rates; any rate will do
    variable = abs(float(rate - (average or rate))) * duration > VFR_DRIFT_FRAMES
    counted = int(nb) if (nb := str(s.get("nb_frames", ""))).isdigit() else 0
    width, height, rotation = int(s.get("width", 0)), int(s.get("height", 0)), _rotation(s)
    turned = rotation in (90, 270)
    return VideoStream(
        index=int(s["index"]),
        codec=str(s.get("codec_name", "")),
        width=width,
        height=height,
        rotation=rotation,
        display_width=height if turned else width,
        display_height=width if turned else height,
        frame_rate=rate,
        variable_rate=variable,
        n_frames=counted if counted and not variable else round(duration * rate),
        pix_fmt=str(s.get("pix_fmt", "")),
        duration=duration,
    )


def _audio_stream(s: dict[str, Any], fallback_duration: float) -> AudioStream:
    raw_bits = str(s.get("bits_per_raw_sample", ""))  # 24 for 24-bit PCM/FLAC decoded to s32
    bits = int(raw_bits) if raw_bits.isdigit() else int(s.get("bits_per_sample") or 0)
    return AudioStream(
        index=int(s["index"]),
        codec=str(s.get("codec_name", "")),
        sample_rate=int(s.get("sample_rate") or 0),
        channels=int(s.get("channels") or 0),
        duration=float(s.get("duration") or 0) or fallback_duration,
        sample_fmt=str(s.get("sample_fmt", "")),
        bits_per_sample=bits,
    )


def _rotation(s: dict[str, Any]) -> int:
    """Clockwise display rotation in {0, 90, 180, 270}.

    The display-matrix angle ffprobe reports ('rotation' in side_data_list) is counter-clockwise,
    so an upright phone clip says -90; the legacy 'rotate' tag counts clockwise (90). Both are
    normalised to clockwise degrees here: 90 for that phone clip.
    """
    for side in s.get("side_data_list", []):
        if "rotation" in side:
            return round(-float(side["rotation"]) / 90) % 4 * 90
    tag = s.get("tags", {}).get("rotate")
    return round(float(tag) / 90) % 4 * 90 if tag else 0


def _lossless_pcm_codec(stream: AudioStream, path: Path) -> str:
    fmt = stream.sample_fmt.removesuffix("p")  # planar and packed hold the same samples
    if fmt == "s32":
        return "pcm_s24le" if stream.bits_per_sample == 24 else "pcm_s32le"
    if fmt not in PCM_CODECS:
        allowed = ", ".join([*PCM_CODECS, "s32"])
        raise MediaError(f"{path}: cannot store {stream.sample_fmt!r} samples in WAV ({allowed})")
    return PCM_CODECS[fmt]


def _require_file(path: StrPath) -> Path:
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: no such file")
    return path


def _fraction(text: Any) -> Fraction | None:
    """'30000/1001' -> Fraction(30000, 1001); None for missing, zero or malformed rates."""
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _read_log(log: IO[bytes]) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")


def frame_times(path: StrPath) -> np.ndarray:
    """(F,) float64 presentation time in seconds of every decoded frame of the first video stream.

    Unlike `iter_frames`, which puts a VFR source on its nominal grid, these are the source's own
    timestamps (best effort: the pts, else the decoder's estimate), in presentation order.
    """
    path = _require_file(path)
    args = ["ffprobe", "-v", "error", "-select_streams", "v:0"]
    args += ["-show_entries", "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)]
    out = _run(args, path, "cannot read frame times of").decode(errors="replace")
    # Side data can add blank lines or trailing commas; frames without a time say N/A.
    fields = (line.strip().strip(",") for line in out.splitlines())
    times = [float(f) for f in fields if f and f != "N/A"]
    if not times:
        raise MediaError(f"{path}: no video frames")
    return np.sort(np.array(times, np.float64))
