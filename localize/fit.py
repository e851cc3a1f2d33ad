"""Fitting an actor's joint model on the source clip, cached by the hash of what it learns from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from localize import media
from localize.actor import Footage, Span, build_material
from localize.analysis import RATE, SourceAnalysis
from localize.cache import ArtefactStore, cache_key
from localize.deliver import sha256_file
from localize.errors import LocalizeError
from localize.ingest import CheckedJob
from model.checkpoint import ActorModel, CheckpointError, load, package_version, save
from model.config import DEFAULT_CONFIG, JointConfig
from model.data import ActorMaterial
from model.train import PROFILES, FitConfig, fit

MIN_SPEECH = 5.0  # seconds of an actor's speech below which a fit learns nothing usable
LINE_PAD = 0.12  # seconds kept around each aligned line: breaths and lip closure before speech
FitProgress = Callable[[int, int, dict[str, float]], None]


class ActorError(LocalizeError):
    """An actor model cannot be fitted or loaded; the message says which speaker and why."""


@dataclass(frozen=True, eq=False)
class FittedActor:
    speaker: str
    actor: ActorModel
    checkpoint: Path
    sha256: str
    cached: bool  # loaded from the store rather than fitted now


def profile(name: str) -> FitConfig:
    if name not in PROFILES:
        raise ActorError(f"unknown fit profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def speaker_spans(
    analysis: SourceAnalysis, speaker: str, speakers_of: dict[str, str], duration: float
) -> list[Span]:
    """The speaker's aligned lines, padded and merged, within the clip."""
    spans: list[Span] = []
    for line in analysis.alignment.lines:
        if speakers_of.get(line.id) != speaker:
            continue
        a, b = max(line.start - LINE_PAD, 0.0), min(line.end + LINE_PAD, duration)
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def _footage(checked: CheckedJob, analysis: SourceAnalysis, speaker: str) -> Footage:
    tracks = [t for t, s in analysis.track_speakers.items() if s == speaker]
    if analysis.faces is None or not tracks:
        raise ActorError(
            f"{checked.job.path}: speaker {speaker!r}: their face is never visible in "
            f"{checked.source.video.path} (no face track is assigned to them), so no mouth "
            "model can be fitted; use mode voice-over for this speaker"
        )
    longest = max((analysis.faces.track(t) for t in tracks), key=lambda t: len(t.frames))
    return Footage(checked.source.video.path, longest, analysis.faces.frame_rate)


def job_material(
    checked: CheckedJob, analysis: SourceAnalysis, speaker: str, cfg: JointConfig
) -> ActorMaterial:
    """One speaker's material from a checked job and its source analysis."""
    job = checked.job
    speakers_of = {ln.id: ln.speaker for ln in job.script}
    spans = speaker_spans(analysis, speaker, speakers_of, checked.source.duration)
    seconds = sum(b - a for a, b in spans)
    if seconds < MIN_SPEECH:
        raise ActorError(
            f"{job.path}: speaker {speaker!r} has {seconds:.1f} s of aligned speech; at least "
            f"{MIN_SPEECH:.0f} s is needed to fit their model"
        )
    voices = {v.speaker: v for v in analysis.speakers.voices}
    if speaker not in voices:
        raise ActorError(f"{job.path}: no voice reference for speaker {speaker!r}")
    footage = _footage(checked, analysis, speaker)
    dialogue = checked.source.dialogue or checked.source.mix
    audio = media.read_audio(dialogue.path, sample_rate=RATE, channels=1)
    phonemes = [
        p
        for ln in analysis.alignment.lines
        for p in ln.phonemes
        if speakers_of.get(ln.id) == speaker
    ]
    return build_material(audio, spans, voices[speaker].embedding, cfg, phonemes, footage)


def fit_speaker(
    checked: CheckedJob,
    analysis: SourceAnalysis,
    speaker: str,
    fit_cfg: FitConfig,
    cfg: JointConfig = DEFAULT_CONFIG,
    store: ArtefactStore | None = None,
    progress: FitProgress | None = None,
) -> FittedActor:
    """The speaker's actor model: from the store when these inputs were fitted before."""
    store = store if store is not None else ArtefactStore()
    entry = {s.name: s for s in checked.job.speakers}.get(speaker)
    if entry is None:
        names = ", ".join(s.name for s in checked.job.speakers)
        raise ActorError(f"{checked.job.path}: no speaker {speaker!r}; the job has {names}")
    if entry.actor_model is not None:  # the same actor, fitted on another clip
        path = entry.actor_model
        return FittedActor(speaker, load_actor(path), path, sha256_file(path), cached=True)
    dialogue = checked.source.dialogue or checked.source.mix
    key = cache_key(
        "actor",
        dialogue=sha256_file(dialogue.path),
        video=sha256_file(checked.source.video.path),
        alignment=[
            (ln.id, ln.start, ln.end, [(p.label, p.start, p.end) for p in ln.phonemes])
            for ln in analysis.alignment.lines
        ],
        speaker=speaker,
        lines=[ln.id for ln in checked.job.script if ln.speaker == speaker],
        config=cfg.to_dict(),
        fit=fit_cfg.to_dict(),
        package=package_version(),
    )
    path = store.root / "actors" / f"{key}.safetensors"
    if path.is_file():
        try:
            return FittedActor(speaker, load(path), path, sha256_file(path), cached=True)
        except CheckpointError:
            path.unlink()  # a damaged entry is refitted, never used
    material = job_material(checked, analysis, speaker, cfg)
    result = fit(material, cfg, fit_cfg, progress)
    info = {
        "speaker": speaker,
        "profile": fit_cfg.profile,
        "steps": fit_cfg.steps,
        "seconds": round(result.seconds, 1),
        "final_losses": result.history[-1] if result.history else {},
    }
    actor = ActorModel(result.model, material, info)
    save(path, actor)
    return FittedActor(speaker, actor, path, sha256_file(path), cached=False)


def load_actor(path: Path) -> ActorModel:
    """A checkpoint given by the user, with errors that name the file."""
    try:
        return load(path)
    except CheckpointError as exc:
        raise ActorError(str(exc)) from exc
