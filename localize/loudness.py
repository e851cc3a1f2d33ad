"""Loudness delivery specs, BS.1770 measurement, spec checks and true-peak-limited normalisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import resample_poly, sosfilt

from localize.errors import LocalizeError
from localize.translate import Finding

# BS.1770-4 gating: 400 ms blocks overlapping by 75 %, so a new block starts every 100 ms.
BLOCK = 0.4
HOP = 0.1
SHORT_TERM = 3.0  # EBU Tech 3341 short-term window; momentary is the 400 ms block
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0  # integrated loudness: blocks 10 LU under the ungated mean are dropped
LRA_RELATIVE_GATE_LU = -20.0  # EBU Tech 3342 loudness range gate
OVERSAMPLING = 4  # BS.1770-4 Annex 2: 4x is enough for true peak at 48 kHz
TRUE_PEAK_CHUNK = 1 << 16  # input samples interpolated at a time
TRUE_PEAK_MARGIN = 32  # input samples either side; resample_poly's filter reaches 10
# Limiter: the ceiling sits a little under the spec's maximum true peak, because the 4x
# estimate can miss a peak by a few hundredths of a dB and the gain curve modulates the signal.
LIMITER_MARGIN_DB = 0.3
LIMITER_ATTACK = 0.005  # seconds of look-ahead: the gain is already down when the peak arrives
LIMITER_RELEASE = 0.08  # seconds (time constant) for the reduction to fade after a peak
NORMALIZE_PASSES = 4  # gain -> limit -> re-measure; the limiter can cost a little loudness
SETTLE_LU = 0.1  # a pass this close to the target is good enough
CAP_MARGIN_LU = 0.1  # stay this far under a short-term/momentary maximum
# Channel weights of BS.1770 for L, R, C, Ls, Rs; 5.1 files carry the LFE (unweighted) fourth.
SURROUND_WEIGHT = 1.41


class LoudnessError(LocalizeError):
    """A loudness spec name is unknown or samples cannot be measured."""


@dataclass(frozen=True)
class LoudnessSpec:
    """A broadcaster's or platform's delivery spec for programme loudness and peaks."""

    name: str  # as written in a job's markets[].loudness
    title: str  # for people: document and version
    integrated_lufs: float  # target programme loudness (LUFS = LKFS)
    tolerance_lu: float  # allowed deviation either side of the target
    max_true_peak_dbtp: float
    max_short_term_lufs: float | None  # None: the spec does not limit short-term loudness
    max_momentary_lufs: float | None  # None: the spec does not limit momentary loudness
    reference: str  # the document the figures come from


SPECS: dict[str, LoudnessSpec] = {
    spec.name: spec
    for spec in (
        # -23 LUFS ±0.5 LU for file-based programmes (±1 LU is for live ones only), -1 dBTP.
        LoudnessSpec("ebu-r128", "EBU R 128", -23.0, 0.5, -1.0, None, None, "EBU R 128 (2020)"),
        # Short-form content (ads, trailers): R 128 plus max short-term -18 LUFS. The supplement
        # offers max momentary -15 LUFS as the alternative, so only one of them is imposed.
        LoudnessSpec(
            "ebu-r128-s1", "EBU R 128 s1", -23.0, 0.5, -1.0, -18.0, None, "EBU R 128 s1 (2016)"
        ),
        # -24 LKFS ±2 dB, -2 dBTP.
        LoudnessSpec("atsc-a85", "ATSC A/85", -24.0, 2.0, -2.0, None, None, "ATSC A/85:2013"),
        # Japan: -24 LKFS ±1 dB, -1 dBTP.
        LoudnessSpec("arib-tr-b32", "ARIB TR-B32", -24.0, 1.0, -1.0, None, None, "ARIB TR-B32"),
        # Australia: -24 LKFS ±1 LU, -2 dBTP.
        LoudnessSpec(
            "op-59", "Free TV OP-59", -24.0, 1.0, -2.0, None, None, "Free TV Australia OP-59"
        ),
        # Streaming and social platforms play back at about -14 LUFS and ask for -1 dBTP.
        LoudnessSpec(
            "online", "online delivery", -14.0, 1.0, -1.0, None, None, "YouTube/Spotify playback"
        ),
    )
}


def get_spec(name: str) -> LoudnessSpec:
    """The delivery spec called `name`; LoudnessError lists the known names otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        known = ", ".join(SPECS)
        raise LoudnessError(f"unknown loudness spec {name!r} (known: {known})") from None


@dataclass(frozen=True)
class LoudnessFigures:
    """BS.1770-4 / EBU Tech 3341-3342 figures of a programme; None where it is silent."""

    integrated_lufs: float | None  # gated programme loudness
    true_peak_dbtp: float  # 4x oversampled peak; -inf for digital silence
    sample_peak_dbfs: float  # -inf for digital silence
    max_short_term_lufs: float | None  # loudest 3 s window, 100 ms steps
    max_momentary_lufs: float | None  # loudest 400 ms window, 100 ms steps
    loudness_range_lu: float | None  # EBU Tech 3342 LRA; None under ~3 s or when silent


@dataclass(frozen=True)
class NormalizeRecord:
    """What `normalize` did to a master, for the manifest."""

    spec: str
    gain_db: float  # static gain applied before the limiter
    limiter_max_reduction_db: float  # deepest true-peak limiter gain reduction (0: untouched)
    limited_samples: int  # samples the limiter turned down by more than 0.01 dB
    limited_share: float  # limited_samples / all samples
    capped: bool  # True: gain lowered to respect the spec's short-term/momentary maximum
    note: str  # one sentence for people
    before: LoudnessFigures
    after: LoudnessFigures


def _as_channels(samples: np.ndarray) -> np.ndarray:
    """(N,) or (N, C) -> (N, C) float64."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2:
        raise LoudnessError(f"expected (N,) or (N, C) samples, got shape {data.shape}")
    return data


def _channel_weights(n_channels: int) -> np.ndarray:
    if n_channels == 5:  # L R C Ls Rs
        return np.array([1.0, 1.0, 1.0, SURROUND_WEIGHT, SURROUND_WEIGHT])
    if n_channels == 6:  # 5.1: L R C LFE Ls Rs; the LFE does not count
        return np.array([1.0, 1.0, 1.0, 0.0, SURROUND_WEIGHT, SURROUND_WEIGHT])
    return np.ones(n_channels)


def k_weighting(sample_rate: int) -> np.ndarray:
    """(2, 6) second-order sections of the BS.1770 K-weighting at any rate.

    The analogue prototypes (shelf at ~1682 Hz, +4 dB; high-pass at ~38 Hz) are those that give
    exactly BS.1770's 48 kHz coefficients after the bilinear transform, as libebur128 derives them.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def _window_powers(weighted_sq: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(W,) channel-weighted mean square of every `window`-sample window, `hop` apart.

    `weighted_sq` is (N,) K-weighted squares already summed over channels with their weights. A
    signal shorter than the window is one window, padded with silence as a meter starting at 0.
    """
    n = len(weighted_sq)
    cumulative = np.concatenate([[0.0], np.cumsum(weighted_sq)])
    if n < window:
        return np.array([cumulative[-1] / window])
    starts = np.arange(0, n - window + 1, hop)
    return (cumulative[starts + window] - cumulative[starts]) / window


def _lufs(power: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(power)


def _integrated(block_power: np.ndarray) -> float | None:
    loud = block_power[_lufs(block_power) > ABSOLUTE_GATE_LUFS]
    if len(loud) == 0:
        return None
    gate = _lufs(np.mean(loud)) + RELATIVE_GATE_LU
    kept = loud[_lufs(loud) > gate]
    return float(_lufs(np.mean(kept)))


def _loudness_range(short_term_power: np.ndarray) -> float | None:
    """EBU Tech 3342: spread between the 10th and 95th percentile of gated short-term loudness."""
    levels = _lufs(short_term_power)
    loud = short_term_power[levels > ABSOLUTE_GATE_LUFS]
    if len(loud) < 2:
        return None
    gate = _lufs(np.mean(loud)) + LRA_RELATIVE_GATE_LU
    kept = _lufs(loud)[_lufs(loud) > gate]
    low, high = np.percentile(kept, [10, 95])
    return float(high - low)


def _peak_db(value: float) -> float:
    return float(20 * np.log10(value)) if value > 0 else -np.inf


def true_peak_envelope(samples: np.ndarray) -> np.ndarray:
    """(N,) largest 4x oversampled magnitude over all channels around each input sample."""
    data = _as_channels(samples)
    n = len(data)
    envelope = np.abs(data).max(axis=1)
    # Cache-sized chunks with a margin wider than the interpolator's reach, so the result is that
    # of the whole signal without allocating a 4x copy of it.
    for begin in range(0, n, TRUE_PEAK_CHUNK):
        end = min(begin + TRUE_PEAK_CHUNK, n)
        lo, hi = max(0, begin - TRUE_PEAK_MARGIN), min(n, end + TRUE_PEAK_MARGIN)
        for channel in data[lo:hi].T:
            # A polyphase FIR interpolator (BS.1770-4 Annex 2 uses 48 taps; this one has 81).
            upsampled = np.abs(resample_poly(channel, OVERSAMPLING, 1))  # (4 * (hi - lo),)
            inside = upsampled[(begin - lo) * OVERSAMPLING : (end - lo) * OVERSAMPLING]
            for phase in range(OVERSAMPLING):  # strided maxima: far faster than a (N, 4) max
                np.maximum(
                    envelope[begin:end], inside[phase::OVERSAMPLING], out=envelope[begin:end]
                )
    return envelope


def _maximum(powers: np.ndarray) -> float | None:
    level = float(_lufs(np.max(powers)))
    return level if level > ABSOLUTE_GATE_LUFS else None


def measure(samples: np.ndarray, sample_rate: int) -> LoudnessFigures:
    """Loudness figures of (N,) or (N, C) float samples at `sample_rate`."""
    data = _as_channels(samples)
    if len(data) == 0:
        return LoudnessFigures(None, -np.inf, -np.inf, None, None, None)
    filtered = sosfilt(k_weighting(sample_rate), data, axis=0)
    weighted_sq = (filtered**2) @ _channel_weights(data.shape[1])  # (N,)
    hop = round(HOP * sample_rate)
    blocks = _window_powers(weighted_sq, round(BLOCK * sample_rate), hop)
    short = _window_powers(weighted_sq, round(SHORT_TERM * sample_rate), hop)
    full_length = len(data) >= SHORT_TERM * sample_rate
    return LoudnessFigures(
        integrated_lufs=_integrated(blocks),
        true_peak_dbtp=_peak_db(float(true_peak_envelope(data).max())),
        sample_peak_dbfs=_peak_db(float(np.abs(data).max())),
        max_short_term_lufs=_maximum(short),
        max_momentary_lufs=_maximum(blocks),
        loudness_range_lu=_loudness_range(short) if full_length else None,
    )


def check(figures: LoudnessFigures, spec: LoudnessSpec) -> list[Finding]:
    """Findings for every figure outside `spec`; empty when the programme complies."""
    findings = []
    target, tolerance = spec.integrated_lufs, spec.tolerance_lu
    loud = figures.integrated_lufs
    if loud is None or abs(loud - target) > tolerance:
        measured = "silence" if loud is None else f"{loud:.1f} LUFS"
        findings.append(
            Finding(
                "Issue",
                "loudness.integrated",
                f"integrated loudness is {measured}; {spec.title} asks for "
                f"{target:.1f} LUFS ±{tolerance:g} LU",
            )
        )
    if figures.true_peak_dbtp > spec.max_true_peak_dbtp:
        findings.append(
            Finding(
                "Blocker",
                "loudness.true_peak",
                f"true peak is {figures.true_peak_dbtp:+.1f} dBTP; {spec.title} allows at most "
                f"{spec.max_true_peak_dbtp:+.1f} dBTP",
            )
        )
    maxima = [
        ("short_term", "short-term", figures.max_short_term_lufs, spec.max_short_term_lufs),
        ("momentary", "momentary", figures.max_momentary_lufs, spec.max_momentary_lufs),
    ]
    for code, label, measured_max, allowed in maxima:
        if allowed is not None and measured_max is not None and measured_max > allowed:
            findings.append(
                Finding(
                    "Issue",
                    f"loudness.{code}",
                    f"maximum {label} loudness is {measured_max:.1f} LUFS; {spec.title} allows "
                    f"at most {allowed:.1f} LUFS",
                )
            )
    return findings


def limit_true_peak(
    samples: np.ndarray, sample_rate: int, ceiling_dbtp: float
) -> tuple[np.ndarray, np.ndarray]:
    """Look-ahead true-peak limiter: ((N, C) limited samples, (N,) gain reduction in dB >= 0).

    The needed reduction is held with an exponential release, taken over the look-ahead window
    and averaged over it, so the gain glides down before each peak and never exceeds 1.
    """
    data = _as_channels(samples)
    envelope = true_peak_envelope(data)
    ceiling = 10 ** (ceiling_dbtp / 20)
    with np.errstate(divide="ignore"):
        needed = np.maximum(0.0, 20 * np.log10(np.maximum(envelope, 1e-12) / ceiling))  # (N,) dB
    held = _release(needed, LIMITER_RELEASE * sample_rate)
    attack = max(1, round(LIMITER_ATTACK * sample_rate))
    # Each sample's reduction is the max over the next `attack` samples, then a causal box average
    # over `attack`: every average includes a window that holds the sample's own need.
    ahead = maximum_filter1d(held, attack, origin=-(attack // 2), mode="nearest")
    reduction = uniform_filter1d(ahead, attack, origin=(attack - 1) // 2, mode="nearest")
    reduction = np.maximum(reduction, needed)  # float rounding must never let a peak through
    gain = 10 ** (-reduction / 20)
    return data * gain[:, None], reduction


def _release(needed: np.ndarray, time_constant: float) -> np.ndarray:
    """(N,) max over past samples k of needed[k] * exp(-(n - k) / time_constant), vectorised.

    In the log domain the decay is linear, so the running maximum is a cumulative maximum.
    """
    step = 1.0 / time_constant
    index = np.arange(len(needed))
    with np.errstate(divide="ignore"):
        log_needed = np.log(needed)  # -inf where nothing is needed
    held = np.maximum.accumulate(log_needed + step * index) - step * index
    return np.exp(held)


def _cap_excess(figures: LoudnessFigures, spec: LoudnessSpec) -> float:
    """LU by which short-term or momentary loudness exceeds the spec's maxima (<= 0: none)."""
    excess = -np.inf
    pairs = [
        (figures.max_short_term_lufs, spec.max_short_term_lufs),
        (figures.max_momentary_lufs, spec.max_momentary_lufs),
    ]
    for measured, allowed in pairs:
        if measured is not None and allowed is not None:
            excess = max(excess, measured - allowed)
    return float(excess)


def normalize(
    samples: np.ndarray, sample_rate: int, spec: LoudnessSpec
) -> tuple[np.ndarray, NormalizeRecord]:
    """Gain to the spec's integrated target, then true-peak limiting under its ceiling.

    Returns ((N, C) or (N,) float32 like the input, record). When the target would break the
    spec's short-term or momentary maximum the gain is lowered instead, and the record says so.
    """
    before = measure(samples, sample_rate)
    data = _as_channels(samples)
    if before.integrated_lufs is None:
        note = "silent: left as is"
        record = NormalizeRecord(spec.name, 0.0, 0.0, 0, 0.0, False, note, before, before)
        return samples.astype(np.float32), record
    ceiling = spec.max_true_peak_dbtp - LIMITER_MARGIN_DB
    gain_db = spec.integrated_lufs - before.integrated_lufs
    capped = False
    for _ in range(NORMALIZE_PASSES):
        applied = gain_db
        out, reduction = limit_true_peak(data * 10 ** (applied / 20), sample_rate, ceiling)
        after = measure(out, sample_rate)
        excess = _cap_excess(after, spec)
        if excess > 0:
            gain_db -= excess + CAP_MARGIN_LU
            capped = True
            continue
        assert after.integrated_lufs is not None  # a gained-up loud signal stays loud
        miss = spec.integrated_lufs - after.integrated_lufs
        if abs(miss) <= SETTLE_LU or (capped and miss > 0):
            break
        gain_db += miss  # the limiter took some loudness away
    limited = int(np.count_nonzero(reduction > 0.01))
    note = f"{applied:+.1f} dB to {spec.integrated_lufs:.1f} LUFS, limited to {ceiling:+.1f} dBTP"
    if capped:
        note = (
            f"{applied:+.1f} dB, kept under the short-term/momentary maximum of {spec.title}; "
            f"integrated {after.integrated_lufs:.1f} LUFS instead of {spec.integrated_lufs:.1f}"
        )
    record = NormalizeRecord(
        spec=spec.name,
        gain_db=float(applied),
        limiter_max_reduction_db=float(reduction.max(initial=0.0)),
        limited_samples=limited,
        limited_share=limited / len(data),
        capped=capped,
        note=note,
        before=before,
        after=after,
    )
    shaped = out[:, 0] if np.asarray(samples).ndim == 1 else out
    return shaped.astype(np.float32), record
