"""The inputs `localize evaluate` reads: a job (scripted), a bare video, a conversation + STM."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from localize import media
from localize.actor import Footage, build_material, join_spans
from localize.align import AlignOptions, ScriptLine, align
from localize.analysis import RATE, SourceAnalysis
from localize.diarize import embed_utterance
from localize.errors import LocalizeError
from localize.evaluate import Evaluation, Progress, self_reenactment, split_point
from localize.faces import track_faces
from localize.fit import job_material, speaker_spans
from localize.ingest import CheckedJob
from localize.phonemes import synthesize
from localize.speakers import to_16k
from model.config import DEFAULT_CONFIG, JointConfig
from model.train import FitConfig

CHUNK = 1.0  # seconds: leave-out unit of a recording without lines
HELD_TURNS = 2  # a conversation's speakers are scored on their last two turns


def evaluate_job(
    checked: CheckedJob,
    analysis: SourceAnalysis,
    speaker: str,
    fit_cfg: FitConfig,
    cfg: JointConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
) -> Evaluation:
    """Phoneme-driven self-reenactment of one speaker of a job, from its own script."""
    material = job_material(checked, analysis, speaker, cfg)
    speakers_of = {ln.id: ln.speaker for ln in checked.job.script}
    spans = speaker_spans(analysis, speaker, speakers_of, checked.source.duration)
    dialogue = checked.source.dialogue or checked.source.mix
    joined, _ = join_spans(media.read_audio(dialogue.path, sample_rate=RATE), spans)
    lines = {ln.id: ln for ln in checked.job.script}
    cut = split_point(material)
    starts = {int(s0): a for (s0, _), (a, _) in zip(material.segments, spans, strict=True)}
    cut_time = starts.get(cut, spans[-1][0])
    held_text = [
        lines[a.id].text
        for a in analysis.alignment.lines
        if speakers_of.get(a.id) == speaker and a.start >= cut_time - 0.2
    ]
    lang = checked.job.source_lang
    return self_reenactment(
        material,
        joined,
        cfg,
        fit_cfg,
        f"{checked.job.name} / {speaker}",
        espeak=lambda: _espeak(held_text, lang),
        progress=progress,
        cut=cut,
    )


def _espeak(texts: list[str], lang: str) -> np.ndarray:
    """Plain espeak-ng speech of the texts, 16 kHz, a short pause between them."""
    parts = []
    for text in texts:
        speech = synthesize(text, lang)
        parts += [to_16k(speech.samples, speech.sample_rate), np.zeros(RATE // 5, np.float32)]
    return np.concatenate(parts) if parts else np.zeros(RATE, np.float32)


def evaluate_video(
    path: Path,
    fit_cfg: FitConfig,
    cfg: JointConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
) -> Evaluation:
    """Audio-driven self-reenactment of a talking-head clip with no script."""
    info = media.probe(path)
    if info.video is None or not info.audio:
        raise LocalizeError(f"{path}: evaluation needs a video with an audio track")
    audio = media.read_audio(path, sample_rate=RATE)
    faces = track_faces(path)
    track = max(faces.tracks, key=lambda t: len(t.frames))
    duration = len(audio) / RATE
    footage = Footage(path, track, faces.frame_rate)
    material = build_material(audio, [(0.0, duration)], embed_utterance(audio), cfg, None, footage)
    n = material.n_frames
    step = int(CHUNK * 100)
    chunks = np.array([[a, min(a + step, n)] for a in range(0, n, step)], np.int64)
    material = replace(material, segments=chunks)
    joined = audio[: n * 160]
    return self_reenactment(material, joined, cfg, fit_cfg, path.name, progress=progress)


@dataclass(frozen=True)
class Turn:
    speaker: str
    start: float
    end: float
    text: str


def read_stm(path: Path) -> list[Turn]:
    """Turns of an STM transcript: `uri channel speaker start end text` per line."""
    turns = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith(";;"):
            continue
        parts = raw.split(maxsplit=5)
        if len(parts) < 6:
            raise LocalizeError(f"{path}:{number}: expected 'uri channel speaker start end text'")
        try:
            turns.append(Turn(parts[2], float(parts[3]), float(parts[4]), parts[5].strip()))
        except ValueError as exc:
            raise LocalizeError(f"{path}:{number}: start/end are not numbers") from exc
    return sorted(turns, key=lambda t: t.start)


def evaluate_voices(
    speech: Path,
    stm: Path,
    lang: str,
    fit_cfg: FitConfig,
    cfg: JointConfig = DEFAULT_CONFIG,
    progress: Progress | None = None,
) -> list[Evaluation]:
    """Per speaker of a conversation: fit on their earlier turns, regenerate the last two from
    text, and score the voice against both their own and the other speakers' real speech."""
    audio = media.read_audio(speech, sample_rate=RATE)
    turns = read_stm(stm)
    lines = [ScriptLine(f"t{i}", t.text, t.start, t.end) for i, t in enumerate(turns)]
    # The STM is a checked transcript with turn times: a weak fit is not a wrong script.
    alignment = align(lines, audio, RATE, lang, opts=AlignOptions(min_confidence=0.0))
    by_id = {a.id: a for a in alignment.lines}
    results = []
    names = sorted({t.speaker for t in turns})
    for name in names:
        own = [(f"t{i}", t) for i, t in enumerate(turns) if t.speaker == name]
        spans = [(t.start, t.end) for _, t in own]
        phonemes = [p for key, _ in own for p in by_id[key].phonemes]
        fitted_spans = spans[:-HELD_TURNS]
        emb = embed_utterance(join_spans(audio, fitted_spans)[0])
        material = build_material(audio, spans, emb, cfg, phonemes)
        joined, _ = join_spans(audio, spans)
        others = {
            other: embed_utterance(
                join_spans(audio, [(t.start, t.end) for t in turns if t.speaker == other])[0]
            )
            for other in names
            if other != name
        }
        held_text = [t.text for _, t in own[-HELD_TURNS:]]
        results.append(
            self_reenactment(
                material,
                joined,
                cfg,
                fit_cfg,
                f"{speech.name} / {name}",
                espeak=partial(_espeak, held_text, lang),
                progress=progress,
                cut=int(material.segments[-HELD_TURNS, 0]),
                others=others,
            )
        )
    return results
