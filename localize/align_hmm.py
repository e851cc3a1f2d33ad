"""The signal side of alignment: features, the warping (DTW) and the boundary refinement.

Refinement: the DTW against espeak places boundaries where espeak's voice would change sound;
the actor's own audio knows better. Each phoneme label gets a diagonal Gaussian over the frames
the current segmentation gives it (pooled over every line of the clip, shrunk towards the clip's
global statistics when it has few frames), every boundary is re-placed by a Viterbi pass within a
few frames of where it was (moving costs a little: the DTW's place is evidence too), and the two
steps alternate for a few iterations.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from math import gcd

import numpy as np
from scipy import fft, signal

from localize.phonemes import Speech

SAMPLE_RATE = 16000  # features are computed at this rate whatever the input's
HOP = SAMPLE_RATE // 100  # 10 ms frames (T at 100 Hz)
FRAME_S = HOP / SAMPLE_RATE
N_FFT = 512  # 32 ms window at 16 kHz
N_MELS = 40
N_CEPS = 20  # MFCC c1..c19 plus c0 (energy), enough for phone identity at 16 kHz
EPS = 1e-10
SPEECH_RANGE_DB = 35.0  # frames this far below the loud peak are speech; quieter ones are not
LEVEL_WEIGHT = 3.0  # weight of the level against the 19 unit-variance cepstra
DITHER = 10 ** (-70 / 20)  # rms of the noise floor added before analysis, -70 dBFS
PAUSE = "_"  # label of silence units: a pause between words, the silence around a line


@dataclass(frozen=True)
class Segment:
    """A unit on the frame grid: frames start..end-1 (frame t is centred at t * 10 ms)."""

    label: str  # phoneme label the model is keyed by, PAUSE for silence
    start: int
    end: int  # exclusive; a line's segments are contiguous


@dataclass(frozen=True)
class RefineOptions:
    """How far and how hard refine() may move the DTW's boundaries."""

    n_iter: int = 3  # re-estimation rounds; the boundaries settle after two or three
    radius: int = 4  # frames a boundary may move from the DTW's (40 ms)
    min_frames: int = 2  # shortest phoneme (20 ms), unless the DTW gave it less
    prior_frames: float = 30.0  # frames of global statistics mixed into each phone model
    var_floor: float = 0.1  # variance floor, as a fraction of the clip's variance
    move_cost: float = 10.0  # log-likelihood a boundary must gain per frame it moves from the DTW's


def _mel_filters() -> np.ndarray:
    """Triangular mel filters, (N_MELS, N_FFT // 2 + 1)."""

    def mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges_mel = np.linspace(mel(np.array(60.0)), mel(np.array(7600.0)), N_MELS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1, None] - edges[:-2, None])
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:, None] - edges[1:-1, None])
    return np.maximum(0.0, np.minimum(lower, upper))


_MEL = _mel_filters()


def features(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MFCCs (T, N_CEPS) of 16 kHz audio, frame t centred at t * 10 ms, and their level (T,), dBFS.

    Not yet normalised: see normalise(), applied per stretch of audio.
    """
    # A faint fixed noise floor, so digital silence looks like a quiet room rather than -inf dB.
    x = x + DITHER * np.random.default_rng(0).standard_normal(len(x)).astype(np.float32)
    n_frames = len(x) // HOP + 1
    padded = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP))
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = padded[idx] * np.hanning(N_FFT).astype(np.float32)  # (T, N_FFT)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (T, N_FFT // 2 + 1)
    logmel = np.log(power @ _MEL.T + EPS)  # (T, N_MELS)
    ceps = fft.dct(logmel, type=2, norm="ortho", axis=1)[:, :N_CEPS]  # (T, D)
    rms_db = 10 * np.log10(np.mean(frames**2, axis=1) / np.mean(np.hanning(N_FFT) ** 2) + EPS)
    return ceps, rms_db


def normalise(ceps: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Features (T, N_CEPS) on which two voices in two rooms compare: c1.. normalised to zero mean
    and unit variance over the speech frames (the voice and channel drop out), faded to zero
    in quiet frames (so one room's silence matches another's), plus the level below the peak."""
    peak = np.percentile(level, 95)
    speech = level > peak - SPEECH_RANGE_DB
    ref = ceps[speech] if speech.sum() > 10 else ceps
    shape = (ceps[:, 1:] - ref[:, 1:].mean(axis=0)) / (ref[:, 1:].std(axis=0) + 1e-3)
    fade = 1.0 / (1.0 + np.exp(-(level - (peak - SPEECH_RANGE_DB)) / 3.0))
    loudness = np.clip((level - peak) / 10.0, -SPEECH_RANGE_DB / 10.0, 1.0) * LEVEL_WEIGHT
    return np.concatenate([shape * fade[:, None], loudness[:, None]], axis=1)  # (T, N_CEPS)


@dataclass(frozen=True)
class DtwSteps:
    """The moves DTW may make; see dtw()."""

    max_stretch: int = 8  # actor frames one espeak frame may span: the actor may be 8x slower
    stay_penalty: float = 0.75  # per espeak frame on the same actor frame (actor faster)
    skip_penalty: float = 0.0  # per extra actor frame one espeak frame spans


def search_windows(
    slots: Sequence[tuple[float | None, float | None]], n_frames: int, margin: float
) -> list[tuple[list[int], tuple[int, int]]]:
    """Lines searched together with their frame window, from each line's (start, end) slot in
    seconds: a timed line alone (± ``margin`` s), untimed runs together.

    An untimed run is searched from the end of the timed line before it to the start of the timed
    line after it (or the audio's ends).
    """
    pad = round(margin / FRAME_S)
    groups: list[tuple[list[int], tuple[int, int]]] = []
    run: list[int] = []
    prev_end = 0
    for k, (slot_start, slot_end) in enumerate(slots):
        if slot_start is not None and slot_end is not None:
            start, end = round(slot_start / FRAME_S), round(slot_end / FRAME_S)
            if run:
                groups.append((run, (max(0, prev_end - pad), min(n_frames, start + pad))))
                run = []
            groups.append(([k], (max(0, start - pad), min(n_frames, end + pad))))
            prev_end = end
        else:
            run.append(k)
    if run:
        groups.append((run, (max(0, prev_end - pad), n_frames)))
    return groups


def refine(
    feats: np.ndarray, lines: list[list[Segment]], opts: RefineOptions = RefineOptions()
) -> list[list[Segment]]:
    """Re-place the inner boundaries of each line's contiguous segments on ``feats`` (T, D).

    A line's first start and last end stay fixed (its surrounding silence bounds them).
    """
    current = [list(line) for line in lines]
    for _ in range(opts.n_iter):
        models = _estimate(feats, current, opts)
        current = [_viterbi(feats, line, models, opts) for line in current]
    return current


def _estimate(
    feats: np.ndarray, lines: list[list[Segment]], opts: RefineOptions
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and variance (D,) each per label, from the frames the segmentation assigns it."""
    frames: dict[str, list[np.ndarray]] = defaultdict(list)
    for line in lines:
        for seg in line:
            # A label whose segments are all empty still gets a model: the global one.
            frames[seg.label].append(feats[seg.start : seg.end])
    used = np.concatenate([x for chunks in frames.values() for x in chunks])  # (N, D)
    g_mean, g_var = used.mean(axis=0), used.var(axis=0) + 1e-6
    models = {}
    for label, chunks in frames.items():
        x = np.concatenate(chunks)  # (n, D)
        w = len(x) / (len(x) + opts.prior_frames)
        mean = w * x.mean(axis=0) + (1 - w) * g_mean if len(x) else g_mean
        var = w * x.var(axis=0) + (1 - w) * g_var if len(x) else g_var
        models[label] = (mean, np.maximum(var, opts.var_floor * g_var))
    return models


def _viterbi(
    feats: np.ndarray,
    line: list[Segment],
    models: dict[str, tuple[np.ndarray, np.ndarray]],
    opts: RefineOptions,
) -> list[Segment]:
    """Best inner boundaries of one line, each within ``radius`` frames of its current place."""
    lo, hi = line[0].start, line[-1].end
    x = feats[lo:hi]  # (L, D)
    n_seg = len(line)
    if n_seg < 2 or hi - lo < n_seg:
        return line
    # cum[k][t]: log-likelihood of frames lo..lo+t-1 under segment k's model, (L + 1,)
    cum = {}
    for label in {seg.label for seg in line}:
        mean, var = models[label]
        ll = -0.5 * (((x - mean) ** 2 / var).sum(axis=1) + np.log(var).sum())  # (L,)
        cum[label] = np.concatenate([[0.0], np.cumsum(ll)])
    offsets = np.arange(-opts.radius, opts.radius + 1)
    # Candidate positions (relative to lo) of boundary k, the start of segment k, k = 1..n_seg-1.
    cands = [np.array([0])]
    cands += [np.clip(seg.start - lo + offsets, 1, hi - lo - 1) for seg in line[1:]]
    cands.append(np.array([hi - lo]))
    # What moving each candidate costs: the DTW's place is itself evidence.
    moves = [np.zeros(1)] + [opts.move_cost * np.abs(offsets) for _ in line[1:]] + [np.zeros(1)]
    score = np.zeros(1)
    back: list[np.ndarray] = []
    for k, seg in enumerate(line):
        prev, nxt = cands[k], cands[k + 1]
        min_len = max(1, min(opts.min_frames, seg.end - seg.start))
        length = nxt[None, :] - prev[:, None]  # (n_prev, n_next)
        gain = cum[seg.label][nxt][None, :] - cum[seg.label][prev][:, None]
        gain = gain - moves[k + 1][None, :]
        total = np.where(length >= min_len, score[:, None] + gain, -np.inf)
        back.append(np.argmax(total, axis=0))
        score = total[back[-1], np.arange(len(nxt))]
    if not np.isfinite(score[0]):
        return line  # no segmentation fits the limits: keep the DTW's
    picks = [0]  # index into the last candidate list
    for k in range(n_seg - 1, -1, -1):
        picks.append(int(back[k][picks[-1]]))
    picks.reverse()
    bounds = [lo + int(cands[k][p]) for k, p in enumerate(picks)]
    return [replace(seg, start=bounds[k], end=bounds[k + 1]) for k, seg in enumerate(line)]


def dtw(
    ref: np.ndarray,
    target: np.ndarray,
    loops: np.ndarray,
    optional: np.ndarray,
    steps: DtwSteps,
    free_ends: bool = False,
    cap: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best warp of all of ``ref`` (S, D) onto all of ``target`` (W, D), or onto a stretch of it
    with ``free_ends``.

    Each step advances one ref frame and 0..max_stretch target frames, every target frame passed
    counting its distance to that ref frame. A ref frame marked in ``loops`` (S,) (silence
    between lines, espeak's pauses) may also hold for any number of target frames, since an
    actor's pauses have no upper length; one marked in ``optional`` (S,) may be passed by.
    ``cap`` (S,) bounds each ref frame's distances: the silence around a run of lines absorbs
    whatever else is said there at that price. Returns the first and last target frame of each
    ref frame ((S,) each, -1 where passed by) and its distance to its first target frame (S,).
    """
    cost = distances(ref, target)  # (S, W)
    if cap is not None:
        cost = np.minimum(cost, cap[:, None])
    n_ref, width = cost.shape
    moves = np.arange(steps.max_stretch + 1)  # target frames advanced per ref frame
    penalties = np.where(moves == 0, steps.stay_penalty, (moves - 1) * steps.skip_penalty)
    columns = np.arange(width)
    back = np.zeros((n_ref, width), dtype=np.int64)  # target frames advanced to enter (i, j)
    hold = np.tile(columns, (n_ref, 1))  # where row i was entered, for a path leaving at j
    passed = np.zeros((n_ref, width), dtype=bool)  # row i passed by, the path staying at j
    inf = np.full(steps.max_stretch, np.inf)
    acc = np.zeros(width)
    for i in range(n_ref):
        before = acc
        if i > 0:
            padded = np.concatenate([inf, acc])
            cumsum = np.concatenate([np.zeros(steps.max_stretch + 1), np.cumsum(cost[i])])
            top = steps.max_stretch + 1  # cumsum[top + j] sums cost[i, :j + 1]
            options = np.stack(
                [
                    padded[steps.max_stretch - s : steps.max_stretch - s + width]
                    + cumsum[top : top + width]
                    - cumsum[top - max(s, 1) : top - max(s, 1) + width]
                    for s in range(steps.max_stretch + 1)
                ]
            )  # (n_steps, W): arrive at j having passed j-s+1..j (j itself when staying)
            options += penalties[:, None]
            back[i] = np.argmin(options, axis=0)
            acc = options[back[i], columns]
        elif free_ends:
            acc = cost[0].copy()
        else:
            acc = np.full(width, np.inf)
            acc[0] = cost[0, 0]
        if loops[i]:
            # Holding row i from column k to j costs cost[i, k+1..j]: a running minimum of
            # acc[k] - cumsum[k] finds the best k for every j at once.
            cumsum = np.cumsum(cost[i])
            entry = acc - cumsum
            best = np.minimum.accumulate(entry)
            hold[i] = np.maximum.accumulate(np.where(entry <= best, columns, 0))
            acc = best + cumsum
        if optional[i] and i > 0:
            passed[i] = before < acc
            acc = np.minimum(acc, before)
    first = np.full(n_ref, -1, dtype=np.int64)
    last = np.full(n_ref, -1, dtype=np.int64)
    j = int(np.argmin(acc)) if free_ends else width - 1
    for i in range(n_ref - 1, -1, -1):
        if passed[i, j]:
            continue
        last[i] = j
        j = int(hold[i, j])
        first[i] = j
        j -= int(back[i, j])
    costs = np.where(first >= 0, cost[np.arange(n_ref), np.maximum(first, 0)], 0.0)
    return first, last, costs


def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between rows, (S, W)."""
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0)) / np.sqrt(a.shape[1])


def resample(x: np.ndarray, sample_rate: int) -> np.ndarray:
    if sample_rate == SAMPLE_RATE:
        return x
    g = gcd(SAMPLE_RATE, sample_rate)
    return signal.resample_poly(x, SAMPLE_RATE // g, sample_rate // g).astype(np.float32)


def join_renditions(
    speeches: list[Speech], gap: float
) -> tuple[np.ndarray, list[float], np.ndarray]:
    """The renditions at 16 kHz joined with ``gap`` s of silence, each one's offset (s), and
    which frames may be held for any length (the gaps and espeak's pauses), (S,)."""
    silence = np.zeros(round(gap * SAMPLE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = [silence]
    offsets: list[float] = []
    at = len(silence)
    spans = []  # (start, end) in seconds of stretches that may be held
    for speech in speeches:
        x = resample(speech.samples.astype(np.float32), speech.sample_rate)
        offset = at / SAMPLE_RATE
        offsets.append(offset)
        spans += [
            (offset + p.start, offset + p.start + p.duration)
            for p in speech.phonemes.phonemes
            if p.is_pause
        ]
        parts += [x, silence]
        at += len(x) + len(silence)
        spans.append((at / SAMPLE_RATE - gap, at / SAMPLE_RATE))
    joined = np.concatenate(parts)
    centres = np.arange(len(joined) // HOP + 1) * FRAME_S
    loops = np.zeros(len(centres), dtype=bool)
    for start, end in spans:
        loops |= (centres > start) & (centres < end)
    return joined, offsets, loops


def shuffled_phonemes(speech: Speech, offset: float, a: int, b: int, seed: int = 0) -> np.ndarray:
    """Rows a..b of the joined rendition with the line's phonemes in a fixed random order.

    The same sounds in the wrong order match a right script's audio far worse than the script
    does, and a wrong script's audio about as well, so the cost saving measures the match.
    """
    cuts = [min(max(round((offset + p.start) / FRAME_S), a), b) for p in speech.phonemes.phonemes]
    cuts = [a, *cuts[1:], b]
    blocks = [np.arange(x, y) for x, y in itertools.pairwise(cuts) if y > x]
    order = np.random.default_rng(seed).permutation(len(blocks))
    return np.concatenate([blocks[k] for k in order])
