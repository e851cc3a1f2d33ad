"""The video side: a U-Net that warps and blends the actor's own mouth crops, and a sync critic.

The decoder never paints a mouth from nothing: it predicts, per pixel, a small displacement for
each reference crop (pose repair), blend weights across them (which unit's texture to show) and a
bounded residual (joins, lighting). So its output keeps the sharpness of real crops instead of
the blurred average a plain regressor converges to, and the mouth follows whatever units the
content selected rather than the upper face of the frame it is pasted into.

Legend: N crops, K reference crops, C channels, S crop side, W critic window (video frames).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.config import JointConfig

RESIDUAL_LIMIT = 0.25  # largest colour change the residual may add, in [0, 1] units


def _conv(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.GroupNorm(4, c_out), nn.GELU()
    )


class _FiLM(nn.Module):
    def __init__(self, d_latent: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d_latent, 2 * channels)

    def forward(self, x: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        scale, shift = self.proj(latent)[:, :, None, None].chunk(2, dim=1)  # (N, C, 1, 1)
        return x * (1 + scale) + shift


class MouthDecoder(nn.Module):
    """Masked frame + K reference crops + latent -> the mouth crop.

    The U-Net runs at half the crop's resolution and predicts smooth fields (blend weights,
    displacements, a residual) that are upsampled and applied to the full-resolution crops:
    the fields need no fine detail, the textures keep all of theirs, and it costs a quarter.
    """

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        c, k, d = cfg.mouth_channels, cfg.n_reference_crops, cfg.d_model
        self.n_refs, self.max_flow = k, cfg.max_flow
        widths = [c, 2 * c, 4 * c, 4 * c]  # at S/2, S/4, S/8, S/16
        self.enc = nn.ModuleList(
            [_conv(4 + 3 * k, widths[0])]
            + [_conv(widths[i - 1], widths[i], stride=2) for i in range(1, 4)]
        )
        self.films = nn.ModuleList(_FiLM(d, w) for w in widths)
        self.mid = _conv(widths[3], widths[3])
        self.dec = nn.ModuleList(
            _conv(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(3))
        )
        self.out = nn.Conv2d(widths[0], k + 2 * k + 3, 3, padding=1)  # blend, flows, residual
        nn.init.zeros_(self.out.weight)
        assert self.out.bias is not None
        nn.init.zeros_(self.out.bias)

    def forward(
        self, latent: torch.Tensor, masked: torch.Tensor, refs: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """latent (N, D), masked (N, 3, S, S), refs (N, K, 3, S, S), mask (S, S) -> (N, 3, S, S)."""
        n, k, _, s, _ = refs.shape
        m = mask.expand(n, 1, s, s)
        x = torch.cat([masked * (1 - m), m, refs.reshape(n, 3 * k, s, s)], 1)
        x = F.avg_pool2d(x, 2)  # (N, 4 + 3K, S/2, S/2)
        skips = []
        for i, (enc, film) in enumerate(zip(self.enc, self.films, strict=True)):
            x = film(enc(x), latent)
            if i < 3:
                skips.append(x)
        x = self.mid(x)
        for dec in self.dec:
            skip = skips.pop()
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], 1))
        out = F.interpolate(self.out(x), size=(s, s), mode="bilinear", align_corners=False)
        blend = out[:, :k].softmax(1)  # (N, K, S, S)
        flow = torch.tanh(out[:, k : 3 * k]) * self.max_flow  # (N, 2K, S, S) pixels
        residual = torch.tanh(out[:, 3 * k :]) * RESIDUAL_LIMIT
        warped = warp(refs.reshape(n * k, 3, s, s), flow.reshape(n * k, 2, s, s))
        shown = (warped.reshape(n, k, 3, s, s) * blend[:, :, None]).sum(1) + residual
        return (m * shown + (1 - m) * masked).clamp(0, 1)


def warp(images: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample images (N, C, S, S) at each pixel + flow (N, 2, S, S) in pixels (x, y)."""
    h, w = images.shape[-2:]
    ys, xs = torch.meshgrid(
        torch.arange(h, device=images.device, dtype=images.dtype),
        torch.arange(w, device=images.device, dtype=images.dtype),
        indexing="ij",
    )
    gx = (xs + flow[:, 0]) * (2 / (w - 1)) - 1  # (N, S, S), grid_sample's [-1, 1]
    gy = (ys + flow[:, 1]) * (2 / (h - 1)) - 1
    grid = torch.stack([gx, gy], -1)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=True)


class SyncCritic(nn.Module):
    """Embeds a short run of mouth crops and the log-mel window around it; in sync = close.

    Trained on the actor's real clip against the same window's audio shifted in time, then used
    as a loss that makes generated mouths agree with their driving speech.
    """

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        w, d = cfg.sync_frames, cfg.d_sync
        self.video = nn.Sequential(
            _conv(w, 32, 2), _conv(32, 64, 2), _conv(64, 64, 2), nn.AdaptiveAvgPool2d(1)
        )
        self.video_out = nn.Linear(64, d)
        self.audio = nn.Sequential(
            nn.Conv1d(cfg.n_mels, 64, 3, padding=1),
            nn.GELU(),
            nn.Conv1d(64, 64, 3, padding=1, stride=2),
            nn.GELU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.audio_out = nn.Linear(64, d)
        self.log_scale = nn.Parameter(torch.tensor(2.3))  # cosine -> logits, learned (e^2.3 = 10)

    def embed_video(self, crops: torch.Tensor) -> torch.Tensor:
        """crops (N, W, 3, S, S) in [0, 1] -> (N, d_sync), unit length; reads the lower half."""
        s = crops.shape[-1]
        grey = F.avg_pool2d(crops.mean(2)[:, :, s // 2 :], 2)  # (N, W, S/4, S/2): the mouth
        grey = grey - grey.mean(1, keepdim=True)  # motion over the window, not the face's colour
        return F.normalize(self.video_out(self.video(grey).flatten(1)), dim=-1)

    def embed_audio(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (N, T_w, n_mels) -> (N, d_sync), unit length."""
        return F.normalize(self.audio_out(self.audio(mel.transpose(1, 2)).flatten(1)), dim=-1)

    def logits(self, video: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """All pairs: video (N, d), audio (M, d) -> (N, M) similarity logits."""
        return video @ audio.T * self.log_scale.exp()
