"""The sample actor's voice: distinct from the stock espeak-ng voice, timing kept exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from samples.gen_voice import ActorVoice, make_dialogue, measure_f0, plain_line, speak_line
from samples.make_sample import VOICE

TEXT = "The alarm, the rush, the cold cup you never finished."


def _f0_stats(x: np.ndarray) -> tuple[float, float]:
    f0 = measure_f0(x)
    semitones = 12 * np.log2(f0[f0 > 0])
    return float(np.median(semitones)), float(np.std(semitones))


def _ltas(x: np.ndarray) -> np.ndarray:
    _, _, spec = signal.stft(x, 48000, nperseg=1024)
    return np.log(np.mean(np.abs(spec) ** 2, axis=1) + 1e-12)


def test_actor_voice_is_not_the_stock_voice() -> None:
    actor, _ = speak_line(TEXT, VOICE)
    stock, _ = plain_line(TEXT, ActorVoice(espeak_variant="f3"))  # voice-over's female voice
    base, _ = plain_line(TEXT, VOICE)
    actor_median, actor_spread = _f0_stats(actor)
    stock_median, stock_spread = _f0_stats(stock)
    assert abs(actor_median - stock_median) >= 1.5 or abs(actor_spread / stock_spread - 1) >= 0.3
    # The long-term spectrum differs far more than two stock voices differ from each other.
    distance = np.sqrt(np.mean((_ltas(actor) - _ltas(stock)) ** 2))
    stock_to_stock = np.sqrt(np.mean((_ltas(base) - _ltas(stock)) ** 2))
    assert distance > 3 * stock_to_stock


def test_treatment_keeps_the_synthesized_timing() -> None:
    plain, plain_phonemes = plain_line(TEXT, VOICE)
    actor, actor_phonemes = speak_line(TEXT, VOICE)
    assert abs(len(actor) - len(plain)) <= 48 * 3  # espeak itself wobbles by a few ms per call
    assert [p.ipa for p in actor_phonemes] == [p.ipa for p in plain_phonemes]
    # Energy onsets stay where the phonemes say: the first word starts within 15 ms.
    envelope = np.abs(signal.hilbert(actor))
    onset = np.argmax(envelope > 0.1 * envelope.max()) / 48000
    first = next(p for p in actor_phonemes if not p.is_pause)
    assert abs(onset - first.start) < 0.015 + first.duration


def test_dialogue_places_lines_on_the_clip_timeline() -> None:
    track = make_dialogue([("L1", "Good morning.", 0.5), ("L2", "Hello.", 2.0)], 3.0, VOICE)
    assert track.sample_rate == 48000 and len(track.samples) == 3 * 48000
    first = track.phonemes[0]
    assert first.line_id == "L1" and first.start == pytest.approx(0.5, abs=1e-4)
    assert track.lines[1][1] == pytest.approx(2.0, abs=1e-4)
    with pytest.raises(ValueError, match="overlaps line 'L2'"):
        make_dialogue([("L1", "Good morning to you all.", 0.5), ("L2", "Hi.", 0.8)], 3.0, VOICE)
