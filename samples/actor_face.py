"""The sample's actor: a public-domain NASA portrait animated with visemes, blinks, head motion."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.data import astronaut

FPS = 25
WIDTH, HEIGHT = 1280, 720
SCALE = WIDTH / 512  # the 512 px portrait fills the frame's width: the face is ~275 px tall
TRACK_RATE = 200  # Hz of the viseme track before it is sampled at the frame times

# Landmarks measured on the 512 px portrait (x, y). The smile shows the upper and lower teeth:
# the teeth band runs between the upper lip's lower edge and the lower lip's upper edge.
MOUTH_LEFT, MOUTH_RIGHT = (203.8, 140.0), (243.8, 141.3)
MOUTH_X = 223.8
UPPER_EDGE, TEETH_SPLIT, LOWER_EDGE = 142.0, 146.0, 149.5  # at the mouth's centre line
UPPER_LIP, LOWER_LIP = 4.0, 4.5  # lip thickness in px, used when the lips close over the teeth
CHIN_Y, NECK_Y = 177.0, 196.0  # the jaw moves fully down to the chin, not at all by the neck
EYES = ((203.1, 101.9), (246.2, 102.5))  # image-left, image-right eye centres
EYE_HALF_WIDTHS = (7.5, 9.6)  # half the distance between each eye's corners
EYE_HALF_HEIGHT = 3.0  # half the visible opening between the lids
NOSE_BASE = (223.1, 131.9)
LANDMARKS5 = ((256.2, 101.9), (236.9, 103.8), (195.6, 101.2), (210.6, 102.5), NOSE_BASE)
MAX_JAW_DROP = 9.0  # px at 512 scale: a wide "a" opens ~22 px in the frame
HEAD_CENTRE = (224.0, 125.0)


@dataclass(frozen=True)
class Viseme:
    """A mouth pose target."""

    open: float  # 0 closed jaw .. 1 widest opening
    width: float  # -1 rounded/pursed .. 0 neutral .. +1 spread
    closure: float  # 0 lips apart showing teeth .. 1 lips pressed together over the teeth


REST = Viseme(0.0, 0.0, 1.0)
_VISEMES: tuple[tuple[str, Viseme], ...] = (
    ("pbm", Viseme(0.0, 0.0, 1.0)),
    ("fv", Viseme(0.08, 0.1, 0.6)),
    ("aɑæɐʌ", Viseme(0.95, 0.1, 0.0)),
    ("ɛeəɜœ", Viseme(0.55, 0.15, 0.0)),
    ("iɪy", Viseme(0.25, 0.45, 0.0)),
    ("oɔɒø", Viseme(0.6, -0.6, 0.0)),
    ("uʊwɯ", Viseme(0.25, -1.0, 0.0)),
    ("ʃʒ", Viseme(0.2, -0.5, 0.1)),
    ("ɹrʁɾ", Viseme(0.25, -0.3, 0.1)),
    ("tdnlszθðkgŋhjçxɲʎ", Viseme(0.2, 0.1, 0.15)),
)


def viseme_for(ipa: str) -> Viseme:
    """The mouth pose of one IPA phoneme (espeak-ng style; '_' or '' is a pause)."""
    core = "".join(ch for ch in ipa if ch.isalpha())
    if not core:
        return REST
    # Diphthongs and affricates: their first articulated sound sets the pose.
    for letters, viseme in _VISEMES:
        if core[0] in letters:
            return viseme
    return Viseme(0.3, 0.0, 0.1)


def mouth_track(
    phonemes: Sequence[tuple[str, float, float]], n_frames: int, fps: int = FPS
) -> np.ndarray:
    """(F, 3) smoothed (open, width, closure) per frame from (ipa, start_s, end_s) phonemes."""
    n = round(n_frames / fps * TRACK_RATE) + 1
    target = np.tile(np.array([REST.open, REST.width, REST.closure], np.float32), (n, 1))
    for ipa, start, end in phonemes:
        a, b = (
            round(start * TRACK_RATE),
            max(round(end * TRACK_RATE), round(start * TRACK_RATE) + 1),
        )
        pose = viseme_for(ipa)
        target[a:b] = (pose.open, pose.width, pose.closure)
    # Co-articulation: the jaw moves slowly (sigma 30 ms), lips a little faster (20 ms).
    smooth = np.stack(
        [
            gaussian_filter1d(target[:, 0], 0.030 * TRACK_RATE),
            gaussian_filter1d(target[:, 1], 0.030 * TRACK_RATE),
            gaussian_filter1d(target[:, 2], 0.020 * TRACK_RATE),
        ],
        axis=1,
    )
    index = np.clip(np.round((np.arange(n_frames) + 0.5) / fps * TRACK_RATE), 0, n - 1)
    return smooth[index.astype(int)].astype(np.float32)


@dataclass(frozen=True)
class FaceFrame:
    """Ground truth of one rendered frame."""

    index: int
    time: float
    mouth_open: float  # the smoothed pose actually rendered
    mouth_width: float
    lip_closure: float
    mouth_open_px: float  # inner-lip gap at the mouth centre, output pixels
    blink: float  # 0 open .. 1 closed
    head_dx: float  # head motion: translation in output pixels, roll in degrees, scale
    head_dy: float
    head_roll_deg: float
    head_scale: float
    mouth_center: tuple[float, float]  # output pixels
    # dlib 5-point order: the eye on the image's right (outer, inner corner), the eye on the
    # image's left (outer, inner corner), the base of the nose; output pixels.
    landmarks5: tuple[tuple[float, float], ...]


def _smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _to_base(v: np.ndarray) -> np.ndarray:
    """Portrait pixel coordinates -> base (upscaled) pixel coordinates, as cv2.resize maps them."""
    return ((v + 0.5) * SCALE - 0.5).astype(np.float32)


def _base_px(v: float) -> float:
    return (v + 0.5) * SCALE - 0.5


def _to_portrait(v: np.ndarray) -> np.ndarray:
    return (v + 0.5) / SCALE - 0.5


def _mouth_edges(dx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Upper edge, split, lower edge of the teeth band and how far inside the mouth, per column."""
    half = (MOUTH_RIGHT[0] - MOUTH_LEFT[0]) / 2
    r2 = np.minimum((dx / half) ** 2, 1.0)
    upper = UPPER_EDGE - 1.5 * r2  # the smile's corners sit higher than its centre
    split = TEETH_SPLIT - 5.0 * r2
    lower = LOWER_EDGE - 8.5 * r2
    return upper, split, lower, 1.0 - r2


def _close_lips(
    y: np.ndarray, upper: np.ndarray, split: np.ndarray, lower: np.ndarray, closure: float
) -> np.ndarray:
    """Source rows when the lips are drawn together over the teeth by `closure` (0..1)."""
    eps = 1e-3
    top = upper - UPPER_LIP
    upper_new = upper + closure * (split - upper)
    out = y.copy()
    band = (y >= top) & (y < upper_new)  # the upper lip, stretched down
    out[band] = (top + (y - top) * UPPER_LIP / np.maximum(upper_new - top, eps))[band]
    band = (y >= upper_new) & (y < split)  # what is left of the upper teeth
    out[band] = (upper + (y - upper_new) * (split - upper) / np.maximum(split - upper_new, eps))[
        band
    ]
    bottom = lower + LOWER_LIP
    lower_new = lower - closure * (lower - split)
    band = (y >= split) & (y < lower_new)  # what is left of the lower teeth
    out[band] = (split + (y - split) * (lower - split) / np.maximum(lower_new - split, eps))[band]
    band = (y >= lower_new) & (y < bottom)  # the lower lip, stretched up
    out[band] = (lower + (y - lower_new) * LOWER_LIP / np.maximum(bottom - lower_new, eps))[band]
    return out


def mouth_maps(
    x: np.ndarray, y: np.ndarray, pose: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward map of the mouth region in portrait coordinates.

    x, y: (H, W) output positions; pose: (open, width, closure). Returns the source x, y and
    the alpha of the oral cavity opened by the jaw, each (H, W).
    """
    open_, width, closure = (float(v) for v in pose)
    # Rounding narrows the lips (sample from wider), spreading widens them.
    weight = np.exp(-(((x - MOUTH_X) / 30) ** 2) - ((y - TEETH_SPLIT) / 14) ** 2)
    xs = MOUTH_X + (x - MOUTH_X) * (1 + 0.22 * -width * weight)
    dx = xs - MOUTH_X
    upper, split, lower, inner = _mouth_edges(dx)
    drop = open_ * MAX_JAW_DROP * np.exp(-((dx / 28) ** 2))  # the whole jaw, cheeks included
    gap = drop * inner  # only inside the lips does the jaw open a hole
    ramp = 8.0
    above = y - (drop - gap) * _smoothstep((y - (split - ramp)) / ramp)
    fall = 1 - _smoothstep((y - CHIN_Y) / (NECK_Y - CHIN_Y))
    below = y - drop * fall
    ys = np.where(y < split, above, np.where(y < split + gap, split, below))
    px = 1 / SCALE  # one output pixel in portrait units: the cavity edge is anti-aliased over it
    alpha = np.clip((y - split) / px + 0.5, 0, 1) * np.clip((split + gap - y) / px + 0.5, 0, 1)
    alpha *= np.clip(gap / px, 0, 1)  # no hole (and no seam) where the jaw has not opened one
    return xs, _close_lips(ys, upper, split, lower, closure), alpha.astype(np.float32)


def eyelid_cover(
    x: np.ndarray, y: np.ndarray, blink: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where the closing upper lids cover the eyes, the rows their skin comes from, the lid edge.

    Each eye's opening is an ellipse; its upper lid's edge moves from the top of the ellipse to
    the bottom as `blink` goes from 0 to 1. Returns (cover alpha, source rows, edge rows), (H, W).
    """
    cover = np.zeros_like(x)
    rows = y.copy()
    edge = np.full_like(y, -1e3)
    for (ex, ey), half_w in zip(EYES, EYE_HALF_WIDTHS, strict=True):
        u = np.clip((x - ex) / (half_w + 1.0), -1, 1)  # one px of margin hides the corners
        half_h = (EYE_HALF_HEIGHT + 0.5) * np.sqrt(1 - u**2)
        top, bottom = ey - half_h, ey + half_h
        lid = top + blink * (bottom - top)
        inside = (np.abs(x - ex) <= half_w + 1.0) & (y >= top - 1.5)
        alpha = np.clip((lid - y) * SCALE + 0.5, 0, 1) * np.clip((y - top + 1.5) * SCALE, 0, 1)
        alpha = np.where(inside, alpha * np.clip((half_w + 1.0 - np.abs(x - ex)) * SCALE, 0, 1), 0)
        take = alpha > cover
        cover = np.where(take, alpha, cover)
        rows = np.where(take, top - 1.5 - 0.2 * (y - top), rows)  # the skin just above the eye
        edge = np.where(take, lid, edge)
    return cover.astype(np.float32), rows, edge


def _roi(x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice, np.ndarray, np.ndarray]:
    """Base-pixel slices of a portrait-coordinate box and the portrait coordinates of its pixels."""
    bx0, by0 = int(_base_px(x0)), int(_base_px(y0))
    bx1, by1 = int(np.ceil(_base_px(x1))), int(np.ceil(_base_px(y1)))
    grid_y, grid_x = np.mgrid[by0:by1, bx0:bx1].astype(np.float32)
    return slice(by0, by1), slice(bx0, bx1), _to_portrait(grid_x), _to_portrait(grid_y)


class ActorRenderer:
    """Renders the talking actor frame by frame; deterministic for a seed."""

    def __init__(self, seed: int = 7) -> None:
        portrait = astronaut().astype(np.float32)
        rows = int(HEIGHT / SCALE) + 40  # what the frame can show, plus room for head motion
        self.base = cv2.resize(
            portrait[:rows], (WIDTH, round(rows * SCALE)), interpolation=cv2.INTER_LANCZOS4
        )
        self.soft = cv2.GaussianBlur(self.base, (0, 0), 2.0)  # lid skin without pores or lashes
        self.rng = np.random.default_rng(seed)
        self.mouth = _roi(MOUTH_X - 60, 126, MOUTH_X + 60, 200)
        self.eyes = _roi(EYES[0][0] - 12, 90, EYES[1][0] + 12, 110)
        self.cavity_top = np.array([38, 12, 14], np.float32)  # shadowed back of the mouth
        self.cavity_bottom = np.array([120, 45, 50], np.float32)  # the tongue catching light

    def _motion(self, n_frames: int, fps: int) -> np.ndarray:
        """(F, 4) head dx, dy (output px), roll (degrees), scale: sums of slow seeded sinusoids."""
        t = np.arange(n_frames) / fps
        amplitude = np.array([5.0, 3.0, 1.2, 0.008])
        out = np.zeros((n_frames, 4))
        for k in range(4):
            freqs = self.rng.uniform(0.05, 0.35, 3)
            phases = self.rng.uniform(0, 2 * np.pi, 3)
            out[:, k] = (
                sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True)) / 3
            )
        return out * amplitude + np.array([0, 0, 0, 1.0])

    def _blinks(self, n_frames: int, fps: int) -> np.ndarray:
        """(F,) eyelid closure: 160 ms blinks every 2 to 6 s."""
        blink = np.zeros(n_frames)
        t = self.rng.uniform(1.0, 3.0)
        while t < n_frames / fps:
            centre = t * fps
            frames = np.arange(n_frames)
            blink = np.maximum(blink, np.clip(1 - np.abs(frames - centre) / (0.08 * fps + 1), 0, 1))
            t += self.rng.uniform(2.0, 6.0)
        return blink

    def _deform(self, pose: np.ndarray, blink: float) -> np.ndarray:
        """The base image with this frame's mouth and eyelids."""
        image = self.base.copy()
        rows, cols, x, y = self.mouth
        xs, ys, alpha = mouth_maps(x, y, pose)
        patch = cv2.remap(
            self.base,
            _to_base(xs),
            _to_base(ys),
            cv2.INTER_CUBIC,
        )
        depth = np.clip((y - TEETH_SPLIT) / (MAX_JAW_DROP + 1e-3), 0, 1)[..., None]
        cavity = self.cavity_top + depth * (self.cavity_bottom - self.cavity_top)
        image[rows, cols] = patch + alpha[..., None] * (cavity - patch)
        if blink > 0.02:
            rows, cols, x, y = self.eyes
            cover, lid_rows, edge = eyelid_cover(x, y, blink)
            lid = cv2.remap(
                self.soft,
                _to_base(x),
                _to_base(lid_rows),
                cv2.INTER_LINEAR,
            )
            lashes = 1 - 0.5 * np.exp(-(((y - edge) * SCALE / 1.5) ** 2))[..., None]
            eye = image[rows, cols]
            image[rows, cols] = eye + cover[..., None] * (lid * lashes - eye)
        return image

    @staticmethod
    def _affine(motion: np.ndarray) -> np.ndarray:
        dx, dy, roll, scale = motion
        centre = (_base_px(HEAD_CENTRE[0]), _base_px(HEAD_CENTRE[1]))
        matrix = cv2.getRotationMatrix2D(centre, float(roll), float(scale))
        matrix[:, 2] += (dx, dy)
        return matrix

    def render(
        self,
        phonemes: Sequence[tuple[str, float, float]],
        n_frames: int,
        fps: int = FPS,
        chunk: int = 25,
    ) -> Iterator[tuple[np.ndarray, list[FaceFrame]]]:
        """Yields ((F, H, W, 3) uint8 RGB frames, their ground truth) in chunks."""
        poses = mouth_track(phonemes, n_frames, fps)
        motion, blinks = self._motion(n_frames, fps), self._blinks(n_frames, fps)
        frames, truth = [], []
        for index in range(n_frames):
            matrix = self._affine(motion[index])
            image = self._deform(poses[index], float(blinks[index]))
            frame = cv2.warpAffine(
                image,
                matrix,
                (WIDTH, HEIGHT),
                flags=cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT101,
            )
            frames.append(np.clip(frame, 0, 255).astype(np.uint8))
            truth.append(
                self._truth(index, fps, poses[index], blinks[index], motion[index], matrix)
            )
            if len(frames) == chunk or index == n_frames - 1:
                yield np.stack(frames), truth
                frames, truth = [], []

    @staticmethod
    def _truth(
        index: int, fps: int, pose: np.ndarray, blink: float, motion: np.ndarray, matrix: np.ndarray
    ) -> FaceFrame:
        def place(point: tuple[float, float]) -> tuple[float, float]:
            bx, by = _base_px(point[0]), _base_px(point[1])
            ox, oy = matrix @ np.array([bx, by, 1.0])
            return round(float(ox), 2), round(float(oy), 2)

        open_, width, closure = (float(v) for v in pose)
        upper = UPPER_EDGE + closure * (TEETH_SPLIT - UPPER_EDGE)
        lower = LOWER_EDGE - closure * (LOWER_EDGE - TEETH_SPLIT) + open_ * MAX_JAW_DROP
        return FaceFrame(
            index=index,
            time=round(index / fps, 4),
            mouth_open=round(open_, 4),
            mouth_width=round(width, 4),
            lip_closure=round(closure, 4),
            mouth_open_px=round((lower - upper) * SCALE * float(motion[3]), 2),
            blink=round(float(blink), 3),
            head_dx=round(float(motion[0]), 3),
            head_dy=round(float(motion[1]), 3),
            head_roll_deg=round(float(motion[2]), 3),
            head_scale=round(float(motion[3]), 5),
            mouth_center=place((MOUTH_X, TEETH_SPLIT)),
            landmarks5=tuple(place(p) for p in LANDMARKS5),
        )
