"""Content-addressed artefact store: stage results keyed by their inputs' hashes and parameters."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import types
import typing
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from localize.deliver import staged_folder
from localize.errors import LocalizeError

T = TypeVar("T")
CACHE_FORMAT = 1  # bumped when the stored layout changes; older entries are simply not found
ENV_DIR = "LOCALIZE_CACHE_DIR"


class CacheError(LocalizeError):
    """A cache entry exists but cannot be read back as the expected type."""


def default_dir() -> Path:
    """$LOCALIZE_CACHE_DIR, else $XDG_CACHE_HOME/localize, else ~/.cache/localize."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "localize"


def cache_key(stage: str, **parts: Any) -> str:
    """A stable key from a stage name and JSON-able parts (input hashes, parameters)."""
    blob = json.dumps(
        {"stage": stage, "format": CACHE_FORMAT, **parts}, sort_keys=True, default=_key_default
    )
    return f"{stage}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"


def _key_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, Path | Fraction):
        return str(value)
    raise TypeError(f"cannot use {type(value).__name__} in a cache key")


class ArtefactStore:
    """Stores frozen dataclasses (with numpy arrays inside) as JSON + npz, never pickle."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else default_dir()

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str, kind: type[T]) -> T | None:
        """The stored value, or None when there is no entry for `key`."""
        folder = self.path(key)
        if not (folder / "value.json").is_file():
            return None
        try:
            tree = json.loads((folder / "value.json").read_text())
            with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
            return typing.cast(T, _decode(kind, tree, arrays))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CacheError(f"{folder}: unreadable cache entry ({exc}); delete it") from exc

    def put(self, key: str, value: Any) -> None:
        """Store `value` atomically: a reader sees the whole entry or none of it."""
        arrays: dict[str, np.ndarray] = {}
        tree = _encode(value, arrays)
        with staged_folder(self.path(key), force=True) as staging:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)  # type: ignore[arg-type]
            (staging / "arrays.npz").write_bytes(buffer.getvalue())
            (staging / "value.json").write_text(json.dumps(tree))

    def get_or_compute(self, key: str, kind: type[T], compute: Callable[[], T]) -> tuple[T, bool]:
        """(value, True) from the store, or (compute(), False) after storing it."""
        cached = self.get(key, kind)
        if cached is not None:
            return cached, True
        value = compute()
        self.put(key, value)
        return value, False


def _encode(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"__array__": name}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name), arrays) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, dict):
        return [[_encode(k, arrays), _encode(v, arrays)] for k, v in value.items()]
    if isinstance(value, Fraction):
        return [value.numerator, value.denominator]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot store {type(value).__name__} in the artefact store")


def _decode(kind: Any, tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if tree is None:
        return None
    if isinstance(tree, dict) and "__array__" in tree:
        return arrays[tree["__array__"]]
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _decode(options[0], tree, arrays) if len(options) == 1 else tree
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        hints = typing.get_type_hints(kind)
        fields = {
            f.name: _decode(hints[f.name], tree[f.name], arrays) for f in dataclasses.fields(kind)
        }
        return kind(**fields)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, arrays) for v in tree)
        return tuple(_decode(a, v, arrays) for a, v in zip(args, tree, strict=True))
    if origin is list:
        return [_decode(args[0], v, arrays) for v in tree]
    if origin is dict:
        return {_decode(args[0], k, arrays): _decode(args[1], v, arrays) for k, v in tree}
    if kind is Fraction:
        return Fraction(*tree)
    if kind is Path:
        return Path(tree)
    if kind is float:
        return float(tree)
    return tree
