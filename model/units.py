"""Unit selection: which frames of the actor's own recording best say each target frame.

The actor's source clip is a database of 100 Hz frames, each carrying its sound (WORLD features)
and, through the frame's time, its mouth picture. For a target track we pick one source frame per
target frame by Viterbi search: a target cost (descriptor distance) plus a join cost that is zero
when the path simply plays the source on (frame i then i + 1), so the search prefers long runs of
real, already-synchronised material and joins them where the phonetics ask for it.

Shapes: T target frames, N source frames, D descriptor size, K candidates per frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Descriptor weights: identity decides first, neighbours (coarticulation) second, position in
# the phone keeps a long target phone from replaying the same source frame.
IDENTITY_WEIGHT = 2.0
CONTEXT_WEIGHT = 0.5
POSITION_WEIGHT = 1.0


@dataclass(frozen=True)
class SelectOptions:
    """Search settings; the join costs are in units of squared descriptor distance."""

    n_candidates: int = 24  # nearest source frames kept per target frame before the search
    # Price of jumping anywhere but the next source frame. High: long runs of real speech
    # (6 vs 2 lifted speaker cosine 0.70 -> 0.73 and 0.77 -> 0.80 on pyannote_sample).
    join_cost: float = 6.0
    repeat_cost: float = 0.6  # price of holding a source frame (target slower than source)
    skip_cost: float = 0.4  # price of skipping one source frame (target faster)


def phoneme_descriptors(
    ids: np.ndarray, features: np.ndarray, position: np.ndarray, n_phonemes: int
) -> np.ndarray:
    """Per-frame descriptors of a phoneme track.

    ids (T,) int phoneme index per frame, features (T, A) articulatory features, position (T,)
    0..1 within the phone. Returns (T, n_phonemes + 3A + 1) float32: identity one-hot, the
    phone's features, the previous and next phones' features, position.
    """
    n = len(ids)
    change = np.flatnonzero(np.diff(ids) != 0) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    prev_f = np.zeros_like(features)
    next_f = np.zeros_like(features)
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if k > 0:
            prev_f[a:b] = features[starts[k - 1]]
        if k + 1 < len(starts):
            next_f[a:b] = features[ends[k]]
    onehot = np.zeros((n, n_phonemes), np.float32)
    onehot[np.arange(n), np.clip(ids, 0, n_phonemes - 1)] = IDENTITY_WEIGHT
    return np.concatenate(
        [
            onehot,
            features,
            CONTEXT_WEIGHT * prev_f,
            CONTEXT_WEIGHT * next_f,
            POSITION_WEIGHT * position[:, None],
        ],
        axis=1,
    ).astype(np.float32)


def _candidates(
    target: np.ndarray, source: np.ndarray, allowed: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """(T, K) source indices and their squared distances, nearest first, among allowed frames."""
    pool = np.flatnonzero(allowed)
    if len(pool) == 0:
        raise ValueError("unit selection: no source frames are allowed")
    k = min(k, len(pool))
    src = source[pool].astype(np.float32)
    out_idx = np.empty((len(target), k), np.int64)
    out_cost = np.empty((len(target), k), np.float32)
    sq_src = (src**2).sum(1)
    for a in range(0, len(target), 512):  # chunks keep the (chunk, N) matrix small
        tgt = target[a : a + 512].astype(np.float32)
        d = (tgt**2).sum(1)[:, None] + sq_src[None] - 2 * tgt @ src.T  # (t, N)
        part = np.argpartition(d, k - 1, axis=1)[:, :k]
        cost = np.take_along_axis(d, part, 1)
        order = np.argsort(cost, axis=1, kind="stable")
        out_idx[a : a + 512] = pool[np.take_along_axis(part, order, 1)]
        out_cost[a : a + 512] = np.maximum(np.take_along_axis(cost, order, 1), 0)
    return out_idx, out_cost


def select_units(
    target: np.ndarray,
    source: np.ndarray,
    allowed: np.ndarray | None = None,
    opts: SelectOptions = SelectOptions(),
) -> np.ndarray:
    """One source frame index per target frame: (T,) int64.

    target (T, D) and source (N, D) descriptors; allowed (N,) bool limits the database (e.g.
    leaving out the line being fitted, so training sees selections as poor as real ones).
    """
    if allowed is None:
        allowed = np.ones(len(source), bool)
    idx, cost = _candidates(target, source, allowed, opts.n_candidates)
    n_t, k = idx.shape
    total = cost[0].astype(np.float64)
    back = np.zeros((n_t, k), np.int64)
    for t in range(1, n_t):
        step = idx[t][None, :] - idx[t - 1][:, None]  # (K prev, K cur)
        join = np.full((k, k), opts.join_cost)
        join[step == 1] = 0.0
        join[step == 0] = opts.repeat_cost
        join[step == 2] = opts.skip_cost
        acc = total[:, None] + join  # (K prev, K cur)
        back[t] = acc.argmin(0)
        total = acc.min(0) + cost[t]
    path = np.empty(n_t, np.int64)
    j = int(total.argmin())
    for t in range(n_t - 1, -1, -1):
        path[t] = idx[t, j]
        j = int(back[t, j])
    return path


def alternatives(target: np.ndarray, source: np.ndarray, allowed: np.ndarray, n: int) -> np.ndarray:
    """(T, n) the n nearest allowed source frames of each target frame, by descriptor alone."""
    idx, _ = _candidates(target, source, allowed, n)
    if idx.shape[1] < n:  # a tiny database: repeat the nearest
        idx = np.concatenate([idx, np.repeat(idx[:, :1], n - idx.shape[1], 1)], 1)
    return idx
