"""Mixing: loudness measurement, line level matching, ducking."""

from __future__ import annotations

import numpy as np
import pytest

from localize import loudness, mix

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


def programme(seconds: float, level: float) -> np.ndarray:
    """(N, 2) noise and a tone: a stand-in master."""
    rng = np.random.default_rng(3)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    noise = rng.uniform(-1, 1, (n, 2))
    return (level * (0.4 * noise + 0.6 * np.sin(2 * np.pi * 330 * t)[:, None])).astype(np.float32)


def test_report_carries_the_spec_figures() -> None:
    master = programme(4.0, 0.3)
    report = mix.report(master, master[:, 0], RATE)
    figures = loudness.measure(master, RATE)
    assert report.integrated_lufs == pytest.approx(figures.integrated_lufs)
    assert report.true_peak_dbtp == pytest.approx(figures.true_peak_dbtp)
    assert report.true_peak_dbtp is not None and report.true_peak_dbtp >= report.sample_peak_dbfs
    assert report.max_short_term_lufs == pytest.approx(figures.max_short_term_lufs)
    assert report.max_momentary_lufs == pytest.approx(figures.max_momentary_lufs)
    assert report.dialogue_lufs is not None and report.clipped_samples == 0


def test_finish_master_measures_only_unless_asked() -> None:
    master = programme(4.0, 1.2)  # far too loud and clipping
    spec = loudness.get_spec("ebu-r128")
    finished = mix.finish_master(master, master[:, 0], RATE, spec, normalize=False)
    assert finished.normalization is None
    assert np.array_equal(finished.samples, master)
    codes = {f.code for f in finished.findings}
    assert {"loudness.integrated", "loudness.true_peak"} <= codes
    assert finished.report.clipped_samples > 0


def test_finish_master_normalises_to_the_spec() -> None:
    master = programme(4.0, 1.2)
    spec = loudness.get_spec("atsc-a85")
    finished = mix.finish_master(master, master[:, 0], RATE, spec, normalize=True)
    record = finished.normalization
    assert record is not None and record.spec == "atsc-a85" and record.gain_db < 0
    assert [f.code for f in finished.findings] == ["loudness.normalized"]
    assert finished.report.integrated_lufs == pytest.approx(-24.0, abs=0.5)
    assert finished.report.true_peak_dbtp is not None and finished.report.true_peak_dbtp <= -2.0
    assert finished.report.clipped_samples == 0
    assert finished.samples.shape == master.shape and finished.samples.dtype == np.float32
