"""Source analysis, once per clip: alignment, speakers, voice references, faces; cached."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from localize import media
from localize.align import Alignment, AlignOptions, ScriptLine, align
from localize.cache import ArtefactStore, cache_key
from localize.deliver import FileHasher
from localize.faces import FaceError, FaceTracks, assign_speakers, track_faces
from localize.ingest import CheckedJob
from localize.speakers import (
    VoiceRef,
    check_speaker_count,
    speaker_turns,
    voice_reference,
)

RATE = 16000  # Hz: what the aligner, VAD and speaker encoder work at
Progress = Callable[[str, float, float], None]


@dataclass(frozen=True)
class Turn:
    """A stretch of one speaker's speech (seconds)."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class SpeakerAnalysis:
    turns: tuple[Turn, ...]  # from the script's labels on the aligned lines
    speech: tuple[tuple[float, float], ...]  # speech activity
    voices: tuple[VoiceRef, ...]  # one per speaker of the script
    n_found: int  # speakers the unlabelled diarization hears (a check on the script)
    findings: tuple[str, ...]


@dataclass(frozen=True)
class SourceAnalysis:
    """Everything known about the source clip, reused by every language."""

    alignment: Alignment
    speakers: SpeakerAnalysis
    faces: FaceTracks | None  # None when the picture holds no face
    track_speakers: dict[int, str]  # face track id -> speaker name
    findings: tuple[str, ...]  # for people: what looks wrong and where


@dataclass(frozen=True)
class AnalysisResult:
    analysis: SourceAnalysis
    cached: dict[str, bool]  # stage -> whether it came from the store


def _dialogue(checked: CheckedJob) -> Path:
    source = checked.source
    return (source.dialogue or source.mix).path


def _lines(checked: CheckedJob) -> list[ScriptLine]:
    return [ScriptLine(ln.id, ln.text, ln.start, ln.end) for ln in checked.job.script]


def _align_stage(checked: CheckedJob, audio: np.ndarray) -> Alignment:
    return align(
        _lines(checked), audio, RATE, checked.job.source_lang, checked.lexicon, AlignOptions()
    )


def _speaker_stage(checked: CheckedJob, audio: np.ndarray, alignment: Alignment) -> SpeakerAnalysis:
    job = checked.job
    labels = {line.id: line.speaker for line in job.script}
    script_turns = [(ln.start, ln.end, labels[ln.id]) for ln in alignment.lines]
    turns = speaker_turns(audio, RATE, script_turns)
    heard = speaker_turns(audio, RATE, None)
    findings = check_speaker_count(heard, len(job.speakers))
    music = None
    if checked.source.me is not None:
        music = media.read_audio(checked.source.me.path, sample_rate=RATE, channels=1)
    voices = tuple(
        voice_reference(audio, RATE, turns, speaker.name, music=music)
        for speaker in job.speakers
        if speaker.name in turns.speakers
    )
    return SpeakerAnalysis(
        turns=tuple(
            Turn(s.start, s.end, str(label))
            for s, _, label in turns.annotation.itertracks(yield_label=True)
        ),
        speech=tuple(turns.speech),
        voices=voices,
        n_found=len(heard.speakers),
        findings=tuple(findings),
    )


def _face_findings(faces: FaceTracks | None, video: Path) -> list[str]:
    if faces is None:
        return [f"{video}: no face anywhere in the picture; only voice-over mode can render it"]
    return [
        f"face track {track_id}: face missing from {gap.start:.2f} s to {gap.end:.2f} s "
        f"(frames {gap.start_frame}-{gap.end_frame - 1})"
        for track_id, gap in faces.gaps()
    ]


def _faces_stage(video: Path, progress: Progress | None) -> FaceTracks | None:
    try:
        return track_faces(video, progress=progress)
    except FaceError:
        return None


def analyze(
    checked: CheckedJob, store: ArtefactStore | None = None, progress: Progress | None = None
) -> AnalysisResult:
    """Analyse the source clip; each stage is cached under the hashes of what it depends on."""
    store = store if store is not None else ArtefactStore()
    job, hasher = checked.job, FileHasher()
    dialogue_path = _dialogue(checked)
    audio_hash = hasher.record("dialogue", dialogue_path).sha256
    script = [(ln.id, ln.speaker, ln.text, ln.start, ln.end) for ln in job.script]
    lexicon = sorted(hasher.record("lexicon", p).sha256 for p in job.lexicons)
    audio: np.ndarray | None = None

    def load() -> np.ndarray:
        nonlocal audio
        if audio is None:
            audio = media.read_audio(dialogue_path, sample_rate=RATE, channels=1)
        return audio

    cached: dict[str, bool] = {}
    key = cache_key(
        "align",
        audio=audio_hash,
        script=script,
        lang=job.source_lang,
        lexicon=lexicon,
        opts=AlignOptions(),
    )
    alignment, cached["align"] = store.get_or_compute(
        key, Alignment, lambda: _align_stage(checked, load())
    )
    me_hash = hasher.record("me", checked.source.me.path).sha256 if checked.source.me else None
    speakers_key = cache_key(
        "speakers",
        audio=audio_hash,
        me=me_hash,
        alignment=alignment,
        speakers=[s.name for s in job.speakers],
    )
    speakers, cached["speakers"] = store.get_or_compute(
        speakers_key, SpeakerAnalysis, lambda: _speaker_stage(checked, load(), alignment)
    )
    video = checked.source.video.path
    faces_key = cache_key("faces", video=hasher.record("video", video).sha256)
    faces, cached["faces"] = _cached_faces(store, faces_key, video, progress)
    track_speakers: dict[int, str] = {}
    if faces is not None and faces.tracks:
        track_speakers = assign_speakers(
            faces, [(t.start, t.end, t.speaker) for t in speakers.turns]
        )
    findings = [*_alignment_findings(alignment), *speakers.findings, *_face_findings(faces, video)]
    return AnalysisResult(
        SourceAnalysis(alignment, speakers, faces, track_speakers, tuple(findings)), cached
    )


@dataclass(frozen=True)
class _NoFace:
    """Stored when a clip has no face, so the search is not repeated."""

    reason: str


def _cached_faces(
    store: ArtefactStore, key: str, video: Path, progress: Progress | None
) -> tuple[FaceTracks | None, bool]:
    if store.get(key + "-none", _NoFace) is not None:
        return None, True
    found = store.get(key, FaceTracks)
    if found is not None:
        return found, True
    faces = _faces_stage(video, progress)
    if faces is None:
        store.put(key + "-none", _NoFace("no face"))
    else:
        store.put(key, faces)
    return faces, False


def _alignment_findings(alignment: Alignment) -> list[str]:
    return [
        f"line {ln.id}: alignment confidence {ln.confidence:.2f} at {ln.start:.2f}-{ln.end:.2f} s "
        f"(below {alignment.min_confidence:.2f}); does the script match the audio?"
        for ln in alignment.doubtful
    ]
