"""Alignment accuracy and speed: the sample's ground truth, then the real leopard recordings.

Run from the repository root: ``python bench/eval_align.py``.
"""

from __future__ import annotations

import ast
import json
import time
from pathlib import Path

import numpy as np

from localize.align import (
    Alignment,
    AlignmentError,
    AlignOptions,
    RefineOptions,
    ScriptLine,
    align,
)
from localize.kana import reading_words
from localize.lexicon import WORD_PATTERN, load_lexicon
from localize.media import read_audio
from localize.spec import load_job

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 16000
LEOPARD_LANGS = ("en", "de", "fr", "es", "it", "pt")


def phoneme_errors(result: Alignment, truth: dict) -> tuple[np.ndarray, list[str]]:
    """Boundary errors (s) of spoken phonemes, matched by index within each line."""
    errors: list[float] = []
    skipped: list[str] = []
    for line in result.lines:
        true = [p for p in truth["phonemes"] if p["line_id"] == line.id and not p["is_pause"]]
        if [p["ipa"] for p in true] != [u.label for u in line.phonemes]:
            skipped.append(line.id)
            continue
        for p, unit in zip(true, line.phonemes, strict=True):
            errors += [abs(unit.start - p["start"]), abs(unit.end - p["end"])]
    return np.array(errors), skipped


def eval_sample(opts: AlignOptions, mode: str) -> None:
    job = load_job(ROOT / "samples" / "job.yaml")
    lexicon = load_lexicon(ROOT / "lexicons" / "brightwell.yaml")
    truth = json.loads((ROOT / "samples" / "media" / "truth.json").read_text())
    assert job.source.stems is not None
    audio = read_audio(job.source.stems.dialogue, sample_rate=SAMPLE_RATE)
    duration = len(audio) / SAMPLE_RATE
    for timed in (True, False):
        lines = [
            ScriptLine(x.id, x.text, x.start if timed else None, x.end if timed else None)
            for x in job.script
        ]
        began = time.perf_counter()
        result = align(lines, audio, SAMPLE_RATE, "en-US", lexicon, opts)
        spent = time.perf_counter() - began
        errors, skipped = phoneme_errors(result, truth)
        ms = errors * 1000
        label = "with start/end" if timed else "without start/end"
        print(
            f"sample {mode}, {label}: {len(ms)} phoneme boundaries, median {np.median(ms):.1f} ms, "
            f"p90 {np.percentile(ms, 90):.1f} ms (target median <= 20 ms); "
            f"confidence {min(x.confidence for x in result.lines):.2f}.."
            f"{max(x.confidence for x in result.lines):.2f}; "
            f"{spent / duration:.3f} s compute per s of audio"
            + (f"; lines skipped (phoneme mismatch): {skipped}" if skipped else "")
        )


def eval_leopard(media: Path, opts: AlignOptions, mode: str) -> None:
    data = json.loads((media / "speech" / "leopard_test_data.json").read_text())
    tests = {t["language"]: t for t in data["tests"]["language_tests"]}
    for lang in LEOPARD_LANGS:
        test = tests[lang]
        words = test["words"]
        if isinstance(words, str):  # some copies store the list as its Python repr
            words = ast.literal_eval(words)
        audio = read_audio(media / "speech" / f"leopard_test_{lang}.wav", sample_rate=SAMPLE_RATE)
        line = ScriptLine(lang, test["transcript_with_punctuation"])
        began = time.perf_counter()
        try:
            result = align([line], audio, SAMPLE_RATE, lang, opts=opts)
        except AlignmentError as exc:
            print(f"leopard {lang} {mode}: failed: {exc}")
            continue
        spent = time.perf_counter() - began
        found = result.lines[0].words
        if len(found) != len(words):
            print(
                f"leopard {lang} {mode}: {len(found)} words aligned, {len(words)} in the reference"
            )
            continue
        errors = [
            abs(a - b)
            for unit, ref in zip(found, words, strict=True)
            for a, b in ((unit.start, ref["start_sec"]), (unit.end, ref["end_sec"]))
        ]
        ms = np.array(errors) * 1000
        print(
            f"leopard {lang} {mode}: {len(words)} words, median word boundary error "
            f"{np.median(ms):.0f} ms, p90 {np.percentile(ms, 90):.0f} ms (target <= 60 ms); "
            f"confidence {result.lines[0].confidence:.2f}; "
            f"{spent / (len(audio) / SAMPLE_RATE):.3f} s compute per s of audio"
        )


def eval_leopard_ja(media: Path, opts: AlignOptions, mode: str) -> None:
    """Japanese: the transcript read as kana, one word per MeCab token (espeak can't read
    kanji, and Japanese has no spaces); reference words are matched to tokens by characters."""
    data = json.loads((media / "speech" / "leopard_test_data.json").read_text())
    test = next(t for t in data["tests"]["language_tests"] if t["language"] == "ja")
    words = test["words"]
    if isinstance(words, str):  # some copies store the list as its Python repr
        words = ast.literal_eval(words)
    tokens = reading_words(test["transcript_with_punctuation"])
    spans: list[tuple[int, int]] = []  # each spoken token's characters in the transcript
    text, at = "", 0
    for surface, reading in tokens:
        if WORD_PATTERN.fullmatch(reading):
            spans.append((at, at + len(surface)))
            text += f" {reading}"
        else:
            text += reading
        at += len(surface)
    audio = read_audio(media / "speech" / "leopard_test_ja.wav", sample_rate=SAMPLE_RATE)
    began = time.perf_counter()
    try:
        result = align([ScriptLine("ja", text.strip())], audio, SAMPLE_RATE, "ja", opts=opts)
    except AlignmentError as exc:
        print(f"leopard ja {mode}: failed: {exc}")
        return
    spent = time.perf_counter() - began
    found = result.lines[0].words
    assert len(found) == len(spans), "one aligned word per spoken token"
    errors: list[float] = []
    at = 0
    for ref in words:
        end = at + len(ref["word"])
        mine = [u for u, (a, b) in zip(found, spans, strict=True) if a < end and b > at]
        at = end
        if mine:
            errors += [abs(mine[0].start - ref["start_sec"]), abs(mine[-1].end - ref["end_sec"])]
    ms = np.array(errors) * 1000
    print(
        f"leopard ja {mode}: {len(words)} words ({len(found)} tokens read as kana), median word "
        f"boundary error {np.median(ms):.0f} ms, p90 {np.percentile(ms, 90):.0f} ms "
        f"(target <= 60 ms); confidence {result.lines[0].confidence:.2f}; "
        f"{spent / (len(audio) / SAMPLE_RATE):.3f} s compute per s of audio"
    )


def main() -> None:
    modes = {
        "refined": AlignOptions(),
        "DTW only": AlignOptions(refine=RefineOptions(n_iter=0)),
    }
    for mode, opts in modes.items():
        eval_sample(opts, mode)
    media = ROOT.parent / "shared" / "media"
    if not media.exists():
        print("skipped: no evaluation media")
        return
    for mode, opts in modes.items():
        eval_leopard(media, opts, mode)
        eval_leopard_ja(media, opts, mode)


if __name__ == "__main__":
    main()
