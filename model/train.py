"""Fitting the joint model to one actor: one readable loop, losses weighted by name.

Each step draws windows of the actor's clip, re-creates them from leave-line-out unit selections
(so the model learns to repair selections as imperfect as a dub's), and scores speech features,
mouth pixels, mouth structure and sharpness, sync with the driving speech (the critic), and the
agreement of the audio content encoder with the phoneme path.

Legend: B batch, T 100 Hz frames, W critic window (video frames), K refs, S crop side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from model.config import JointConfig
from model.data import (
    CRITIC_MEL_FRAMES,
    ActorMaterial,
    Selection,
    select,
    to_unit,
    world_statistics,
)
from model.joint import JointModel

SYNC_SHIFTS = (0, -10, 10, -20, 20)  # 100 Hz frames; 0 is the true pairing, others are wrong
Progress = Callable[[int, int, dict[str, float]], None]


def _weights() -> dict[str, float]:
    return {
        "loss/world": 1.0,
        "loss/agree": 0.5,
        "loss/phoneme_ce": 0.1,
        "loss/mouth_l1": 2.0,
        "loss/mouth_ssim": 1.0,
        "loss/mouth_sharp": 2.0,
        "loss/mouth_hf": 1.0,
        "loss/sync": 0.1,
    }


@dataclass(frozen=True)
class FitConfig:
    """How long and how hard to fit; PROFILES holds the two the CLI offers."""

    profile: str = "fast"
    steps: int = 420  # generator steps (the fast profile: about 2.5 min on 2 cores)
    critic_steps: int = 120  # critic warm-up on real windows before its loss joins in
    batch_size: int = 8  # windows per step
    window: int = 128  # 100 Hz frames per window (1.28 s: a few phones of context each side)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    audio_content_prob: float = 0.3  # share of steps driven by the audio encoder (scripted clips)
    seed: int = 0
    weights: dict[str, float] = field(default_factory=_weights)

    def to_dict(self) -> dict[str, object]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


PROFILES = {
    "fast": FitConfig(),
    "quality": FitConfig(profile="quality", steps=2000, critic_steps=300, lr=1e-3),
}


@dataclass(frozen=True, eq=False)
class FitResult:
    model: JointModel
    history: tuple[dict[str, float], ...]  # one entry per generator step
    seconds: float


def device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Sampler:
    """Draws training windows and the tensors the losses need."""

    def __init__(self, m: ActorMaterial, cfg: JointConfig, fit: FitConfig, dev: torch.device):
        self.m, self.cfg, self.fit, self.dev = m, cfg, fit, dev
        self.rng = np.random.default_rng(fit.seed)
        self.window = min(fit.window, m.n_frames)
        modes = ["phoneme", "audio"] if m.scripted else ["audio"]
        pos = m.frame_pos if m.has_video else None
        self.sel: dict[str, Selection] = {
            mode: select(m, m.descriptors(mode, cfg), mode, cfg, pos, m.crops, leave_out=True)
            for mode in modes
        }
        self.world = torch.from_numpy(m.world)
        self.mel = torch.from_numpy(m.mel)
        self.crops = to_unit(m.crops) if m.has_video and m.crops is not None else None
        self.starts = self._video_starts() if self.crops is not None else np.zeros(0, np.int64)

    def _video_starts(self) -> np.ndarray:
        """Video frames that begin a run of W consecutive frames with a face."""
        ok = self.m.face_ok
        assert ok is not None
        w = self.cfg.sync_frames
        run = np.convolve(ok.astype(np.int64), np.ones(w, np.int64), "valid")
        return np.flatnonzero(run == w)

    def mode(self) -> str:
        if "phoneme" in self.sel and self.rng.random() >= self.fit.audio_content_prob:
            return "phoneme"
        return "audio"

    def batch(self, mode: str) -> dict[str, torch.Tensor]:
        m, b, t = self.m, self.fit.batch_size, self.window
        first = self.rng.integers(0, m.n_frames - t + 1, b) if self.crops is None else None
        if first is None:  # windows centred on a video run, so every window has mouths
            runs = self.rng.choice(self.starts, b)
            assert m.frame_pos is not None
            centre = m.frame_pos[runs + self.cfg.sync_frames // 2]
            first = np.clip(np.rint(centre).astype(np.int64) - t // 2, 0, m.n_frames - t)
        ticks = first[:, None] + np.arange(t)  # (B, T)
        sel = self.sel[mode]
        out = {
            "world": self.world[ticks],
            "units": self.world[sel.ticks[ticks]],
            "mel": self.mel[ticks],
            "speaker": torch.from_numpy(np.repeat(m.speaker[None], b, 0)),
        }
        if m.ids is not None and m.features is not None:
            out["ids"] = torch.from_numpy(m.ids[ticks])
            out["features"] = torch.from_numpy(m.features[ticks])
        if self.crops is not None:
            out.update(self._video(runs, first, sel))
        return {k: v.to(self.dev) for k, v in out.items()}

    def _video(self, runs: np.ndarray, first: np.ndarray, sel: Selection) -> dict:
        assert self.crops is not None and sel.refs is not None and self.m.frame_pos is not None
        frames = runs[:, None] + np.arange(self.cfg.sync_frames)  # (B, W)
        centre = np.rint(self.m.frame_pos[frames[:, self.cfg.sync_frames // 2]]).astype(int)
        half = CRITIC_MEL_FRAMES // 2
        mel_ticks = [
            np.clip(centre[:, None] + s + np.arange(-half, half), 0, self.m.n_frames - 1)
            for s in SYNC_SHIFTS
        ]
        return {
            "positions": torch.from_numpy(self.m.frame_pos[frames] - first[:, None]).float(),
            "target": self.crops[frames],  # (B, W, 3, S, S)
            "refs": self.crops[sel.refs[frames]],  # (B, W, K, 3, S, S)
            "sync_mel": torch.stack([self.mel[i] for i in mel_ticks], 1),  # (B, n_shift, 20, M)
        }


def ssim_loss(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """1 - SSIM (7x7 box windows) averaged with mask weights; x, y (N, 3, S, S), mask (S, S)."""
    c1, c2 = 0.01**2, 0.03**2
    pool = lambda z: F.avg_pool2d(z, 7, 1, 3, count_include_pad=False)  # noqa: E731
    mx, my = pool(x), pool(y)
    vx, vy, cxy = pool(x * x) - mx**2, pool(y * y) - my**2, pool(x * y) - mx * my
    ssim = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return 1 - (ssim.mean(1) * mask).sum((1, 2)).mean() / mask.sum()


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """High-pass of the grey image: (N, 3, S, S) -> (N, S, S)."""
    kernel = torch.tensor([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=x.dtype, device=x.device)
    return F.conv2d(x.mean(1, keepdim=True), kernel[None, None], padding=1)[:, 0]


def sync_logits(model: JointModel, crops: torch.Tensor, sync_mel: torch.Tensor) -> torch.Tensor:
    """crops (B, W, 3, S, S), sync_mel (B, n_shift, 20, M) -> (B, n_shift); index 0 is true."""
    b, n_shift = sync_mel.shape[:2]
    video = model.sync_critic.embed_video(crops)  # (B, d)
    audio = model.sync_critic.embed_audio(sync_mel.flatten(0, 1)).view(b, n_shift, -1)
    return (video[:, None] * audio).sum(-1) * model.sync_critic.log_scale.exp()


def generator_losses(
    model: JointModel, batch: dict[str, torch.Tensor], mode: str, mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    world, units = model.normalise(batch["world"]), model.normalise(batch["units"])
    scripted = "ids" in batch
    phon = model.content(batch["ids"], batch["features"]) if scripted else None
    heard = model.content(mel=batch["mel"])
    content = phon if mode == "phoneme" and phon is not None else heard
    latent = model.latent(content, units, batch["speaker"])
    pred = model.speech(latent, units)
    voiced = batch["world"][..., 1:2]  # (B, T, 1) voicing decides where log F0 counts
    err = (pred - world).abs()
    losses = {
        "loss/world": (err[..., 2:].mean() + (err[..., :1] * voiced).mean() + err[..., 1].mean())
    }
    if phon is not None:
        losses["loss/agree"] = F.mse_loss(heard, phon.detach())
        logits = model.audio_encoder.phoneme_logits(heard)
        losses["loss/phoneme_ce"] = F.cross_entropy(logits.flatten(0, 1), batch["ids"].flatten())
    if "target" in batch:
        losses.update(_mouth_losses(model, latent, batch, mask))
    return losses


def _mouth_losses(
    model: JointModel, latent: torch.Tensor, batch: dict[str, torch.Tensor], mask: torch.Tensor
) -> dict[str, torch.Tensor]:
    target, refs = batch["target"], batch["refs"]  # (B, W, 3, S, S), (B, W, K, 3, S, S)
    b, w = target.shape[:2]
    lat = model.pool(latent, batch["positions"]).flatten(0, 1)  # (B*W, D)
    real = target.flatten(0, 1)
    fake = model.mouths(lat, real, refs.flatten(0, 1), mask)
    area = mask.sum()
    l1 = ((fake - real).abs().mean(1) * mask).sum((1, 2)).mean() / area
    lap_fake, lap_real = laplacian(fake), laplacian(real)
    sharp = ((lap_fake - lap_real).abs() * mask).sum((1, 2)).mean() / area
    # Blending textures loses high frequencies even when the pixels match on average, and the
    # residual can add noise: ask for the real crops' high-frequency energy, no less, no more.
    energy = lambda lap: (lap**2 * mask).sum((1, 2)) / area + 1e-8  # noqa: E731
    hf = (energy(lap_fake) / energy(lap_real)).log().abs().mean()
    logits = sync_logits(model, fake.view(b, w, *fake.shape[1:]), batch["sync_mel"])
    zero = torch.zeros(b, dtype=torch.long, device=logits.device)
    return {
        "loss/mouth_l1": l1,
        "loss/mouth_ssim": ssim_loss(fake, real, mask),
        "loss/mouth_sharp": sharp,
        "loss/mouth_hf": hf,
        "loss/sync": F.cross_entropy(logits, zero),
    }


def critic_loss(model: JointModel, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Real crops must pick their own audio window out of the shifted ones."""
    logits = sync_logits(model, batch["target"], batch["sync_mel"])
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def fit(
    material: ActorMaterial,
    cfg: JointConfig,
    fit_cfg: FitConfig,
    progress: Progress | None = None,
    model: JointModel | None = None,
) -> FitResult:
    """Fit (or continue fitting) a JointModel to one actor's material."""
    began = time.perf_counter()
    torch.manual_seed(fit_cfg.seed)
    dev = device()
    model = model or JointModel(cfg)
    torch.manual_seed(fit_cfg.seed + 1)  # the same steps whether the model was given or made
    mean, std = world_statistics(material.world)
    model.set_world_statistics(torch.from_numpy(mean), torch.from_numpy(std))
    model.to(dev).train()
    sampler = _Sampler(material, cfg, fit_cfg, dev)
    mask = (
        torch.ones(cfg.crop_size, cfg.crop_size)
        if material.mask is None
        else torch.from_numpy(material.mask)
    )
    mask = mask.float().to(dev)
    critic_params = list(model.sync_critic.parameters())
    critic_ids = {id(p) for p in critic_params}
    gen_params = [p for p in model.parameters() if id(p) not in critic_ids]
    opt = torch.optim.AdamW(gen_params, lr=fit_cfg.lr, weight_decay=fit_cfg.weight_decay)
    critic_opt = torch.optim.AdamW(critic_params, lr=fit_cfg.lr)
    total = fit_cfg.steps + (fit_cfg.critic_steps if sampler.crops is not None else 0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, fit_cfg.lr, total_steps=fit_cfg.steps)
    history: list[dict[str, float]] = []
    for step in range(total):
        warmup = step < total - fit_cfg.steps
        mode = sampler.mode()
        batch = sampler.batch(mode)
        logs: dict[str, float] = {}
        if not warmup:
            losses = generator_losses(model, batch, mode, mask)
            loss = torch.stack([fit_cfg.weights[k] * v for k, v in losses.items()]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(gen_params, fit_cfg.grad_clip)
            opt.step()
            sched.step()
            logs = {k: float(v.detach()) for k, v in losses.items()}
            logs["loss/total"] = float(loss.detach())
        if "target" in batch:
            c_loss = critic_loss(model, {k: v.detach() for k, v in batch.items()})
            critic_opt.zero_grad(set_to_none=True)
            c_loss.backward()
            critic_opt.step()
            logs["loss/critic"] = float(c_loss.detach())
        if not warmup:
            history.append(logs)
        if progress:
            progress(step + 1, total, logs)
    model.eval()
    return FitResult(model, tuple(history), time.perf_counter() - began)
