"""An actor's material for the joint model: their speech, phonemes and mouth crops as arrays.

Everything the model needs is laid on one 100 Hz timeline made by joining the stretches of the
source where the actor speaks (their script lines, or chunks of a recording without a script),
so one speaker of a conversation is fitted on their own turns only.

Legend: T 100 Hz frames, F video frames, S crop side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import librosa
import numpy as np

from localize import media
from localize.align import TimedUnit
from localize.face_align import mouth_crop, mouth_mask
from localize.faces import FaceTrack
from model.articulatory import INVENTORY, N_ARTICULATORY
from model.config import HOP, SAMPLE_RATE, JointConfig
from model.data import ActorMaterial
from model.vocoder import analyze as world_analyze

Span = tuple[float, float]
TICKS = 100  # frames per second of the shared timeline (SAMPLE_RATE // HOP)


@dataclass(frozen=True, eq=False)
class Footage:
    """Where the actor's face is: the video, its tracked face and its frame rate."""

    path: Path
    track: FaceTrack
    frame_rate: Fraction


def n_ticks(n_samples: int) -> int:
    """100 Hz frames of a recording, as WORLD counts them (frame t centred at t * HOP)."""
    return n_samples // HOP + 1


def log_mel(audio: np.ndarray, n_mels: int) -> np.ndarray:
    """(N,) 16 kHz samples -> (T, n_mels) log-mel, normalised per band over the recording.

    Normalising each recording on its own makes a voice talent's recording comparable with the
    actor's despite a different microphone or level.
    """
    spec = librosa.feature.melspectrogram(
        y=audio.astype(np.float32),
        sr=SAMPLE_RATE,
        n_fft=512,
        hop_length=HOP,
        win_length=400,
        n_mels=n_mels,
        fmin=50,
        fmax=7600,
        center=True,
    )  # (n_mels, T)
    mel = np.log(spec + 1e-6).T[: n_ticks(len(audio))]
    return ((mel - mel.mean(0)) / (mel.std(0) + 1e-5)).astype(np.float32)


def phoneme_track(
    phonemes: Sequence[TimedUnit], n_frames: int, offset: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Phonemes timed in seconds (minus ``offset``) -> ids (T,) int64 and features (T, A + 1).

    Frames between phonemes are pauses (id 0). The last feature column is the position within
    the phone, 0 at its start and 1 at its end, so selection can keep a long phone moving.
    """
    ids = np.zeros(n_frames, np.int64)
    feats = np.zeros((n_frames, N_ARTICULATORY + 1), np.float32)
    feats[:, :-1] = INVENTORY.features("_")
    for p in phonemes:
        a = max(round((p.start - offset) * TICKS), 0)
        b = min(round((p.end - offset) * TICKS), n_frames)
        if b <= a:
            continue
        ids[a:b] = INVENTORY.index(p.label)
        feats[a:b, :-1] = INVENTORY.features(p.label)
        feats[a:b, -1] = (np.arange(b - a) + 0.5) / (b - a)
    return ids, feats


def _spans_to_ticks(spans: Sequence[Span]) -> list[tuple[int, int]]:
    return [(round(a * TICKS), round(b * TICKS)) for a, b in spans]


def join_spans(
    audio: np.ndarray, spans: Sequence[Span]
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The spans (seconds) of a 16 kHz recording joined end to end, whole 10 ms frames each.

    Returns the joined samples and each span's [start, end) in frames of the joined timeline.
    """
    pieces, seg, offset = [], [], 0
    for ta, tb in _spans_to_ticks(spans):
        n = max(min(tb * HOP, len(audio)) - ta * HOP, 0) // HOP
        if n == 0:
            raise ValueError(f"span at {ta / TICKS:.2f} s holds no audio")
        pieces.append(audio[ta * HOP : (ta + n) * HOP])
        seg.append((offset, offset + n))
        offset += n
    if not pieces:
        raise ValueError("no speech in the given spans")
    return np.concatenate(pieces), seg


def build_material(
    audio: np.ndarray,
    spans: Sequence[Span],
    speaker: np.ndarray,
    cfg: JointConfig,
    phonemes: Sequence[TimedUnit] | None = None,
    footage: Footage | None = None,
) -> ActorMaterial:
    """Join the ``spans`` (seconds) of a 16 kHz recording into one actor's material.

    ``phonemes`` (clip times) make it scripted; ``footage`` adds mouth crops of the frames
    inside the spans where the face track sees the actor.
    """
    joined, seg = join_spans(audio, spans)
    offset = int(seg[-1][1])
    frame_pos: list[float] = []
    frame_index: list[int] = []
    fps = float(footage.frame_rate) if footage else 0.0
    for (ta, _), (s0, s1) in zip(_spans_to_ticks(spans), seg, strict=True):
        if footage is None:
            break
        first, last = (
            int(np.ceil(ta / TICKS * fps)),
            int(np.floor((ta + s1 - s0 - 1) / TICKS * fps)),
        )
        for f in range(first, last + 1):
            frame_index.append(f)
            frame_pos.append(s0 + f / fps * TICKS - ta)
    world = world_analyze(joined.astype(np.float64), cfg.n_mel_cep)[:offset]
    mel = log_mel(joined, cfg.n_mels)[:offset]
    ids = feats = None
    if phonemes is not None:
        ids = np.zeros(offset, np.int64)
        feats = np.zeros((offset, N_ARTICULATORY + 1), np.float32)
        for (a, _), (s0, s1) in zip(spans, seg, strict=True):
            inside = [p for p in phonemes if a <= p.start < a + (s1 - s0) / TICKS]
            ids[s0:s1], feats[s0:s1] = phoneme_track(inside, s1 - s0, offset=a)
    crops = ok = mask = pos = None
    if footage is not None and frame_index:
        crops, ok = mouth_crops(footage, np.array(frame_index), cfg.crop_size)
        mask = mouth_mask(cfg.crop_size)
        pos = np.array(frame_pos, np.float64)
    return ActorMaterial(
        world=world.astype(np.float32),
        mel=mel,
        ids=ids,
        features=feats,
        segments=np.array(seg, np.int64).reshape(-1, 2),
        speaker=np.asarray(speaker, np.float32),
        frame_pos=pos,
        crops=crops,
        face_ok=ok,
        mask=mask,
    )


def mouth_crops(
    footage: Footage, frames: np.ndarray, crop_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Aligned mouth crops (F, S, S, 3) uint8 of the given frame indices, and which had a face."""
    track = footage.track
    where = {int(f): i for i, f in enumerate(track.frames)}
    wanted = {int(f): k for k, f in enumerate(frames)}
    crops = np.zeros((len(frames), crop_size, crop_size, 3), np.uint8)
    ok = np.zeros(len(frames), bool)
    last = int(frames.max()) if len(frames) else -1
    index = 0
    for chunk in media.iter_frames(footage.path, chunk=32):
        for frame in chunk:
            k = wanted.get(index)
            if k is not None and index in where:
                crops[k], _ = mouth_crop(frame, track.landmarks[where[index]], crop_size)
                ok[k] = True
            index += 1
        if index > last:
            break
    return crops, ok
