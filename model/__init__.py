"""The joint model: phonemes and identity in, mouth-region video and speech out (pure PyTorch)."""

from model.config import CHECKPOINT_FORMAT, JointConfig

__all__ = ["CHECKPOINT_FORMAT", "JointConfig"]
