"""Mouth patches: generated crops warped back to frame space as small RGBA frames for ffmpeg.

A line's patches share one box in frame pixels (the union of its frames' mouth footprints), so
ffmpeg overlays them at a fixed position; outside the warped mouth mask the alpha is 0 and the
source pixels pass through untouched. Shapes: F frames, S crop side, h/w patch box pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from localize.face_align import footprint, to_frame
from localize.media import Overlay


@dataclass(frozen=True)
class PatchBox:
    """Where a line's patches go: frame pixels (x0, y0, x1, y1), even-aligned for 4:2:0 video."""

    x0: int
    y0: int
    x1: int
    y1: int


def union_box(matrices: np.ndarray, crop_size: int, shape: tuple[int, int]) -> PatchBox:
    """The frame-pixel box (clipped to `shape` (H, W)) every crop of `matrices` (F, 2, 3) touches.

    Corners are rounded outward to even pixels so the overlay lands on chroma sample boundaries.
    """
    boxes = np.array([footprint(m, crop_size, shape) for m in matrices])  # (F, 4)
    x0, y0 = (int(v) // 2 * 2 for v in boxes[:, :2].min(0))
    right, bottom = boxes[:, 2:].max(0)
    x1, y1 = min(-(-int(right) // 2) * 2, shape[1]), min(-(-int(bottom) // 2) * 2, shape[0])
    return PatchBox(x0, y0, x1, y1)


def patch_image(
    crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray, box: PatchBox
) -> np.ndarray:
    """One (h, w, 4) uint8 RGBA patch: `crop` (S, S, 3) warped into `box`, alpha from `mask`."""
    window = (box.x0, box.y0, box.x1, box.y1)
    rgb = to_frame(crop, matrix, window, cv2.BORDER_REPLICATE)
    alpha = to_frame(mask.astype(np.float32), matrix, window, cv2.BORDER_CONSTANT)
    out = np.empty((*rgb.shape[:2], 4), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = np.clip(np.rint(alpha * 255), 0, 255).astype(np.uint8)
    return out


def write_patches(
    path: Path,
    crops: np.ndarray,
    matrices: np.ndarray,
    frames: np.ndarray,
    mask: np.ndarray,
    frame_shape: tuple[int, int],
    frame_rate: Fraction,
) -> Overlay:
    """Write a line's patches to `path` as raw RGBA frames; the overlay that places them.

    crops (F, S, S, 3) uint8 generated mouths for the video frames `frames` (F,) whose
    alignment matrices are `matrices` (F, 2, 3), blended by `mask` (S, S), or one mask per
    frame (F, S, S); `frame_shape` is the picture's (H, W). A frame
    between them missing from `frames` (no face there) gets a fully transparent patch. Raw frames
    cost nothing to write (PNG coding took longer than the model); the file is temporary.
    """
    box = union_box(matrices, crops.shape[1], frame_shape)
    first, last = int(frames[0]), int(frames[-1])
    at = {int(f): k for k, f in enumerate(frames)}
    blank = np.zeros((box.y1 - box.y0, box.x1 - box.x0, 4), np.uint8)
    with open(path, "wb") as handle:
        for f in range(first, last + 1):
            k = at.get(f)
            weights = mask if mask.ndim == 2 else mask[k]
            image = blank if k is None else patch_image(crops[k], matrices[k], weights, box)
            handle.write(image.tobytes())
    return Overlay(
        path=path,
        size=(box.x1 - box.x0, box.y1 - box.y0),
        x=box.x0,
        y=box.y0,
        start=float(first / frame_rate),
        n_frames=last - first + 1,
        frame_rate=frame_rate,
    )
