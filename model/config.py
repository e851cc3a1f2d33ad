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
    """Sizes of the joint model. Legend: B batch, T 100 Hz frames, F video frames, D features,
    K reference crops, S crop side."""

    n_phonemes: int = 128  # inventory size; IPA symbols outside it map to articulatory neighbours
    n_articulatory: int = 24  # articulatory features per phoneme (place, manner, voicing...)
    n_mels: int = 40  # log-mel bands the audio content encoder and the sync critic read
    d_model: int = 128  # width of the shared backbone over the 100 Hz track (CPU fitting budget)
    n_layers: int = 3  # backbone blocks (convolution + attention)
    n_heads: int = 4  # attention heads; d_model must divide evenly
    kernel_size: int = 5  # temporal convolution width, 50 ms at 100 Hz
    d_speaker: int = 256  # speaker embedding size (Resemblyzer's is 256)
    n_mel_cep: int = 40  # WORLD coded spectral envelope size predicted per 10 ms frame
    n_aperiodicity: int = 1  # WORLD coded band aperiodicities per frame (1 band at 16 kHz)
    crop_size: int = 96  # aligned mouth crop side in pixels (96 keeps CPU fitting feasible)
    n_reference_crops: int = 4  # actor's own mouth crops given to the decoder as texture
    mouth_channels: int = 24  # first U-Net level width (at half resolution); deeper levels 2x, 4x
    max_flow: float = 6.0  # pixels a reference crop may be warped, enough for pose repair
    d_sync: int = 64  # sync critic embedding size
    sync_frames: int = 5  # video frames the sync critic sees at once (0.2 s at 25 fps)
    dropout: float = 0.1  # regularisation: per-actor fits see only tens of seconds of data

    @property
    def n_world(self) -> int:
        """WORLD features per frame: log F0, voicing, spectral envelope, aperiodicity."""
        return 2 + self.n_mel_cep + self.n_aperiodicity

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


DEFAULT_CONFIG = JointConfig()  # what `localize fit` uses unless told otherwise
