"""Tests for localize.media on seconds-long clips generated with ffmpeg's lavfi sources."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from localize import media
from localize.media import MediaError

FFMPEG = ("ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y")
SIZE = (160, 120)  # (W, H) of the small test clips
SINE_HZ = 1000


def ffmpeg_make(*args: str) -> None:
    """Run ffmpeg directly to make a fixture (the package only ever goes through media.py)."""
    subprocess.run([*FFMPEG, *args], check=True, capture_output=True)


def make_clip(
    path: Path,
    rate: str = "25",
    n_frames: int = 38,
    size: tuple[int, int] = SIZE,
    codec: str = "libx264",
    audio: bool = True,
) -> Path:
    """testsrc2 picture (+ 48 kHz stereo AAC sine of the same length) as an mp4."""
    seconds = float(n_frames / Fraction(rate))
    picture = f"testsrc2=size={size[0]}x{size[1]}:rate={rate},trim=end_frame={n_frames}"
    args = ["-f", "lavfi", "-i", picture]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
        args += ["-ac", "2", "-c:a", "aac"]
    args += ["-c:v", codec, "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if codec == "libx265":
        args += ["-x265-params", "log-level=error"]
    ffmpeg_make(*args, str(path))
    return path


def make_sine_wav(path: Path, seconds: float = 1.5, rate: int = 48000) -> Path:
    """16-bit stereo sine at SINE_HZ."""
    source = f"sine=frequency={SINE_HZ}:sample_rate={rate}:duration={seconds}"
    ffmpeg_make("-f", "lavfi", "-i", source, "-ac", "2", "-c:a", "pcm_s16le", str(path))
    return path


def make_noise_wav(path: Path, channels: int, subtype: str, n: int = 24000) -> Path:
    noise = np.random.default_rng(7).uniform(-0.8, 0.8, (n, channels)).astype(np.float32)
    sf.write(path, noise, 48000, subtype=subtype)
    return path


def child_ffmpegs() -> list[int]:
    """Pids of ffmpeg processes (running or zombie) whose parent is this test process."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue  # the process ended while we looked
        comm, _, rest = stat.rpartition(")")
        if stat and int(rest.split()[1]) == os.getpid() and comm.endswith("(ffmpeg"):
            found.append(int(entry.name))
    return found


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def clip(media_dir: Path) -> Path:
    """1.52 s, 38 frames at 25 fps, 160x120 H.264 + AAC."""
    return make_clip(media_dir / "clip.mp4")


@pytest.fixture(scope="module")
def portrait(media_dir: Path) -> tuple[Path, Path]:
    """(landscape clip, the same stream flagged to display rotated 90° clockwise)."""
    landscape = make_clip(media_dir / "landscape.mp4", n_frames=5, size=(1280, 720), audio=False)
    rotated = media_dir / "portrait.mp4"
    # ffmpeg 5.1 has no -display_rotation; its 'rotate' tag becomes a display matrix whose
    # angle is counter-clockwise, so rotate=270 is what a phone held upright writes (-90).
    ffmpeg_make("-i", str(landscape), "-metadata:s:v:0", "rotate=270", "-c", "copy", str(rotated))
    return landscape, rotated


@pytest.mark.parametrize(
    ("rate", "n_frames"), [("25", 38), ("30", 45), ("30000/1001", 45), ("24000/1001", 36)]
)
def test_probe_frame_rates(media_dir: Path, rate: str, n_frames: int) -> None:
    path = make_clip(media_dir / f"rate_{rate.replace('/', '_')}.mp4", rate, n_frames)
    info = media.probe(path)
    video = info.video
    assert video is not None
    assert video.frame_rate == Fraction(rate)
    assert isinstance(video.frame_rate, Fraction)
    assert (video.codec, video.width, video.height, video.rotation) == ("h264", 160, 120, 0)
    assert (video.display_width, video.display_height) == SIZE
    assert abs(video.n_frames - n_frames) <= 1
    assert not video.variable_rate
    assert video.pix_fmt == "yuv420p"
    assert info.frame_duration == pytest.approx(1 / float(Fraction(rate)))
    assert video.duration == pytest.approx(n_frames / float(Fraction(rate)), abs=0.01)
    assert "mp4" in info.format_name
    (audio,) = info.audio
    assert (audio.codec, audio.sample_rate, audio.channels) == ("aac", 48000, 2)
    assert audio.bits_per_sample == 0
    assert audio.duration == pytest.approx(video.duration, abs=0.03)


def test_probe_audio_only_wav(media_dir: Path) -> None:
    path = make_noise_wav(media_dir / "probe24.wav", 1, "PCM_24")
    info = media.probe(path)
    assert info.video is None
    assert info.frame_duration == 0.0
    (audio,) = info.audio
    assert (audio.codec, audio.sample_rate, audio.channels) == ("pcm_s24le", 48000, 1)
    assert audio.bits_per_sample == 24
    assert audio.duration == pytest.approx(0.5)


def test_variable_frame_rate(media_dir: Path) -> None:
    path = media_dir / "vfr.mp4"
    # Keep the first second whole, then every third frame: 30 + 10 frames over 1.93 s.
    keep = r"select='lt(n\,30)+not(mod(n\,3))'"
    ffmpeg_make(
        *("-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30:duration=2", "-vf", keep),
        *("-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", str(path)),
    )
    video = media.probe(path).video
    assert video is not None
    assert video.variable_rate
    assert video.frame_rate == 30
    assert video.n_frames == round(video.duration * 30)  # counted on the uniform grid
    assert sum(len(c) for c in media.iter_frames(path)) == video.n_frames


def test_hevc_probes_and_decodes(media_dir: Path) -> None:
    path = make_clip(media_dir / "hevc.mp4", n_frames=20, codec="libx265", audio=False)
    video = media.probe(path).video
    assert video is not None
    assert (video.codec, video.n_frames, video.frame_rate) == ("hevc", 20, 25)
    chunks = list(media.iter_frames(path, chunk=8))
    assert [c.shape for c in chunks] == [(8, 120, 160, 3), (8, 120, 160, 3), (4, 120, 160, 3)]


def test_rotated_portrait_clip(portrait: tuple[Path, Path]) -> None:
    landscape, rotated = portrait
    video = media.probe(rotated).video
    assert video is not None
    assert (video.width, video.height, video.rotation) == (1280, 720, 90)
    assert (video.display_width, video.display_height) == (720, 1280)
    (upright,) = list(media.iter_frames(rotated, chunk=8))
    assert upright.shape == (5, 1280, 720, 3)
    (flat,) = list(media.iter_frames(landscape, chunk=8))
    clockwise = np.rot90(flat, k=-1, axes=(1, 2))  # (F, W, H, 3) turned a quarter clockwise
    assert np.array_equal(upright, clockwise)


def test_read_audio_resamples_and_downmixes(media_dir: Path) -> None:
    path = make_sine_wav(media_dir / "sine48k.wav", seconds=1.5)
    mono = media.read_audio(path, sample_rate=16000)
    assert mono.dtype == np.float32
    assert mono.ndim == 1
    assert abs(len(mono) - 24000) <= 4
    spectrum = np.abs(np.fft.rfft(mono))
    peak_hz = np.argmax(spectrum) * 16000 / len(mono)
    assert abs(peak_hz - SINE_HZ) < 2
    assert np.max(np.abs(mono)) <= 1.0
    native = media.read_audio(path, channels=None)
    assert native.shape == (72000, 2)
    assert np.array_equal(native[:, 0], native[:, 1])
    # The mono mix is the mean of the channels, not ffmpeg's +3 dB sum.
    assert np.max(np.abs(media.read_audio(path))) == pytest.approx(np.max(np.abs(native)))


def test_read_audio_from_mp4_and_upmix(clip: Path) -> None:
    stereo = media.read_audio(clip, sample_rate=16000, channels=2)
    assert stereo.shape[1] == 2
    assert abs(len(stereo) / 16000 - 1.52) < 0.05  # AAC may add up to one frame of padding
    surround = make_noise_wav(clip.parent / "surround.wav", 6, "PCM_16", n=4800)
    stereo = media.read_audio(surround, channels=2)
    assert stereo.shape == (4800, 2)
    assert np.max(np.abs(stereo)) <= 1.0  # the downmix is normalised, not a +3 dB sum
    with pytest.raises(MediaError, match="no audio stream 1"):
        media.read_audio(clip, stream=1)


def test_write_audio_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    samples = rng.uniform(-1.0, 1.0, (4800, 2)).astype(np.float32)
    samples[0] = [1.0, -1.0]  # full scale must not clip
    path = tmp_path / "round.wav"
    media.write_audio(path, samples, 48000)
    back = media.read_audio(path, channels=None)
    assert back.shape == samples.shape
    assert np.max(np.abs(back - samples)) < 1e-6
    mono = tmp_path / "mono.wav"
    media.write_audio(mono, samples[:, 0], 22050, subtype="PCM_16")
    assert media.probe(mono).audio[0].codec == "pcm_s16le"
    assert np.max(np.abs(media.read_audio(mono) - samples[:, 0])) < 1 / 2**15 + 1e-7


def test_write_audio_refuses_clipping(tmp_path: Path) -> None:
    loud = np.array([0.5, 1.2, -0.3], np.float32)
    with pytest.raises(MediaError, match="would clip"):
        media.write_audio(tmp_path / "loud.wav", loud, 48000)
    with pytest.raises(MediaError, match="PCM_24"):
        media.write_audio(tmp_path / "bad.wav", loud * 0.1, 48000, subtype="VORBIS")
    assert not (tmp_path / "loud.wav").exists()


@pytest.mark.parametrize(
    ("channels", "subtype", "codec"), [(2, "PCM_16", "pcm_s16le"), (1, "PCM_24", "pcm_s24le")]
)
def test_copy_audio_lossless_is_bit_identical(
    tmp_path: Path, channels: int, subtype: str, codec: str
) -> None:
    src = make_noise_wav(tmp_path / "me.wav", channels, subtype)
    dst = tmp_path / "me_copy.wav"
    media.copy_audio_lossless(src, dst)
    (audio,) = media.probe(dst).audio
    assert (audio.codec, audio.channels, audio.sample_rate) == (codec, channels, 48000)
    assert media.audio_sample_hash(dst) == media.audio_sample_hash(src)
    data, rate = sf.read(src, dtype="int32")
    data[1000] += 1 << 16  # one sample, one 16-bit step
    changed = tmp_path / "changed.wav"
    sf.write(changed, data, rate, subtype=subtype)
    assert media.audio_sample_hash(changed) != media.audio_sample_hash(src)


def test_copy_audio_lossless_from_flac_and_aac(tmp_path: Path, clip: Path) -> None:
    flac = make_noise_wav(tmp_path / "me.flac", 2, "PCM_24")
    media.copy_audio_lossless(flac, tmp_path / "flac.wav")
    assert media.probe(tmp_path / "flac.wav").audio[0].codec == "pcm_s24le"
    assert media.audio_sample_hash(tmp_path / "flac.wav") == media.audio_sample_hash(flac)
    media.copy_audio_lossless(clip, tmp_path / "aac.wav")
    decoded = media.read_audio(clip, channels=None)
    copied, rate = sf.read(tmp_path / "aac.wav", dtype="float32")
    assert rate == 48000
    assert np.array_equal(copied, decoded)  # float samples stored as pcm_f32le, untouched


def test_audio_sample_hash_ignores_container_but_not_rate(tmp_path: Path) -> None:
    src = make_noise_wav(tmp_path / "a.wav", 1, "PCM_16")
    data, _ = sf.read(src, dtype="int16")
    sf.write(tmp_path / "b.wav", data, 44100, subtype="PCM_16")
    assert media.audio_sample_hash(tmp_path / "b.wav") != media.audio_sample_hash(src)
    with pytest.raises(MediaError, match="cannot read samples"):
        media.audio_sample_hash(Path(__file__))


def test_iter_frames_chunks_and_resize(clip: Path) -> None:
    info = media.probe(clip)
    assert info.video is not None
    chunks = list(media.iter_frames(clip, chunk=16))
    assert [len(c) for c in chunks] == [16, 16, 6]
    assert sum(len(c) for c in chunks) == info.video.n_frames
    assert all(c.dtype == np.uint8 and c.shape[1:] == (120, 160, 3) for c in chunks)
    assert chunks[0].flags.writeable
    small = list(media.iter_frames(clip, chunk=100, size=(80, 60)))
    assert [c.shape for c in small] == [(38, 60, 80, 3)]
    window = list(media.iter_frames(clip, start=0.4, duration=0.4))
    assert abs(sum(len(c) for c in window) - 10) <= 1


def test_iter_frames_early_close_reaps_ffmpeg(clip: Path) -> None:
    frames = media.iter_frames(clip, chunk=1)
    first = next(frames)
    assert first.shape == (1, 120, 160, 3)
    assert child_ffmpegs()  # the decoder is running
    frames.close()
    assert child_ffmpegs() == []  # killed and reaped: no zombie
    for _ in media.iter_frames(clip, chunk=4):
        break  # a for-loop break drops the generator; CPython closes it at once
    assert child_ffmpegs() == []


def test_iter_frames_reports_ffmpeg_failure(tmp_path: Path, clip: Path) -> None:
    doomed = tmp_path / "doomed.mp4"
    doomed.write_bytes(clip.read_bytes())
    frames = media.iter_frames(doomed)  # probes now, decodes on the first next()
    doomed.unlink()
    with pytest.raises(MediaError, match="cannot decode frames") as caught:
        next(frames)
    assert caught.value.stderr
    assert child_ffmpegs() == []


def test_frame_writer_encodes(tmp_path: Path) -> None:
    path = tmp_path / "written.mp4"
    ramp = np.linspace(0, 255, 160, dtype=np.uint8)
    frames = np.broadcast_to(ramp[None, None, :, None], (50, 120, 160, 3)).copy()  # (F, H, W, 3)
    frames[:, :, :, 1] = np.arange(50, dtype=np.uint8)[:, None, None] * 4
    with media.FrameWriter(path, 160, 120, Fraction(25), preset="ultrafast") as writer:
        writer.write(frames[:20])
        for frame in frames[20:]:
            writer.write(frame)
    info = media.probe(path)
    assert info.video is not None
    assert (info.video.codec, info.video.n_frames, info.video.frame_rate) == ("h264", 50, 25)
    assert info.duration == pytest.approx(2.0, abs=0.01)
    assert info.audio == ()
    decoded = np.concatenate(list(media.iter_frames(path)))
    assert decoded.shape == frames.shape
    assert np.mean(np.abs(decoded.astype(int) - frames)) < 4
    assert path.read_bytes()[4:8] == b"ftyp"
    assert b"moov" in path.read_bytes()[:4096]  # +faststart: the index comes first


def test_frame_writer_exception_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"
    frame = np.zeros((120, 160, 3), np.uint8)
    with (
        pytest.raises(RuntimeError, match="boom"),
        media.FrameWriter(path, 160, 120, Fraction(25), preset="ultrafast") as writer,
    ):
        writer.write(frame)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []
    assert child_ffmpegs() == []
    with (
        pytest.raises(ValueError, match="uint8"),
        media.FrameWriter(path, 160, 120, Fraction(25)) as writer,
    ):
        writer.write(frame.astype(np.float32))  # wrong dtype: refused, and the file removed
    assert list(tmp_path.iterdir()) == []


def test_frame_writer_reports_ffmpeg_failure(tmp_path: Path) -> None:
    path = tmp_path / "nocodec.mp4"
    frames = np.zeros((4, 120, 160, 3), np.uint8)
    with (
        pytest.raises(MediaError, match="cannot encode") as caught,
        media.FrameWriter(path, 160, 120, Fraction(25), codec="no_such_encoder") as writer,
    ):
        writer.write(frames)
    assert "no_such_encoder" in caught.value.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("audio_seconds", [3.0, 1.0])
def test_frame_writer_fits_audio_to_video(tmp_path: Path, audio_seconds: float) -> None:
    audio = make_sine_wav(tmp_path / "voice.wav", seconds=audio_seconds)
    path = tmp_path / "with_audio.mp4"
    frames = np.full((50, 120, 160, 3), 128, np.uint8)
    with media.FrameWriter(path, 160, 120, Fraction(25), preset="ultrafast", audio=audio) as w:
        w.write(frames)
    info = media.probe(path)
    assert info.video is not None
    assert info.video.n_frames == 50
    (track,) = info.audio
    assert track.codec == "aac"
    assert track.duration == pytest.approx(2.0, abs=0.03)  # one AAC frame is 21 ms
    assert sorted(p.name for p in tmp_path.iterdir()) == ["voice.wav", "with_audio.mp4"]


def test_encode_master(media_dir: Path, tmp_path: Path) -> None:
    source = make_clip(media_dir / "master_src.mp4", "30000/1001", 45)
    voice = make_sine_wav(tmp_path / "mix.wav", seconds=2.0)  # longer: trimmed to the picture
    calls: list[tuple[float, float]] = []
    dst = tmp_path / "master.mp4"
    media.encode_master(
        source, voice, dst, preset="ultrafast", progress=lambda d, t: calls.append((d, t))
    )
    src, out = media.probe(source), media.probe(dst)
    assert src.video is not None and out.video is not None
    assert out.video.codec == "h264" and out.video.pix_fmt == "yuv420p"
    assert out.video.frame_rate == Fraction(30000, 1001)
    assert out.video.n_frames == src.video.n_frames
    assert abs(out.duration - src.duration) <= src.frame_duration
    (track,) = out.audio
    assert track.codec == "aac"
    assert abs(track.duration - src.video.duration) < 0.03
    done = [d for d, _ in calls]
    assert calls and all(t == src.duration for _, t in calls)
    assert done == sorted(done) and len(set(done)) == len(done)
    assert done[-1] == pytest.approx(src.duration, abs=src.frame_duration)


def test_encode_master_applies_rotation(portrait: tuple[Path, Path], tmp_path: Path) -> None:
    _, rotated = portrait
    voice = make_sine_wav(tmp_path / "mix.wav", seconds=0.2)
    dst = tmp_path / "upright.mp4"
    media.encode_master(rotated, voice, dst, preset="ultrafast", audio_sample_rate=44100)
    out = media.probe(dst)
    assert out.video is not None
    assert (out.video.width, out.video.height, out.video.rotation) == (720, 1280, 0)
    assert out.audio[0].sample_rate == 44100
    copied = tmp_path / "copied.mp4"
    media.encode_master(rotated, voice, copied, video_codec="copy")
    kept = media.probe(copied).video
    assert kept is not None and (kept.rotation, kept.width) == (90, 1280)


def test_encode_master_failure_removes_output(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "master.mp4"
    with pytest.raises(MediaError, match="cannot encode") as caught:
        media.encode_master(clip, clip, dst, video_codec="no_such_encoder")
    assert caught.value.stderr
    assert not dst.exists()
    silent = make_clip(tmp_path / "silent.mp4", n_frames=5, audio=False)
    with pytest.raises(MediaError, match="no audio stream"):
        media.encode_master(clip, silent, dst)


def test_transcode_reference(clip: Path, tmp_path: Path) -> None:
    dst = tmp_path / "reference.mp4"
    media.transcode_reference(clip, dst, preset="ultrafast")
    info = media.probe(dst)
    assert info.video is not None and info.video.codec == "h264"
    assert info.video.n_frames == 38
    assert [a.codec for a in info.audio] == ["aac"]


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "clip.mp4"
    calls = [
        lambda: media.probe(missing),
        lambda: media.read_audio(missing),
        lambda: media.iter_frames(missing),
        lambda: media.audio_sample_hash(missing),
        lambda: media.copy_audio_lossless(missing, tmp_path / "x.wav"),
        lambda: media.encode_master(missing, missing, tmp_path / "x.mp4"),
    ]
    for call in calls:
        with pytest.raises(MediaError, match="no such file") as caught:
            call()
        assert str(missing) in str(caught.value)


def test_unreadable_file_carries_stderr(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("these are meeting notes, not a video\n")
    with pytest.raises(MediaError) as caught:
        media.probe(fake)
    assert str(fake) in str(caught.value)
    assert "Invalid data" in caught.value.stderr
    with pytest.raises(MediaError):
        media.read_audio(fake)
