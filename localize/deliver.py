"""Deliverables: the per-language output folder, written atomically, and its manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from localize import __version__, media

MANIFEST_FORMAT = "localize.manifest/1"
HASH_CHUNK = 1 << 20  # read 1 MiB at a time so hashing a master never holds it in memory


@dataclass(frozen=True)
class FileRecord:
    """A file the render read or wrote, identified by its content."""

    role: str  # e.g. "video", "me", "translation", "master"
    path: str
    sha256: str
    bytes: int


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class FileHasher:
    """Hashes each input once per run, however many languages reference it."""

    def __init__(self) -> None:
        self._seen: dict[Path, str] = {}
        self._samples: dict[Path, str] = {}

    def samples(self, path: Path) -> str:
        """`media.audio_sample_hash` of a source stem, decoded once per run."""
        path = path.resolve()
        if path not in self._samples:
            self._samples[path] = media.audio_sample_hash(path)
        return self._samples[path]

    def record(self, role: str, path: Path) -> FileRecord:
        path = path.resolve()
        if path not in self._seen:
            self._seen[path] = sha256_file(path)
        return FileRecord(role, str(path), self._seen[path], path.stat().st_size)


@contextmanager
def staged_folder(final: Path, force: bool) -> Iterator[Path]:
    """Yield an empty staging folder that becomes `final` only if the block succeeds.

    On any failure the staging folder is removed, so no partial output is ever left behind;
    an existing `final` is replaced only at the very end, and only with `force`.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield staging
        if final.exists():
            if not force:
                raise FileExistsError(f"{final} exists; use --force to overwrite")
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float):
        return None if value != value or value in (float("inf"), float("-inf")) else round(value, 6)
    return value


def write_manifest(folder: Path, body: dict[str, Any]) -> Path:
    """Write `manifest.json` with the format tag, tool version and creation time."""
    manifest = {
        "format": MANIFEST_FORMAT,
        "tool": {"name": "localize", "version": __version__},
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        **body,
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(_jsonable(manifest), indent=2, ensure_ascii=False) + "\n")
    return path
