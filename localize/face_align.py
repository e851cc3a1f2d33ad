"""Mouth alignment from dlib's 5 landmarks: aligned crop, soft mask, inverse warp and blending.

Shapes: H/W frame pixels, S crop side in pixels; landmarks are (5, 2) float (x, y) in dlib's
5-point order: outer/inner corner of the eye on the image's right, outer/inner corner of the eye
on the image's left, base of the nose.
"""

from __future__ import annotations

import cv2
import numpy as np

# The canonical face in units of the distance between the eye centres, origin midway between
# them, x to the image's right, y down. Corner spread and nose drop are typical adult values.
TEMPLATE5 = np.array(
    [[0.70, 0.0], [0.30, 0.0], [-0.70, 0.0], [-0.30, 0.0], [0.0, 0.80]], dtype=np.float64
)
NOSE_BASE_Y = float(TEMPLATE5[4, 1])
# The mouth crop: a square below the nose wide enough for both cheeks and tall enough for the
# chin (about 1.9 eye distances below the eyes, lower with the jaw open), in template units.
MOUTH_REGION = (-0.85, 0.55, 1.70)  # (left, top, side)
# A face patch for checking that a tracked face is still there: eyes and nose, no mouth.
FACE_REGION = (-1.0, -0.45, 1.50)
# The mask starts this far below the nose base: the nostrils are never repainted, the upper lip
# (which sits close under the nose) is.
MASK_NOSE_CLEARANCE = 0.04
MASK_HALF_WIDTH = 0.75  # cheeks out to about the outer eye corners
MASK_BOTTOM = 2.17  # under the chin even with the jaw dropped
MASK_FEATHER = 0.10  # width of the soft edge, template units


def fit_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (scale, rotation, translation) taking points src to dst.

    src, dst: (N, 2). Returns a (2, 3) float64 matrix A with dst ~ A @ [x, y, 1].
    """
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = float((s**2).sum())
    if var <= 0:
        raise ValueError("degenerate points: all source points coincide")
    # Closed form for 2-D: rotation-scale [[a, -b], [b, a]].
    a = float((s * d).sum()) / var
    b = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / var
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (mu_d - rot @ mu_s)[:, None]])


def region_matrix(
    landmarks5: np.ndarray, region: tuple[float, float, float], crop_size: int
) -> np.ndarray:
    """(2, 3) matrix from frame pixels to a `crop_size` square covering `region` of the template."""
    left, top, side = region
    px = crop_size / side
    crop_points = (TEMPLATE5 - (left, top)) * px  # (5, 2) template in crop pixels
    return fit_similarity(landmarks5, crop_points)


def crop_scale(matrix: np.ndarray) -> float:
    """Crop pixels per frame pixel of an alignment matrix."""
    return float(np.hypot(matrix[0, 0], matrix[1, 0]))


def mouth_crop(
    frame: np.ndarray, landmarks5: np.ndarray, crop_size: int = 96
) -> tuple[np.ndarray, np.ndarray]:
    """The aligned mouth region of `frame` (H, W, 3) uint8.

    Returns the crop (S, S, 3) uint8 and the (2, 3) float64 matrix from frame to crop pixels.
    """
    matrix = region_matrix(landmarks5, MOUTH_REGION, crop_size)
    crop = cv2.warpAffine(
        frame,
        matrix,
        (crop_size, crop_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return crop, matrix


def mouth_mask(crop_size: int = 96) -> np.ndarray:
    """Soft mask (S, S) float32 in crop space: 1 on mouth, jaw and cheeks, 0 on the nose.

    Exactly 0 outside its support (which stays clear of the crop border), rising smoothly to 1
    over `MASK_FEATHER` inside, so a pasted crop blends in without a seam.
    """
    left, top, side = MOUTH_REGION
    px = crop_size / side
    ys, xs = np.mgrid[0:crop_size, 0:crop_size].astype(np.float64) + 0.5
    x, y = xs / px + left, ys / px + top  # pixel centres in template units
    y_top = NOSE_BASE_Y + MASK_NOSE_CLEARANCE
    cy, ry = (y_top + MASK_BOTTOM) / 2, (MASK_BOTTOM - y_top) / 2
    # A superellipse: flat enough to reach the cheeks, round enough to follow the jaw.
    r = (np.abs(x / MASK_HALF_WIDTH) ** 3 + np.abs((y - cy) / ry) ** 3) ** (1 / 3)
    inside = (r < 1).astype(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 5)  # px to the nearest outside pixel
    t = np.clip((depth - 0.5) / (MASK_FEATHER * px), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def footprint(matrix: np.ndarray, crop_size: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """(x0, y0, x1, y1): frame pixels a crop can touch when warped back, clipped to the frame."""
    inverse = cv2.invertAffineTransform(matrix)  # crop -> frame
    s = crop_size
    corners = np.array([[0, 0, 1], [s, 0, 1], [0, s, 1], [s, s, 1]], np.float64) @ inverse.T
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int) - 1, 0)
    x1 = min(int(np.ceil(corners[:, 0].max())) + 2, shape[1])
    y1 = min(int(np.ceil(corners[:, 1].max())) + 2, shape[0])
    return int(x0), int(y0), x1, y1


def to_frame(
    image: np.ndarray, matrix: np.ndarray, box: tuple[int, ...], border: int
) -> np.ndarray:
    """Warp a crop-space image into the frame window `box` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    local = cv2.invertAffineTransform(matrix)
    local[:, 2] -= (x0, y0)
    return cv2.warpAffine(
        image, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=border
    )


def mask_in_frame(mask: np.ndarray, matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The crop-space `mask` (S, S) warped into frame space: (H, W) float32 for `shape` (H, W, ...).

    Exactly the weights `paste_back` blends with; 0 means the pixel is left untouched.
    """
    out = np.zeros(shape[:2], np.float32)
    box = footprint(matrix, mask.shape[0], shape)
    x0, y0, x1, y1 = box
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = to_frame(mask.astype(np.float32), matrix, box, cv2.BORDER_CONSTANT)
    return out


def paste_back(
    frame: np.ndarray, crop: np.ndarray, matrix: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Warp `crop` (S, S, 3) back into a copy of `frame` (H, W, 3) uint8, blended by `mask` (S, S).

    Only pixels where the warped mask is non-zero are written: every other pixel of the result
    is bit-identical to `frame`.
    """
    out = frame.copy()
    box = footprint(matrix, crop.shape[0], frame.shape)
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return out
    warped = to_frame(crop, matrix, box, cv2.BORDER_REPLICATE)  # (h, w, 3)
    alpha = to_frame(mask.astype(np.float32), matrix, box, cv2.BORDER_CONSTANT)  # (h, w)
    support = alpha > 0
    region = out[y0:y1, x0:x1]
    a = alpha[support][:, None]
    blended = region[support] * (1 - a) + warped[support] * a
    region[support] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out
