"""Audio-visual offset figures: mouth appearance vs speech on real clips, as is and shifted.

Run from the repository root: `python -m bench.eval_av_offset`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize import media
from localize.av_metrics import (
    av_offset,
    av_offset_from_crops,
    mouth_motion,
    resample_uniform,
    speech_envelope,
)
from localize.face_align import mouth_crop, mouth_mask
from localize.faces import track_faces

CROP_SIZE = 96
SHIFTS_MS = (80.0, -80.0, 160.0, -160.0)
ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "media"
CLIPS = (  # (name, video, speech audio or None for the video's own track)
    ("face1", SHARED / "video" / "videoretalking_face1.mp4", None),
    ("face4", SHARED / "video" / "videoretalking_face4.mp4", None),
    (
        "brightwell",
        ROOT / "samples" / "media" / "brightwell.mp4",
        ROOT / "samples" / "media" / "dialogue.wav",
    ),
)


@dataclass(frozen=True)
class Clip:
    """Mouth crops of the main face at their real presentation times, and the speech."""

    crops: np.ndarray  # (F, S, S, 3) uint8, one per distinct source frame
    times: np.ndarray  # (F,) float64 seconds, presentation times of those frames
    audio: np.ndarray  # (N,) float32 mono speech
    sample_rate: int
    frame_rate: float  # nominal rate: the grid the offset is measured on


def load_clip(video: Path, speech: Path | None) -> Clip:
    """Track the longest face and crop its mouth on every distinct source frame.

    `iter_frames` puts a VFR source on the nominal grid by repeating frames, so a grid frame
    that equals its predecessor byte for byte is a repeat, and the remaining ones are the source
    frames in order: they take the source's real timestamps.
    """
    info = media.probe(video)
    assert info.video is not None
    tracks = track_faces(video)
    main = max(tracks.tracks, key=lambda t: len(t.frames))
    rows = {int(f): i for i, f in enumerate(main.frames)}
    pts = media.frame_times(video)
    crops, times, previous, source = [], [], None, -1
    index = 0
    for chunk in media.iter_frames(video):
        for frame in chunk:  # (H, W, 3)
            repeat = previous is not None and np.array_equal(frame, previous)
            source += 0 if repeat and info.video.variable_rate else 1
            previous = frame
            i = rows.get(index)
            index += 1
            if (repeat and info.video.variable_rate) or i is None or source >= len(pts):
                continue
            crops.append(mouth_crop(frame, main.landmarks[i], CROP_SIZE)[0])
            times.append(pts[source])
    sample_rate = (
        info.audio[0].sample_rate if speech is None else media.probe(speech).audio[0].sample_rate
    )
    audio = media.read_audio(speech or video)
    return Clip(np.stack(crops), np.array(times), audio, sample_rate, float(info.video.frame_rate))


def shifted(audio: np.ndarray, sample_rate: int, shift_ms: float) -> np.ndarray:
    """Audio delayed by `shift_ms` (advanced when negative), zero-padded, same length."""
    n = round(shift_ms * sample_rate / 1000)
    out = np.zeros_like(audio)
    if n >= 0:
        out[n:] = audio[: len(audio) - n]
    else:
        out[:n] = audio[-n:]
    return out


def measure(clip: Clip, audio: np.ndarray) -> float:
    """Offset in ms of `audio` against the mouth appearance in the clip's crops."""
    mask = mouth_mask(CROP_SIZE)
    return av_offset_from_crops(
        clip.crops, mask, audio, clip.sample_rate, clip.times, clip.frame_rate
    ).offset_ms


def motion_offset(clip: Clip) -> float:
    """The clip's as-is offset by the older motion-vs-envelope `av_offset`, for comparison."""
    motion = mouth_motion(clip.crops, mouth_mask(CROP_SIZE), clip.times)
    grid, motion_grid = resample_uniform(clip.times, motion, clip.frame_rate)
    envelope = speech_envelope(clip.audio, clip.sample_rate, grid)
    return av_offset(motion_grid, envelope, clip.frame_rate).offset_ms


def evaluate(name: str, clip: Clip) -> list[float]:
    base = measure(clip, clip.audio)
    cells = [f"{name:<11}{len(clip.times):>5}{base:>+9.1f}"]
    errors = [base]
    for shift in SHIFTS_MS:
        got = measure(clip, shifted(clip.audio, clip.sample_rate, shift))
        errors.append(got - shift)
        cells.append(f"{got:>+9.1f}{got - shift:>+7.1f}")
    # How well a shift is followed, whatever the clip's own reading: the bias-free part.
    cells.append(f"{max(abs(e - base) for e in errors[1:]):>7.1f}")
    cells.append(f"{motion_offset(clip):>+9.1f}")
    print("".join(cells))
    return errors


def main() -> None:
    if not SHARED.is_dir():
        print("skipped: no evaluation media")
        return
    head = f"{'clip':<11}{'F':>5}{'as-is':>9}"
    head += "".join(f"{f'{s:+.0f}ms':>9}{'err':>7}" for s in SHIFTS_MS)
    head += f"{'track':>7}{'motion':>9}"
    print("av_offset_from_crops; offset_ms > 0: audio late. err = recovered - applied shift")
    print("(as-is: vs 0); track = max |recovered - as-is - shift| over the four shifts;")
    print("motion = as-is by the older motion-vs-envelope av_offset")
    print(head)
    worst = 0.0
    for name, video, speech in CLIPS:
        if not video.exists() or (speech is not None and not speech.exists()):
            print(f"{name:<11}missing")
            continue
        worst = max(worst, max(abs(e) for e in evaluate(name, load_clip(video, speech))))
    print(f"worst abs error: {worst:.1f} ms")


if __name__ == "__main__":
    main()
