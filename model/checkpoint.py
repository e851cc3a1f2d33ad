"""Actor checkpoints: safetensors weights plus the unit database, described by their metadata.

One file holds everything an actor model needs at render time: the network's weights, the
actor's unit database (speech features, mouth crops, descriptors' inputs) and, in the header,
the JointConfig, the fitting settings, the checkpoint format and the package version. Loading
rebuilds the model from the stored config; no pickle is involved anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from model.config import CHECKPOINT_FORMAT, JointConfig
from model.data import ActorMaterial
from model.joint import JointModel


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True, eq=False)
class ActorModel:
    """A fitted actor: the network, the material it selects units from, and where it came from."""

    model: JointModel
    database: ActorMaterial
    info: dict[str, Any]  # fitting settings, input hash, speaker name, losses: for manifests


def package_version() -> str:
    try:
        return metadata.version("localize")
    except metadata.PackageNotFoundError:
        return "unknown"


def save(path: Path, actor: ActorModel) -> None:
    """Write the checkpoint atomically (a partial file never has the final name)."""
    tensors = {
        f"model.{k}": v.detach().cpu().contiguous() for k, v in actor.model.state_dict().items()
    }
    for f in fields(ActorMaterial):
        value = getattr(actor.database, f.name)
        if value is not None:
            tensors[f"db.{f.name}"] = torch.from_numpy(np.ascontiguousarray(value))
    header = {
        "format": str(CHECKPOINT_FORMAT),
        "package": package_version(),
        "config": json.dumps(actor.model.cfg.to_dict()),
        "info": json.dumps(actor.info, sort_keys=True),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file(tensors, str(partial), metadata=header)
    partial.replace(path)


def load(path: Path, map_location: str | torch.device = "cpu") -> ActorModel:
    """Read a checkpoint written by ``save``; refuses other formats and damaged files."""
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint")
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as f:
            header = f.metadata() or {}
            _check_format(path, header)
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open API)
    except SafetensorError as exc:
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or damaged): {exc}"
        ) from exc
    try:
        cfg = JointConfig.from_dict(json.loads(header["config"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: config in the header is unusable: {exc}") from exc
    model = JointModel(cfg)
    state = {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the stored config: {exc}") from exc
    model.eval()
    data: dict[str, Any] = {f.name: None for f in fields(ActorMaterial)}
    for k, v in tensors.items():
        if k.startswith("db."):
            data[k[3:]] = v.cpu().numpy()
    return ActorModel(model, ActorMaterial(**data), json.loads(header.get("info", "{}")))


def _check_format(path: Path, header: dict[str, str]) -> None:
    found = header.get("format")
    if found != str(CHECKPOINT_FORMAT):
        raise CheckpointError(
            f"{path}: checkpoint format {found or 'missing'} (written by localize "
            f"{header.get('package', 'unknown')}); this version reads format {CHECKPOINT_FORMAT}: "
            "fit the actor again with `localize fit`"
        )
