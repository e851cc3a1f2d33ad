"""Deliverables: atomic output folders and the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localize.deliver import MANIFEST_FORMAT, FileHasher, sha256_file, staged_folder, write_manifest


def test_staged_folder_appears_only_on_success(tmp_path: Path) -> None:
    final = tmp_path / "out" / "de-DE"
    with pytest.raises(RuntimeError), staged_folder(final, force=False) as folder:
        (folder / "half.wav").write_bytes(b"x")
        raise RuntimeError("boom")
    assert not final.exists()
    assert list((tmp_path / "out").iterdir()) == []
    with staged_folder(final, force=False) as folder:
        (folder / "a.txt").write_text("a")
    assert (final / "a.txt").read_text() == "a"


def test_existing_folder_is_replaced_only_with_force(tmp_path: Path) -> None:
    final = tmp_path / "de-DE"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(FileExistsError), staged_folder(final, force=False) as folder:
        (folder / "new.txt").write_text("new")
    assert (final / "old.txt").exists()
    with staged_folder(final, force=True) as folder:
        (folder / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]


def test_manifest_and_hashes(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(b"abc")
    record = FileHasher().record("video", data)
    assert record.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_file(data) == record.sha256 and record.bytes == 3
    path = write_manifest(tmp_path, {"inputs": [record], "loudness": float("-inf")})
    manifest = json.loads(path.read_text())
    assert manifest["format"] == MANIFEST_FORMAT
    assert manifest["inputs"][0]["sha256"] == record.sha256
    assert manifest["loudness"] is None
