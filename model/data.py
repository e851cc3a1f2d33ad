"""An actor's material as arrays, its unit database, and the training batches drawn from it.

Legend: T 100 Hz frames, F video frames, K reference crops, S crop side, W critic window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from model.articulatory import INVENTORY
from model.config import JointConfig
from model.units import alternatives, phoneme_descriptors, select_units

CRITIC_MEL_FRAMES = 20  # 0.2 s of log-mel around the critic's middle frame


@dataclass(frozen=True, eq=False)
class ActorMaterial:
    """One actor's recording on the 100 Hz timeline, with the mouth crops where a face is seen.

    ``ids``/``features`` are None for a clip without a script (audio-driven only); ``crops`` is
    None for a voice without a picture. ``segments`` are the stretches (lines or chunks) a
    training selection must leave out, so that it cannot just copy the frame it is fitting.
    """

    world: np.ndarray  # (T, n_world) float32 WORLD features as analysed
    mel: np.ndarray  # (T, n_mels) float32 log-mel, normalised per clip
    ids: np.ndarray | None  # (T,) int64 phoneme index per frame, 0 for pauses
    features: np.ndarray | None  # (T, A + 1) float32 articulatory features + position in phone
    segments: np.ndarray  # (L, 2) int64 [start, end) in 100 Hz frames
    speaker: np.ndarray  # (d_speaker,) float32 voice embedding
    frame_pos: np.ndarray | None  # (F,) float64 video frame times in 100 Hz frames
    crops: np.ndarray | None  # (F, S, S, 3) uint8 aligned mouth crops
    face_ok: np.ndarray | None  # (F,) bool: a face was tracked on that frame
    mask: np.ndarray | None  # (S, S) float32 soft mouth mask: 1 where the mouth is repainted

    @property
    def n_frames(self) -> int:
        return len(self.world)

    @property
    def scripted(self) -> bool:
        return self.ids is not None and self.features is not None

    @property
    def has_video(self) -> bool:
        return self.crops is not None and self.face_ok is not None and bool(self.face_ok.any())

    def descriptors(self, mode: str, cfg: JointConfig) -> np.ndarray:
        """(T, D) unit-selection descriptors: "phoneme" (needs a script) or "audio" (log-mel)."""
        if mode == "audio":
            return self.mel
        if self.ids is None or self.features is None:
            raise ValueError("phoneme descriptors need a scripted clip")
        return phoneme_descriptors(
            self.ids, self.features[:, :-1], self.features[:, -1], cfg.n_phonemes
        )

    def face_frame_of_tick(self) -> np.ndarray:
        """(T,) the nearest video frame with a face for every 100 Hz frame."""
        assert self.frame_pos is not None and self.face_ok is not None
        seen = np.flatnonzero(self.face_ok)
        ticks = np.arange(self.n_frames, dtype=np.float64)
        pos = self.frame_pos[seen]
        j = np.clip(np.searchsorted(pos, ticks), 1, max(len(pos) - 1, 1))
        left = np.clip(j - 1, 0, len(pos) - 1)
        right = np.clip(j, 0, len(pos) - 1)
        nearer = np.abs(pos[left] - ticks) <= np.abs(pos[right] - ticks)
        return seen[np.where(nearer, left, right)]

    def static_reference(self) -> int:
        """The video frame whose mouth is closest to the median mouth: a neutral texture."""
        assert self.crops is not None and self.face_ok is not None
        seen = np.flatnonzero(self.face_ok)
        small = self.crops[seen, ::4, ::4].astype(np.float32)  # (n, S/4, S/4, 3): enough
        median = np.median(small, axis=0)
        return int(seen[((small - median) ** 2).sum((1, 2, 3)).argmin()])


def slice_material(m: ActorMaterial, start: int, end: int) -> ActorMaterial:
    """The material's 100 Hz frames [start, end) with the video frames inside, re-timed to 0."""
    seg = np.clip(m.segments, start, end) - start
    seg = seg[seg[:, 1] > seg[:, 0]]
    keep = None
    if m.frame_pos is not None:
        keep = (m.frame_pos >= start) & (m.frame_pos < end)

    def cut(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[start:end]

    def frames(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None or keep is None else a[keep]

    return ActorMaterial(
        world=m.world[start:end],
        mel=m.mel[start:end],
        ids=cut(m.ids),
        features=cut(m.features),
        segments=seg,
        speaker=m.speaker,
        frame_pos=None if m.frame_pos is None or keep is None else m.frame_pos[keep] - start,
        crops=frames(m.crops),
        face_ok=frames(m.face_ok),
        mask=m.mask,
    )


def world_statistics(world: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and spread (floored, so constant columns stay finite): (n_world,) each."""
    return world.mean(0).astype(np.float32), np.maximum(world.std(0), 1e-3).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Selection:
    """Units chosen for a target track from a database clip."""

    ticks: np.ndarray  # (T,) source 100 Hz frame per target frame
    refs: np.ndarray | None  # (F, K) source video frames per target video frame


N_POOL = 24  # descriptor candidates per frame among which the best poses are chosen


def pose_vectors(crops: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(F, S, S, 3) crops -> (F, D) coarse grey of the band above the mask (nose, cheekbones).

    That band tells head pose and lighting, which a reference crop must share to blend in, and
    nothing about the mouth: the sides and the feathered edge of the mask move with the jaw,
    so matching on them would copy the frame's own mouth (in a dub, the source language's).
    """
    rows = np.flatnonzero(mask.max(1) > 0)
    top = max(int(rows[0]) - 2, 4) if len(rows) else mask.shape[0] // 3
    band = crops[:, :top:2, ::2].astype(np.float32).mean(-1)  # (F, top/2, S/2)
    return band.reshape(len(crops), -1)


def select(
    db: ActorMaterial,
    target_desc: np.ndarray,
    mode: str,
    cfg: JointConfig,
    target_pos: np.ndarray | None = None,
    target_frames: np.ndarray | None = None,
    leave_out: bool = False,
) -> Selection:
    """Select the database units for a target (T, D) descriptor track.

    Video references, per target frame at ``target_pos`` (F,): the crop under the selected
    unit, the candidates whose pose best matches ``target_frames`` (F, S, S, 3) (or the nearest
    candidates without frames) and the actor's neutral mouth. With ``leave_out`` the target is
    the database itself and each segment is selected from everything outside it (±0.2 s).
    """
    source = db.descriptors(mode, cfg)
    n_t = len(target_desc)
    ticks = np.arange(n_t)
    pool = np.zeros((n_t, N_POOL), np.int64)
    spans = db.segments if leave_out else np.array([[0, n_t]])
    for a, b in spans:
        allowed = np.ones(len(source), bool)
        if leave_out:
            allowed[max(a - 20, 0) : b + 20] = False
        ticks[a:b] = select_units(target_desc[a:b], source, allowed)
        pool[a:b] = alternatives(target_desc[a:b], source, allowed, N_POOL)
    if not db.has_video or target_pos is None:
        return Selection(ticks, None)
    assert db.crops is not None and db.mask is not None
    frame_of = db.face_frame_of_tick()
    at = np.clip(np.rint(target_pos).astype(np.int64), 0, n_t - 1)  # (F,)
    cands = frame_of[pool[at]]  # (F, N_POOL) video frames, nearest descriptors first
    columns = [frame_of[ticks[at]]]
    if target_frames is not None:
        have = pose_vectors(db.crops, db.mask)
        want = pose_vectors(target_frames, db.mask)
        dist = ((have[cands] - want[:, None]) ** 2).mean(-1)  # (F, N_POOL)
        cands = np.take_along_axis(cands, np.argsort(dist, 1, kind="stable"), 1)
        if mode == "phoneme" and db.ids is not None:
            ids = target_desc[:, : cfg.n_phonemes].argmax(1)  # identity one-hot leads
            columns.append(_viseme_match(db, ids[at], at, have, want, spans if leave_out else None))
    columns += [*cands.T, np.full(len(at), db.static_reference())]
    k = cfg.n_reference_crops
    return Selection(ticks, np.stack(columns[: k - 1] + columns[-1:], 1))


def _viseme_match(
    db: ActorMaterial,
    ids: np.ndarray,
    at: np.ndarray,
    have: np.ndarray,
    want: np.ndarray,
    spans: np.ndarray | None,
) -> np.ndarray:
    """(F,) per target frame, the database frame showing the same viseme in the closest pose.

    ids (F,) target phonemes at the frames' ticks ``at``; have/want pose vectors of database and
    target frames; ``spans`` (leave-out) forbid frames within 0.2 s of the target's own segment.
    """
    assert db.ids is not None and db.frame_pos is not None and db.face_ok is not None
    seen = np.flatnonzero(db.face_ok)
    src_tick = np.clip(np.rint(db.frame_pos[seen]).astype(np.int64), 0, db.n_frames - 1)
    visemes = np.array([INVENTORY.viseme(sym) for sym in INVENTORY.symbols])
    src_vis, tgt_vis = visemes[db.ids[src_tick]], visemes[ids]
    dist = ((want[:, None] - have[seen][None]) ** 2).mean(-1)  # (F, n_seen)
    dist += np.where(src_vis[None] == tgt_vis[:, None], 0.0, 1e6)  # another viseme: last resort
    if spans is not None:
        for a, b in spans:
            rows = (at >= a) & (at < b)
            cols = (src_tick >= a - 20) & (src_tick < b + 20)
            dist[np.ix_(rows, cols)] = np.inf
    return seen[dist.argmin(1)]


def to_unit(crops: np.ndarray) -> torch.Tensor:
    """(..., S, S, 3) uint8 -> (..., 3, S, S) float32 in [0, 1]."""
    t = torch.from_numpy(np.ascontiguousarray(crops)).float() / 255.0
    return t.movedim(-1, -3)


def to_uint8(crops: torch.Tensor) -> np.ndarray:
    """(..., 3, S, S) in [0, 1] -> (..., S, S, 3) uint8."""
    return (crops.movedim(-3, -1).clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()
