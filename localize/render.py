"""Per-language dialogue rendering; this module holds voice-over (lip-sync: `lipsync.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from localize import mix
from localize.errors import RenderError
from localize.ingest import CheckedJob
from localize.phonemes import Speech, espeak_voice, synthesize
from localize.spec import Line
from localize.timing import Slot, slots
from localize.translate import Finding

Progress = Callable[[str, float, float], None]  # (step, done, total)

# Stock espeak-ng voice variants per speaker gender (voice-over is openly a different voice).
VARIANTS = {"female": "f3", "male": "m3", None: None}
# Fitting a line's rate is done in a few passes because espeak's words-per-minute is not
# exactly proportional to duration.
FIT_PASSES = 3


@dataclass(frozen=True)
class PlacedLine:
    """One translated line as rendered: its slot, where its speech landed, and how it was fitted."""

    id: str
    speaker: str
    text: str
    slot_start: float  # the source line's slot, seconds in the clip
    slot_end: float
    window_end: float  # the latest end allowed: the next line's start less a breath, or clip end
    start: float  # the rendered speech, seconds in the clip
    end: float
    rate: float  # speaking rate relative to the voice's default (1.0)
    borrowed: float  # seconds of the silence after the slot the line uses (0 when it fits)
    overflow: float  # seconds past window_end still left at the rate bound (0 when it fits)
    gain_db: float  # level applied to match the source line
    voice: str  # the espeak-ng voice, the actor checkpoint, or the voice talent's recording
    ipa: str  # the phonemes spoken
    region: tuple[float, float] | None = None  # lipsync: seconds of picture repainted
    av_offset_ms: float | None = None  # lipsync: audio lag behind the mouth (> 0 late)


@dataclass(frozen=True, eq=False)
class DialogueRender:
    """A language's new dialogue stem and what happened to each line."""

    lang: str
    samples: np.ndarray  # (N,) float32 at sample_rate
    sample_rate: int
    lines: tuple[PlacedLine, ...]
    findings: tuple[Finding, ...]


def _speak(text: str, lang: str, rate: float, checked: CheckedJob, variant: str | None) -> Speech:
    return synthesize(text, lang, checked.lexicon, rate=rate, voice_variant=variant).trimmed()


def fit_rate(
    text: str, lang: str, slot: float, checked: CheckedJob, variant: str | None
) -> tuple[Speech, float]:
    """Synthesize `text` at the default rate, or as much faster as the slot needs (job bounds)."""
    bounds = checked.job.timing
    rate = 1.0
    speech = _speak(text, lang, rate, checked, variant)
    for _ in range(FIT_PASSES):
        if speech.duration <= slot or rate >= bounds.max_rate:
            break
        rate = min(bounds.max_rate, rate * speech.duration / slot * 1.01)
        speech = _speak(text, lang, rate, checked, variant)
    return speech, rate


def _timing_findings(placed: PlacedLine, next_start: float | None) -> list[Finding]:
    findings = []
    if placed.overflow > 0:
        findings.append(
            Finding(
                "Issue",
                "timing.overflow",
                f"runs {placed.overflow * 1000:.0f} ms past the time it may take (to "
                f"{placed.window_end:.2f} s) even at the rate bound {placed.rate:.2f}; "
                "ask for a shorter adaptation",
                line=placed.id,
                time=placed.window_end,
            )
        )
    if next_start is not None and placed.end > next_start:
        findings.append(
            Finding(
                "Blocker",
                "timing.spill",
                f"speech runs {(placed.end - next_start) * 1000:.0f} ms into the next line",
                line=placed.id,
                time=next_start,
            )
        )
    return findings


def _place_line(
    checked: CheckedJob, lang: str, line: Line, slot: Slot, reference: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, PlacedLine]:
    """Speak one line into its slot: (audio (N,) at sample_rate with gain applied, placement)."""
    variant = VARIANTS[checked.job.speaker(line.speaker).gender]
    text = checked.translations[lang].lines[line.id]
    speech, rate = fit_rate(text, lang, slot.window_end - slot.start, checked, variant)
    audio = mix.resample(speech.samples, speech.sample_rate, sample_rate)
    gain_db = mix.match_level(audio, reference, slot.start, slot.end, sample_rate)
    end = slot.start + speech.duration
    placed = PlacedLine(
        id=line.id,
        speaker=line.speaker,
        text=text,
        slot_start=slot.start,
        slot_end=slot.end,
        window_end=slot.window_end,
        start=slot.start,
        end=end,
        rate=rate,
        borrowed=max(0.0, end - slot.end),
        overflow=max(0.0, end - slot.window_end - 1e-3),
        gain_db=gain_db,
        voice=espeak_voice(lang) + (f"+{variant}" if variant else ""),
        ipa=speech.phonemes.ipa(),
    )
    return audio * np.float32(10 ** (gain_db / 20)), placed


def render_voice_over(
    checked: CheckedJob,
    lang: str,
    sample_rate: int,
    progress: Progress | None = None,
    aligned: Mapping[str, tuple[float, float]] | None = None,
) -> DialogueRender:
    """Speak every translated line with a stock voice, fitted into its slot and level-matched."""
    job, source = checked.job, checked.source
    n_samples = round(source.duration * sample_rate)
    track = np.zeros(n_samples, dtype=np.float32)  # (N,)
    reference = mix.reference_dialogue(source, sample_rate)
    placed_lines: list[PlacedLine] = []
    findings: list[Finding] = []
    line_slots = slots(job.script, source.duration, aligned)
    for index, (line, slot) in enumerate(zip(job.script, line_slots, strict=True)):
        audio, placed = _place_line(checked, lang, line, slot, reference, sample_rate)
        begin = round(slot.start * sample_rate)
        audio = audio[: max(0, n_samples - begin)]
        track[begin : begin + len(audio)] += audio
        next_start = line_slots[index + 1].start if index + 1 < len(line_slots) else None
        findings += _timing_findings(placed, next_start)
        if placed.end > source.duration:
            findings.append(
                Finding(
                    "Blocker",
                    "timing.clip_end",
                    "speech runs past the end of the clip",
                    line=line.id,
                    time=source.duration,
                )
            )
        placed_lines.append(placed)
        if progress is not None:
            progress("speech", index + 1, len(job.script))
    check_peak(track, lang)
    return DialogueRender(lang, track, sample_rate, tuple(placed_lines), tuple(findings))


def check_peak(track: np.ndarray, lang: str) -> None:
    """A dialogue stem over full scale means lines were placed on top of each other."""
    peak = float(np.max(np.abs(track), initial=0.0))
    if peak > 1.0:
        raise RenderError(
            f"{lang}: the new dialogue stem peaks at {20 * np.log10(peak):+.1f} dBFS where lines "
            "overlap; fix the line times in the script"
        )
