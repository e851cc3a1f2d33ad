"""Face tracking figures on the sample and the real clips: coverage, jitter, paste-back, speed.

Run from the repository root: `python bench/eval_faces.py`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localize import media  # noqa: E402
from localize.face_align import (  # noqa: E402
    MOUTH_REGION,
    crop_scale,
    mask_in_frame,
    mouth_crop,
    mouth_mask,
    paste_back,
    region_matrix,
)
from localize.faces import FaceError, FaceTrack, smooth_landmarks, track_faces  # noqa: E402

CROP_SIZE = 96
PASTE_EVERY = 5  # paste-back is checked on every 5th frame: enough to catch a leak, and fast
SAMPLE = ROOT / "samples" / "media" / "brightwell.mp4"
SHARED = ROOT.parent / "shared" / "media"
REAL = ("video/videoretalking_face1.mp4", "video/videoretalking_face4.mp4")


def jitter(track: FaceTrack, landmarks: np.ndarray) -> float:
    """RMS frame-to-frame displacement of the 5 landmarks in crop px, consecutive frames only."""
    scales = np.array([crop_scale(region_matrix(lm, MOUTH_REGION, CROP_SIZE)) for lm in landmarks])
    # (F,) crop px per frame px
    step = np.diff(landmarks, axis=0)  # (F-1, 5, 2)
    consecutive = np.diff(track.frames) == 1
    dist = np.linalg.norm(step, axis=2) * scales[1:, None]  # (F-1, 5)
    dist = dist[consecutive]
    return float(np.sqrt((dist**2).mean())) if dist.size else 0.0


def paste_leak(video: Path, track: FaceTrack) -> tuple[int, float]:
    """Max abs change outside the mask support and the worst PSNR inside, crop -> paste_back."""
    mask = mouth_mask(CROP_SIZE)
    rows = {int(f): i for i, f in enumerate(track.frames)}
    worst_out, worst_psnr, index = 0, np.inf, 0
    for chunk in media.iter_frames(video):
        for frame in chunk:
            i = rows.get(index)
            if i is not None and index % PASTE_EVERY == 0:
                crop, matrix = mouth_crop(frame, track.landmarks[i], CROP_SIZE)
                out = paste_back(frame, crop, matrix, mask)
                changed = np.abs(out.astype(int) - frame.astype(int)).max(axis=2)  # (H, W)
                support = mask_in_frame(mask, matrix, frame.shape) > 0  # (H, W)
                worst_out = max(worst_out, int(changed[~support].max(initial=0)))
                err = ((out.astype(float) - frame) ** 2)[support].mean()
                worst_psnr = min(worst_psnr, 10 * np.log10(255**2 / max(err, 1e-12)))
            index += 1
    return worst_out, float(worst_psnr)


def evaluate(name: str, video: Path) -> None:
    duration = media.probe(video).duration
    start = time.perf_counter()
    try:
        result = track_faces(video)
    except FaceError as exc:
        print(f"{name}: {exc}")
        return
    elapsed = time.perf_counter() - start
    main = max(result.tracks, key=lambda t: len(t.frames))
    leak, psnr = paste_leak(video, main)
    # Head motion alone: landmarks smoothed far beyond any jitter (0.25 s), for scale.
    motion = smooth_landmarks(main.frames, main.raw, 0.25 * float(result.frame_rate))
    print(
        f"{name}: frames {result.n_frames}, tracks {len(result.tracks)}, "
        f"face in {100 * result.coverage():.1f} % of frames, gaps {len(result.gaps())}\n"
        f"  jitter (crop px, RMS frame-to-frame): smoothed {jitter(main, main.landmarks):.3f}, "
        f"raw {jitter(main, main.raw):.3f}, head motion alone {jitter(main, motion):.3f}\n"
        f"  paste-back of an unchanged crop: max abs change outside mask {leak}, "
        f"worst PSNR inside {psnr:.1f} dB\n"
        f"  speed: {result.n_frames / elapsed:.1f} frames/s, "
        f"{elapsed / duration:.3f} s per s of video"
    )


def main() -> None:
    if SAMPLE.is_file():
        evaluate("sample brightwell.mp4", SAMPLE)
    else:
        print("skipped sample: run `python -m samples.make_sample` first")
    if not SHARED.is_dir():
        print("skipped: no evaluation media")
        return
    for rel in REAL:
        path = SHARED / rel
        if path.is_file():
            evaluate(path.name, path)
        else:
            print(f"skipped {rel}: not found under {SHARED}")


if __name__ == "__main__":
    main()
