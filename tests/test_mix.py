"""Mixing: loudness measurement, line level matching, ducking."""

from __future__ import annotations

import numpy as np
import pytest

from localize import mix

RATE = 48000


def tone(seconds: float, amplitude: float, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_loudness_of_a_full_scale_sine() -> None:
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS.
    value = mix.loudness(tone(2.0, 1.0, 997.0), RATE)
    assert value == pytest.approx(-3.01, abs=0.1)
    assert mix.loudness(np.zeros(RATE, dtype=np.float32), RATE) is None


def test_match_level_brings_a_line_to_the_source_loudness() -> None:
    reference = np.zeros(4 * RATE, dtype=np.float32)
    reference[RATE : 3 * RATE] = tone(2.0, 0.1)
    line = tone(1.5, 0.4)
    gain = mix.match_level(line, reference, 1.0, 3.0, RATE)
    assert gain == pytest.approx(20 * np.log10(0.1 / 0.4), abs=0.2)
    matched = line * 10 ** (gain / 20)
    assert mix.loudness(matched, RATE) == pytest.approx(
        mix.loudness(reference[RATE : 3 * RATE], RATE), abs=0.2
    )


def test_match_level_keeps_headroom_and_falls_back_on_silence() -> None:
    loud_reference = tone(2.0, 1.0)
    quiet_line = tone(1.0, 0.01)
    gain = mix.match_level(quiet_line, loud_reference, 0.0, 2.0, RATE)
    assert 20 * np.log10(0.01) + gain <= mix.LINE_PEAK_CEILING_DB + 1e-6
    silent = np.zeros(2 * RATE, dtype=np.float32)
    gain = mix.match_level(tone(1.0, 0.1), silent, 0.0, 2.0, RATE)
    assert mix.loudness(tone(1.0, 0.1) * 10 ** (gain / 20), RATE) == pytest.approx(
        mix.DEFAULT_DIALOGUE_LUFS, abs=0.2
    )


def test_duck_envelope_shape() -> None:
    env = mix.duck_envelope(4 * RATE, [(1.0, 2.0)], RATE)
    low = 10 ** (mix.DUCK_DB / 20)
    assert env[0] == 1.0 and env[-1] == 1.0
    assert env[round(1.5 * RATE)] == pytest.approx(low)
    ramp = round(mix.DUCK_RAMP * RATE)
    assert np.all(np.diff(env[round(1.0 * RATE) - ramp : round(1.0 * RATE)]) <= 0)
    assert env[round(1.0 * RATE) - ramp - 1] == 1.0


def test_mix_over_adds_dialogue_to_every_channel() -> None:
    bed = np.full((10, 2), 0.1, dtype=np.float32)
    out = mix.mix_over(bed, np.full(8, 0.2, dtype=np.float32))
    assert out.shape == (10, 2)
    assert np.allclose(out[:8], 0.3) and np.allclose(out[8:], 0.1)
    report = mix.report(out * 5, np.full(8, 0.2, dtype=np.float32), RATE)
    assert report.clipped_samples == 16
