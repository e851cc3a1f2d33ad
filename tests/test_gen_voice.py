"""The sample actor's voice: distinct from plain espeak-ng, timing kept, placed on the clip."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pyloudnorm
import pytest
from scipy import signal

from samples import gen_voice
from samples.gen_voice import ActorVoice
from samples.make_sample import VOICE

SR = 48000
# Every word its own sentence: each has an energy onset and offset that can be measured.
WORDS = "Fresh. Smooth. Always. Roasted. Brightwell."
SENTENCE = "Good coffee takes time. We take ours slowly."


def _f0_semitones(x: np.ndarray) -> np.ndarray:
    f0 = gen_voice.measure_f0(x)
    return 12 * np.log2(f0[f0 > 0])


def _log_mel(x: np.ndarray) -> np.ndarray:
    """(40, T) log-mel spectrum in dB, 25 ms windows every 10 ms."""
    f, _, spec = signal.stft(x.astype(np.float64), SR, nperseg=1200, noverlap=720)
    mel = 2595 * np.log10(1 + np.array([80.0, 8000.0]) / 700)
    edges = 700 * (10 ** (np.linspace(mel[0], mel[1], 42) / 2595) - 1)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    bank = np.clip(np.minimum((f - lo) / (mid - lo), (hi - f) / (hi - mid)), 0.0, None)
    return 10 * np.log10(bank @ np.abs(spec) ** 2 + 1e-12)


def _envelope_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean RMS difference (dB) of two time-aligned log-mel envelopes, level removed, on speech."""
    la, lb = _log_mel(a), _log_mel(b)
    level = np.minimum(la.max(0), lb.max(0))
    speech = level > level.max() - 30
    shape_a, shape_b = la - la.mean(0), lb - lb.mean(0)  # per frame: spectral shape only
    return float(np.sqrt(np.mean((shape_a - shape_b) ** 2, axis=0))[speech].mean())


@pytest.mark.parametrize("voice", [ActorVoice(), VOICE], ids=["default", "sample"])
def test_actor_voice_is_distinct_from_plain_espeak(voice: ActorVoice) -> None:
    plain, phonemes = gen_voice.plain_line(SENTENCE, voice)
    actor = gen_voice.humanize(plain, phonemes, voice)
    plain_st, actor_st = _f0_semitones(plain), _f0_semitones(actor)
    median_gap = abs(np.median(actor_st) - np.median(plain_st))
    # The intonation itself: the actor's F0 against espeak's, frame by frame on the shared
    # timeline, once the overall shift is removed. (The spread of espeak's own F0 varies from
    # one call to the next by up to a quarter, too much for a ratio of spreads to be stable.)
    f0_plain, f0_actor = gen_voice.measure_f0(plain), gen_voice.measure_f0(actor)
    n = min(len(f0_plain), len(f0_actor))
    both = (f0_plain[:n] > 0) & (f0_actor[:n] > 0)
    shift = 12 * np.log2(f0_actor[:n][both] / f0_plain[:n][both])
    contour_rms = float(np.sqrt(np.mean((shift - np.median(shift)) ** 2)))
    # espeak against itself: its own WORLD copy-synthesis, the floor of any WORLD-made voice.
    x = plain.astype(np.float64)
    f0, times = gen_voice.pyworld.harvest(x, SR, frame_period=gen_voice.FRAME_PERIOD_MS)
    envelope = gen_voice.pyworld.cheaptrick(x, f0, times, SR)
    aperiodicity = gen_voice.pyworld.d4c(x, f0, times, SR)
    copy = gen_voice.pyworld.synthesize(f0, envelope, aperiodicity, SR)[: len(x)]
    to_copy, to_actor = _envelope_distance(plain, copy), _envelope_distance(plain, actor)
    print(
        f"plain: F0 median {2 ** (np.median(plain_st) / 12):.0f} Hz, sd {np.std(plain_st):.2f} st;"
        f" actor: {2 ** (np.median(actor_st) / 12):.0f} Hz, sd {np.std(actor_st):.2f} st,"
        f" contour {contour_rms:.2f} st RMS from plain;"
        f" envelope distance to copy {to_copy:.2f} dB, to actor {to_actor:.2f} dB"
    )
    assert median_gap >= 2.0 or contour_rms >= 1.5
    assert to_actor > 2 * to_copy


def _edges_ms(x: np.ndarray, start: float, end: float, drop_db: float = 40.0) -> tuple[int, int]:
    """Where the 10 ms energy envelope (1 ms hop) first and last comes within ``drop_db`` of the
    word's peak, searched 40 ms either side of the word."""
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x.astype(np.float64), 240), 480)
    level = 10 * np.log10(np.mean(frames[::48] ** 2, axis=1) + 1e-20)  # (ms,)
    a, b = max(round(start * 1000) - 40, 0), min(round(end * 1000) + 40, len(level))
    loud = np.flatnonzero(level[a:b] > level[a:b].max() - drop_db)
    return a + int(loud[0]), a + int(loud[-1])


def test_treatment_keeps_the_synthesized_timing() -> None:
    plain, phonemes = gen_voice.plain_line(WORDS, ActorVoice())
    spoken_end = phonemes[-1].start + phonemes[-1].duration
    # The room's tail rings past each word by design, so offsets are measured dry.
    dry = gen_voice.humanize(plain, phonemes, replace(ActorVoice(), room_wet_db=-np.inf))
    in_room = gen_voice.humanize(plain, phonemes, ActorVoice())
    for actor in (dry, in_room):
        assert abs(len(actor) - len(plain)) <= SR // 1000
        assert abs(len(actor) / SR - spoken_end) <= 0.001
    words = sorted({p.word for p in phonemes if not p.is_pause})
    assert len(words) == 5
    for word in words:
        own = [p for p in phonemes if p.word == word]
        start, end = own[0].start, own[-1].start + own[-1].duration
        onset, offset = _edges_ms(dry, start, end)
        room_onset, _ = _edges_ms(in_room, start, end)
        print(f"word {word}: {start * 1000:.0f}-{end * 1000:.0f} ms, measured {onset}-{offset}")
        assert abs(onset - start * 1000) <= 15 and abs(room_onset - start * 1000) <= 15
        assert abs(offset - end * 1000) <= 15


def test_speak_line_is_trimmed_and_levelled() -> None:
    actor, phonemes = gen_voice.speak_line("Brightwell.", ActorVoice())
    assert actor.dtype == np.float32 and actor.ndim == 1
    assert abs(len(actor) / SR - (phonemes[-1].start + phonemes[-1].duration)) <= 0.001
    assert phonemes[0].start == 0.0
    assert 20 * np.log10(np.max(np.abs(actor))) <= gen_voice.PEAK_CEILING_DBFS + 0.01


def test_dialogue_is_placed_on_the_clip_timeline() -> None:
    lines = [("l2", "Brightwell.", 2.0), ("l1", "Fresh coffee.", 0.25)]  # any order
    track = gen_voice.make_dialogue(lines, 3.5)
    assert track.samples.shape == (round(3.5 * SR),) and track.samples.dtype == np.float32
    assert [line_id for line_id, _, _ in track.lines] == ["l1", "l2"]
    for line_id, start, end in track.lines:
        own = [p for p in track.phonemes if p.line_id == line_id]
        assert own[0].start == pytest.approx(start, abs=1e-9)
        assert own[-1].end == pytest.approx(end, abs=0.001)
    assert track.lines[0][1] == pytest.approx(0.25, abs=1 / SR)
    assert track.lines[1][1] == pytest.approx(2.0, abs=1 / SR)
    loudness = pyloudnorm.Meter(SR).integrated_loudness(track.samples.astype(np.float64))
    assert loudness == pytest.approx(gen_voice.TARGET_LUFS, abs=1.0)
    assert 20 * np.log10(np.max(np.abs(track.samples))) <= gen_voice.PEAK_CEILING_DBFS + 0.01
    assert np.all(track.samples[: round(0.25 * SR)] == 0)  # silence before the first line


def test_dialogue_refuses_overlaps_and_overruns() -> None:
    long_line = "Freshly roasted, every single day."
    with pytest.raises(ValueError, match="overlaps line 'b'"):
        gen_voice.make_dialogue([("a", long_line, 0.0), ("b", "Hi.", 0.5)], 5.0)
    with pytest.raises(ValueError, match="past the clip's end"):
        gen_voice.make_dialogue([("a", long_line, 0.5)], 1.0)


def test_sample_actor_is_not_the_voice_over_stock_voice() -> None:
    """The voice-over mode speaks female lines with espeak-ng's f3: the actor must differ."""
    actor, _ = gen_voice.speak_line(SENTENCE, VOICE)
    stock, _ = gen_voice.plain_line(SENTENCE, ActorVoice(espeak_variant="f3", rate=1.0))
    actor_st, stock_st = _f0_semitones(actor), _f0_semitones(stock)
    median_gap = abs(np.median(actor_st) - np.median(stock_st))
    spread_ratio = np.std(actor_st) / np.std(stock_st)
    print(f"median gap {median_gap:.2f} st, spread ratio {spread_ratio:.2f}")
    assert median_gap >= 2.0 or abs(spread_ratio - 1) >= 0.3
