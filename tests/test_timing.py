"""Timing plans: the fit policy, its invariants over random lines and slots, and its findings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localize.errors import RenderError
from localize.phonemes import Phoneme, PhonemeSeq
from localize.spec import Line
from localize.timing import (
    GUARD,
    PAUSE_FLOOR,
    Slot,
    TimingPlan,
    findings,
    fit_line,
    fit_lines,
    phoneme_durations,
    scale_phonemes,
    slots,
)

TOL = 1e-9
MIN_RATE, MAX_RATE = 0.85, 1.15

durations_st = st.lists(st.floats(0.01, 0.4), min_size=1, max_size=60).map(np.array)
bounds_st = st.tuples(st.floats(0.5, 1.0), st.floats(1.0, 2.0))


@st.composite
def slot_st(draw: st.DrawFn) -> Slot:
    start = draw(st.floats(0.0, 20.0))
    end = start + draw(st.floats(0.05, 6.0))
    return Slot(start, end, end + draw(st.floats(0.0, 3.0)))


@st.composite
def script_st(draw: st.DrawFn) -> tuple[list[Line], float]:
    """Script lines in time order, each ending by the next one's start; some without an end."""
    n_lines = draw(st.integers(1, 8))
    lines, at = [], draw(st.floats(0.0, 2.0))
    gaps = draw(st.lists(st.floats(GUARD + 0.05, 6.0), min_size=n_lines, max_size=n_lines))
    for index, gap in enumerate(gaps):
        has_end = draw(st.booleans())
        end = at + gap * draw(st.floats(0.2, 1.0)) if has_end else None
        lines.append(Line(id=f"L{index + 1}", speaker="Ava", text="x", start=at, end=end))
        at += gap
    return lines, at + draw(st.floats(0.0, 2.0))


def check_plan(plan: TimingPlan, bounds: tuple[float, float]) -> None:
    durations = np.array(plan.durations)
    assert np.all(durations > 0)
    assert bounds[0] - TOL <= plan.rate <= bounds[1] + TOL
    assert abs(durations.sum() - (plan.end - plan.start)) <= TOL
    assert plan.natural / (plan.end - plan.start) == pytest.approx(plan.rate, rel=1e-9)
    assert plan.start == plan.slot_start
    window = plan.window_end - plan.start
    if plan.overflow == 0:
        assert plan.end <= plan.window_end + TOL
    else:
        assert plan.natural / bounds[1] > window - TOL
        assert plan.rate == pytest.approx(bounds[1])
        assert plan.overflow == pytest.approx(plan.end - plan.window_end)
    assert 0 <= plan.borrowed <= plan.window_end - plan.slot_end + TOL


@settings(max_examples=300, deadline=None)
@given(durations_st, slot_st(), bounds_st, st.booleans())
def test_plan_invariants(
    durations: np.ndarray, slot: Slot, bounds: tuple[float, float], with_pauses: bool
) -> None:
    pauses = np.arange(len(durations)) % 3 == 0 if with_pauses else None
    plan = fit_line("L1", durations, slot, *bounds, pauses=pauses)
    check_plan(plan, bounds)
    assert plan.natural == pytest.approx(durations.sum())
    slot_len = slot.end - slot.start
    if plan.natural <= slot_len:  # short lines slow toward the slot, never past it
        assert plan.end <= slot.end + TOL and plan.borrowed == 0
    if plan.borrowed > 0:  # speed first: only a line at the rate bound borrows
        assert plan.rate == pytest.approx(bounds[1])


@settings(max_examples=200, deadline=None)
@given(script_st(), st.data(), bounds_st)
def test_no_line_spills_into_the_next_unless_it_overflows(
    script: tuple[list[Line], float], data: st.DataObject, bounds: tuple[float, float]
) -> None:
    lines, duration = script
    line_slots = slots(lines, duration)
    lines_durations = [(line.id, data.draw(durations_st)) for line in lines]
    plans = fit_lines(lines_durations, line_slots, *bounds)
    spilled = {f.line for f in findings(plans) if f.code == "timing.spill"}
    for plan, following in zip(plans, [*plans[1:], None], strict=True):
        check_plan(plan, bounds)
        if plan.overflow == 0:
            assert following is None or plan.end <= following.start + TOL
            assert plan.id not in spilled
        if following is not None and plan.end > following.start + TOL:
            assert plan.id in spilled


def test_line_that_fits_is_spoken_at_its_own_rate() -> None:
    plan = fit_line("L1", [0.5, 0.5, 1.0], Slot(1.0, 3.0, 3.5), MIN_RATE, MAX_RATE)
    assert plan.rate == 1.0 and plan.end == 3.0
    assert plan.durations == (0.5, 0.5, 1.0)
    assert plan.borrowed == plan.overflow == 0
    assert findings([plan]) == []


def test_short_line_slows_to_min_rate_only() -> None:
    plan = fit_line("L1", [0.4] * 4, Slot(0.0, 3.0, 3.5), MIN_RATE, MAX_RATE)
    assert plan.rate == MIN_RATE
    assert plan.end == pytest.approx(1.6 / MIN_RATE)
    assert all(d == pytest.approx(0.4 / MIN_RATE) for d in plan.durations)


def test_slightly_short_line_is_slowed_to_fill_its_slot() -> None:
    plan = fit_line("L1", [0.45] * 4, Slot(0.0, 2.0, 2.5), MIN_RATE, MAX_RATE)
    assert plan.rate == pytest.approx(0.9) and plan.end == pytest.approx(2.0)


def test_long_line_speeds_up_to_fill_its_slot() -> None:
    plan = fit_line("L1", [0.55] * 4, Slot(2.0, 4.0, 5.0), MIN_RATE, MAX_RATE)
    assert plan.rate == pytest.approx(1.1)
    assert plan.end == pytest.approx(4.0) and plan.borrowed == 0


def test_pauses_give_up_time_first_down_to_their_floor() -> None:
    # 2.0 s of speech and 0.4 s of pause into a 2.2 s slot: the pause alone gives 0.2 s.
    durations, pauses = [1.0, 0.4, 1.0], [False, True, False]
    plan = fit_line("L1", durations, Slot(0.0, 2.2, 3.0), MIN_RATE, MAX_RATE, pauses=pauses)
    assert plan.durations == pytest.approx((1.0, 0.2, 1.0))
    assert plan.rate == pytest.approx(2.4 / 2.2)
    # Into 2.1 s the pause stops at its floor and the speech gives the rest.
    plan = fit_line("L1", durations, Slot(0.0, 2.1, 3.0), MIN_RATE, MAX_RATE, pauses=pauses)
    floor = 0.4 * PAUSE_FLOOR
    scale = 2.1 / (2.0 + floor)
    assert plan.durations == pytest.approx((scale, floor * scale, scale))


def test_line_borrows_silence_after_its_slot_at_the_rate_bound() -> None:
    plan = fit_line("L4", [0.6] * 5, Slot(13.0, 15.5, 16.0), MIN_RATE, MAX_RATE)
    assert plan.rate == MAX_RATE
    assert plan.end == pytest.approx(13.0 + 3.0 / MAX_RATE)
    assert plan.borrowed == pytest.approx(plan.end - 15.5) and plan.overflow == 0
    assert findings([plan]) == []


def test_overflowing_line_is_reported_in_ms() -> None:
    plan = fit_line("L6", [0.5] * 8, Slot(21.8, 24.6, 25.0), MIN_RATE, MAX_RATE)
    assert plan.rate == MAX_RATE
    assert plan.overflow == pytest.approx(21.8 + 4.0 / MAX_RATE - 25.0)  # 278 ms
    assert plan.borrowed == pytest.approx(0.4)
    (finding,) = findings([plan])
    assert (finding.severity, finding.code, finding.line) == ("Issue", "timing.overflow", "L6")
    assert finding.time == 25.0
    assert "runs 278 ms past" in finding.message and "shorter adaptation" in finding.message


def test_overflow_past_the_breath_spills_into_the_next_line() -> None:
    lines = [
        Line(id="L1", speaker="Ava", text="x", start=1.0, end=2.0),
        Line(id="L2", speaker="Ava", text="y", start=2.5, end=3.5),
    ]
    line_slots = slots(lines, 5.0)
    plans = fit_lines([("L1", [0.5] * 6), ("L2", [0.3] * 3)], line_slots, MIN_RATE, MAX_RATE)
    codes = [(f.code, f.line) for f in findings(plans)]
    assert codes == [("timing.overflow", "L1"), ("timing.spill", "L1")]
    spill = findings(plans)[1]
    assert spill.severity == "Blocker" and spill.time == 2.5


def test_slots_keep_a_breath_before_the_next_line() -> None:
    lines = [
        Line(id="L1", speaker="Ava", text="x", start=1.0, end=3.3),
        Line(id="L2", speaker="Ava", text="y", start=3.9),
    ]
    first, second = slots(lines, 6.0)
    assert first == Slot(1.0, 3.3, 3.9 - GUARD)
    assert second == Slot(3.9, 6.0, 6.0)
    aligned = slots([Line(id="L1", speaker="Ava", text="x")], 4.0, {"L1": (0.5, 2.0)})
    assert aligned == [Slot(0.5, 2.0, 4.0)]
    with pytest.raises(RenderError, match="line L1: no start time"):
        slots([Line(id="L1", speaker="Ava", text="x")], 4.0)


def test_scale_phonemes_puts_them_on_the_fitted_timeline() -> None:
    seq = PhonemeSeq(
        "en-US",
        "hi",
        (),
        (Phoneme("_", 0.0, 0.1, -1, True), Phoneme("h", 0.1, 0.2, 0), Phoneme("aɪ", 0.3, 0.3, 0)),
    )
    durations, pauses = phoneme_durations(seq)
    assert durations == pytest.approx([0.1, 0.2, 0.3]) and pauses.tolist() == [True, False, False]
    plan = fit_line("L1", durations, Slot(10.0, 10.5, 11.0), MIN_RATE, MAX_RATE, pauses=pauses)
    timed = scale_phonemes(seq, plan)
    assert [p.symbol for p in timed] == ["_", "h", "aɪ"]
    assert timed[0].start == 10.0 and timed[-1].end == plan.end
    assert all(a.end == b.start for a, b in itertools.pairwise(timed))
    assert [p.end - p.start for p in timed] == pytest.approx(plan.durations)
    assert scale_phonemes([("_", 0.0, 0.1), ("h", 0.1, 0.3), ("aɪ", 0.3, 0.6)], plan) == timed
    with pytest.raises(RenderError, match="line L1: 2 phonemes but the timing plan has 3"):
        scale_phonemes([("h", 0.0, 0.1), ("i", 0.1, 0.2)], plan)


@pytest.mark.parametrize(
    ("durations", "slot", "bounds", "message"),
    [
        ([], Slot(0, 1, 1), (0.9, 1.1), "line L1: no phonemes"),
        ([0.1, 0.0], Slot(0, 1, 1), (0.9, 1.1), "line L1: every phoneme duration must be > 0"),
        ([0.1], Slot(1, 1, 2), (0.9, 1.1), "line L1: slot 1.000-1.000 s"),
        ([0.1], Slot(0, 2, 1), (0.9, 1.1), "need start < end <= window end"),
        ([0.1], Slot(0, 1, 1), (1.1, 1.2), "timing: need 0 < min_rate <= 1 <= max_rate"),
    ],
)
def test_bad_inputs_name_the_line(
    durations: list[float], slot: Slot, bounds: tuple[float, float], message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        fit_line("L1", durations, slot, *bounds)
