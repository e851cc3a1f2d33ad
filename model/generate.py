"""Inference: a target track in, the actor's speech features and mouth crops out.

Legend: T 100 Hz frames, F video frames, S crop side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from model.checkpoint import ActorModel
from model.data import select, to_uint8, to_unit
from model.units import phoneme_descriptors
from model.vocoder import mcep_slice

# Frames (10 ms) of Gaussian smoothing of the spectral envelope across unit joins. On the
# sample's held-out lines 0.6 took the MCD from 7.10 to 6.93 dB for a speaker cosine of 0.944
# (0.951 unsmoothed); 1.0 reached 6.86 dB but cost 0.02 of cosine.
JOIN_SMOOTHING = 0.6


@dataclass(frozen=True, eq=False)
class Target:
    """What to say and where to paint it. Give phonemes (ids + features) or a recording's mel."""

    ids: np.ndarray | None = None  # (T,) int64 phoneme index per 100 Hz frame
    features: np.ndarray | None = None  # (T, A + 1) articulatory features + position in phone
    mel: np.ndarray | None = None  # (T, n_mels) log-mel normalised like the actor's
    frame_pos: np.ndarray | None = None  # (F,) video frame times in 100 Hz frames of this track
    frames: np.ndarray | None = None  # (F, S, S, 3) uint8 aligned crops of the frames painted into

    @property
    def n_frames(self) -> int:
        track = self.ids if self.ids is not None else self.mel
        if track is None:
            raise ValueError("a target needs phonemes (ids and features) or a mel track")
        return len(track)


@dataclass(frozen=True, eq=False)
class Generated:
    world: np.ndarray  # (T, n_world) float32 WORLD features for the vocoder
    crops: np.ndarray | None  # (F, S, S, 3) uint8 mouth crops, None without frames
    ticks: np.ndarray  # (T,) the actor's 100 Hz frames selected as units
    refs: np.ndarray | None  # (F, K) the actor's video frames given to the decoder as texture


def smooth_joins(world: np.ndarray, n_mel_cep: int, sigma: float = JOIN_SMOOTHING) -> np.ndarray:
    """(T, n_world) features with the spectral envelope smoothed over time by `sigma` frames.

    Selected units meet at joins where the envelope jumps from one stretch of the source to
    another; real speech never changes that abruptly between 10 ms frames. Pitch and voicing
    are left alone: the audio head already repairs the contour and voicing must switch cleanly.
    """
    if sigma <= 0 or len(world) < 3:
        return world
    out = world.copy()
    envelope = mcep_slice(n_mel_cep)
    out[:, envelope] = gaussian_filter1d(world[:, envelope], sigma, axis=0, mode="nearest")
    return out


@torch.no_grad()
def generate(actor: ActorModel, target: Target, batch_size: int = 32) -> Generated:
    """Regenerate speech (and mouths, when target frames are given) for one target track.

    Mouths are decoded `batch_size` frames at a time: on 2 CPU cores 32 ran ~15 % faster than
    64 or more (the activations stay in cache).
    """
    model, db, cfg = actor.model, actor.database, actor.model.cfg
    dev = next(model.parameters()).device
    phonemes = target.ids is not None and target.features is not None
    if phonemes and db.scripted:
        assert target.ids is not None and target.features is not None
        mode = "phoneme"
        desc = phoneme_descriptors(
            target.ids, target.features[:, :-1], target.features[:, -1], cfg.n_phonemes
        )
    elif target.mel is not None:
        mode, desc = "audio", target.mel
    else:
        raise ValueError("this actor model was fitted without a script: drive it with audio (mel)")
    want_video = target.frames is not None and target.frame_pos is not None and db.has_video
    sel = (
        select(db, desc, mode, cfg, target.frame_pos, target.frames)
        if want_video
        else select(db, desc, mode, cfg)
    )
    units = model.normalise(torch.from_numpy(db.world[sel.ticks])[None].to(dev))
    if mode == "phoneme":
        assert target.ids is not None and target.features is not None
        ids = torch.from_numpy(target.ids)[None].to(dev)
        content = model.content(ids, torch.from_numpy(target.features)[None].to(dev))
    else:
        assert target.mel is not None
        content = model.content(mel=torch.from_numpy(target.mel)[None].to(dev))
    speaker = torch.from_numpy(db.speaker)[None].to(dev)
    latent = model.latent(content, units, speaker)
    world = model.denormalise(model.speech(latent, units))[0].cpu().numpy()
    world = smooth_joins(world, cfg.n_mel_cep)
    crops = None
    if want_video:
        assert target.frames is not None and target.frame_pos is not None
        assert sel.refs is not None and db.crops is not None and db.mask is not None
        pos = torch.from_numpy(target.frame_pos).float()[None].to(dev)
        lat = model.pool(latent, pos)[0]  # (F, D)
        mask = torch.from_numpy(db.mask).float().to(dev)
        out = []
        for a in range(0, len(target.frames), batch_size):
            masked = to_unit(target.frames[a : a + batch_size]).to(dev)
            refs = to_unit(db.crops[sel.refs[a : a + batch_size]]).to(dev)  # (n, K, 3, S, S)
            out.append(to_uint8(model.mouths(lat[a : a + batch_size], masked, refs, mask)))
        crops = np.concatenate(out)
    return Generated(world.astype(np.float32), crops, sel.ticks, sel.refs if want_video else None)
