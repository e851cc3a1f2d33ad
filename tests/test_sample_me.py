"""The sample's M&E stem: determinism, levels, effect placement and the dialogue mix."""

from __future__ import annotations

import hashlib

import numpy as np
import pyloudnorm
import pytest

from samples import me_stem
from samples.me_stem import SAMPLE_RATE, make_me, mix

DURATION = 7.0
SPREAD = (("door", 0.4), ("cup", 2.0), ("pour", 3.3), ("steam", 5.0))  # one of each, apart
WINDOW = round(0.3 * SAMPLE_RATE)


@pytest.fixture(scope="module")
def track() -> me_stem.MeTrack:
    return make_me(DURATION, SPREAD)


def digest(samples: np.ndarray) -> str:
    return hashlib.sha256(samples.tobytes()).hexdigest()


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64))))


def test_same_seed_same_stem_other_seed_differs(track: me_stem.MeTrack) -> None:
    assert digest(make_me(DURATION, SPREAD).samples) == digest(track.samples)
    assert digest(make_me(DURATION, SPREAD, seed=4).samples) != digest(track.samples)


def test_format_and_levels(track: me_stem.MeTrack) -> None:
    x = track.samples
    assert x.shape == (round(DURATION * SAMPLE_RATE), 2)
    assert x.dtype == np.float32
    assert track.sample_rate == SAMPLE_RATE
    loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(x.astype(np.float64))
    assert loudness == pytest.approx(me_stem.TARGET_LUFS, abs=1.0)
    assert 20 * np.log10(np.max(np.abs(x))) < -6.0
    assert not np.array_equal(x[:, 0], x[:, 1])


def test_each_effect_stands_out_from_the_bed(track: me_stem.MeTrack) -> None:
    x = track.samples
    spans = [(round(e.start * SAMPLE_RATE), round(e.end * SAMPLE_RATE)) for e in track.effects]
    starts = range(0, len(x) - WINDOW, WINDOW)
    quiet = [
        rms_db(x[i : i + WINDOW])
        for i in starts
        if not any(i < end and i + WINDOW > start for start, end in spans)
    ]
    assert len(quiet) >= 5
    bed = float(np.median(quiet))
    for effect, (start, _) in zip(track.effects, spans, strict=True):
        assert rms_db(x[start : start + WINDOW]) > bed + 3.0, effect.name


def test_effects_are_reported_and_cut_at_the_end(track: me_stem.MeTrack) -> None:
    assert [(e.name, e.start) for e in track.effects] == list(SPREAD)
    assert all(e.end > e.start for e in track.effects)
    (steam,) = make_me(3.0, [("steam", 2.0)]).effects
    assert steam.end == pytest.approx(3.0)


def test_unknown_effect_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known effects: cup, door, pour, steam"):
        make_me(3.0, [("explosion", 1.0)])


def test_effect_outside_the_clip_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        make_me(3.0, [("cup", 4.0)])


def test_mix_sums_and_pads() -> None:
    dialogue = np.array([0.5, -0.25, 0.1], dtype=np.float32)
    me = np.array([[0.1, -0.1], [0.2, 0.0]], dtype=np.float32)
    out = mix(dialogue, me)
    assert out.dtype == np.float32
    expected = [[0.6, 0.4], [-0.05, -0.25], [0.1, 0.1]]
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert mix(dialogue[:1], me).shape == (2, 2)


def test_mix_refuses_to_clip() -> None:
    with pytest.raises(ValueError, match=r"\+3\.52 dBFS"):
        mix(np.array([0.9], dtype=np.float32), np.array([[0.6, 0.0]], dtype=np.float32))
