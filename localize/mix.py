"""Mixing new dialogue over the untouched M&E, level matching, and finishing the master to spec."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy.signal import resample_poly

from localize import loudness as meter
from localize import media
from localize.ingest import SourceMedia
from localize.translate import Finding

# Used when the source has no measurable dialogue in a slot: the EBU R128 programme target.
DEFAULT_DIALOGUE_LUFS = -23.0
# New lines never peak above this after level matching (headroom for the mix).
LINE_PEAK_CEILING_DB = -1.0
# Level matching never moves a line by more than this; larger gaps mean a measurement problem.
MAX_GAIN_DB = 24.0
# BS.1770 gating blocks are 400 ms; shorter stretches are measured as one block.
BLOCK = 0.4
# Voice-over on a mix without stems: the original is ducked under the new lines.
DUCK_DB = -15.0
DUCK_RAMP = 0.15  # seconds of fade into and out of the duck


@dataclass(frozen=True)
class MixReport:
    """Loudness figures of a rendered master (BS.1770-4, EBU Tech 3341/3342) and its dialogue."""

    integrated_lufs: float | None  # None when the programme is silent
    sample_peak_dbfs: float
    dialogue_lufs: float | None
    clipped_samples: int  # samples beyond full scale in the float mix (0 for a clean mix)
    # Defaults keep reports built before these figures existed valid; report() fills them all.
    true_peak_dbtp: float | None = None  # 4x oversampled
    max_short_term_lufs: float | None = None  # loudest 3 s window
    max_momentary_lufs: float | None = None  # loudest 400 ms window
    loudness_range_lu: float | None = None  # None for programmes under ~3 s


@dataclass(frozen=True)
class FinishedMaster:
    """The master as delivered, its figures, its spec findings and what normalisation did."""

    samples: np.ndarray  # (N, C) float32
    report: MixReport
    findings: tuple[Finding, ...]  # loudness.* findings against the market's spec
    normalization: meter.NormalizeRecord | None  # None: measured and reported only


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample (N,) or (N, C) float32 samples along time."""
    if rate_in == rate_out:
        return samples.astype(np.float32)
    g = gcd(rate_in, rate_out)
    return resample_poly(samples, rate_out // g, rate_in // g, axis=0).astype(np.float32)


def loudness(samples: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness in LUFS of (N,) or (N, C) samples; None for silence."""
    if len(samples) == 0:
        return None
    block = min(BLOCK, len(samples) / sample_rate)
    if block * sample_rate < 64:
        return None
    meter = pyloudnorm.Meter(sample_rate, block_size=block)
    value = float(meter.integrated_loudness(samples.astype(np.float64)))
    return value if np.isfinite(value) else None


def reference_dialogue(source: SourceMedia, sample_rate: int) -> np.ndarray:
    """(N,) mono reference of the original speech: the dialogue stem, else the mix (read-only)."""
    info = source.dialogue if source.dialogue is not None else source.mix
    return _decoded(info.path, _stamp(info.path), sample_rate, 1)


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=2)
def _decoded(
    path: Path, stamp: tuple[int, int], sample_rate: int | None, channels: int | None
) -> np.ndarray:
    """A source stem decoded once per run, however many markets mix against it (`stamp`
    notices a file replaced in between). Read-only: every market shares the array."""
    samples = media.read_audio(path, sample_rate=sample_rate, channels=channels)
    samples.flags.writeable = False
    return samples


def match_level(
    audio: np.ndarray, reference: np.ndarray, start: float, end: float, sample_rate: int
) -> float:
    """Gain in dB that brings a new line to the loudness of the source line in [start, end)."""
    segment = reference[round(start * sample_rate) : round(end * sample_rate)]
    target = loudness(segment, sample_rate)
    current = loudness(audio, sample_rate)
    if current is None:
        return 0.0
    gain = (DEFAULT_DIALOGUE_LUFS if target is None else target) - current
    gain = float(np.clip(gain, -MAX_GAIN_DB, MAX_GAIN_DB))
    peak = float(np.max(np.abs(audio), initial=0.0))
    if peak > 0:
        gain = min(gain, LINE_PEAK_CEILING_DB - 20 * np.log10(peak))
    return gain


def duck_envelope(n_samples: int, spans: list[tuple[float, float]], sample_rate: int) -> np.ndarray:
    """(N,) gain curve: 1 outside spans, DUCK_DB inside, with DUCK_RAMP fades."""
    low = 10 ** (DUCK_DB / 20)
    depth = np.zeros(n_samples, dtype=np.float32)  # 0 = no duck, 1 = fully ducked
    ramp = max(1, round(DUCK_RAMP * sample_rate))
    for start, end in spans:
        a, b = round(start * sample_rate), round(end * sample_rate)
        shape = np.ones(b - a + 2 * ramp, dtype=np.float32)
        shape[:ramp] = np.linspace(0, 1, ramp, endpoint=False)
        shape[-ramp:] = np.linspace(1, 0, ramp, endpoint=False)
        lo, hi = a - ramp, b + ramp
        clip_lo, clip_hi = max(lo, 0), min(hi, n_samples)
        if clip_hi > clip_lo:
            part = shape[clip_lo - lo : clip_hi - lo]
            depth[clip_lo:clip_hi] = np.maximum(depth[clip_lo:clip_hi], part)
    return (1 - depth * (1 - low)).astype(np.float32)


def mix_over(bed: np.ndarray, dialogue: np.ndarray) -> np.ndarray:
    """(N, C) bed + (N,) dialogue fed equally to every channel -> (N, C) float32, not clipped."""
    n = len(bed)
    voice = np.zeros(n, dtype=np.float32)
    voice[: min(n, len(dialogue))] = dialogue[:n]
    return (bed + voice[:, None]).astype(np.float32)


def report(master: np.ndarray, dialogue: np.ndarray, sample_rate: int) -> MixReport:
    """Loudness figures of the final mix and its dialogue."""
    return _report(meter.measure(master, sample_rate), master, dialogue, sample_rate)


def _report(
    figures: meter.LoudnessFigures, master: np.ndarray, dialogue: np.ndarray, sample_rate: int
) -> MixReport:
    return MixReport(
        integrated_lufs=figures.integrated_lufs,
        sample_peak_dbfs=figures.sample_peak_dbfs,
        dialogue_lufs=loudness(dialogue, sample_rate),
        clipped_samples=int(np.count_nonzero(np.abs(master) > 1.0)),
        true_peak_dbtp=figures.true_peak_dbtp,
        max_short_term_lufs=figures.max_short_term_lufs,
        max_momentary_lufs=figures.max_momentary_lufs,
        loudness_range_lu=figures.loudness_range_lu,
    )


def finish_master(
    master: np.ndarray,
    dialogue: np.ndarray,
    sample_rate: int,
    spec: meter.LoudnessSpec,
    normalize: bool,
) -> FinishedMaster:
    """Measure the (N, C) master, normalise it to `spec` when asked, and check it against `spec`.

    Only the master mix is ever normalised: the M&E and dialogue stems are delivered as rendered
    (the M&E sample-identical to the client's), so a re-mix downstream starts from the originals.
    """
    findings = []
    record = None
    if normalize:
        master, record = meter.normalize(master, sample_rate, spec)
        figures = record.after
        findings.append(Finding("FYI", "loudness.normalized", f"{spec.title}: {record.note}"))
    else:
        figures = meter.measure(master, sample_rate)
    findings += meter.check(figures, spec)
    result = _report(figures, master, dialogue, sample_rate)
    return FinishedMaster(master.astype(np.float32), result, tuple(findings), record)


def read_bed(source: SourceMedia) -> tuple[np.ndarray, int]:
    """The bed the new dialogue goes over, at its native rate: the M&E stem, else the mix.

    Returns ((N, C) float32 read-only, sample_rate). The M&E is only ever read, never rewritten.
    """
    info = source.me if source.me is not None else source.mix
    stream = info.audio[0]
    samples = _decoded(info.path, _stamp(info.path), None, None)
    if samples.ndim == 1:
        samples = samples[:, None]
    return samples, stream.sample_rate
