"""Objective figures for lip-sync evaluation: mouth-crop quality and AV offset.

Shapes: N crops or video frames, S crop side in pixels, T audio frames at 100 Hz (10 ms),
D mel-cepstral coefficients. Crops are uint8 RGB, masks float32 weights in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from skimage.metrics import structural_similarity

DB_FLOOR = 50.0  # envelope dB below the clip's peak are clipped: silence carries no timing
MIN_PEAK = 0.2  # correlation below this is too weak to trust an offset
# Appearance model of `av_offset_from_crops`. More components overfit a 6 s clip (one reading
# flipped by 400 ms at 16 on a real clip); fewer lose the lip shape. 8..12 agree on every clip.
APPEARANCE_COMPONENTS = 12  # principal components of the mouth crop: openness, spread, teeth
APPEARANCE_SIDE = 48  # px: crops are shrunk before PCA; the lip shape survives, pixel noise not
RIDGE = 0.1  # ridge penalty per training frame, on z-scored components
N_FOLDS = 5  # contiguous cross-validation blocks: neighbouring frames never test each other


@dataclass(frozen=True)
class AvOffset:
    """Offset between mouth motion and speech; offset_ms > 0 means the audio is late."""

    offset_ms: float  # lag_frames in milliseconds at the analysed frame rate
    lag_frames: float  # sub-frame lag of the correlation peak
    peak: float  # normalised correlation at the best integer lag, -1..1
    confident: bool  # peak >= MIN_PEAK and not on the edge of the searched lags


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two equal-length vectors; 0.0 when either is constant."""
    x = np.asarray(a, np.float64).ravel()
    y = np.asarray(b, np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom > 1e-12 else 0.0


def _batches(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as (N, S, S, 3), checking they match."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"crop shapes differ: {a.shape} vs {b.shape}")
    return (a[None], b[None]) if a.ndim == 3 else (a, b)


def masked_ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """SSIM of crops a, b (S, S, 3) or (N, S, S, 3) uint8, averaged with `mask` (S, S) weights."""
    a, b = _batches(a, b)
    w = mask.astype(np.float64)
    scores = []
    for x, y in zip(a, b, strict=True):
        _, smap = structural_similarity(x, y, full=True, channel_axis=-1, data_range=255)
        scores.append(float((smap.mean(axis=-1) * w).sum() / w.sum()))  # (S, S) map weighted
    return float(np.mean(scores))


def masked_psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """PSNR in dB from the mask-weighted MSE; mean over N for batches, inf when identical."""
    a, b = _batches(a, b)
    w = mask.astype(np.float64)[None, :, :, None]  # (1, S, S, 1)
    err = (a.astype(np.float64) - b.astype(np.float64)) ** 2  # (N, S, S, 3)
    mse = (err * w).sum(axis=(1, 2, 3)) / (w.sum() * 3)  # (N,)
    with np.errstate(divide="ignore"):
        return float(np.mean(10 * np.log10(255.0**2 / mse)))


def _grey(crops: np.ndarray) -> np.ndarray:
    """(N, S, S, 3) uint8 -> (N, S, S) float64 luma."""
    return np.asarray(crops, np.float64) @ np.array([0.299, 0.587, 0.114])


def sharpness(crops: np.ndarray, mask: np.ndarray) -> float:
    """Mask-weighted variance of the grey Laplacian, mean over crops (S, S, 3) or (N, S, S, 3)."""
    crops = np.asarray(crops)
    crops = crops[None] if crops.ndim == 3 else crops
    w = mask.astype(np.float64)
    out = []
    for grey in _grey(crops):
        lap = cv2.Laplacian(grey, cv2.CV_64F)  # (S, S)
        mean = (lap * w).sum() / w.sum()
        out.append(float(((lap - mean) ** 2 * w).sum() / w.sum()))
    return float(np.mean(out))


def mouth_motion(
    crops: np.ndarray, mask: np.ndarray, times: np.ndarray | None = None
) -> np.ndarray:
    """(N,) mouth activity from aligned crops (N, S, S, 3) uint8: mask-weighted mean abs grey
    change, centred on each frame.

    A difference to the previous crop describes the half frame before it, which would bias an
    AV offset by half a frame, so frame k gets the mean of its changes from k - 1 and to k + 1
    (one side at the ends). With `times` (N,) seconds of a variable-rate source each change is
    divided by its step relative to the median step, so a dropped frame does not count double.
    """
    grey = _grey(crops)
    w = mask.astype(np.float64)
    change = (np.abs(np.diff(grey, axis=0)) * w).sum(axis=(1, 2)) / w.sum()  # (N-1,)
    if len(change) == 0:
        return np.zeros(len(grey))
    if times is not None:
        steps = np.diff(np.asarray(times, np.float64))
        change = change / np.maximum(steps / np.median(steps), 1e-3)
    before = np.concatenate([change[:1], change])  # (N,) change into frame k
    after = np.concatenate([change, change[-1:]])  # (N,) change out of frame k
    return (before + after) / 2


def resample_uniform(
    times: np.ndarray, values: np.ndarray, frame_rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Values (N,) sampled at variable `times` (N,) put on a uniform grid at `frame_rate`.

    Returns the grid times (M,) from the first to the last time and the linearly interpolated
    values (M,): the form `av_offset` needs, whose lags are whole frame periods.
    """
    times = np.asarray(times, np.float64)
    n = int(np.floor((times[-1] - times[0]) * frame_rate + 1e-6)) + 1
    grid = times[0] + np.arange(n) / frame_rate
    return grid, np.interp(grid, times, np.asarray(values, np.float64))


def speech_envelope(
    audio: np.ndarray, sample_rate: int, frame_times: np.ndarray, window_s: float = 0.04
) -> np.ndarray:
    """(N,) speech energy in dB RMS over `window_s` windows centred on `frame_times` (N,) s.

    Frame times may be irregular (VFR video). Values more than DB_FLOOR below the clip's peak
    are clipped to that floor, so digital silence does not dominate a correlation.
    """
    x = np.asarray(audio, np.float64)
    power = np.concatenate([[0.0], np.cumsum(x * x)])  # (L+1,) running energy
    half = window_s * sample_rate / 2
    centres = np.asarray(frame_times, np.float64) * sample_rate
    lo = np.clip(np.round(centres - half), 0, len(x)).astype(np.int64)
    hi = np.clip(np.round(centres + half), 0, len(x)).astype(np.int64)
    mean = (power[hi] - power[lo]) / np.maximum(hi - lo, 1)
    db = 10 * np.log10(np.maximum(mean, 1e-12))
    return np.maximum(db, db.max() - DB_FLOOR)


def _zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-12 else np.zeros_like(x)


def _lag_correlations(motion: np.ndarray, envelope: np.ndarray, max_lag: int) -> np.ndarray:
    """(2 * max_lag + 1,) correlation of motion[t] with envelope[t + lag] on their overlap."""
    n = len(motion)
    out = np.zeros(2 * max_lag + 1)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        a = motion[max(0, -lag) : n - max(0, lag)]
        b = envelope[max(0, lag) : n - max(0, -lag)]
        out[k] = correlation(a, b) if len(a) > 2 else 0.0
    return out


def av_offset(
    motion: np.ndarray, envelope: np.ndarray, frame_rate: float, max_lag: int = 15
) -> AvOffset:
    """Offset of speech against mouth motion, both (N,) on the same uniform frame grid.

    The mouth moves while a syllable sounds and rests in pauses, so the motion and the dB
    envelope, each lightly smoothed and z-scored, are correlated over lags -max_lag..max_lag
    frames (on the shrinking overlap); a parabola through the peak gives sub-frame precision.
    The envelope level proved steadier than its derivative on real clips, whose mouth motion is
    noisy at the frame scale. Sign: offset_ms > 0 means the audio is LATE relative to the
    picture (the sound comes after the mouth moves); < 0 means the audio leads.
    """
    if len(motion) != len(envelope):
        raise ValueError(f"motion has {len(motion)} frames, envelope {len(envelope)}")
    m = _zscore(gaussian_filter1d(np.asarray(motion, np.float64), 1.0))
    e = _zscore(gaussian_filter1d(np.asarray(envelope, np.float64), 1.0))
    return _offset_at_peak(_lag_correlations(m, e, max_lag), frame_rate, max_lag)


def _offset_at_peak(scores: np.ndarray, frame_rate: float, max_lag: int) -> AvOffset:
    """The AvOffset at the best of `scores` (2 * max_lag + 1,) over lags -max_lag..max_lag,
    refined by a parabola through the peak and its neighbours."""
    k = int(np.argmax(scores))
    shift = 0.0
    if 0 < k < len(scores) - 1:
        y0, y1, y2 = scores[k - 1], scores[k], scores[k + 1]
        curve = y0 - 2 * y1 + y2
        shift = 0.5 * (y0 - y2) / curve if curve < 0 else 0.0
    lag = k - max_lag + shift
    edge = k in (0, len(scores) - 1)
    peak = float(scores[k])
    return AvOffset(1000.0 * lag / frame_rate, float(lag), peak, peak >= MIN_PEAK and not edge)


def av_offset_windows(
    motion: np.ndarray,
    envelope: np.ndarray,
    frame_rate: float,
    window_s: float = 3.0,
    max_lag: int = 15,
) -> list[AvOffset]:
    """`av_offset` on half-overlapping `window_s` windows, for a median over a long clip."""
    size = max(round(window_s * frame_rate), 4 * max_lag)
    if len(motion) <= size:
        return [av_offset(motion, envelope, frame_rate, max_lag)]
    starts = range(0, len(motion) - size + 1, size // 2)
    return [
        av_offset(motion[s : s + size], envelope[s : s + size], frame_rate, max_lag) for s in starts
    ]


def mouth_appearance(
    crops: np.ndarray, mask: np.ndarray, n_components: int = APPEARANCE_COMPONENTS
) -> np.ndarray:
    """(N, D) principal-component scores of the masked grey crops (N, S, S, 3), D <= n_components.

    What the mouth looks like (how open, how spread, teeth showing) is simultaneous with the
    sound it shapes; frame differences instead peak on the transitions before a vowel's energy.
    """
    side = APPEARANCE_SIDE
    grey = _grey(np.asarray(crops))  # (N, S, S)
    small = np.stack([cv2.resize(g, (side, side), interpolation=cv2.INTER_AREA) for g in grey])
    weight = cv2.resize(mask.astype(np.float64), (side, side), interpolation=cv2.INTER_AREA)
    pixels = (small * weight).reshape(len(small), -1)  # (N, side * side)
    pixels -= pixels.mean(axis=0)
    u, s, _ = np.linalg.svd(pixels, full_matrices=False)
    d = min(n_components, len(s))
    return u[:, :d] * s[:d]  # (N, D)


def _held_out_maps(features: np.ndarray) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Per contiguous fold (a, b): training rows (R,) and the (b - a, R) matrix that turns
    centred training targets into ridge predictions for rows a..b.

    The features are the same at every lag, so each fold's ridge solve is done once here and a
    lag costs only a matrix-vector product.
    """
    n, d = features.shape
    edges = np.linspace(0, n, N_FOLDS + 1).astype(np.int64)
    maps = []
    for a, b in pairwise(edges):
        train = np.r_[0:a, b:n]
        mean, sd = features[train].mean(axis=0), features[train].std(axis=0) + 1e-9
        x_train = (features[train] - mean) / sd  # (R, D)
        x_test = (features[a:b] - mean) / sd  # (b - a, D)
        gram = x_train.T @ x_train + RIDGE * len(train) * np.eye(d)  # (D, D)
        maps.append((int(a), int(b), train, x_test @ np.linalg.solve(gram, x_train.T)))
    return maps


def _predictability(features: np.ndarray, envelope: np.ndarray, max_lag: int) -> np.ndarray:
    """(2 * max_lag + 1,) cross-validated correlation of envelope[t + lag] with its ridge
    prediction from features[t] (N, D), over lags -max_lag..max_lag.

    Every lag uses the same frames t (those with all lags inside the clip), so the scores differ
    only in the pairing and shifting the audio by k frames moves the peak by exactly k.
    """
    rows = np.arange(max_lag, len(envelope) - max_lag)
    maps = _held_out_maps(features[rows])
    scores = np.zeros(2 * max_lag + 1)
    for k, lag in enumerate(range(-max_lag, max_lag + 1)):
        target = envelope[rows + lag]
        predicted = np.empty(len(rows))
        for a, b, train, to_test in maps:
            level = target[train].mean()
            predicted[a:b] = to_test @ (target[train] - level) + level
        scores[k] = correlation(predicted, target)
    return scores


def av_offset_from_crops(
    crops: np.ndarray,
    mask: np.ndarray,
    audio: np.ndarray,
    sample_rate: int,
    times: np.ndarray,
    frame_rate: float | None = None,
    max_lag: int = 15,
) -> AvOffset:
    """Offset of speech against the mouth seen in aligned crops (N, S, S, 3) uint8.

    `times` (N,) are the crops' presentation times in seconds, possibly irregular (VFR); the
    crops' `mouth_appearance` is put on a uniform grid at `frame_rate` (default: the median
    step) and the dB `speech_envelope` read at the grid times. For each lag a ridge regression
    from the appearance at t to the envelope at t + lag is scored by contiguous-block cross-
    validation; the lag the picture predicts the sound best at is the offset (parabolic
    refinement; `peak` is that held-out correlation). A per-clip model needs no training data
    and compares appearance with level, both simultaneous with the sound, where `av_offset`'s
    motion leads it. offset_ms > 0: the audio is late. Needs about 2 s at 25 fps.
    """
    times = np.asarray(times, np.float64)
    if len(times) != len(crops):
        raise ValueError(f"{len(crops)} crops but {len(times)} times")
    rate = frame_rate or 1.0 / float(np.median(np.diff(times)))
    appearance = mouth_appearance(crops, mask)  # (N, D)
    grid, first = resample_uniform(times, appearance[:, 0], rate)
    features = np.stack([first] + [np.interp(grid, times, f) for f in appearance.T[1:]], axis=1)
    if len(grid) < 2 * max_lag + 4 * N_FOLDS:
        need = (2 * max_lag + 4 * N_FOLDS) / rate
        raise ValueError(f"{len(grid)} frames ({len(grid) / rate:.1f} s): need {need:.1f} s")
    envelope = speech_envelope(audio, sample_rate, grid)
    return _offset_at_peak(_predictability(features, envelope, max_lag), rate, max_lag)
