"""Configuration of the joint model; checkpoints store it beside the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

# Bumped whenever the checkpoint layout changes; loaders refuse other versions.
CHECKPOINT_FORMAT = 1

SAMPLE_RATE = 16000  # Hz of the model's audio features; speech is resampled to this
HOP = SAMPLE_RATE // 100  # 10 ms frames: the shared 100 Hz timeline


@dataclass(frozen=True)
class JointConfig:
    """Sizes of the joint model. Legend: B batch, T 100 Hz frames, F video frames, D features."""

    n_phonemes: int = 128  # inventory size; IPA symbols outside it map to articulatory neighbours
    n_articulatory: int = 24  # binary articulatory features per phoneme (place, manner, voicing...)
    d_model: int = 256  # width of the shared backbone over the 100 Hz track
    n_layers: int = 6  # backbone blocks (convolution + attention)
    n_heads: int = 4  # attention heads; d_model must divide evenly
    kernel_size: int = 5  # temporal convolution width, 50 ms at 100 Hz
    d_speaker: int = 256  # speaker embedding size (Resemblyzer's is 256)
    n_mel_cep: int = 40  # WORLD mel-cepstrum order predicted per 10 ms frame
    n_aperiodicity: int = 5  # WORLD band aperiodicities per frame (coded)
    crop_size: int = 96  # aligned mouth crop side in pixels (96 keeps CPU fitting feasible)
    n_reference_crops: int = 4  # actor's own mouth crops given to the decoder as texture
    frame_rate: float = 25.0  # video frames per second the video head pools the track to
    dropout: float = 0.1  # regularisation: per-actor fits see only tens of seconds of data

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} must be divisible by n_heads {self.n_heads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JointConfig:
        """Rebuild a config, refusing unknown keys (a checkpoint from another version)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown JointConfig fields: {', '.join(unknown)}")
        return cls(**data)
