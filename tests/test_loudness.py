"""Loudness: specs by name, BS.1770 measurement, spec checks and normalisation."""

from __future__ import annotations

import time
import typing

import numpy as np
import pyloudnorm
import pytest

from localize import loudness
from localize.errors import LocalizeError
from localize.spec import LoudnessSpecName

RATE = 48000


def tone(seconds: float, dbfs: float, freq: float = 997.0, phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def noisy_tone(seconds: float, level: float, seed: int = 1) -> np.ndarray:
    """(N, 2) pink-ish noise plus a tone, scaled by `level`: a stand-in programme."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    noise = np.cumsum(rng.standard_normal((n, 2)), axis=0)
    noise -= np.convolve(noise[:, 0], np.ones(64) / 64, mode="same")[:, None]  # no DC drift
    noise /= np.abs(noise).max()
    t = np.arange(n) / RATE
    return (level * (0.5 * noise + 0.5 * np.sin(2 * np.pi * 440 * t)[:, None])).astype(np.float32)


def test_every_spec_name_of_the_job_file_is_known() -> None:
    names = typing.get_args(LoudnessSpecName)
    assert set(names) == set(loudness.SPECS)
    for name in names:
        spec = loudness.get_spec(name)
        assert spec.name == name and spec.tolerance_lu > 0 and spec.max_true_peak_dbtp < 0
    assert loudness.get_spec("ebu-r128-s1").max_short_term_lufs == -18.0


def test_unknown_spec_names_the_known_ones() -> None:
    with pytest.raises(LocalizeError, match=r"unknown loudness spec 'r128'.*ebu-r128, .*online"):
        loudness.get_spec("r128")


def test_integrated_loudness_of_sines() -> None:
    # BS.1770: a 997 Hz sine at 0 dBFS in one channel reads -3.01 LUFS; at -20 dBFS, -23.01.
    assert loudness.measure(tone(3.0, 0.0), RATE).integrated_lufs == pytest.approx(-3.01, abs=0.1)
    figures = loudness.measure(tone(3.0, -20.0), RATE)
    assert figures.integrated_lufs == pytest.approx(-23.01, abs=0.1)
    assert figures.sample_peak_dbfs == pytest.approx(-20.0, abs=0.01)
    silent = loudness.measure(np.zeros((RATE, 2), np.float32), RATE)
    assert silent.integrated_lufs is None and silent.true_peak_dbtp == -np.inf


def test_integrated_loudness_agrees_with_pyloudnorm_on_a_programme() -> None:
    # pyloudnorm approximates the K-weighting shelf (1.5 kHz); ours uses BS.1770's own filter.
    programme = noisy_tone(6.0, 0.3)
    programme[2 * RATE : 3 * RATE] *= 0.05  # a quiet stretch the relative gate drops
    ours = loudness.measure(programme, RATE).integrated_lufs
    assert ours == pytest.approx(pyloudnorm.Meter(RATE).integrated_loudness(programme), abs=0.2)


def test_true_peak_sees_inter_sample_peaks() -> None:
    # A sine at fs/4 with a 45 degree phase: every sample sits at 0.707 of the crest, 3 dB low.
    signal = tone(1.0, 0.0, freq=RATE / 4, phase=np.pi / 4)
    figures = loudness.measure(signal, RATE)
    assert figures.sample_peak_dbfs == pytest.approx(-3.01, abs=0.01)
    # The abrupt start rings a little in the interpolator, so allow a tenth of a dB over 0.
    assert 0.0 - 0.05 <= figures.true_peak_dbtp <= 0.2


def test_short_term_and_momentary_maxima_find_a_burst() -> None:
    quiet = tone(10.0, -30.0)
    quiet[5 * RATE : round(5.5 * RATE)] *= 10 ** (20 / 20)  # a 500 ms burst 20 dB louder
    figures = loudness.measure(quiet, RATE)
    # Momentary (400 ms) sees the burst in full: -3.01 - 10 = -13.0 LUFS.
    assert figures.max_momentary_lufs == pytest.approx(-13.0, abs=0.2)
    # Short-term (3 s) averages it with 2.5 s of the quiet tone.
    burst, rest = 0.5 * 10 ** (-13.0 / 10), 2.5 * 10 ** (-33.0 / 10)
    expected = 10 * np.log10((burst + rest) / 3.0)
    assert figures.max_short_term_lufs == pytest.approx(expected, abs=0.2)
    assert figures.integrated_lufs is not None and figures.integrated_lufs < -25


def test_check_reports_every_violation() -> None:
    spec = loudness.get_spec("ebu-r128-s1")
    bad = loudness.LoudnessFigures(
        integrated_lufs=-20.0,
        true_peak_dbtp=-0.2,
        sample_peak_dbfs=-0.5,
        max_short_term_lufs=-15.0,
        max_momentary_lufs=-12.0,
        loudness_range_lu=None,
    )
    findings = {f.code: f for f in loudness.check(bad, spec)}
    assert set(findings) == {"loudness.integrated", "loudness.true_peak", "loudness.short_term"}
    assert findings["loudness.true_peak"].severity == "Blocker"
    assert findings["loudness.integrated"].severity == "Issue"
    assert "-20.0 LUFS" in findings["loudness.integrated"].message
    assert "EBU R 128 s1" in findings["loudness.integrated"].message
    momentary_spec = loudness.LoudnessSpec("m", "M", -23.0, 0.5, -1.0, None, -15.0, "test")
    codes = [f.code for f in loudness.check(bad, momentary_spec)]
    assert "loudness.momentary" in codes and "loudness.short_term" not in codes
    good = loudness.LoudnessFigures(-23.2, -1.5, -2.0, -19.0, -16.0, 3.0)
    assert loudness.check(good, spec) == []


def test_normalize_brings_a_loud_programme_down_under_the_ceiling() -> None:
    spec = loudness.get_spec("ebu-r128")
    loud = noisy_tone(8.0, 1.6)  # clips: peaks well over full scale
    out, record = loudness.normalize(loud, RATE, spec)
    after = loudness.measure(out, RATE)
    assert out.shape == loud.shape and out.dtype == np.float32
    assert after.integrated_lufs == pytest.approx(spec.integrated_lufs, abs=0.5)
    assert after.true_peak_dbtp <= spec.max_true_peak_dbtp
    assert record.gain_db < 0 and record.after.integrated_lufs == pytest.approx(
        after.integrated_lufs, abs=0.01
    )
    assert loudness.check(after, spec) == []


def test_normalize_limits_a_quiet_peaky_programme_it_brings_up() -> None:
    spec = loudness.get_spec("online")  # -14 LUFS at -1 dBTP: needs the limiter
    quiet = noisy_tone(8.0, 0.05)
    quiet[4 * RATE : 4 * RATE + 200] *= 15  # a click far above the rest
    out, record = loudness.normalize(quiet, RATE, spec)
    after = loudness.measure(out, RATE)
    assert record.gain_db > 10
    assert record.limiter_max_reduction_db > 1 and 0 < record.limited_share < 0.2
    assert after.integrated_lufs == pytest.approx(spec.integrated_lufs, abs=0.5)
    assert after.true_peak_dbtp <= spec.max_true_peak_dbtp


def test_normalize_respects_a_short_term_maximum() -> None:
    spec = loudness.get_spec("ebu-r128-s1")  # max short-term -18 LUFS
    programme = noisy_tone(20.0, 0.05)
    programme[8 * RATE : 11 * RATE] *= 4  # 3 s, 12 dB louder: a shouted tag line
    out, record = loudness.normalize(programme, RATE, spec)
    after = loudness.measure(out, RATE)
    assert record.capped and "short-term" in record.note
    assert after.max_short_term_lufs is not None and after.max_short_term_lufs <= -18.0
    assert after.integrated_lufs is not None and after.integrated_lufs < spec.integrated_lufs
    assert after.true_peak_dbtp <= spec.max_true_peak_dbtp


def test_normalize_leaves_silence_alone() -> None:
    silence = np.zeros((RATE, 2), np.float32)
    out, record = loudness.normalize(silence, RATE, loudness.get_spec("atsc-a85"))
    assert np.array_equal(out, silence) and record.gain_db == 0.0


def test_measure_a_minute_of_stereo() -> None:
    rng = np.random.default_rng(0)
    minute = (0.1 * rng.standard_normal((60 * RATE, 2))).astype(np.float32)
    started = time.perf_counter()
    figures = loudness.measure(minute, RATE)
    print(f"measure: 60 s stereo 48 kHz in {time.perf_counter() - started:.2f} s")
    assert figures.integrated_lufs is not None and figures.loudness_range_lu is not None
