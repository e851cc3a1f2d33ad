"""Diarization back-ends: who speaks when without script labels (Resemblyzer clusters, pyannote)."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pyannote.core import Annotation, Segment
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.ndimage import median_filter

from localize.errors import LocalizeError

Span = tuple[float, float]  # (start, end) in seconds
SAMPLE_RATE = 16000  # silero-vad and Resemblyzer both work at 16 kHz
FRAME_RATE = 100  # T: the project's 100 Hz frame track
MEL_HOP = SAMPLE_RATE // FRAME_RATE  # 160 samples: Resemblyzer's 10 ms mel frames
TRAINED_RMS = 10 ** (-30 / 20)  # Resemblyzer's training level, -30 dBFS


class SpeakerError(LocalizeError):
    """Speaker analysis is impossible: no speech, an unknown speaker or backend, a missing model."""


@dataclass(frozen=True)
class TurnOptions:
    """How speaker turns are found without script labels; times in seconds."""

    window: float = 1.5  # embedding window: long enough for a stable voice print, short for turns
    hop: float = 0.25  # window hop: turn boundaries land within about a hop
    max_speakers: int = 8  # upper bound when the number of speakers is estimated
    # Cluster centroids at least this cosine distance apart are different voices. On real speech
    # the halves of one speaker's windows were 0.08-0.21 apart, distinct voices 0.42-0.47, but
    # two similar voices can be as close as 0.12: give n_speakers when the script knows it.
    threshold: float = 0.25
    # Closer centroids (down to ``floor``) still count as two voices when the distance is large
    # against its sampling noise, which falls as 1/sqrt(seconds of speech): distance /
    # sqrt(1/T1 + 1/T2) >= ``evidence`` with each cluster covering at least ``min_evidence`` s.
    # Splits of one real speaker scored <= 0.21 (over-splits of two voices <= 0.23), two similar
    # voices with 10-16 s each 0.30. A near call: with n_speakers known, give it.
    evidence: float = 0.27
    min_evidence: float = 5.0
    floor: float = 0.1
    median: float = 0.5  # median filter over frame labels: removes flicker shorter than ~half this
    min_turn: float = 0.5  # shorter turns are merged into their neighbours
    pyannote_checkpoint: str | None = None  # local pyannote.audio pipeline directory (optional)


def speech_frames(spans: Sequence[Span], n_frames: int) -> np.ndarray:
    """(T,) bool: frames at 100 Hz inside any span."""
    mask = np.zeros(n_frames, dtype=bool)
    for start, end in spans:
        mask[max(round(start * FRAME_RATE), 0) : max(round(end * FRAME_RATE), 0)] = True
    return mask


def spans_from_mask(mask: np.ndarray) -> list[Span]:
    """(T,) bool at 100 Hz -> the runs of True as (start, end) seconds."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(a) / FRAME_RATE, int(b) / FRAME_RATE) for a, b in zip(starts, ends, strict=True)]


@functools.cache
def _encoder() -> Any:
    with warnings.catch_warnings():  # resemblyzer imports a deprecated scipy namespace
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import VoiceEncoder

    encoder = VoiceEncoder("cpu", verbose=False)
    encoder.eval()
    return encoder


def _mels(audio: np.ndarray) -> np.ndarray:
    """(N,) at 16 kHz -> (T, 40) Resemblyzer mel frames, level-normalised like its preprocessing."""
    with warnings.catch_warnings():  # resemblyzer imports a deprecated scipy namespace
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer.audio import wav_to_mel_spectrogram

    return wav_to_mel_spectrogram(_level(audio))


def _embed_mels(windows: np.ndarray) -> np.ndarray:
    """(B, T, 40) mel windows -> (B, 256) L2-normalised embeddings."""
    with torch.inference_mode():
        return _encoder()(torch.from_numpy(windows)).numpy().astype(np.float32)


def embed_utterance(audio: np.ndarray) -> np.ndarray:
    """(N,) at 16 kHz -> (256,) Resemblyzer speaker embedding (mean of 1.6 s partials)."""
    return _encoder().embed_utterance(_level(audio)).astype(np.float32)


def _level(audio: np.ndarray) -> np.ndarray:
    """Raise quiet audio to -30 dBFS RMS, the level Resemblyzer was trained at (never lower it)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    gain = TRAINED_RMS / rms if rms > 1e-6 else 1.0  # silence stays silence
    return (audio * max(gain, 1.0)).astype(np.float32)


def window_embeddings(
    audio: np.ndarray, speech: Sequence[Span], opts: TurnOptions
) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of sliding windows over speech: (W, 2) window start/end frames, (W, 256)."""
    mels = _mels(audio)  # (T, 40)
    n_frames, width = len(mels), round(opts.window * FRAME_RATE)
    width = min(width, n_frames)
    hop = max(round(opts.hop * FRAME_RATE), 1)
    bounds: list[tuple[int, int]] = []
    for start, end in speech:
        a, b = round(start * FRAME_RATE), min(round(end * FRAME_RATE), n_frames)
        if b - a <= width:  # a short burst: one window centred on it
            centre = (a + b) // 2
            first = min(max(centre - width // 2, 0), n_frames - width)
            bounds.append((first, first + width))
            continue
        starts = list(range(a, b - width + 1, hop))
        if starts[-1] != b - width:
            starts.append(b - width)
        bounds.extend((s, s + width) for s in starts)
    frames = np.asarray(bounds, dtype=np.int64)  # (W, 2)
    windows = np.stack([mels[a:b] for a, b in bounds])  # (W, width, 40)
    embeddings = np.concatenate(
        [_embed_mels(windows[i : i + 64]) for i in range(0, len(windows), 64)]
    )  # (W, 256)
    return frames, embeddings


def cluster(
    embeddings: np.ndarray,
    n_speakers: int | None,
    opts: TurnOptions,
    frames: np.ndarray | None = None,
) -> np.ndarray:
    """(W, 256) embeddings -> (W,) cluster index 0..K-1, by Ward linkage.

    Ward (on unit vectors, so close to cosine) keeps two similar voices apart where average
    linkage chains them into one cluster plus outliers. Without ``n_speakers`` the count is the
    largest K whose clusters are all pairwise distinct voices (see ``distinct_voices``); the
    windows' (W, 2) ``frames`` give each cluster's seconds of speech (without them, the
    centroid distance alone decides).
    """
    if len(embeddings) < 2:
        return np.zeros(len(embeddings), dtype=np.int64)
    tree = linkage(embeddings, method="ward")
    if n_speakers is not None:
        return _cut(tree, n_speakers)
    for k in range(min(opts.max_speakers, len(embeddings)), 1, -1):
        labels = _cut(tree, k)
        centroids = np.stack(
            [embeddings[labels == j].mean(axis=0) for j in range(labels.max() + 1)]
        )
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
        distance = 1.0 - centroids @ centroids.T  # (K, K) cosine distance
        seconds = _coverage(frames, labels) if frames is not None else None
        if distinct_voices(distance, seconds, opts):
            return labels
    return np.zeros(len(embeddings), dtype=np.int64)


def distinct_voices(distance: np.ndarray, seconds: np.ndarray | None, opts: TurnOptions) -> bool:
    """Whether every pair of K clusters is two voices: (K, K) centroid cosine distance, (K,) s.

    A pair is two voices when its distance reaches ``opts.threshold``, or, for closer pairs down
    to ``opts.floor``, when both clusters cover at least ``opts.min_evidence`` s and the distance
    stands out from the centroids' sampling noise: distance / sqrt(1/T1 + 1/T2) >= evidence.
    """
    for i, j in zip(*np.triu_indices(len(distance), 1), strict=True):
        d = float(distance[i, j])
        if d >= opts.threshold:
            continue
        if seconds is None or d < opts.floor or min(seconds[i], seconds[j]) < opts.min_evidence:
            return False
        if d / np.sqrt(1.0 / seconds[i] + 1.0 / seconds[j]) < opts.evidence:
            return False
    return True


def _coverage(frames: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(W, 2) window frames, (W,) labels -> (K,) seconds covered by each cluster's windows."""
    n_frames = int(frames[:, 1].max())
    seconds = np.zeros(int(labels.max()) + 1)
    for k in range(len(seconds)):
        covered = np.zeros(n_frames, dtype=bool)
        for a, b in frames[labels == k]:
            covered[a:b] = True
        seconds[k] = covered.sum() / FRAME_RATE
    return seconds


def _cut(tree: np.ndarray, k: int) -> np.ndarray:
    labels = fcluster(tree, t=k, criterion="maxclust")
    return np.unique(labels, return_inverse=True)[1].astype(np.int64)


def _absorb_small(labels: np.ndarray, embeddings: np.ndarray, n_fixed: bool) -> np.ndarray:
    """Fold clusters too small to be a speaker (< 3 windows) into their nearest big cluster."""
    counts = np.bincount(labels)
    big = np.flatnonzero(counts >= 3)
    if n_fixed or len(big) == 0 or len(big) == len(counts):
        return labels
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in big])
    out = labels.copy()
    for i in np.flatnonzero(~np.isin(labels, big)):
        out[i] = big[int(np.argmax(centroids @ embeddings[i]))]
    return np.unique(out, return_inverse=True)[1].astype(np.int64)


def resegment(
    frames: np.ndarray,
    embeddings: np.ndarray,
    labels: np.ndarray,
    speech: Sequence[Span],
    n_frames: int,
    opts: TurnOptions,
) -> Annotation:
    """Frame-level labels from window clusters, smoothed, as an Annotation of turns.

    Each speech frame takes the cluster whose centroid best matches the windows covering it
    (frames near a turn change get the vote of both sides' windows), then a median filter and a
    minimum turn length remove flicker.
    """
    n_clusters = int(labels.max()) + 1
    centroids = np.stack([embeddings[labels == k].mean(axis=0) for k in range(n_clusters)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    similarity = embeddings @ centroids.T  # (W, K)
    votes = np.zeros((n_frames, n_clusters))
    weight = np.zeros(n_frames)
    for (a, b), sims in zip(frames, similarity, strict=True):
        votes[a:b] += sims
        weight[a:b] += 1
    active = speech_frames(speech, n_frames)
    frame_labels = np.where(weight > 0, votes.argmax(axis=1), -1)
    frame_labels[~active] = -1
    size = max(round(opts.median * FRAME_RATE) | 1, 1)  # odd
    smoothed = median_filter(frame_labels, size=size, mode="nearest")
    smoothed[~active] = -1
    turns = _merge_short(smoothed, opts.min_turn)
    annotation = Annotation()
    for start, end, k in turns:
        annotation[Segment(start, end), len(annotation)] = f"SPEAKER_{k:02d}"
    return annotation


def _merge_short(frame_labels: np.ndarray, min_turn: float) -> list[tuple[float, float, int]]:
    """(T,) labels (-1 = no speech) -> turns; a turn under min_turn joins its nearest neighbour."""
    runs: list[list[int]] = []  # [start_frame, end_frame, label]
    for k in np.unique(frame_labels[frame_labels >= 0]):
        runs += [
            [round(a * FRAME_RATE), round(b * FRAME_RATE), int(k)]
            for a, b in spans_from_mask(frame_labels == k)
        ]
    runs.sort()
    limit = round(min_turn * FRAME_RATE)
    changed, rounds = True, len(runs)  # a bound: relabelling only ever joins runs
    while changed and len(runs) > 1 and rounds > 0:
        rounds -= 1
        changed = False
        for i, (a, b, _) in enumerate(runs):
            if b - a >= limit:
                continue
            near = [j for j in (i - 1, i + 1) if 0 <= j < len(runs)]
            gaps = [abs(runs[j][1] - a) if j < i else abs(runs[j][0] - b) for j in near]
            j = near[int(np.argmin(gaps))]
            if min(gaps) > limit:  # an isolated short turn between pauses: keep it
                continue
            if runs[i][2] != runs[j][2]:
                runs[i][2] = runs[j][2]
                changed = True
        merged: list[list[int]] = []
        for run in runs:
            if merged and merged[-1][2] == run[2] and run[0] <= merged[-1][1]:  # touching
                merged[-1][1] = run[1]
            else:
                merged.append(run)
        runs = merged
    return [(a / FRAME_RATE, b / FRAME_RATE, k) for a, b, k in runs]


class DiarizationBackend:
    """Finds speaker turns in (N,) 16 kHz audio given its speech activity."""

    name: ClassVar[str] = ""

    def __init__(self, opts: TurnOptions) -> None:
        self.opts = opts

    def diarize(
        self, audio: np.ndarray, speech: Sequence[Span], n_speakers: int | None
    ) -> Annotation:
        raise NotImplementedError


class EmbeddingBackend(DiarizationBackend):
    """Resemblyzer embeddings of sliding windows over speech, agglomerative clustering."""

    name = "embedding"

    def diarize(
        self, audio: np.ndarray, speech: Sequence[Span], n_speakers: int | None
    ) -> Annotation:
        frames, embeddings = window_embeddings(audio, speech, self.opts)
        labels = cluster(embeddings, n_speakers, self.opts, frames)
        labels = _absorb_small(labels, embeddings, n_fixed=n_speakers is not None)
        n_frames = -(-len(audio) // MEL_HOP)
        return resegment(frames, embeddings, labels, speech, n_frames, self.opts)


class PyannoteBackend(DiarizationBackend):
    """A user's local pyannote.audio pipeline checkpoint (optional; never fetched from a hub)."""

    name = "pyannote"

    def __init__(self, opts: TurnOptions) -> None:
        super().__init__(opts)
        checkpoint = opts.pyannote_checkpoint
        if checkpoint is None or not Path(checkpoint).is_dir():
            raise SpeakerError(
                "the 'pyannote' backend needs pyannote.audio and a local pipeline checkpoint "
                f"directory in TurnOptions.pyannote_checkpoint (got {checkpoint!r})"
            )
        try:
            from pyannote.audio import Pipeline
        except ImportError as exc:
            raise SpeakerError(
                "the 'pyannote' backend needs pyannote.audio installed (pip install pyannote.audio)"
                f" as well as the local checkpoint {checkpoint}; importing it failed: {exc}"
            ) from exc
        self.pipeline = Pipeline.from_pretrained(Path(checkpoint))

    def diarize(
        self, audio: np.ndarray, speech: Sequence[Span], n_speakers: int | None
    ) -> Annotation:
        waveform = {"waveform": torch.from_numpy(audio)[None], "sample_rate": SAMPLE_RATE}
        kwargs = {} if n_speakers is None else {"num_speakers": n_speakers}
        result = self.pipeline(waveform, **kwargs)
        return getattr(result, "speaker_diarization", result)  # pyannote.audio 4 wraps it


BACKENDS: dict[str, type[DiarizationBackend]] = {
    backend.name: backend for backend in (EmbeddingBackend, PyannoteBackend)
}


def get_backend(name: str, opts: TurnOptions) -> DiarizationBackend:
    """The diarization backend registered under ``name``."""
    if name not in BACKENDS:
        raise SpeakerError(f"unknown speaker backend {name!r}; use one of {', '.join(BACKENDS)}")
    return BACKENDS[name](opts)
