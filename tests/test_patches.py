"""Mouth patches: warped RGBA images, and their compositing inside the master's ffmpeg encode."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from localize import media
from localize.face_align import MOUTH_REGION, mask_in_frame, mouth_mask, region_matrix
from localize.patches import union_box, write_patches

FPS = Fraction(25)
W, H = 320, 240
GREY = 100


def _matrices(n: int, drift: float = 0.0) -> np.ndarray:
    """(n, 2, 3) mouth matrices of a face whose eyes sit near the top middle, drifting right."""
    base = np.array([[185, 90], [165, 90], [135, 90], [155, 90], [160, 122]], np.float64)
    return np.stack(
        [region_matrix(base + np.array([drift * k, 0.0]), MOUTH_REGION, 48) for k in range(n)]
    )


def test_union_box_covers_every_footprint_and_is_even() -> None:
    matrices = _matrices(10, drift=2.0)
    box = union_box(matrices, 48, (H, W))
    assert box.x0 % 2 == 0 and box.y0 % 2 == 0 and box.x1 % 2 == 0 and box.y1 % 2 == 0
    mask = mouth_mask(48)
    for m in matrices:
        inside = mask_in_frame(mask, m, (H, W)) > 0
        ys, xs = np.nonzero(inside)
        assert xs.min() >= box.x0 and xs.max() < box.x1
        assert ys.min() >= box.y0 and ys.max() < box.y1
    assert (box.x1 - box.x0) * (box.y1 - box.y0) < W * H / 4  # a patch, not a frame


def test_patch_alpha_is_the_warped_mask(tmp_path: Path) -> None:
    matrices = _matrices(3)
    crops = np.full((3, 48, 48, 3), (200, 30, 40), np.uint8)
    mask = mouth_mask(48)
    path = tmp_path / "L1.rgba"
    overlay = write_patches(path, crops, matrices, np.array([10, 11, 13]), mask, (H, W), FPS)
    assert overlay.n_frames == 4  # frames 10..13, frame 12 (no face) fully transparent
    assert overlay.start == 10 / 25
    w, h = overlay.size
    frames = np.fromfile(path, np.uint8).reshape(4, h, w, 4)
    expected = mask_in_frame(mask, matrices[0], (H, W))
    window = expected[overlay.y : overlay.y + h, overlay.x : overlay.x + w]
    assert np.abs(frames[0, ..., 3] / 255.0 - window).max() < 0.01
    assert np.all(frames[0][frames[0, ..., 3] > 128][:, :3] == (200, 30, 40))
    assert frames[2, ..., 3].max() == 0


def test_master_composites_patches_at_their_frames_and_place(tmp_path: Path) -> None:
    src = tmp_path / "src.mp4"
    with media.FrameWriter(src, W, H, FPS, crf=0, preset="ultrafast") as writer:
        for _ in range(25):
            writer.write(np.full((H, W, 3), GREY, np.uint8))
    wav = tmp_path / "a.wav"
    media.write_audio(wav, np.zeros(16000, np.float32), 16000)
    n = 6
    matrices = _matrices(n)
    crops = np.full((n, 48, 48, 3), (230, 20, 20), np.uint8)
    mask = mouth_mask(48)
    overlay = write_patches(
        tmp_path / "L1.rgba", crops, matrices, np.arange(8, 8 + n), mask, (H, W), FPS
    )
    out = tmp_path / "master.mp4"
    media.encode_master(src, wav, out, crf=0, preset="ultrafast", overlays=[overlay])
    frames = np.concatenate(list(media.iter_frames(out)))
    assert len(frames) == 25
    core = mask_in_frame(mask, matrices[0], (H, W)) > 0.99
    outside = mask_in_frame(mask, matrices[0], (H, W)) == 0
    for index, frame in enumerate(frames):
        red = frame[core][:, 0].astype(int).mean()
        if 8 <= index < 8 + n:
            assert red > 200, index  # repainted on exactly its frames
        else:
            assert abs(red - GREY) < 4, index
        # Pixels away from the mouth keep the source picture (4:2:0 chroma bleeds a pixel).
        far = cv2.erode(outside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        assert np.abs(frame[far].astype(int) - GREY).max() <= 3


def test_clothing_guard_keeps_the_source_neck_but_never_the_mouth() -> None:
    from localize.lipsync import clothing_guard

    source = np.full((2, 48, 48, 3), 180, np.uint8)  # skin
    generated = source.copy()
    generated[0, 20:26] = 20  # a dark open mouth (rows around the lips)
    generated[0, 44:] = 20  # a dark collar drawn over the neck
    weights = clothing_guard(generated, source)
    assert weights.shape == (2, 48, 48)
    assert np.all(weights[1] == 1.0)  # the same picture: nothing held back
    assert np.all(weights[0, 20:26] == 1.0)  # the mouth is always repainted
    assert weights[0, 46:].max() < 0.05  # the collar over the neck is not
