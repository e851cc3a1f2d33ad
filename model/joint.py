"""The joint model: one 100 Hz content track drives both the speech features and the mouth.

Content comes from phonemes (PhonemeEncoder) or from a recording (AudioContentEncoder, trained
to agree with the phoneme path). Units selected from the actor's own recording (model.units)
enter as WORLD features on the track and as mouth crops for the video head. The backbone reads
content and units under the speaker embedding; the audio head repairs the selected speech
features, and the video head, fed the same latents pooled to each video frame's time, repairs
the selected mouths in the masked frame.

Legend: B batch, T 100 Hz frames, F video frames, D features, K reference crops, S crop side.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.config import JointConfig
from model.mouth import MouthDecoder, SyncCritic


class PhonemeEncoder(nn.Module):
    """Phoneme identity plus articulatory features (so unseen phonemes land near their kin)."""

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        self.identity = nn.Embedding(cfg.n_phonemes, cfg.d_model)
        self.features = nn.Linear(cfg.n_articulatory + 1, cfg.d_model)  # +1: position in phone
        self.conv = nn.Conv1d(cfg.d_model, cfg.d_model, cfg.kernel_size, padding="same")

    def forward(self, ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """ids (B, T) int64, features (B, T, A + 1) -> (B, T, D)."""
        x = self.identity(ids) + self.features(features)
        return x + self.conv(F.gelu(x).transpose(1, 2)).transpose(1, 2)


class AudioContentEncoder(nn.Module):
    """Log-mel frames onto the phoneme path's content space; also classifies the phoneme."""

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.net = nn.Sequential(
            nn.Conv1d(cfg.n_mels, d, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(d, d, 5, padding=2),
            nn.GELU(),
            nn.Conv1d(d, d, 5, padding=2),
        )
        self.phoneme_logits = nn.Linear(d, cfg.n_phonemes)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """mel (B, T, n_mels), normalised per clip -> (B, T, D)."""
        return self.net(mel.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    """Temporal convolution, self-attention and a feed-forward layer, each FiLM-conditioned."""

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        d = cfg.d_model
        self.film = nn.Linear(cfg.d_speaker, 2 * d)
        self.norm1 = nn.LayerNorm(d)
        self.conv = nn.Conv1d(d, d, cfg.kernel_size, padding="same", groups=d // 16)
        self.norm2 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, cfg.n_heads, dropout=cfg.dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, speaker: torch.Tensor) -> torch.Tensor:
        """x (B, T, D), speaker (B, d_speaker) -> (B, T, D)."""
        scale, shift = self.film(speaker)[:, None].chunk(2, dim=-1)  # (B, 1, D) each
        h = self.norm1(x) * (1 + scale) + shift
        x = x + self.drop(self.conv(h.transpose(1, 2)).transpose(1, 2))
        h = self.norm2(x)
        x = x + self.drop(self.attn(h, h, h, need_weights=False)[0])
        return x + self.drop(self.ff(self.norm3(x)))


class JointModel(nn.Module):
    """Content + selected units + speaker -> WORLD features and mouth crops on one timeline."""

    world_mean: torch.Tensor
    world_std: torch.Tensor
    repairable: torch.Tensor

    def __init__(self, cfg: JointConfig) -> None:
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.phoneme_encoder = PhonemeEncoder(cfg)
        self.audio_encoder = AudioContentEncoder(cfg)
        self.unit_in = nn.Linear(cfg.n_world, d)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = nn.LayerNorm(d)
        self.audio_head = nn.Linear(d, cfg.n_world)
        self.mouth_decoder = MouthDecoder(cfg)
        self.sync_critic = SyncCritic(cfg)
        # WORLD feature statistics of the actor, so heads work on unit-variance features.
        self.register_buffer("world_mean", torch.zeros(cfg.n_world))
        self.register_buffer("world_std", torch.ones(cfg.n_world))
        # What the audio head may change: the pitch contour, so joins between units follow one
        # intonation. Envelope, aperiodicity and voicing stay the actor's own recorded frames:
        # repairing them (all of them, or level, tilt and aperiodicity) from tens of seconds
        # cost speaker similarity on every clip measured (pyannote_sample, the sample, face1).
        repairable = torch.zeros(cfg.n_world)
        repairable[0] = 1.0
        self.register_buffer("repairable", repairable, persistent=False)
        nn.init.zeros_(self.audio_head.weight)  # start as "play the selected units"
        nn.init.zeros_(self.audio_head.bias)

    def content(
        self,
        ids: torch.Tensor | None = None,
        features: torch.Tensor | None = None,
        mel: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """(B, T, D) content from phonemes (ids, features) or, without them, from mel."""
        if ids is not None and features is not None:
            return self.phoneme_encoder(ids, features)
        if mel is None:
            raise ValueError("content needs phonemes (ids and features) or a mel track")
        return self.audio_encoder(mel)

    def latent(
        self, content: torch.Tensor, units: torch.Tensor, speaker: torch.Tensor
    ) -> torch.Tensor:
        """content (B, T, D), units (B, T, n_world) normalised, speaker (B, d_speaker)
        -> (B, T, D)."""
        x = content + self.unit_in(units)
        for block in self.blocks:
            x = block(x, speaker)
        return self.norm(x)

    def speech(self, latent: torch.Tensor, units: torch.Tensor) -> torch.Tensor:
        """Normalised WORLD features (B, T, n_world): the selected units plus a repair.

        Heavy dropout on the repair's input: with tens of seconds of speech the head otherwise
        learns the fitted lines by heart and damages the units of new ones.
        """
        return units + self.audio_head(F.dropout(latent, 0.3, self.training)) * self.repairable

    def set_world_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.world_mean.copy_(mean)
        self.world_std.copy_(std)

    def normalise(self, world: torch.Tensor) -> torch.Tensor:
        return (world - self.world_mean) / self.world_std

    def denormalise(self, world: torch.Tensor) -> torch.Tensor:
        return world * self.world_std + self.world_mean

    @staticmethod
    def pool(latent: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Latents at video frame times: latent (B, T, D), positions (B, F) in 100 Hz frames
        (fractional; variable frame rates welcome) -> (B, F, D) by linear interpolation."""
        n_t = latent.shape[1]
        pos = positions.clamp(0, n_t - 1)
        lo = pos.floor().long().clamp(max=n_t - 1)
        hi = (lo + 1).clamp(max=n_t - 1)
        w = (pos - lo.to(pos.dtype))[..., None]  # (B, F, 1)
        take = lambda i: torch.gather(latent, 1, i[..., None].expand(-1, -1, latent.shape[2]))  # noqa: E731
        return take(lo) * (1 - w) + take(hi) * w

    def mouths(
        self,
        latent: torch.Tensor,
        masked: torch.Tensor,
        refs: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        """latent (N, D), masked frame (N, 3, S, S), refs (N, K, 3, S, S) in [0, 1], mask (S, S)
        -> crops (N, 3, S, S) in [0, 1], equal to the masked frame outside the mask."""
        return self.mouth_decoder(latent, masked, refs, mask)
