"""Speech metrics: mel-cepstral distortion with DTW, F0 error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter1d
from scipy.signal import lfilter

from localize.speech_metrics import dtw_path, f0_rmse, f0_rmse_cents, mel_cepstral_distortion

RATE = 16000


def voice(f0: float, formants: tuple[float, ...], seconds: float = 1.0) -> np.ndarray:
    """A vowel: a pulse train at f0 through two-pole formant resonators, (N,) float64."""
    n = int(seconds * RATE)
    x = np.zeros(n)
    x[:: round(RATE / f0)] = 1.0
    x = gaussian_filter1d(x, 2.0)  # soften the glottal pulses
    for freq in formants:
        r = np.exp(-np.pi * 80 / RATE)  # 80 Hz bandwidth
        x = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / RATE), r * r], x)
    return 0.3 * x / np.abs(x).max()


def test_mcd_is_zero_for_identical_and_grows_with_formant_shift() -> None:
    ref = voice(120, (700, 1200, 2600))
    assert mel_cepstral_distortion(ref, ref, RATE) < 0.01
    shifted = voice(120, (350, 2100, 2900))
    near = voice(120, (720, 1230, 2650))
    far_mcd = mel_cepstral_distortion(ref, shifted, RATE)
    assert far_mcd > 3.0
    assert mel_cepstral_distortion(ref, near, RATE) < far_mcd / 2
    assert mel_cepstral_distortion(ref, shifted, RATE, dtw=False) >= far_mcd - 1e-9


def test_f0_rmse_measures_a_known_pitch_difference() -> None:
    low, high = voice(120, (700, 1200)), voice(130, (700, 1200))
    assert f0_rmse(low, high, RATE) == pytest.approx(10.0, abs=2.0)
    assert f0_rmse(low, low, RATE) == pytest.approx(0.0, abs=0.5)
    assert f0_rmse_cents(low, high, RATE) == pytest.approx(1200 * np.log2(130 / 120), abs=25)


def test_dtw_aligns_a_stretched_sequence() -> None:
    a = np.sin(np.linspace(0, 6, 60))[:, None]  # (60, 1)
    b = np.repeat(a, 2, axis=0)  # (120, 1) the same, twice as slow
    ia, ib = dtw_path(a, b)
    assert ia[0] == ib[0] == 0 and ia[-1] == 59 and ib[-1] == 119
    assert np.abs(a[ia] - b[ib]).max() < 1e-12
