"""Joint model configuration: validation and round trip."""

from __future__ import annotations

import pytest

from model import JointConfig


def test_round_trip() -> None:
    config = JointConfig(d_model=64, n_heads=2)
    assert JointConfig.from_dict(config.to_dict()) == config


def test_refuses_inconsistent_or_unknown_fields() -> None:
    with pytest.raises(ValueError, match="divisible"):
        JointConfig(d_model=65, n_heads=4)
    with pytest.raises(ValueError, match="unknown JointConfig fields: d_modle"):
        JointConfig.from_dict({"d_modle": 3})
