"""Tests for model/vocoder.py: WORLD features on the 100 Hz timeline and the registry."""

from __future__ import annotations

import numpy as np
import pytest

from model.config import HOP, SAMPLE_RATE, JointConfig
from model.vocoder import (
    LF0,
    MCEP,
    VOCODERS,
    VUV,
    WorldVocoder,
    analyze,
    bap_slice,
    feature_size,
    get_vocoder,
    mcep_slice,
    n_aperiodicity,
    n_frames,
    synthesize,
)


def harmonic_tone(f0: float = 150.0, seconds: float = 1.0) -> np.ndarray:
    """(N,) float32 voiced-like tone: 20 harmonics falling 6 dB per octave, peak about 0.5."""
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 21))
    return (0.3 * tone).astype(np.float32)


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))))


def voiced_f0(features: np.ndarray) -> np.ndarray:
    inner = features[10:-10]  # edges: the analysis window runs past the signal
    return np.exp(inner[inner[:, VUV] > 0.5, LF0])


def test_layout_agrees_with_feature_size() -> None:
    n_mel_cep = JointConfig().n_mel_cep
    size = feature_size(n_mel_cep)
    assert (LF0, VUV, MCEP) == (0, 1, 2)
    assert mcep_slice(n_mel_cep) == slice(2, 2 + n_mel_cep)
    assert bap_slice(n_mel_cep) == slice(2 + n_mel_cep, size)
    assert size == 2 + n_mel_cep + n_aperiodicity(SAMPLE_RATE)
    assert n_aperiodicity(SAMPLE_RATE) == JointConfig().n_aperiodicity
    assert WorldVocoder(n_mel_cep).feature_size == size


def test_tone_analysis_finds_its_f0_and_voicing() -> None:
    audio = harmonic_tone(150.0)
    features = analyze(audio)
    assert features.dtype == np.float32
    assert features.shape == (len(audio) // HOP + 1, feature_size(40)) == (n_frames(len(audio)), 43)
    assert features[10:-10, VUV].mean() > 0.9
    assert np.abs(voiced_f0(features) - 150.0).max() < 3.0
    assert np.isfinite(features).all()


@pytest.mark.parametrize("n_samples", [HOP * 50, HOP * 50 + 1, HOP * 50 + HOP - 1])
def test_frame_count(n_samples: int) -> None:
    features = analyze(harmonic_tone(seconds=n_samples / SAMPLE_RATE)[:n_samples], n_mel_cep=24)
    assert features.shape == (n_samples // HOP + 1, feature_size(24))


def test_round_trip_keeps_duration_loudness_and_pitch() -> None:
    audio = harmonic_tone(150.0)
    out = synthesize(analyze(audio))
    assert out.dtype == np.float32
    assert abs(len(out) - len(audio)) <= HOP
    assert np.abs(out).max() <= 1.0
    assert abs(rms_db(out[HOP * 5 : -HOP * 5]) - rms_db(audio[HOP * 5 : -HOP * 5])) < 3.0
    assert np.abs(voiced_f0(analyze(out)) - 150.0).max() < 3.0


def test_silence_gives_finite_features_and_quiet_audio() -> None:
    features = analyze(np.zeros(SAMPLE_RATE // 2, dtype=np.float32))
    assert np.isfinite(features).all()
    out = synthesize(features)
    assert np.isfinite(out).all() and np.abs(out).max() < 1e-3


def test_analysis_is_deterministic() -> None:
    audio = harmonic_tone(seconds=0.3)
    assert np.array_equal(analyze(audio), analyze(audio))


def test_registry() -> None:
    vocoder = get_vocoder("world", n_mel_cep=24)
    assert isinstance(vocoder, WorldVocoder) and vocoder.name == "world"
    assert set(VOCODERS) == {"world"}
    features = vocoder.analyze(harmonic_tone(seconds=0.2))
    assert features.shape[1] == vocoder.feature_size
    assert vocoder.synthesize(features).shape == ((features.shape[0] - 1) * HOP,)
    with pytest.raises(ValueError, match=r"unknown vocoder 'hifigan'; available: world"):
        get_vocoder("hifigan")


def test_synthesis_refuses_a_wrong_width() -> None:
    with pytest.raises(ValueError, match=f"expected {feature_size(24)} features"):
        WorldVocoder(24).synthesize(np.zeros((10, 43), dtype=np.float32))
    with pytest.raises(ValueError, match="mono"):
        analyze(np.zeros((2, 100), dtype=np.float32))
