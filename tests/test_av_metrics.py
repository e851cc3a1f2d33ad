"""Tests for localize.av_metrics on generated crops, signals and speech-like audio."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from localize.av_metrics import (
    av_offset,
    av_offset_from_crops,
    av_offset_windows,
    correlation,
    masked_psnr,
    masked_ssim,
    mouth_appearance,
    mouth_motion,
    resample_uniform,
    sharpness,
    speech_envelope,
)

S = 64
RATE = 16000
FPS = 25


def crop(seed: int = 0) -> np.ndarray:
    """A textured (S, S, 3) uint8 crop: smooth blobs plus fine detail."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0, 255, (S, S, 3)), (0, 0), 3)
    return np.clip(base + rng.normal(0, 20, (S, S, 3)), 0, 255).astype(np.uint8)


def centre_mask() -> np.ndarray:
    """(S, S) float32: 1 in the centre square, 0 on a 16 px border."""
    mask = np.zeros((S, S), np.float32)
    mask[16:-16, 16:-16] = 1.0
    return mask


def test_identical_crops_score_perfectly() -> None:
    a = crop()
    assert masked_ssim(a, a, centre_mask()) == pytest.approx(1.0)
    assert masked_psnr(a, a, centre_mask()) == np.inf
    batch = np.stack([a, crop(1)])
    assert masked_ssim(batch, batch, centre_mask()) == pytest.approx(1.0)


def test_noise_lowers_ssim_and_psnr() -> None:
    a = crop()
    rng = np.random.default_rng(1)
    noisy = np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    assert masked_ssim(a, noisy, centre_mask()) < 0.8
    assert 15 < masked_psnr(a, noisy, centre_mask()) < 25


def test_change_outside_mask_is_ignored() -> None:
    a = crop()
    rng = np.random.default_rng(2)
    noisy = np.clip(a + rng.normal(0, 25, a.shape), 0, 255).astype(np.uint8)
    outside = noisy.copy()
    outside[:8] = 0  # far outside the mask, beyond the 7 px SSIM window
    mask = centre_mask()
    assert masked_ssim(a, outside, mask) == pytest.approx(masked_ssim(a, noisy, mask))
    assert masked_psnr(a, outside, mask) == pytest.approx(masked_psnr(a, noisy, mask))


def test_blur_halves_sharpness() -> None:
    a = crop()
    blurred = cv2.GaussianBlur(a, (0, 0), 1.5)
    assert sharpness(blurred, centre_mask()) < 0.5 * sharpness(a, centre_mask())


def test_mouth_motion_counts_change_per_frame() -> None:
    crops = np.stack([crop(), crop(), crop(3)])
    motion = mouth_motion(crops, centre_mask())
    assert motion.shape == (3,)
    assert motion[0] == 0.0 and motion[2] > 10
    assert motion[1] == pytest.approx(motion[2] / 2)  # centred: half its change is after it


def test_correlation_is_safe_on_constant_input() -> None:
    assert correlation(np.ones(10), np.arange(10)) == 0.0
    assert correlation(np.arange(10), 2 * np.arange(10) + 1) == pytest.approx(1.0)


def opening_and_speech(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mouth opening (F,) 0..1 at FPS and speech (N,) at RATE from one bursty syllable process."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    opening = np.zeros(n)  # (N,) mouth opening, 0..1, at the audio rate
    t = 0.3
    while t < seconds - 0.5:
        length = rng.uniform(0.12, 0.3)
        i, k = int(t * RATE), int(length * RATE)
        opening[i : i + k] += np.sin(np.linspace(0, np.pi, k)) * rng.uniform(0.5, 1.0)
        t += length + rng.exponential(0.15) + (rng.uniform(0.3, 0.8) if rng.random() < 0.1 else 0)
    speech = rng.normal(0, 1, n) * opening * 0.3
    frames = (np.arange(int(seconds * FPS)) / FPS * RATE).astype(int)
    return opening[frames], speech  # (F,) what the camera sees, (N,) what the microphone hears


def syllables(seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mouth motion (F,) at FPS and speech (N,) at RATE from one bursty syllable process."""
    picture, speech = opening_and_speech(seconds, seed)
    rng = np.random.default_rng(seed + 1)
    motion = np.abs(np.gradient(picture)) + rng.normal(0, 0.01, len(picture))
    return motion, speech


def mouth_crops(opening: np.ndarray, seed: int = 0) -> np.ndarray:
    """(F, S, S, 3) uint8 crops of a textured face whose dark lip gap is `opening` (F,) tall."""
    rng = np.random.default_rng(seed)
    face = np.clip(crop(seed) * 0.3 + 150, 0, 255)  # bright skin with a little texture
    out = []
    for amount in opening:
        frame = face.copy()
        cv2.ellipse(frame, (S // 2, S // 2), (14, max(1, round(12 * amount))), 0, 0, 360, 40, -1)
        out.append(np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255))
    return np.stack(out).astype(np.uint8)


def delayed(audio: np.ndarray, shift_ms: float) -> np.ndarray:
    n = round(shift_ms * RATE / 1000)
    out = np.zeros_like(audio)
    if n >= 0:
        out[n:] = audio[: len(audio) - n]
    else:
        out[:n] = audio[-n:]
    return out


@pytest.mark.parametrize("shift_ms", [0.0, 80.0, -160.0])
def test_av_offset_recovers_shift_and_sign(shift_ms: float) -> None:
    motion, speech = syllables(20.0)
    times = np.arange(len(motion)) / FPS
    envelope = speech_envelope(delayed(speech, shift_ms), RATE, times)
    result = av_offset(motion, envelope, FPS)
    assert result.offset_ms == pytest.approx(shift_ms, abs=20)
    assert result.confident and result.peak > 0.3
    windows = av_offset_windows(motion, envelope, FPS)
    assert len(windows) > 5
    assert np.median([w.offset_ms for w in windows]) == pytest.approx(shift_ms, abs=20)


@pytest.mark.parametrize("shift_ms", [0.0, 80.0, -120.0])
def test_av_offset_from_crops_recovers_shift_on_a_short_clip(shift_ms: float) -> None:
    opening, speech = opening_and_speech(8.0, seed=3)
    crops = mouth_crops(opening)
    times = np.arange(len(crops)) / FPS
    result = av_offset_from_crops(crops, centre_mask(), delayed(speech, shift_ms), RATE, times)
    assert result.offset_ms == pytest.approx(shift_ms, abs=20)
    assert result.confident and result.peak > 0.5


def test_av_offset_from_crops_reads_vfr_times() -> None:
    opening, speech = opening_and_speech(8.0, seed=4)
    keep = np.arange(len(opening)) % 4 != 3  # every fourth frame dropped, as a VFR source does
    crops, times = mouth_crops(opening)[keep], (np.arange(len(opening)) / FPS)[keep]
    result = av_offset_from_crops(crops, centre_mask(), delayed(speech, 80.0), RATE, times, FPS)
    assert result.offset_ms == pytest.approx(80.0, abs=20)


def test_av_offset_from_crops_rejects_a_too_short_clip() -> None:
    opening, speech = opening_and_speech(1.5)
    crops = mouth_crops(opening)
    with pytest.raises(ValueError, match="need"):
        av_offset_from_crops(crops, centre_mask(), speech, RATE, np.arange(len(crops)) / FPS)


def test_mouth_appearance_finds_the_opening() -> None:
    opening, _ = opening_and_speech(4.0)
    features = mouth_appearance(mouth_crops(opening), centre_mask(), n_components=3)
    assert features.shape == (len(opening), 3)
    assert abs(correlation(features[:, 0], opening)) > 0.9


def test_speech_envelope_follows_irregular_frame_times() -> None:
    audio = np.concatenate([np.zeros(RATE), np.ones(RATE) * 0.1])
    times = np.array([0.2, 0.5, 1.3, 1.8])
    envelope = speech_envelope(audio, RATE, times)
    assert envelope[0] == envelope[1] < envelope[2] == pytest.approx(-20.0)


def test_resample_uniform_puts_vfr_on_the_grid() -> None:
    grid, values = resample_uniform(np.array([0.0, 0.1, 0.2]), np.array([0.0, 1.0, 2.0]), 20.0)
    assert np.allclose(grid, np.arange(5) / 20) and np.allclose(values, np.arange(5) / 2)
