"""Timing a translated line into its source slot, as pure functions over phoneme durations.

A line's target is its slot, the source line's start..end. The fit, in order:

1. Shorter than the slot: slow down toward filling it, never below ``min_rate``. A dub that ends
   early leaves a moving mouth with no voice (voice-over) or an idle mouth (lip-sync).
2. Longer: speed up until it fills the slot, at most to ``max_rate``.
3. Still longer at ``max_rate``: borrow the silence after the slot, up to ``window_end`` (the
   next line's start less GUARD, or the clip's end).
4. Still longer: speak at ``max_rate`` anyway, never squeezed past the bound, and report the
   overflow past ``window_end`` so someone writes a shorter adaptation.

Speeding up comes before borrowing: the slot is where the picture shows the actor speaking (head
motion, gestures and cuts are timed to it), and a rate change within the job's bounds is heard
less than speech running into a shot where the actor had stopped. Borrowing also eats the breath
before the next line, so it is the last resort short of overflowing.

When a line speeds up, its pauses give up time first, down to PAUSE_FLOOR of their length, as a
dubbing actor tightens pauses before rushing words; then every phoneme scales alike. Slowing down
scales every phoneme alike (stretched pauses sound like hesitation). ``rate`` is always the
natural length over the fitted length, pauses included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from localize.errors import RenderError
from localize.phonemes import Phoneme, PhonemeSeq
from localize.spec import Line
from localize.translate import Finding

# Silence kept before the next line when a line borrows the gap after its slot (a breath).
GUARD = 0.12
# A pause keeps at least this share of its length when a line speeds up, so phrases stay apart.
PAUSE_FLOOR = 0.4
# Seconds of float noise ignored when comparing times: far below one audio sample (45 µs).
_EPS = 1e-9


@dataclass(frozen=True)
class Slot:
    """Where a line may go: its source span, and the silence after it that it may borrow."""

    start: float
    end: float  # the source line's end (its own `end`, else the next line's start)
    window_end: float  # the next line's start less GUARD, else the clip's end


@dataclass(frozen=True)
class TimingPlan:
    """How one line's phonemes fit its slot; times in seconds on the clip timeline."""

    id: str  # the script line id
    slot_start: float
    slot_end: float
    window_end: float  # the latest end allowed
    natural: float  # the line's length at the voice's own rate
    rate: float  # natural / fitted length: > 1 is faster, < 1 slower
    durations: tuple[float, ...]  # (P,) fitted length of each phoneme and pause
    start: float
    end: float  # start + sum(durations)
    borrowed: float  # seconds of the silence after slot_end used (0 when inside the slot)
    overflow: float  # seconds past window_end still left at max_rate (0 when it fits)


class TimedPhoneme(NamedTuple):
    """A phoneme on the clip timeline; a plain (symbol, start, end) triple where one is wanted."""

    symbol: str  # IPA, "_" for a pause
    start: float
    end: float


def slots(
    script: list[Line], duration: float, aligned: Mapping[str, tuple[float, float]] | None = None
) -> list[Slot]:
    """The slot of every line; a line without times takes them from the source alignment."""
    aligned = aligned or {}
    starts = []
    for line in script:
        if line.start is None and line.id not in aligned:
            raise RenderError(f"line {line.id}: no start time in the script and no alignment")
        starts.append(line.start if line.start is not None else aligned[line.id][0])
    result = []
    for index, line in enumerate(script):
        window_end = min([f - GUARD for f in starts[index + 1 :]] + [duration])
        end = line.end if line.end is not None else aligned.get(line.id, (0.0, window_end))[1]
        result.append(Slot(starts[index], end, max(end, window_end)))
    return result


def _check(line_id: str, durations: np.ndarray, slot: Slot, bounds: tuple[float, float]) -> None:
    min_rate, max_rate = bounds
    if not 0 < min_rate <= 1 <= max_rate:
        raise RenderError(
            f"timing: need 0 < min_rate <= 1 <= max_rate, got min_rate {min_rate}, "
            f"max_rate {max_rate}"
        )
    if durations.ndim != 1 or durations.size == 0:
        raise RenderError(f"line {line_id}: no phonemes to fit (durations of shape (P,), P > 0)")
    if not np.all(np.isfinite(durations) & (durations > 0)):
        raise RenderError(f"line {line_id}: every phoneme duration must be > 0 s")
    if not slot.start < slot.end <= slot.window_end:
        raise RenderError(
            f"line {line_id}: slot {slot.start:.3f}-{slot.end:.3f} s with window end "
            f"{slot.window_end:.3f} s: need start < end <= window end"
        )


def _rate(natural: float, slot_len: float, min_rate: float, max_rate: float) -> float:
    """The speaking rate of the policy's steps 1-4 (see the module docstring)."""
    if natural <= slot_len:
        return max(min_rate, natural / slot_len)
    return min(max_rate, natural / slot_len)  # at max_rate the line borrows, then overflows


def _scaled(durations: np.ndarray, pauses: np.ndarray | None, target: float) -> np.ndarray:
    """(P,) durations summing to ``target``; when shortening, pauses give up time first."""
    fitted = durations.astype(np.float64)
    natural = float(fitted.sum())
    if pauses is not None and target < natural:
        pause_total = float(fitted[pauses].sum())
        if pause_total > 0:
            give = min(natural - target, (1 - PAUSE_FLOOR) * pause_total)
            fitted[pauses] *= (pause_total - give) / pause_total
    return fitted * (target / float(fitted.sum()))


def fit_line(
    line_id: str,
    durations: ArrayLike,
    slot: Slot,
    min_rate: float,
    max_rate: float,
    pauses: ArrayLike | None = None,
) -> TimingPlan:
    """Fit a line's phonemes, ``durations`` (P,) in seconds incl. pauses, into ``slot``.

    ``pauses`` (P,) bool marks the pauses, which then shorten first when the line speeds up.
    """
    natural_durations = np.asarray(durations, dtype=np.float64)  # (P,)
    _check(line_id, natural_durations, slot, (min_rate, max_rate))
    mask = None if pauses is None else np.asarray(pauses, dtype=bool)
    if mask is not None and mask.shape != natural_durations.shape:
        raise RenderError(
            f"line {line_id}: {mask.size} pause flags for {natural_durations.size} phonemes"
        )
    natural = float(natural_durations.sum())
    rate = _rate(natural, slot.end - slot.start, min_rate, max_rate)
    fitted = _scaled(natural_durations, mask, natural / rate)
    end = slot.start + float(fitted.sum())
    overflow = end - slot.window_end
    borrowed = min(end, slot.window_end) - slot.end
    return TimingPlan(
        id=line_id,
        slot_start=slot.start,
        slot_end=slot.end,
        window_end=slot.window_end,
        natural=natural,
        rate=rate,
        durations=tuple(fitted.tolist()),
        start=slot.start,
        end=end,
        borrowed=borrowed if borrowed > _EPS else 0.0,
        overflow=overflow if overflow > _EPS else 0.0,
    )


# One line to fit: (line id, durations (P,) in seconds) or (line id, durations, pause flags (P,)).
LineDurations = tuple[str, ArrayLike] | tuple[str, ArrayLike, ArrayLike | None]


def fit_lines(
    lines: Sequence[LineDurations], line_slots: Sequence[Slot], min_rate: float, max_rate: float
) -> list[TimingPlan]:
    """fit_line for every line with the slot at the same index (script order)."""
    if len(lines) != len(line_slots):
        raise RenderError(f"timing: {len(lines)} lines but {len(line_slots)} slots")
    plans = []
    for item, slot in zip(lines, line_slots, strict=True):
        line_id, durations, *pauses = item
        plans.append(fit_line(line_id, durations, slot, min_rate, max_rate, *pauses))
    return plans


def findings(plans: Sequence[TimingPlan]) -> list[Finding]:
    """Lines that overflow their window (Issue), and lines that run into the next one (Blocker)."""
    found = []
    for plan in plans:
        if plan.overflow > 0:
            found.append(
                Finding(
                    "Issue",
                    "timing.overflow",
                    f"runs {plan.overflow * 1000:.0f} ms past the time it may take (to "
                    f"{plan.window_end:.2f} s) even at the rate bound {plan.rate:.2f}; "
                    "ask for a shorter adaptation",
                    line=plan.id,
                    time=plan.window_end,
                )
            )
        # The next line in time, not in script order: a script need not be sorted.
        later = [other.start for other in plans if other.start > plan.start]
        if later and plan.end > min(later) + _EPS:
            found.append(
                Finding(
                    "Blocker",
                    "timing.spill",
                    f"speech runs {(plan.end - min(later)) * 1000:.0f} ms into the next line",
                    line=plan.id,
                    time=min(later),
                )
            )
    return found


def phoneme_durations(
    phonemes: PhonemeSeq | Sequence[Phoneme] | Sequence[tuple[str, float, float]],
) -> tuple[np.ndarray, np.ndarray]:
    """fit_line's inputs from phonemes: durations (P,) in seconds and pause flags (P,) bool."""
    timed = _timed(phonemes)
    durations = np.array([p.end - p.start for p in timed], dtype=np.float64)  # (P,)
    return durations, np.array([p.symbol == "_" for p in timed], dtype=bool)


def scale_phonemes(
    phonemes: PhonemeSeq | Sequence[Phoneme] | Sequence[tuple[str, float, float]],
    plan: TimingPlan,
) -> list[TimedPhoneme]:
    """The line's phonemes on the clip timeline as fitted: back to back from ``plan.start``.

    Phoneme i takes ``plan.durations[i]``; gaps between the input's phonemes are not kept
    (fit_line saw durations only). The last phoneme ends exactly at ``plan.end``.
    """
    timed = _timed(phonemes)
    if len(timed) != len(plan.durations):
        raise RenderError(
            f"line {plan.id}: {len(timed)} phonemes but the timing plan has "
            f"{len(plan.durations)} durations"
        )
    edges = plan.start + np.concatenate([[0.0], np.cumsum(plan.durations)])  # (P + 1,)
    edges[-1] = plan.end  # the same float as the plan's, not a re-summed one
    return [
        TimedPhoneme(p.symbol, float(a), float(b))
        for p, a, b in zip(timed, edges[:-1], edges[1:], strict=True)
    ]


def _timed(
    phonemes: PhonemeSeq | Sequence[Phoneme] | Sequence[tuple[str, float, float]],
) -> list[TimedPhoneme]:
    items = phonemes.phonemes if isinstance(phonemes, PhonemeSeq) else phonemes
    return [
        TimedPhoneme(p.ipa, p.start, p.start + p.duration)
        if isinstance(p, Phoneme)
        else TimedPhoneme(*p)
        for p in items
    ]
