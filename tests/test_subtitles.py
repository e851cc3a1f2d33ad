"""Subtitles: wrapping, cue timing rules, and SRT/WebVTT files read back."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest

from localize import subtitles
from localize.errors import LocalizeError
from localize.subtitles import Cue

LONG = (
    "This is a much longer line of dialogue that goes on and on, far past what two lines "
    "of forty-two characters can hold on screen at once"
)


def test_short_text_stays_on_one_line_and_two_lines_are_balanced() -> None:
    assert subtitles.wrap("Hello there.") == [["Hello there."]]
    [screen] = subtitles.wrap("This is a fairly long sentence that will need two lines")
    assert len(screen) == 2 and all(len(line) <= subtitles.MAX_CHARS for line in screen)
    assert abs(len(screen[0]) - len(screen[1])) <= 8  # balanced, not 42 + a stub


def test_long_text_splits_into_consecutive_cues_in_proportion() -> None:
    cues = subtitles.cues_from_lines([("L1", 2.0, 8.0, LONG)])
    assert len(cues) == 2 and [c.index for c in cues] == [1, 2]
    assert cues[0].start == 2.0 and cues[-1].end == pytest.approx(8.0)
    assert cues[0].end == cues[1].start
    for cue in cues:
        rows = cue.text.split("\n")
        assert len(rows) <= subtitles.MAX_LINES
        assert all(len(row) <= subtitles.MAX_CHARS for row in rows)
    chars = [len(c.text.replace("\n", "")) for c in cues]
    durations = [c.end - c.start for c in cues]
    assert durations[0] / durations[1] == pytest.approx(chars[0] / chars[1], rel=0.05)
    assert " ".join(c.text.replace("\n", " ") for c in cues) == LONG


def test_japanese_wraps_by_characters_and_keeps_punctuation_on_its_line() -> None:
    text = "これは日本語の字幕のテストです。長い文章は十六文字ごとに改行されます。"
    screens = subtitles.wrap(text, "ja-JP")
    rows = [row for screen in screens for row in screen]
    assert "".join(rows) == text
    assert all(len(row) <= subtitles.CHARACTER_WRAPPED["ja"] + 1 for row in rows)
    assert all(len(screen) <= subtitles.MAX_LINES for screen in screens)
    assert not any(row[0] in subtitles.NO_LINE_START for row in rows)


def test_cues_never_overlap_and_short_ones_are_held_when_there_is_room() -> None:
    lines = [
        ("L2", 1.0, 1.2, "Yes."),  # 0.2 s, 1.8 s gap after: held to 0.8 s
        ("L1", 0.0, 1.5, "Overlaps the next line."),  # unsorted input is fine
        ("L3", 3.0, 3.3, "No."),  # 0.3 s, but L4 starts 0.5 s later
        ("L4", 3.5, 5.0, "Fine."),
        ("L5", 6.0, 6.1, "Last."),
    ]
    cues = subtitles.cues_from_lines(lines)
    assert [c.text for c in cues] == [
        "Overlaps the next line.",
        "Yes.",
        "No.",
        "Fine.",
        "Last.",
    ]
    for a, b in pairwise(cues):
        assert a.end <= b.start and a.start < a.end
    assert cues[0].end == 1.0  # cut at the next cue
    assert cues[1].end == pytest.approx(1.0 + subtitles.MIN_DURATION)
    assert cues[2].end == 3.5  # held only up to the next cue
    assert cues[4].end == pytest.approx(6.0 + subtitles.MIN_DURATION)


def test_lines_starting_together_are_refused() -> None:
    with pytest.raises(LocalizeError, match="lines L1 and L2 both start"):
        subtitles.cues_from_lines([("L1", 1.0, 2.0, "a"), ("L2", 1.0, 3.0, "b")])


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_written_files_read_back(tmp_path: Path, fmt: str) -> None:
    lines = [("L1", 0.5, 1.25, "Grüß Gott!"), ("L2", 61.0, 3725.5, LONG)]
    cues = subtitles.cues_from_lines(lines)
    path = subtitles.write_subtitles(tmp_path / f"de.{fmt}", cues, fmt, lang="de-DE")
    text = path.read_text(encoding="utf-8")
    back = subtitles.read_srt(path)
    assert [(c.index, c.text) for c in back] == [(c.index, c.text) for c in cues]
    for ours, theirs in zip(cues, back, strict=True):
        assert theirs.start == pytest.approx(ours.start, abs=0.0005)
        assert theirs.end == pytest.approx(ours.end, abs=0.0005)
    sep = "," if fmt == "srt" else "."
    timing = rf"\d\d:\d\d:\d\d{re.escape(sep)}\d\d\d --> \d\d:\d\d:\d\d{re.escape(sep)}\d\d\d"
    assert len(re.findall(timing, text)) == len(cues)
    if fmt == "srt":
        assert text.startswith("1\n00:00:00,500 --> 00:00:01,300\nGrüß Gott!\n\n2\n")
    else:
        assert text.startswith("WEBVTT\nLanguage: de-DE\n\n1\n00:00:00.500 --> 00:00:01.300\n")
    assert "01:02:05.500" in text.replace(",", ".")


def test_unknown_format_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(LocalizeError, match=r"unknown subtitle format 'ass' \(known: srt, vtt\)"):
        subtitles.write_subtitles(tmp_path / "x.ass", [Cue(1, 0.0, 1.0, "a")], "ass")
    assert subtitles.get_writer("vtt").extension == "vtt"
