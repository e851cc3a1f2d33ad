"""The sample's actor: a public-domain portrait that speaks from phoneme timings, blinks and moves.

The portrait is NASA's photo of Eileen Collins shipped with scikit-image. Mouth poses (visemes)
follow the dialogue's phonemes with co-articulation; blinks and head motion are seeded, so a seed
always renders the same frames. Every frame comes with its ground truth (`FaceFrame`).

Shapes: F video frames, H/W pixels; frames are (F, H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from samples import face_parts as fp

FPS = 25
WIDTH, HEIGHT = 1280, 720
TRACK_RATE = 100  # Hz: visemes are blended on the project's 10 ms phoneme grid, then sampled
SPREAD_S = 0.04  # a phoneme's influence decays by 1/e every 40 ms outside its own span
SMOOTH_S = 0.02  # final smoothing of the blended track: lips have mass
SEAL_RAMP_S = 0.09  # lips close over this time before a p/b/m and open over it after


@dataclass(frozen=True)
class Viseme:
    """A mouth pose target."""

    open: float  # 0 closed .. 1 widest opening (jaw drop)
    width: float  # -1 rounded/pursed .. 0 neutral .. +1 spread
    teeth: float  # 0..1 visibility of the upper teeth


@dataclass(frozen=True)
class _Class:
    """A viseme class: its pose and how strongly it holds each parameter against neighbours."""

    pose: Viseme
    dominance: tuple[float, float, float]  # (open, width, teeth): pull against neighbours
    seal: bool = False  # lips must meet during the phoneme whatever its neighbours (p/b/m)


SILENCE = _Class(Viseme(0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
_CLASSES: dict[str, _Class] = {
    "aɑæɐɶ": _Class(Viseme(0.95, 0.15, 0.5), (1.0, 1.0, 1.0)),  # open vowels
    "ʌ": _Class(Viseme(0.75, 0.05, 0.45), (1.0, 1.0, 1.0)),
    "ɒ": _Class(Viseme(0.8, -0.35, 0.3), (1.0, 1.5, 1.0)),
    "ɛœ": _Class(Viseme(0.62, 0.3, 0.6), (1.0, 1.0, 1.0)),
    "eø": _Class(Viseme(0.45, 0.45, 0.7), (1.0, 1.0, 1.0)),
    "əɜɘɵɚɝ": _Class(Viseme(0.45, 0.0, 0.4), (0.8, 0.6, 0.8)),
    "iɪɨ": _Class(Viseme(0.25, 0.7, 0.8), (1.0, 1.2, 1.0)),
    "yʏ": _Class(Viseme(0.22, -0.8, 0.2), (1.0, 2.0, 1.0)),
    "ɔ": _Class(Viseme(0.62, -0.5, 0.2), (1.0, 2.0, 1.0)),  # rounded vowels
    "o": _Class(Viseme(0.48, -0.75, 0.15), (1.0, 2.0, 1.0)),
    "ʊ": _Class(Viseme(0.3, -0.75, 0.1), (1.0, 2.0, 1.0)),
    "uɯ": _Class(Viseme(0.22, -1.0, 0.05), (1.0, 2.5, 1.0)),
    "wɥ": _Class(Viseme(0.14, -0.95, 0.0), (1.5, 3.0, 1.0)),
    "pbmʙ": _Class(Viseme(0.0, -0.05, 0.0), (1.0, 1.0, 2.0), seal=True),  # lips meet
    "fvʋɱ": _Class(Viseme(0.12, 0.0, 1.0), (2.0, 1.0, 3.0)),  # lower lip under the upper teeth
    "θð": _Class(Viseme(0.2, 0.2, 0.7), (1.5, 1.0, 2.0)),
    "stdnlzɾɫɬɮ": _Class(Viseme(0.18, 0.35, 0.9), (1.5, 1.0, 2.0)),  # small opening, teeth
    "ʃʒɕʑʂʐ": _Class(Viseme(0.22, -0.5, 0.8), (1.5, 2.0, 2.0)),  # lips pushed forward
    "ɹrʁʀ": _Class(Viseme(0.22, -0.35, 0.4), (0.8, 1.2, 0.8)),
    "jɲʎ": _Class(Viseme(0.2, 0.5, 0.6), (1.0, 1.0, 1.0)),
    "kgŋxɣχçhɦʔq": _Class(Viseme(0.3, 0.1, 0.4), (0.3, 0.3, 0.3)),  # follow their neighbours
}
_BY_SYMBOL = {ch: cls for chars, cls in _CLASSES.items() for ch in chars}
_VOWELS = set("aɑæɐɶʌɒɛœeøəɜɘɵɚɝiɪɨyʏɔoʊuɯ")


def _letters(ipa: str) -> str:
    """The base letters of a phoneme: stress, length, tie bars and diacritics removed."""
    decomposed = unicodedata.normalize("NFD", ipa.replace("ɡ", "g"))
    return "".join(ch for ch in decomposed if ch in _BY_SYMBOL or ch == "_")


def _class_of(ipa: str) -> _Class:
    letters = _letters(ipa)
    if not letters or letters[0] == "_":
        return SILENCE
    vowels = [ch for ch in letters if ch in _VOWELS]
    # A diphthong shows its nucleus (first vowel); an affricate its release (tʃ looks like ʃ).
    return _BY_SYMBOL[vowels[0] if vowels else letters[-1]]


def viseme_for(ipa: str) -> Viseme:
    """Mouth pose for one IPA phoneme (espeak-ng style; '_' or anything unknown is a pause)."""
    return _class_of(ipa).pose


def _segments(phonemes: Sequence[tuple[str, float, float]]) -> list[tuple[_Class, float, float]]:
    """Phonemes as classes on the timeline, every gap (and before and after) filled with silence.

    A diphthong glides: its nucleus holds 60 % of its span, its offglide the rest.
    """
    out = []
    last = -np.inf
    for ipa, start, end in sorted(phonemes, key=lambda p: p[1]):
        if start > last:
            out.append((SILENCE, last, start))
        last = max(last, end)
        vowels = [ch for ch in _letters(ipa) if ch in _VOWELS]
        if len(vowels) >= 2:
            split = start + 0.6 * (end - start)
            out += [(_BY_SYMBOL[vowels[0]], start, split), (_BY_SYMBOL[vowels[-1]], split, end)]
        else:
            out.append((_class_of(ipa), start, end))
    out.append((SILENCE, last, np.inf))
    return out


def mouth_track(
    phonemes: Sequence[tuple[str, float, float]], n_frames: int, fps: int = FPS
) -> np.ndarray:
    """Smoothed mouth parameters per video frame: (F, 3) float32 of (open, width, teeth).

    Co-articulation follows a dominance model: each phoneme pulls the pose towards its target
    with a weight that is constant over its span and decays exponentially outside it, and the
    pose is the weighted mean. Velars and /h/ barely pull, so they take their neighbours'
    shape. The lips then seal for p/b/m (closing just before, opening just after), however
    short the consonant, and a light smoothing gives the lips their inertia.
    """
    n_steps = int(np.ceil(n_frames / fps * TRACK_RATE)) + 2
    times = np.arange(n_steps) / TRACK_RATE  # (T,)
    weight = np.full((n_steps, 3), 1e-3)  # faint silence everywhere: no division by zero
    total = np.zeros((n_steps, 3))
    seal = np.zeros(n_steps)
    for cls, start, end in _segments(phonemes):
        lo, hi = np.searchsorted(times, [start - 8 * SPREAD_S, end + 8 * SPREAD_S])
        t = times[lo:hi]
        outside = np.maximum(np.maximum(start - t, t - end), 0.0)
        dom = np.exp(-outside / SPREAD_S)[:, None] * np.array(cls.dominance)  # (T', 3)
        weight[lo:hi] += dom
        total[lo:hi] += dom * np.array([cls.pose.open, cls.pose.width, cls.pose.teeth])
        if cls.seal:
            core = min(0.3 * (end - start), 0.02)  # sealed in the middle of the span
            inside = np.maximum(np.maximum(start + core - t, t - end + core), 0.0)
            seal[lo:hi] = np.maximum(seal[lo:hi], 1 - fp.smoothstep(inside / SEAL_RAMP_S))
    track = gaussian_filter1d(total / weight, SMOOTH_S * TRACK_RATE, axis=0, mode="nearest")
    track[:, 0] *= 1 - seal  # after smoothing, so the seal is complete; its ramps are smooth
    frame_times = np.arange(n_frames) / fps
    columns = [np.interp(frame_times, times, track[:, i]) for i in range(3)]
    return np.stack(columns, axis=1).astype(np.float32)  # (F, 3)


@dataclass(frozen=True)
class FaceFrame:
    """Ground truth of one rendered video frame; pixel values are output-frame pixels."""

    index: int  # frame number from 0
    time: float  # seconds on the clip timeline
    mouth_open: float  # smoothed values actually rendered: 0 closed .. 1 widest
    mouth_width: float  # -1 rounded .. +1 spread
    teeth: float  # 0..1 upper-teeth visibility
    mouth_open_px: float  # inner-lip gap at the mouth centre
    blink: float  # 0 open .. 1 closed
    head_dx: float  # head translation, px
    head_dy: float
    head_roll_deg: float  # positive turns clockwise on screen (y points down)
    head_scale: float  # 1 = the portrait's size
    mouth_center: tuple[float, float]  # (x, y) middle of the inner-lip gap
    # dlib 5-point order: 0/1 outer/inner corner of the eye on the image's right (the actor's
    # left eye), 2/3 outer/inner corner of the eye on the image's left, 4 base of the nose.
    landmarks5: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class MotionConfig:
    """Amplitudes of the actor's idle motion at 720 p (scaled with the frame height)."""

    shift_x_px: float = 4.0  # side-to-side sway: small enough for a steady face track
    shift_y_px: float = 2.5  # nodding
    roll_deg: float = 1.6  # head tilt, kept under the ±2° a frontal detector tolerates easily
    scale: float = 0.006  # leaning towards or away from the camera
    slowest_hz: float = 0.04  # the random walk is a sum of sinusoids in this band
    fastest_hz: float = 0.35
    breath_s: tuple[float, float] = (3.5, 4.5)  # breathing period range
    breath_px: float = 1.0  # breathing lifts the head this much
    blink_gap_s: tuple[float, float] = (2.0, 6.0)  # time between blinks
    blink_close_s: tuple[float, float] = (0.05, 0.08)  # lids come down fast ...
    blink_open_s: tuple[float, float] = (0.08, 0.13)  # ... and rise more slowly


def _wander(
    rng: np.random.Generator, times: np.ndarray, amplitude: float, cfg: MotionConfig
) -> np.ndarray:
    """A smooth random walk bounded by `amplitude`: three sinusoids of random frequency."""
    freqs = rng.uniform(cfg.slowest_hz, cfg.fastest_hz, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    weights = rng.uniform(0.5, 1.0, 3)
    weights *= amplitude / weights.sum()
    return np.sum(weights * np.sin(2 * np.pi * freqs * times[:, None] + phases), axis=1)


def head_track(
    seed: int,
    n_frames: int,
    fps: int = FPS,
    px_per_720: float = 1.0,
    cfg: MotionConfig = MotionConfig(),
) -> np.ndarray:
    """Head pose per frame: (F, 4) float32 of (dx px, dy px, roll degrees, scale)."""
    rng = np.random.default_rng([seed, 1])
    times = np.arange(n_frames) / fps  # (F,)
    breath = np.sin(2 * np.pi * times / rng.uniform(*cfg.breath_s) + rng.uniform(0, 2 * np.pi))
    dx = _wander(rng, times, cfg.shift_x_px, cfg) * px_per_720
    dy = (_wander(rng, times, cfg.shift_y_px, cfg) - cfg.breath_px * breath) * px_per_720
    roll = _wander(rng, times, cfg.roll_deg, cfg)
    scale = 1 + _wander(rng, times, cfg.scale, cfg) + 0.002 * breath
    return np.stack([dx, dy, roll, scale], axis=1).astype(np.float32)


def blink_track(
    seed: int, n_frames: int, fps: int = FPS, cfg: MotionConfig = MotionConfig()
) -> np.ndarray:
    """Eyelid closure per frame: (F,) float32, 0 open .. 1 shut, blinks at seeded times.

    Each blink is fully shut on one frame, so no blink falls between frames unseen.
    """
    rng = np.random.default_rng([seed, 2])
    times = np.arange(n_frames) / fps
    out = np.zeros(n_frames)
    peak = rng.uniform(0.6, 2.5)
    while peak < n_frames / fps:
        at = round(peak * fps) / fps
        close, rise = rng.uniform(*cfg.blink_close_s), rng.uniform(*cfg.blink_open_s)
        side = np.where(times < at, close, rise)
        out = np.maximum(out, 1 - fp.smoothstep(np.abs(times - at) / side))
        peak += rng.uniform(*cfg.blink_gap_s)
    return out.astype(np.float32)


class ActorRenderer:
    """Renders the talking actor frame by frame; deterministic for a seed."""

    def __init__(self, seed: int = 7, width: int = WIDTH, height: int = HEIGHT) -> None:
        self.seed = seed
        self.portrait = fp.Portrait(width, height)
        self.mouth = fp.MouthRig(self.portrait)
        self.eyes = [
            fp.EyeRig(self.portrait, spec) for spec in (fp.EYE_IMAGE_LEFT, fp.EYE_IMAGE_RIGHT)
        ]
        self.head = fp.HeadRig(self.portrait)
        self._face = self.portrait.canvas.copy()  # the portrait with this frame's mouth and eyes
        p = self.portrait
        # dlib's 5-point order (see FaceFrame.landmarks5), in canvas px.
        right, left = fp.EYE_IMAGE_RIGHT, fp.EYE_IMAGE_LEFT
        self.landmarks = tuple(
            p.point(xy) for xy in (right.outer, right.inner, left.outer, left.inner, fp.NOSE_BASE)
        )
        self.px_per_720 = height / 720

    def render(
        self,
        phonemes: Sequence[tuple[str, float, float]],
        n_frames: int,
        fps: int = FPS,
        chunk: int = 25,
    ) -> Iterator[tuple[np.ndarray, list[FaceFrame]]]:
        """Yield (F, H, W, 3) uint8 RGB chunks of at most `chunk` frames with their truth.

        `phonemes` are (ipa, start_s, end_s) on the clip timeline.
        """
        mouth = mouth_track(phonemes, n_frames, fps)  # (F, 3)
        blink = blink_track(self.seed, n_frames, fps)  # (F,)
        head = head_track(self.seed, n_frames, fps, self.px_per_720)  # (F, 4)
        p = self.portrait
        for start in range(0, n_frames, chunk):
            stop = min(start + chunk, n_frames)
            frames = np.empty((stop - start, p.height, p.width, 3), np.uint8)
            truth = []
            for i in range(start, stop):
                truth.append(self._frame(i, fps, mouth[i], blink[i], head[i], frames[i - start]))
            yield frames, truth

    def _frame(
        self,
        index: int,
        fps: int,
        mouth: np.ndarray,
        blink: float,
        head: np.ndarray,
        out: np.ndarray,
    ) -> FaceFrame:
        """Render one frame into `out` (H, W, 3) uint8 and return its ground truth."""
        src, face = self.portrait.canvas, self._face
        open_, width, teeth = (float(v) for v in mouth)
        gap = self.mouth.render(src, face, open_, width, teeth)  # rewrites its whole box
        for eye in self.eyes:
            eye.render(src, face, float(blink))
        dx, dy, roll, scale = (float(v) for v in head)
        map_x, map_y = self.head.maps(dx, dy, roll, scale)
        cv2.remap(face, map_x, map_y, cv2.INTER_LINEAR, dst=out, borderMode=cv2.BORDER_REFLECT_101)
        pose = (dx, dy, roll, scale)
        return FaceFrame(
            index=index,
            time=index / fps,
            mouth_open=open_,
            mouth_width=width,
            teeth=teeth,
            mouth_open_px=gap * scale,
            blink=float(blink),
            head_dx=dx,
            head_dy=dy,
            head_roll_deg=roll,
            head_scale=scale,
            mouth_center=self.head.forward(self.mouth.centre(gap, width), *pose),
            landmarks5=tuple(self.head.forward(xy, *pose) for xy in self.landmarks),
        )
