"""Subtitle cues from rendered lines: wrapping, timing rules, and SRT/WebVTT writers."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from localize.errors import LocalizeError

# Broadcast convention (EBU-TT-D / BBC / Netflix style guides): 42 characters, two lines.
MAX_CHARS = 42
MAX_LINES = 2
# Scripts written without spaces wrap by character; 16 full-width characters is the usual
# Japanese (and Chinese) line length.
CHARACTER_WRAPPED = {"ja": 16, "zh": 16}
MIN_DURATION = 0.8  # seconds a cue stays up at least, when the following gap allows
# Japanese line-breaking rules (kinsoku): these never start a line.
NO_LINE_START = set(
    "、。，．・：；？！ー―…‥」』）〕］｝〉》】ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
)

LineTiming = tuple[str, float, float, str]  # (line id, start s, end s, text)


class SubtitleError(LocalizeError):
    """Lines cannot be turned into cues, or a subtitle format is unknown."""


@dataclass(frozen=True)
class Cue:
    """One subtitle on screen; `text` holds at most MAX_LINES lines joined by newlines."""

    index: int  # 1-based position in the file
    start: float  # seconds
    end: float  # seconds, > start
    text: str


def _language(lang: str | None) -> str:
    return "" if lang is None else lang.split("-")[0].lower()


def wrap(text: str, lang: str | None = None) -> list[list[str]]:
    """Screens of `text`, each at most MAX_LINES display lines.

    Words wrap at 42 characters; ja/zh wrap by characters at 16. Each screen's lines are as even
    as the words allow, since a balanced pair reads faster than a full line and a stub.
    """
    width = CHARACTER_WRAPPED.get(_language(lang))
    if width is not None:
        return _wrap_characters(" ".join(text.split()), width)
    lines = _wrap_words(text.split(), MAX_CHARS)
    screens = [lines[i : i + MAX_LINES] for i in range(0, len(lines), MAX_LINES)]
    return [_balance(screen, MAX_CHARS) if len(screen) == 2 else screen for screen in screens]


def _wrap_words(words: list[str], width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in words:
        while len(word) > width:  # a word longer than a line (a URL): hard-break it
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:width])
            word = word[width:]
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def _balance(lines: list[str], width: int) -> list[str]:
    """Two lines as even as possible."""
    text = " ".join(lines)
    spaces = [i for i, char in enumerate(text) if char == " "]
    fitting = [i for i in spaces if i <= width and len(text) - i - 1 <= width]
    if not fitting:  # only a hard-broken word made two lines
        return lines
    cut = min(fitting, key=lambda i: abs(len(text) - 1 - 2 * i))
    return [text[:cut], text[cut + 1 :]]


def _wrap_characters(text: str, width: int) -> list[list[str]]:
    """Screens of even character runs; kinsoku characters stay with the run before them."""
    n_screens = max(1, -(-len(text) // (width * MAX_LINES)))
    per_screen = -(-len(text) // n_screens)
    screens = []
    for chunk in _even_runs(text, per_screen, width * MAX_LINES):
        n_lines = max(1, -(-len(chunk) // width))
        screens.append(_even_runs(chunk, -(-len(chunk) // n_lines), width))
    return [screen for screen in screens if screen]


def _even_runs(text: str, size: int, limit: int) -> list[str]:
    runs = []
    rest = text
    while rest:
        cut = min(size, len(rest))
        # Kinsoku: punctuation and small kana never open a line (one over the limit is allowed).
        while cut < len(rest) and rest[cut] in NO_LINE_START and cut <= limit:
            cut += 1
        runs.append(rest[:cut].strip())
        rest = rest[cut:].lstrip()
    return [run for run in runs if run]


def _split_in_time(start: float, end: float, screens: list[list[str]]) -> list[Cue]:
    """Cues sharing [start, end) in proportion to their characters (index set by the caller)."""
    counts = [sum(len(line) for line in screen) for screen in screens]
    total = sum(counts)
    cues, done = [], 0
    for screen, count in zip(screens, counts, strict=True):
        begin = start + (end - start) * done / total
        done += count
        cues.append(Cue(0, begin, start + (end - start) * done / total, "\n".join(screen)))
    return cues


def cues_from_lines(lines: Sequence[LineTiming], lang: str | None = None) -> list[Cue]:
    """Numbered, wrapped, non-overlapping cues of (id, start, end, text) lines.

    A cue ends where the next begins at the latest; a short cue is held up to MIN_DURATION when
    the gap after it allows.
    """
    ordered = sorted(lines, key=lambda line: line[1])
    for (id_a, start_a, _, _), (id_b, start_b, _, _) in pairwise(ordered):
        if start_b <= start_a:
            raise SubtitleError(f"lines {id_a} and {id_b} both start at {start_a:.3f} s")
    raw: list[Cue] = []
    for line_id, start, end, text in ordered:
        if end <= start:
            raise SubtitleError(f"line {line_id}: end {end:.3f} s is not after start {start:.3f}")
        screens = wrap(text, lang)
        if screens:
            raw += _split_in_time(start, end, screens)
    cues = []
    for position, cue in enumerate(raw):
        limit = raw[position + 1].start if position + 1 < len(raw) else float("inf")
        end = min(max(cue.end, cue.start + MIN_DURATION), limit)
        cues.append(Cue(position + 1, cue.start, end, cue.text))
    return cues


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _block(cue: Cue, separator: str) -> str:
    """A numbered cue: index, timing line, text, then the newline ending its last row."""
    timing = f"{_timestamp(cue.start, separator)} --> {_timestamp(cue.end, separator)}"
    return f"{cue.index}\n{timing}\n{cue.text}\n"


class SubtitleWriter:
    """Formats cues as one subtitle file format."""

    extension = ""

    def format(self, cues: Sequence[Cue], lang: str | None = None) -> str:
        raise NotImplementedError

    def write(self, path: Path, cues: Sequence[Cue], lang: str | None = None) -> Path:
        path.write_text(self.format(cues, lang), encoding="utf-8")
        return path


class SrtWriter(SubtitleWriter):
    """SubRip: numbered blocks, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, a blank line after each."""

    extension = "srt"

    def format(self, cues: Sequence[Cue], lang: str | None = None) -> str:
        return "\n".join(_block(cue, ",") for cue in cues)


class VttWriter(SubtitleWriter):
    """WebVTT: a `WEBVTT` header (with the language), `HH:MM:SS.mmm` times, numbered cues."""

    extension = "vtt"

    def format(self, cues: Sequence[Cue], lang: str | None = None) -> str:
        header = "WEBVTT\n" if lang is None else f"WEBVTT\nLanguage: {lang}\n"
        return "\n".join([header, *(_block(cue, ".") for cue in cues)])


WRITERS: dict[str, type[SubtitleWriter]] = {"srt": SrtWriter, "vtt": VttWriter}


def get_writer(fmt: str) -> SubtitleWriter:
    """The writer for `fmt`; SubtitleError lists the known formats otherwise."""
    if fmt not in WRITERS:
        raise SubtitleError(f"unknown subtitle format {fmt!r} (known: {', '.join(WRITERS)})")
    return WRITERS[fmt]()


def write_subtitles(
    path: Path, cues: Sequence[Cue], fmt: str = "srt", lang: str | None = None
) -> Path:
    """Write `cues` to `path` (UTF-8) in `fmt`, "srt" or "vtt"."""
    return get_writer(fmt).write(Path(path), cues, lang)


TIMING = re.compile(r"^(\d+):(\d{2}):(\d{2})[,.](\d{3}) --> (\d+):(\d{2}):(\d{2})[,.](\d{3})")


def read_srt(path: Path) -> list[Cue]:
    """Cues of an SRT or WebVTT file as written here (a checker's reader, not a full parser)."""
    cues: list[Cue] = []
    blocks = Path(path).read_text(encoding="utf-8").replace("\r\n", "\n").split("\n\n")
    for block in blocks:
        rows = block.strip("\n").split("\n")
        found = [(i, match) for i, row in enumerate(rows) if (match := TIMING.match(row))]
        if not found:
            continue  # the WebVTT header or a NOTE
        timing, match = found[0]
        parts = [int(p) for p in match.groups()]
        start = parts[0] * 3600 + parts[1] * 60 + parts[2] + parts[3] / 1000
        end = parts[4] * 3600 + parts[5] * 60 + parts[6] + parts[7] / 1000
        index = int(rows[timing - 1]) if timing > 0 else len(cues) + 1
        cues.append(Cue(index, start, end, "\n".join(rows[timing + 1 :])))
    return cues
