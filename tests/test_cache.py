"""Artefact store: typed round trips without pickle, keys, atomic writes, bad entries."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from localize.cache import ArtefactStore, CacheError, cache_key
from localize.faces import FaceGap, FaceTrack, FaceTracks


@dataclass(frozen=True)
class Inner:
    label: str
    times: np.ndarray  # (T,)


@dataclass(frozen=True)
class Outer:
    name: str
    rate: Fraction
    source: Path
    items: tuple[Inner, ...]
    scores: dict[str, float]
    note: str | None = None


def test_round_trip_keeps_types_and_values(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    value = Outer(
        "clip",
        Fraction(30000, 1001),
        Path("/a/b.mp4"),
        (Inner("x", np.arange(5, dtype=np.float32)), Inner("y", np.zeros((2, 3)))),
        {"L1": 0.5},
    )
    store.put("k", value)
    back = store.get("k", Outer)
    assert back is not None
    assert (back.name, back.rate, back.source, back.scores, back.note) == (
        "clip",
        Fraction(30000, 1001),
        Path("/a/b.mp4"),
        {"L1": 0.5},
        None,
    )
    assert back.items[0].times.dtype == np.float32
    assert np.array_equal(back.items[1].times, np.zeros((2, 3)))
    assert not any(p.suffix == ".pkl" for p in tmp_path.rglob("*"))


def test_face_tracks_round_trip(tmp_path: Path) -> None:
    track = FaceTrack(
        1,
        np.arange(3),
        np.ones((3, 5, 2), np.float32),
        np.ones((3, 5, 2), np.float32),
        np.zeros((3, 4), np.float32),
        np.zeros(3, np.float32),
        (FaceGap(1, 2, 0.04, 0.08),),
    )
    tracks = FaceTracks(Path("v.mp4"), (track,), 3, Fraction(25), (640, 360))
    store = ArtefactStore(tmp_path)
    store.put("faces", tracks)
    back = store.get("faces", FaceTracks)
    assert back is not None and back.tracks[0].gaps == (FaceGap(1, 2, 0.04, 0.08),)
    assert back.frame_rate == Fraction(25) and back.size == (640, 360)


def test_get_or_compute_computes_once(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    calls = []

    def compute() -> Inner:
        calls.append(1)
        return Inner("z", np.ones(2))

    first, hit1 = store.get_or_compute("key", Inner, compute)
    second, hit2 = store.get_or_compute("key", Inner, compute)
    assert (hit1, hit2, len(calls)) == (False, True, 1)
    assert np.array_equal(first.times, second.times)


def test_keys_depend_on_every_part() -> None:
    base = cache_key("align", audio="ab", lang="de-DE", margin=0.5)
    assert base == cache_key("align", margin=0.5, lang="de-DE", audio="ab")
    assert base != cache_key("align", audio="ab", lang="de-DE", margin=0.6)
    assert base != cache_key("faces", audio="ab", lang="de-DE", margin=0.5)


def test_failed_write_leaves_nothing_and_bad_entry_is_reported(tmp_path: Path) -> None:
    store = ArtefactStore(tmp_path)
    with pytest.raises(TypeError):
        store.put("k", Inner("x", object()))  # type: ignore[arg-type]
    assert store.get("k", Inner) is None
    store.put("k", Inner("x", np.ones(2)))
    (tmp_path / "k" / "arrays.npz").write_bytes(b"broken")
    with pytest.raises(CacheError, match="unreadable cache entry"):
        store.get("k", Inner)
