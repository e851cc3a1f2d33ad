"""The sample's music-and-effects stem: café ambience, a soft music bed and timed spot effects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import signal

SAMPLE_RATE = 48000
TARGET_LUFS = -30.0  # well under the -23 LUFS dialogue, so the M&E never competes with the voice
PEAK_CEILING_DBFS = -6.0  # headroom left for the dialogue when the two are summed
DEFAULT_EFFECTS: tuple[tuple[str, float], ...] = (
    ("door", 0.3),
    ("cup", 7.9),
    ("pour", 12.6),
    ("steam", 19.2),
    ("cup", 24.6),
)

TEMPO_BPM = 90.0
BEAT_S = 60.0 / TEMPO_BPM
CHORD_S = 3 * BEAT_S  # 2 s per chord
# Cmaj7 - Am7 - Fmaj7 - G as MIDI notes (voicing around middle C) with the bass root below.
CHORDS: tuple[tuple[tuple[int, ...], int], ...] = (
    ((60, 64, 67, 71), 36),
    ((57, 60, 64, 67), 33),
    ((53, 57, 60, 64), 41),
    ((55, 59, 62, 67), 43),
)
FADE_IN_S, FADE_OUT_S = 1.5, 2.0
DETUNE_CENTS = 3.0  # L flat, R sharp: a gentle chorus width without audible beating

Rng = np.random.Generator


@dataclass(frozen=True)
class Effect:
    """One spot effect as placed on the clip timeline (seconds)."""

    name: str
    start: float
    end: float


@dataclass(frozen=True, eq=False)
class MeTrack:
    """The rendered stem; `samples` is (N, 2) float32 at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int
    effects: tuple[Effect, ...]


@dataclass(frozen=True)
class BedLevels:
    """RMS of each layer before loudness normalisation (dBFS); only the differences matter."""

    room_db: float = -34.0  # the room is felt rather than heard
    murmur_db: float = -40.0  # other customers: texture, never intelligible
    clink_db: float = -30.0  # peak of a distant cup; rare, so it may poke out a little
    music_db: float = -27.0  # the bed carries the spot's mood, so it leads the ambience
    effect_db: float = -18.0  # spot effects are story points and must read clearly over the bed


LEVELS = BedLevels()


def _db(value: float) -> float:
    return float(10 ** (value / 20))


def _rms_to(x: np.ndarray, level_db: float) -> np.ndarray:
    rms = float(np.sqrt(np.mean(np.square(x)))) or 1.0
    return x * (_db(level_db) / rms)


def _midi_hz(note: float) -> float:
    return float(440.0 * 2 ** ((note - 69) / 12))


def _pan(x: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan of a mono (M,) signal to (M, 2); position -1 is hard left."""
    angle = (position + 1) * np.pi / 4
    return np.stack([x * np.cos(angle), x * np.sin(angle)], axis=1)


def _place(out: np.ndarray, stereo: np.ndarray, start_s: float) -> None:
    """Add a (M, 2) sound into the (N, 2) buffer at start_s, dropping what falls off the end."""
    i = round(start_s * SAMPLE_RATE)
    m = min(len(stereo), len(out) - i)
    if m > 0:
        out[i : i + m] += stereo[:m]


def _band(x: np.ndarray, low: float, high: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, [low, high], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return np.asarray(signal.sosfilt(sos, x, axis=0))


def _smooth_random(rng: Rng, n: int, rate_hz: float) -> np.ndarray:
    """Random control signal in [-1, 1] with breakpoints every 1/rate_hz s, linearly joined."""
    n_points = int(n / SAMPLE_RATE * rate_hz) + 2
    points = rng.uniform(-1, 1, n_points)
    return np.interp(np.arange(n) / SAMPLE_RATE * rate_hz, np.arange(n_points), points)


def _glide_band(x: np.ndarray, centre_hz: np.ndarray, q: float) -> np.ndarray:
    """Band-pass whose centre follows centre_hz (per sample), done as an STFT mask."""
    freqs, times, spec = signal.stft(x, SAMPLE_RATE, nperseg=1024)
    centre = np.interp(times, np.arange(len(x)) / SAMPLE_RATE, centre_hz)[None, :]
    mask = np.exp(-0.5 * ((freqs[:, None] - centre) / (centre / q)) ** 2)
    _, y = signal.istft(spec * mask, SAMPLE_RATE, nperseg=1024)
    return np.asarray(y[: len(x)])


def _decay(t: np.ndarray, rate: float | np.ndarray, attack_s: float = 0.003) -> np.ndarray:
    return np.clip(t / attack_s, 0, 1) * np.exp(-rate * np.maximum(t, 0))


def _room_tone(rng: Rng, n: int) -> np.ndarray:
    """(N, 2) muffled noise between pink and brown, partly shared between channels."""
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    # f^-0.75 sits between pink and brown; the roll-offs remove rumble and air-conditioning hiss.
    shape = np.maximum(freqs, 1.0) ** -0.75 / (1 + (40 / np.maximum(freqs, 1.0)) ** 4)
    shape /= 1 + (freqs / 3500) ** 2
    white = rng.standard_normal((n, 3))
    coloured = np.fft.irfft(np.fft.rfft(white, axis=0) * shape[:, None], n=n, axis=0)
    # 60 % shared + 40 % per channel: wide but still one room.
    room = 0.6 * coloured[:, [0]] + 0.4 * coloured[:, 1:]
    swell = _db(2.0) ** np.stack([_smooth_random(rng, n, 0.4) for _ in range(2)], axis=1)
    return _rms_to(room * swell, LEVELS.room_db)


def _murmur(rng: Rng, n: int, n_talkers: int = 6) -> np.ndarray:
    """(N, 2) band-passed noise gated at syllable rate by a few distant 'talkers'."""
    out = np.zeros((n, 2))
    for _ in range(n_talkers):
        rate = 4.5 + 1.5 * _smooth_random(rng, n, 1.0)  # syllables per second, drifting
        syllables = np.maximum(np.sin(2 * np.pi * np.cumsum(rate) / SAMPLE_RATE), 0) ** 2
        phrases = np.clip(1.5 * _smooth_random(rng, n, 0.5) + 0.5, 0, 1)  # talk, pause, talk
        voice = rng.standard_normal(n) * syllables * phrases
        out += _pan(voice, rng.uniform(-0.8, 0.8))
    out = _band(out, 300.0, 3000.0)
    return _rms_to(out, LEVELS.murmur_db)


def _clinks(rng: Rng, n: int) -> np.ndarray:
    """(N, 2) a distant cup or spoon every few seconds."""
    out = np.zeros((n, 2))
    t = np.arange(round(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    for start in rng.uniform(0, n / SAMPLE_RATE, max(1, round(n / SAMPLE_RATE / 5))):
        partials = rng.uniform(2500, 6000, 3)
        ring = np.sum(np.sin(2 * np.pi * partials[None, :] * t[:, None]), axis=1) * _decay(t, 30)
        ring = _band(ring, 1500.0, 9000.0) * _db(LEVELS.clink_db) * rng.uniform(0.4, 1.0) / 3
        _place(out, _pan(ring, rng.uniform(-0.9, 0.9)), start)
    return out


def _piano_chord(notes: Sequence[int], length_s: float, cents: float) -> np.ndarray:
    """(M,) soft electric-piano chord: a few decaying harmonics per note, lightly strummed."""
    t = np.arange(round(length_s * SAMPLE_RATE)) / SAMPLE_RATE
    harmonics = np.arange(1, 5)
    freqs = np.array([_midi_hz(note + cents / 100) for note in notes])
    delays = 0.012 * np.arange(len(notes))  # a lazy roll up the chord
    tn = t[:, None, None] - delays[None, :, None]  # (M, notes, harmonics)
    phase = 2 * np.pi * freqs[None, :, None] * harmonics[None, None, :] * np.maximum(tn, 0)
    env = _decay(tn, 0.9, 0.006) ** (harmonics[None, None, :] ** 0.7)  # upper harmonics die first
    tone = np.sum(np.sin(phase) * env / harmonics[None, None, :] ** 1.5, axis=(1, 2))
    release = np.clip((length_s - t) / 0.25, 0, 1)  # let go just before the next chord
    return tone * release


def _music(rng: Rng, n: int) -> np.ndarray:
    """(N, 2) the bed: e-piano chords, bass, brushes on beats 2 and 4, faded in and out."""
    out = np.zeros((n, 2))
    duration = n / SAMPLE_RATE
    n_chords = int(np.ceil(duration / CHORD_S))
    for k in range(n_chords):
        notes, root = CHORDS[k % len(CHORDS)]
        start = k * CHORD_S
        left = _piano_chord(notes, CHORD_S + 0.1, -DETUNE_CENTS)
        right = _piano_chord(notes, CHORD_S + 0.1, DETUNE_CENTS)
        _place(out, 0.5 * np.stack([left, right], axis=1), start)
        t = np.arange(round(2 * BEAT_S * SAMPLE_RATE)) / SAMPLE_RATE
        f = _midi_hz(root)
        bass = (np.sin(2 * np.pi * f * t) + 0.15 * np.sin(4 * np.pi * f * t)) * _decay(t, 1.5, 0.01)
        for beat in (0, 2):  # root on beat 1, again on beat 3; each stops before the next note
            length = round(min(2, 3 - beat) * BEAT_S * SAMPLE_RATE)
            note = bass[:length] * np.clip((length - np.arange(length)) / 2400, 0, 1)
            _place(out, _pan(0.45 * note, 0.0), start + beat * BEAT_S)
    t = np.arange(round(0.25 * SAMPLE_RATE)) / SAMPLE_RATE
    for beat in range(1, int(duration / BEAT_S) + 1, 2):  # every other beat: 2 and 4 of a 4-count
        swish = _band(rng.standard_normal(len(t)), 2000.0, 9000.0) * _decay(t, 18, 0.015)
        _place(out, _pan(0.05 * swish, 0.2 * rng.uniform(-1, 1)), beat * BEAT_S)
    out = _rms_to(out, LEVELS.music_db)
    time = np.arange(n) / SAMPLE_RATE
    fade = np.clip(time / FADE_IN_S, 0, 1) * np.clip((duration - time) / FADE_OUT_S, 0, 1)
    return out * (np.sin(fade * np.pi / 2) ** 2)[:, None]


def _door(rng: Rng) -> np.ndarray:
    """Latch click, a creak (gliding sawtooth through a gliding resonance), then the thud shut."""
    t = np.arange(round(0.9 * SAMPLE_RATE)) / SAMPLE_RATE
    click = _band(rng.standard_normal(len(t)), 1500.0, 8000.0) * _decay(t, 250, 0.0005)
    # Stick-slip: the hinge's pitch wanders and glides up as the door swings.
    f0 = 95 + 50 * np.clip(t / 0.6, 0, 1) + 12 * _smooth_random(rng, len(t), 25.0)
    saw = signal.sawtooth(2 * np.pi * np.cumsum(f0) / SAMPLE_RATE)
    creak = _glide_band(saw + 0.3 * rng.standard_normal(len(t)), 700 + 900 * t, q=4.0)
    creak *= np.clip((t - 0.04) / 0.05, 0, 1) * np.clip((0.66 - t) / 0.08, 0, 1)
    shut = t - 0.68
    thud = np.sin(2 * np.pi * 58 * shut) * _decay(shut, 14, 0.002)
    thud += _band(rng.standard_normal(len(t)), 60.0, 400.0) * _decay(shut, 40, 0.001)
    return 0.8 * click + 1.5 * creak + 0.5 * thud


def _cup(rng: Rng) -> np.ndarray:
    """Ceramic on a saucer: a click and a few bright inharmonic partials, with a small rebound."""
    t = np.arange(round(0.4 * SAMPLE_RATE)) / SAMPLE_RATE
    partials = np.array([2210.0, 3370.0, 4580.0, 5930.0]) * rng.uniform(0.97, 1.03, 4)
    decays = np.array([18.0, 26.0, 34.0, 45.0])  # higher modes lose energy faster
    out = np.zeros(len(t))
    for offset, gain in ((0.0, 1.0), (0.055, 0.35)):  # the cup settles with a second tap
        tt = t - offset
        ring = np.sin(2 * np.pi * partials[None, :] * np.maximum(tt, 0)[:, None])
        out += gain * np.sum(ring * _decay(tt[:, None], decays[None, :], 0.0005), axis=1)
        out += gain * _band(rng.standard_normal(len(t)), 3000.0, 12000.0) * _decay(tt, 400, 0.0003)
    return out


def _pour(rng: Rng) -> np.ndarray:
    """Pouring coffee: gurgling band-passed noise whose pitch rises as the cup fills."""
    t = np.arange(round(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
    gurgle = _smooth_random(rng, len(t), 22.0)
    centre = (450 + 700 * t / 1.5) * (1 + 0.2 * gurgle)
    stream = _glide_band(rng.standard_normal(len(t)), centre, q=3.0)
    stream *= 0.7 + 0.3 * np.abs(_smooth_random(rng, len(t), 14.0))
    return stream * np.clip(t / 0.04, 0, 1) * np.clip((1.5 - t) / 0.2, 0, 1)


def _steam(rng: Rng) -> np.ndarray:
    """Espresso-machine steam wand: high-passed hiss that swells and dies away."""
    t = np.arange(round(1.8 * SAMPLE_RATE)) / SAMPLE_RATE
    sos = signal.butter(4, 2500.0, btype="highpass", fs=SAMPLE_RATE, output="sos")
    hiss = signal.sosfilt(sos, rng.standard_normal(len(t)))
    swell = np.clip(t / 0.08, 0, 1) * (0.6 + 0.4 * np.clip(t / 1.0, 0, 1))
    return np.asarray(hiss) * swell * np.clip((1.8 - t) / 0.4, 0, 1)


@dataclass(frozen=True)
class _Sound:
    render: Callable[[Rng], np.ndarray]
    pan: float  # where it happens in the room, relative to the actor at centre
    trim_db: float = 0.0  # level relative to LEVELS.effect_db


SOUNDS: dict[str, _Sound] = {
    "door": _Sound(_door, -0.6),
    "cup": _Sound(_cup, 0.35, -3.0),  # short and bright: reads clearly at a lower RMS
    "pour": _Sound(_pour, 0.25),
    "steam": _Sound(_steam, 0.55),
}


def _rng(seed: int, *stream: int) -> Rng:
    # One stream per layer, so adding an effect does not reshuffle the music or the room.
    return np.random.default_rng([seed, *stream])


def _effects(
    seed: int, n: int, effects: Sequence[tuple[str, float]]
) -> tuple[np.ndarray, list[Effect]]:
    """The effects layer (N, 2) and each effect as placed (cut at the clip's end)."""
    duration = n / SAMPLE_RATE
    out = np.zeros((n, 2))
    placed = []
    for index, (name, start) in enumerate(effects):
        if name not in SOUNDS:
            raise ValueError(f"unknown effect {name!r}; known effects: {', '.join(sorted(SOUNDS))}")
        if not 0 <= start < duration:
            raise ValueError(
                f"effect {name!r} starts at {start} s, outside the 0-{duration} s clip"
            )
        sound = SOUNDS[name]
        mono = _rms_to(sound.render(_rng(seed, 10, index)), LEVELS.effect_db + sound.trim_db)
        _place(out, _pan(mono, sound.pan), start)
        end = min(start + len(mono) / SAMPLE_RATE, duration)
        placed.append(Effect(name, float(start), float(end)))
    return out, placed


def make_me(
    duration: float, effects: Sequence[tuple[str, float]] = DEFAULT_EFFECTS, seed: int = 3
) -> MeTrack:
    """Render the M&E stem for a clip of `duration` s, normalised to TARGET_LUFS."""
    n = round(duration * SAMPLE_RATE)
    if n < SAMPLE_RATE:
        raise ValueError(f"duration must be at least 1 s to measure loudness, got {duration}")
    spots, placed = _effects(seed, n, effects)
    bed = (
        _room_tone(_rng(seed, 0), n)
        + _murmur(_rng(seed, 1), n)
        + _clinks(_rng(seed, 2), n)
        + _music(_rng(seed, 3), n)
    )
    stem = bed + spots  # (N, 2)
    loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(stem)
    stem *= _db(TARGET_LUFS - loudness)
    peak = float(np.max(np.abs(stem)))
    ceiling = _db(PEAK_CEILING_DBFS - 0.1)  # a hair under, so rounding never lands on it
    if peak > ceiling:
        stem *= ceiling / peak
    return MeTrack(stem.astype(np.float32), SAMPLE_RATE, tuple(placed))


def mix(dialogue: np.ndarray, me: np.ndarray) -> np.ndarray:
    """(N,) mono dialogue + (N, 2) M&E -> (N, 2) float32; the shorter is padded with silence."""
    if dialogue.ndim != 1:
        raise ValueError(f"dialogue must be mono with shape (N,), got {dialogue.shape}")
    if me.ndim != 2 or me.shape[1] != 2:
        raise ValueError(f"M&E must be stereo with shape (N, 2), got {me.shape}")
    n = max(len(dialogue), len(me))
    out = np.zeros((n, 2), dtype=np.float64)
    out[: len(me)] += me
    out[: len(dialogue)] += dialogue[:, None]
    peak = float(np.max(np.abs(out))) if n else 0.0
    if peak > 1.0:
        raise ValueError(f"mix clips: peak {20 * np.log10(peak):+.2f} dBFS exceeds full scale")
    return out.astype(np.float32)
