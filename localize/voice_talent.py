"""External-voice rendering: a voice talent's recording per market drives the actor's mouth.

The recording is delivered as it is; the translated script is aligned to it to find each line,
and the actor model, driven through its audio content encoder, repaints the mouth over the
stretch of picture where the source line or the recording speaks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import numpy as np

from localize import media
from localize.actor import log_mel
from localize.align import AlignOptions, ScriptLine, align
from localize.cast import Cast
from localize.errors import RenderError
from localize.ingest import CheckedJob
from localize.lipsync import (
    TICKS,
    LipsyncRender,
    measure_offset,
    patches,
    regions,
    sync_findings,
    take_line,
)
from localize.render import DialogueRender, PlacedLine, Progress
from localize.timing import slots
from localize.translate import Finding
from model.config import HOP, SAMPLE_RATE


def render_external_voice(
    checked: CheckedJob,
    lang: str,
    cast: Cast,
    sample_rate: int,
    workdir: Path,
    progress: Progress | None = None,
    aligned: Mapping[str, tuple[float, float]] | None = None,
) -> LipsyncRender:
    """A voice talent's recording, used as delivered, drives the mouths through the audio
    content encoder; the translated script is aligned to it to find each line."""
    job, source = checked.job, checked.source
    path = job.external_voice[lang]
    heard = media.read_audio(path, sample_rate=sample_rate, channels=1)  # (N,)
    n = round(source.duration * sample_rate)
    if abs(len(heard) - n) > sample_rate / float(cast.frame_rate):
        raise RenderError(
            f"{path}: external_voice.{lang}: lasts {len(heard) / sample_rate:.3f} s, the video "
            f"{source.duration:.3f} s; deliver the recording at the clip's length"
        )
    track = np.zeros(n, np.float32)
    track[: min(n, len(heard))] = heard[:n]
    voice = media.read_audio(path, sample_rate=SAMPLE_RATE, channels=1)
    text = checked.translations[lang].lines
    lines = [ScriptLine(ln.id, text[ln.id], None, None) for ln in job.script]
    found = align(lines, voice, SAMPLE_RATE, lang, checked.lexicon, AlignOptions())
    times = {ln.id: (ln.start, ln.end) for ln in found.lines}
    ipa = {ln.id: " ".join(p.label for p in ln.phonemes) for ln in found.lines}
    line_slots = slots(job.script, source.duration, aligned)
    spans = regions(
        [
            (min(slot.start, times[ln.id][0]), max(slot.end, times[ln.id][1]))
            for ln, slot in zip(job.script, line_slots, strict=True)
        ],
        source.duration,
    )
    placed, overlays, findings = [], [], []
    for index, (line, slot) in enumerate(zip(job.script, line_slots, strict=True)):
        fitted, span = cast.actors[line.speaker], spans[index]
        start, end = times[line.id]
        a, b = round(span[0] * TICKS), round(span[1] * TICKS)
        mel = log_mel(voice[a * HOP : b * HOP], fitted.actor.model.cfg.n_mels)
        take = take_line(fitted, span, cast.faces.get(line.speaker), cast.frame_rate, mel=mel)
        offset = measure_offset(
            take.crops, voice[a * HOP : b * HOP], take.frames, span[0], cast.frame_rate, fitted
        )
        take = replace(take, av_offset_ms=offset)
        overlays += patches(take, line.speaker, cast, workdir / f"{line.id}.rgba")
        findings += sync_findings(line.id, take)
        placed.append(
            PlacedLine(
                id=line.id, speaker=line.speaker, text=text[line.id], slot_start=slot.start,
                slot_end=slot.end, window_end=slot.window_end, start=start, end=end, rate=1.0,
                borrowed=max(0.0, end - slot.end), overflow=max(0.0, end - slot.window_end),
                gain_db=0.0, voice=f"recording {path.name}", ipa=ipa[line.id], region=span,
                av_offset_ms=offset,
            )
        )  # fmt: skip
        if progress is not None:
            progress("speech", index + 1, len(job.script))
    findings += [
        Finding("Issue", "align.doubtful", f"the recording's line was found with low confidence "
                f"({ln.confidence:.2f}) at {ln.start:.2f} s", line=ln.id, time=ln.start)
        for ln in found.doubtful
    ]  # fmt: skip
    dialogue = DialogueRender(lang, track, sample_rate, tuple(placed), tuple(findings))
    return LipsyncRender(dialogue, tuple(overlays))
