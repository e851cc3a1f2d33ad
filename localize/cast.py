"""The cast of a lip-sync job: each speaking actor's fitted model and mouth crops, prepared once.

Every market reuses them: the crops of the source frames are cut once per clip (and kept in the
artefact store), the actor models are fitted once per actor (cached by `localize.fit`).
Shapes: F video frames, S crop side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from localize import media
from localize.analysis import SourceAnalysis
from localize.cache import ArtefactStore, cache_key
from localize.deliver import sha256_file
from localize.errors import SpecError
from localize.face_align import MOUTH_REGION, mouth_crop, region_matrix
from localize.fit import ActorError, FitProgress, FittedActor, fit_speaker
from localize.ingest import CheckedJob
from localize.spec import Job
from model.config import DEFAULT_CONFIG, JointConfig
from model.train import FitConfig

Progress = Callable[[float, float], None]  # (done, total)


@dataclass(frozen=True, eq=False)
class SpeakerFrames:
    """The aligned mouth crop of every source frame where a speaker's face is tracked."""

    frames: np.ndarray  # (F,) int64 video frame indices, increasing
    crops: np.ndarray  # (F, S, S, 3) uint8
    landmarks: np.ndarray  # (F, 5, 2) float32 frame pixels

    def matrices(self, rows: np.ndarray) -> np.ndarray:
        """(n, 2, 3) frame-to-crop matrices of the given rows."""
        side = self.crops.shape[1]
        return np.stack([region_matrix(self.landmarks[r], MOUTH_REGION, side) for r in rows])


def speaker_frames(
    video: Path,
    analysis: SourceAnalysis,
    crop_size: int,
    store: ArtefactStore,
    progress: Callable[[float, float], None] | None = None,
) -> dict[str, SpeakerFrames]:
    """Each speaker's crops over the whole clip, cut once per clip and kept in the store.

    Speakers missing from the store are cut together, in one decoding pass over the video.
    """
    if analysis.faces is None:
        return {}
    faces = analysis.faces
    video_hash = sha256_file(video)
    result: dict[str, SpeakerFrames] = {}
    wanted: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}
    for speaker in sorted(set(analysis.track_speakers.values())):
        tracks = [faces.track(t) for t, s in analysis.track_speakers.items() if s == speaker]
        seen: dict[int, np.ndarray] = {}
        for track in sorted(tracks, key=lambda t: -len(t.frames)):  # longest track wins a frame
            for f, marks in zip(track.frames.tolist(), track.landmarks, strict=True):
                seen.setdefault(int(f), marks)
        frames = np.array(sorted(seen), np.int64)
        marks = np.stack([seen[int(f)] for f in frames]).astype(np.float32)
        key = cache_key(
            "speaker-frames",
            video=video_hash,
            frames=frames.tolist(),
            landmarks=np.round(marks, 3).tolist(),
            crop_size=crop_size,
        )
        found = store.get(key, SpeakerFrames)
        if found is not None:
            result[speaker] = found
        else:
            wanted[speaker] = (key, frames, marks)
    if wanted:
        cut = _cut(video, {name: (f, m) for name, (_, f, m) in wanted.items()}, crop_size, progress)
        for speaker, (key, frames, marks) in wanted.items():
            result[speaker] = SpeakerFrames(frames, cut[speaker], marks)
            store.put(key, result[speaker])
    return result


def _cut(
    video: Path,
    wanted: Mapping[str, tuple[np.ndarray, np.ndarray]],
    crop_size: int,
    progress: Callable[[float, float], None] | None,
) -> dict[str, np.ndarray]:
    """Mouth crops (F, S, S, 3) per speaker of their (frames (F,), landmarks (F, 5, 2))."""
    crops = {
        n: np.zeros((len(f), crop_size, crop_size, 3), np.uint8) for n, (f, _) in wanted.items()
    }
    rows = {n: {int(x): k for k, x in enumerate(f)} for n, (f, _) in wanted.items()}
    last = max((int(f[-1]) for f, _ in wanted.values() if len(f)), default=-1)
    index = 0
    for chunk in media.iter_frames(video, chunk=16):
        for frame in chunk:
            for name, (_, marks) in wanted.items():
                k = rows[name].get(index)
                if k is not None:
                    crops[name][k], _ = mouth_crop(frame, marks[k], crop_size)
            index += 1
        if progress is not None:
            progress(min(index, last + 1), last + 1)
        if index > last:
            break
    return crops


def check_faces(faces: Mapping[str, SpeakerFrames], speakers: Sequence[str], job: Job) -> None:
    """Repainting mouths needs every speaking actor's face somewhere in the clip."""
    missing = [s for s in speakers if s not in faces]
    if missing:
        raise SpecError(
            [
                f"{job.path}: mode {job.mode}: no face track for {', '.join(missing)}; render "
                "them with mode voice-over"
            ]
        )


@dataclass(frozen=True, eq=False)
class Cast:
    """What lip-sync needs from the source clip, shared by every market."""

    actors: dict[str, FittedActor]  # speaker -> fitted model
    faces: dict[str, SpeakerFrames]  # speaker -> crops of the frames showing them
    frame_rate: Fraction
    frame_shape: tuple[int, int]  # (H, W) display pixels


def consent_problems(checked: CheckedJob) -> list[str]:
    """Speakers who would be cloned without a consent record on file, one message each."""
    job = checked.job
    speaking = {line.speaker for line in job.script}
    return [
        f"{job.path}: speakers.{index}.consent_record_id: {speaker.name!r} has no consent record; "
        f"mode {job.mode} clones their voice and likeness (give the id of their signed consent, "
        "or pass --no-consent-check if consent is handled elsewhere)"
        for index, speaker in enumerate(job.speakers)
        if speaker.name in speaking and not speaker.consent_record_id
    ]


def prepare_cast(
    checked: CheckedJob,
    analysis: SourceAnalysis,
    fit_cfg: FitConfig,
    store: ArtefactStore,
    fit_progress: Callable[[str], FitProgress | None] | None = None,
    crop_progress: Progress | None = None,
    cfg: JointConfig = DEFAULT_CONFIG,
) -> Cast:
    """Fit (or load) every speaking actor's model and cut their mouth crops from the clip."""
    speaking = sorted({line.speaker for line in checked.job.script})
    video = checked.source.video
    assert video.video is not None
    actors = {}
    for name in speaking:
        progress = fit_progress(name) if fit_progress is not None else None
        actors[name] = fit_speaker(checked, analysis, name, fit_cfg, cfg, store, progress)
    sizes = {a.actor.model.cfg.crop_size for a in actors.values()}
    if len(sizes) != 1:
        raise ActorError(f"{checked.job.path}: the actor models use different crop sizes {sizes}")
    faces = speaker_frames(video.path, analysis, sizes.pop(), store, crop_progress)
    check_faces(faces, speaking, checked.job)
    shape = (video.video.display_height, video.video.display_width)
    return Cast(actors, faces, video.video.frame_rate, shape)
