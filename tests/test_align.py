"""Alignment against an "actor" made of espeak-ng speech in another voice, placed at known times."""

from __future__ import annotations

import numpy as np
import pytest

from localize.align import (
    Alignment,
    AlignmentError,
    AlignOptions,
    LineAlignment,
    RefineOptions,
    ScriptLine,
    align,
)
from localize.align_hmm import PAUSE, Segment, refine
from localize.phonemes import synthesize

RATE = 16000
SCRIPT = (
    ("A1", "The morning train was late again."),
    ("A2", "She counted every window on the street."),
    ("A3", "Nobody answered the phone."),
)
PLACED_AT = (0.6, 3.4, 6.5)  # seconds: where each line starts in the actor's track
DURATION = 9.0


def _actor() -> tuple[np.ndarray, dict[str, list[tuple[float, float]]]]:
    """The actor's track (N,) at 16 kHz and the true (start, end) of each line's phonemes."""
    track = np.zeros(round(DURATION * RATE), dtype=np.float32)
    truth = {}
    for (line_id, text), at in zip(SCRIPT, PLACED_AT, strict=True):
        speech = synthesize(text, "en-US", rate=0.85, pitch=30).trimmed()
        # 22050 -> 16000 Hz by interpolation is plenty for a test voice.
        t = np.arange(round(speech.duration * RATE)) / RATE
        x = np.interp(t, np.arange(len(speech.samples)) / speech.sample_rate, speech.samples)
        start = round(at * RATE)
        track[start : start + len(x)] += 0.5 * x.astype(np.float32)
        truth[line_id] = [
            (at + p.start, at + p.start + p.duration)
            for p in speech.phonemes.phonemes
            if not p.is_pause
        ]
    noise = np.random.default_rng(1).standard_normal(len(track)).astype(np.float32)
    return track + 3e-4 * noise, truth  # a quiet room, not digital silence


@pytest.fixture(scope="module")
def actor() -> tuple[np.ndarray, dict[str, list[tuple[float, float]]]]:
    return _actor()


def _errors(line: LineAlignment, truth: list[tuple[float, float]]) -> np.ndarray:
    assert len(line.phonemes) == len(truth)
    return np.array(
        [abs(u.start - s) for u, (s, _) in zip(line.phonemes, truth, strict=True)]
        + [abs(u.end - e) for u, (_, e) in zip(line.phonemes, truth, strict=True)]
    )


def _check(result: Alignment, truth: dict[str, list[tuple[float, float]]]) -> None:
    assert [x.id for x in result.lines] == [line_id for line_id, _ in SCRIPT]
    errors = np.concatenate([_errors(x, truth[x.id]) for x in result.lines])
    assert np.median(errors) <= 0.020
    for line in result.lines:
        assert abs(line.start - truth[line.id][0][0]) <= 0.050, line
        assert 0.25 <= line.confidence <= 1.0, line
        assert line.words[0].start == line.start and line.words[-1].end == line.end
        assert all(
            a.end <= b.start + 1e-9 for a, b in zip(line.words, line.words[1:], strict=False)
        )
    assert result.doubtful == ()


def test_align_without_times(actor) -> None:
    audio, truth = actor
    lines = [ScriptLine(line_id, text) for line_id, text in SCRIPT]
    _check(align(lines, audio, RATE, "en-US"), truth)


def test_align_with_times(actor) -> None:
    audio, truth = actor
    lines = [
        ScriptLine(line_id, text, at - 0.2, at + 2.6)
        for (line_id, text), at in zip(SCRIPT, PLACED_AT, strict=True)
    ]
    _check(align(lines, audio, RATE, "en-US"), truth)


def test_align_mixed_times_and_other_rate(actor) -> None:
    audio, truth = actor
    at = PLACED_AT[1]
    lines = [
        ScriptLine(*SCRIPT[0]),
        ScriptLine(*SCRIPT[1], start=at - 0.3, end=at + 2.5),
        ScriptLine(*SCRIPT[2]),
    ]
    audio_48k = np.interp(np.arange(len(audio) * 3) / 3, np.arange(len(audio)), audio)
    _check(align(lines, audio_48k.astype(np.float32), 48000, "en-US"), truth)


def test_refinement_off_keeps_accuracy(actor) -> None:
    audio, truth = actor
    lines = [ScriptLine(line_id, text) for line_id, text in SCRIPT]
    opts = AlignOptions(refine=RefineOptions(n_iter=0))
    _check(align(lines, audio, RATE, "en-US", opts=opts), truth)


def test_silence_names_the_lines() -> None:
    lines = [ScriptLine(line_id, text) for line_id, text in SCRIPT]
    with pytest.raises(AlignmentError, match="A1, A2, A3: no speech"):
        align(lines, np.zeros(5 * RATE, dtype=np.float32), RATE, "en-US")


def test_silent_window_names_its_line(actor) -> None:
    audio, _ = actor
    lines = [ScriptLine(*SCRIPT[0], start=0.5, end=3.0), ScriptLine(*SCRIPT[1], start=8.6, end=9)]
    with pytest.raises(AlignmentError, match=r"A2: no speech in the audio between 8\.40 s"):
        align(lines, audio, RATE, "en-US", opts=AlignOptions(margin=0.2))


def test_wrong_script_raises_with_ids_and_times(actor) -> None:
    audio, _ = actor
    wrong = [
        ScriptLine("W1", "Seven purple elephants sat beside the lake."),
        ScriptLine("W2", "Keep the receipt for your records."),
        ScriptLine("W3", "How far is it to the station?"),
    ]
    with pytest.raises(
        AlignmentError, match=r"does not match the audio(.|\n)*W1: confidence 0\.\d\d at"
    ):
        align(wrong, audio, RATE, "en-US")


def test_one_wrong_line_is_doubtful(actor) -> None:
    audio, _ = actor
    lines = [
        ScriptLine(*SCRIPT[0], start=0.4, end=3.2),
        ScriptLine("X2", "Keep the receipt for your records, all of them.", start=3.2, end=6.2),
        ScriptLine(*SCRIPT[2], start=6.3, end=9.0),
    ]
    result = align(lines, audio, RATE, "en-US")
    assert [x.id for x in result.doubtful] == ["X2"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "no script lines"),
        ([ScriptLine("B1", "  ")], "B1: empty text"),
        ([ScriptLine("B1", "Hello there.", 2.0, 1.0)], "B1: end 1.0 s is not after start"),
        ([ScriptLine("B1", "Hello there.", 30.0, 31.0)], "B1: start 30.0 s is past"),
        ([ScriptLine("B1", "...")], "B1: no phonemes"),
    ],
)
def test_bad_script(actor, lines, message) -> None:
    audio, _ = actor
    with pytest.raises(AlignmentError, match=message):
        align(lines, audio, RATE, "en-US")


def test_bad_audio() -> None:
    lines = [ScriptLine("B1", "Hello there.")]
    with pytest.raises(AlignmentError, match="mono"):
        align(lines, np.zeros((2, RATE), dtype=np.float32), RATE, "en-US")
    with pytest.raises(AlignmentError, match="NaN"):
        align(lines, np.full(RATE, np.nan, dtype=np.float32), RATE, "en-US")
    with pytest.raises(AlignmentError, match="too short"):
        align(lines, np.zeros(10, dtype=np.float32), RATE, "en-US")


def test_refine_moves_boundaries_to_the_change() -> None:
    # Two sounds, "a" then "b", in each of 6 lines; the initial boundaries are 3 frames late.
    rng = np.random.default_rng(0)
    chunks, lines, true = [], [], []
    at = 0
    for n_a in (12, 15, 18, 11, 14, 16):
        sil, a, b = (
            rng.normal(-3, 0.5, (10, 20)),
            rng.normal(0, 1, (n_a, 20)),
            rng.normal(3, 1, (15, 20)),
        )
        chunks += [sil, a, b, sil]
        start, change, end = at + 10, at + 10 + n_a, at + 25 + n_a
        lines.append(
            [
                Segment(PAUSE, at, start),
                Segment("a", start, change + 3),
                Segment("b", change + 3, end),
                Segment(PAUSE, end, end + 10),
            ]
        )
        true.append(change)
        at = end + 10
    feats = np.concatenate(chunks)  # (T, D) with D = 20, as align uses
    refined = refine(feats, lines)
    assert [line[2].start for line in refined] == true
    assert all(line[0].start == old[0].start for line, old in zip(refined, lines, strict=True))
