"""The sample actor's voice: espeak-ng speech given a human treatment through WORLD, then placed."""

from __future__ import annotations

import math
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy import ndimage, signal

from localize.lexicon import Lexicon
from localize.phonemes import Phoneme, synthesize

with warnings.catch_warnings():
    # pyworld imports pkg_resources; its deprecation notice is not ours to act on.
    warnings.simplefilter("ignore", UserWarning)
    import pyworld

SAMPLE_RATE = 48000
FRAME_PERIOD_MS = 5.0  # WORLD hop; fine enough that phoneme edges stay where espeak put them
FRAME_S = FRAME_PERIOD_MS / 1000
TARGET_LUFS = -23.0  # EBU R128 dialogue level
PEAK_CEILING_DBFS = -3.0  # headroom the mix relies on
F0_FLOOR_HZ, F0_CEIL_HZ = 60.0, 400.0  # an adult voice, wide enough for accents on either base


@dataclass(frozen=True)
class ActorVoice:
    """How espeak-ng's voice is turned into the actor's; every figure is a measurable difference."""

    lang: str = "en-US"  # the actor reads the English master
    espeak_variant: str | None = None  # espeak's default adult male is the least buzzy base
    rate: float = 0.95  # an unhurried ad read, a little slower than espeak's default
    f0_mean_hz: float = 124.0  # median F0: a light baritone, ~4 semitones above espeak's ~99 Hz
    f0_range_semitones: float = 9.0  # 5-95th percentile span before drift and jitter
    declination: float = 1.0  # weight of the fall across each phrase, relative to the accents
    accent: float = 1.6  # weight of the rises on stressed syllables
    final_fall: float = 0.8  # weight of the soft fall that closes each line
    microprosody: float = 0.25  # share of espeak's segmental F0 wiggles kept; 0 sounds too smooth
    drift_semitones: float = 0.35  # slow wander of the voice's pitch (std), below the accents
    jitter_semitones: float = (
        0.06  # frame-to-frame F0 noise (std): perfect periodicity is synthetic
    )
    formant_shift: float = 0.95  # envelope frequency scale: 0.95 = 5 % lower formants
    tilt_db_per_octave: float = -1.5  # softer highs above 1 kHz than espeak's bright pulse source
    warmth_db: float = 3.0  # low-mid body around 250 Hz, the chest a small synthesizer lacks
    breathiness: float = 0.3  # extra aperiodicity, mostly above 3 kHz: air on the voice
    shimmer_db: float = 0.4  # frame-to-frame amplitude noise (std) on voiced frames
    rt60_s: float = 0.3  # a small furnished room
    room_wet_db: float = -15.0  # reflections' energy relative to the direct sound: mostly dry
    seed: int = 11  # every random choice above is drawn from this, so the sample is reproducible


DEFAULT_VOICE = ActorVoice()


@dataclass(frozen=True)
class PlacedPhoneme:
    """A synthesized phoneme on the clip timeline: ground truth for alignment tests."""

    ipa: str
    start: float  # seconds on the clip timeline
    end: float
    line_id: str
    word: int  # index of the word within its line, -1 for a pause
    is_pause: bool


@dataclass(frozen=True, eq=False)
class DialogueTrack:
    """The dialogue stem with the exact phoneme timings it was built from."""

    samples: np.ndarray  # (N,) float32, mono
    sample_rate: int
    phonemes: tuple[PlacedPhoneme, ...]  # on the clip timeline (seconds)
    lines: tuple[tuple[str, float, float], ...]  # (line_id, start, end) of each line's speech


def plain_line(
    text: str, voice: ActorVoice = DEFAULT_VOICE, lexicon: Lexicon | None = None, rate: float = 1.0
) -> tuple[np.ndarray, tuple[Phoneme, ...]]:
    """espeak-ng's own reading at 48 kHz, trimmed, (N,) float32: the baseline the actor beats."""
    speech = synthesize(
        text, voice.lang, lexicon, rate=rate * voice.rate, voice_variant=voice.espeak_variant
    ).trimmed()
    g = math.gcd(SAMPLE_RATE, speech.sample_rate)
    up, down = SAMPLE_RATE // g, speech.sample_rate // g  # 22050 Hz -> 48 kHz is 320 / 147
    x = signal.resample_poly(speech.samples.astype(np.float64), up, down)
    return x.astype(np.float32), tuple(speech.phonemes.phonemes)


def speak_line(
    text: str, voice: ActorVoice, lexicon: Lexicon | None = None, rate: float = 1.0
) -> tuple[np.ndarray, tuple[Phoneme, ...]]:
    """The actor reading ``text``: (N,) float32 at 48 kHz, trimmed, with phoneme times from 0."""
    plain, phonemes = plain_line(text, voice, lexicon, rate)
    # Per-line seed: lines differ from one another, yet each renders identically every time.
    return humanize(plain, phonemes, voice, line_seed=zlib.crc32(text.encode())), phonemes


def humanize(
    plain: np.ndarray, phonemes: Sequence[Phoneme], voice: ActorVoice, line_seed: int = 0
) -> np.ndarray:
    """espeak speech (N,) at 48 kHz turned into the actor's, (N,) float32, on the same timeline."""
    rng = np.random.default_rng([voice.seed, line_seed])
    x = plain.astype(np.float64)
    f0, times = pyworld.harvest(
        x, SAMPLE_RATE, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_PERIOD_MS
    )
    envelope = pyworld.cheaptrick(x, f0, times, SAMPLE_RATE)
    aperiodicity = pyworld.d4c(x, f0, times, SAMPLE_RATE)
    voiced = f0 > 0
    freqs = np.linspace(0.0, SAMPLE_RATE / 2, envelope.shape[1])
    y = pyworld.synthesize(
        _intonation(f0, phonemes, voice, rng),
        _shape_envelope(envelope, voiced, freqs, voice, rng),
        _breathe(aperiodicity, voiced, freqs, voice.breathiness),
        SAMPLE_RATE,
        FRAME_PERIOD_MS,
    )
    # WORLD renders on the analysis frame grid, so only the last partial frame can differ.
    y = np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)] * _silence_gate(x)
    return _normalise(_mic_eq(_room(y, voice, rng))).astype(np.float32)


def make_dialogue(
    lines: Sequence[tuple[str, str, float]],
    duration: float,
    voice: ActorVoice = DEFAULT_VOICE,
    lexicon: Lexicon | None = None,
) -> DialogueTrack:
    """The dialogue stem: each (line_id, text, start_s) spoken by the actor from ``start_s``."""
    n_samples = round(duration * SAMPLE_RATE)
    out = np.zeros(n_samples)
    ordered = sorted(lines, key=lambda line: line[2])
    spoken = [
        (line_id, start, *speak_line(text, voice, lexicon)) for line_id, text, start in ordered
    ]
    placed: list[PlacedPhoneme] = []
    spans: list[tuple[str, float, float]] = []
    for i, (line_id, start, audio, phonemes) in enumerate(spoken):
        if start < 0:
            raise ValueError(f"line {line_id!r}: start {start:.3f} s is before the clip starts")
        # Sample-exact placement keeps every phoneme boundary a pure shift of the synthesized one.
        offset = round(start * SAMPLE_RATE)
        t0, t1 = offset / SAMPLE_RATE, (offset + len(audio)) / SAMPLE_RATE
        if i + 1 < len(spoken) and t1 > spoken[i + 1][1]:
            next_id, next_start = spoken[i + 1][:2]
            raise ValueError(
                f"line {line_id!r} runs {t0:.3f}-{t1:.3f} s and overlaps line {next_id!r}, "
                f"which starts at {next_start:.3f} s"
            )
        if offset + len(audio) > n_samples:
            raise ValueError(
                f"line {line_id!r} runs {t0:.3f}-{t1:.3f} s, past the clip's end "
                f"at {duration:.3f} s"
            )
        out[offset : offset + len(audio)] = audio
        spans.append((line_id, t0, t1))
        placed.extend(
            PlacedPhoneme(
                p.ipa, t0 + p.start, t0 + p.start + p.duration, line_id, p.word, p.is_pause
            )
            for p in phonemes
        )
    return DialogueTrack(
        _normalise(out).astype(np.float32), SAMPLE_RATE, tuple(placed), tuple(spans)
    )


def measure_f0(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """F0 per 5 ms frame in Hz, 0 where unvoiced (WORLD harvest): the voice's measuring stick."""
    f0, _ = pyworld.harvest(
        samples.astype(np.float64),
        sample_rate,
        f0_floor=F0_FLOOR_HZ,
        f0_ceil=F0_CEIL_HZ,
        frame_period=FRAME_PERIOD_MS,
    )
    return np.asarray(f0)


def _intonation(
    f0: np.ndarray, phonemes: Sequence[Phoneme], voice: ActorVoice, rng: np.random.Generator
) -> np.ndarray:
    """A new F0 track on espeak's voicing: declination, accents, final fall, drift and jitter."""
    voiced = f0 > 0
    if not voiced.any():
        return f0
    t = np.arange(len(f0)) * FRAME_S
    spoken = [p for p in phonemes if not p.is_pause]
    line_end = spoken[-1].start + spoken[-1].duration if spoken else t[-1]
    contour = voice.declination * _declination(t, phonemes)
    contour += voice.accent * _accents(t, phonemes, rng)
    # The close of a statement: a smooth fall over its last 400 ms, steepest at the end.
    contour -= voice.final_fall * np.clip((t - (line_end - 0.4)) / 0.4, 0.0, 1.0) ** 2
    # espeak's local wiggles (consonant dips, vowel-intrinsic pitch) around its slow trend; the
    # trend runs over F0 bridged across unvoiced gaps, so voicing edges do not look like wiggles.
    idx = np.flatnonzero(voiced)
    semitones = np.interp(np.arange(len(f0)), idx, 12 * np.log2(f0[idx] / np.median(f0[idx])))
    trend = signal.savgol_filter(semitones, 31, 2) if len(f0) > 31 else semitones
    contour += voice.microprosody * np.where(voiced, np.clip(semitones - trend, -2, 2), 0.0)
    span = np.subtract(*np.percentile(contour[voiced], [95, 5]))
    contour = (contour - np.median(contour[voiced])) * (voice.f0_range_semitones / max(span, 1e-3))
    # Drift: noise low-passed to ~1.5 Hz (padded so the filter has room); jitter: white noise.
    lowpass = signal.butter(2, 1.5, fs=1 / FRAME_S, output="sos")
    drift = signal.sosfiltfilt(lowpass, rng.standard_normal(len(f0) + 200))[100:-100]
    drift *= voice.drift_semitones / max(float(drift.std()), 1e-9)
    contour += drift + voice.jitter_semitones * rng.standard_normal(len(f0))
    return np.where(voiced, voice.f0_mean_hz * 2.0 ** (contour / 12), 0.0)


def _phrases(phonemes: Sequence[Phoneme], min_pause_s: float = 0.12) -> list[tuple[float, float]]:
    """(start, end) of each stretch of speech between pauses long enough to take a breath."""
    phrases: list[tuple[float, float]] = []
    start: float | None = None
    end = 0.0
    for p in phonemes:
        if p.is_pause and p.duration >= min_pause_s:
            if start is not None:
                phrases.append((start, end))
            start = None
        elif not p.is_pause:
            start = p.start if start is None else start
            end = p.start + p.duration
    if start is not None:
        phrases.append((start, end))
    return phrases


def _declination(t: np.ndarray, phonemes: Sequence[Phoneme]) -> np.ndarray:
    """+0.5 falling to -0.5 across each phrase, reset at each breath."""
    out = np.zeros_like(t)
    for start, end in _phrases(phonemes):
        inside = (t >= start - 0.05) & (t <= end + 0.05)
        out[inside] = 0.5 - np.clip((t[inside] - start) / max(end - start, 1e-3), 0.0, 1.0)
    return out


def _accents(t: np.ndarray, phonemes: Sequence[Phoneme], rng: np.random.Generator) -> np.ndarray:
    """Smooth pitch peaks late in stressed vowels, weaker through each phrase, never identical."""
    stressed = [(p, 1.0 if "ˈ" in p.ipa else 0.5) for p in phonemes if "ˈ" in p.ipa or "ˌ" in p.ipa]
    if not stressed:
        # No stress marks: accent the longest sound of every other word instead.
        longest: dict[int, Phoneme] = {}
        for p in phonemes:
            if not p.is_pause and (p.word not in longest or p.duration > longest[p.word].duration):
                longest[p.word] = p
        stressed = [(p, 1.0) for w, p in sorted(longest.items()) if w % 2 == 0]
    out = np.zeros_like(t)
    for start, end in _phrases(phonemes):
        in_phrase = [(p, w) for p, w in stressed if start <= p.start < end]
        for k, (p, weight) in enumerate(in_phrase):
            # Peaks come ~60 % into the vowel (peak delay); later accents are downstepped.
            centre = p.start + 0.6 * p.duration
            width = max(0.5 * p.duration, 0.06)
            height = weight * 0.85**k * rng.uniform(0.75, 1.15)
            out += height * np.exp(-0.5 * ((t - centre) / width) ** 2)
    return out


def _shape_envelope(
    envelope: np.ndarray,
    voiced: np.ndarray,
    freqs: np.ndarray,
    voice: ActorVoice,
    rng: np.random.Generator,
) -> np.ndarray:
    """Warp formants, tilt and warm the spectrum, add shimmer: (T, K) power spectra in and out."""
    log_env = np.log(np.maximum(envelope, 1e-16))
    # Reading the envelope at f / shift moves every formant to shift * f.
    pos = np.clip(np.arange(len(freqs)) / voice.formant_shift, 0, len(freqs) - 1.001)
    lo = pos.astype(int)
    frac = pos - lo
    log_env = log_env[:, lo] * (1 - frac) + log_env[:, lo + 1] * frac
    gain_db = voice.tilt_db_per_octave * np.log2(np.maximum(freqs, 1000.0) / 1000.0)
    octaves_from_250 = np.log2(np.maximum(freqs, 20.0) / 250.0)
    gain_db += voice.warmth_db * np.exp(-0.5 * (octaves_from_250 / 0.8) ** 2)
    shimmer_db = np.where(voiced, voice.shimmer_db * rng.standard_normal(len(voiced)), 0.0)
    total_db = gain_db[None, :] + shimmer_db[:, None]  # (T, K)
    return np.exp(log_env + total_db * (np.log(10) / 10))


def _breathe(
    aperiodicity: np.ndarray, voiced: np.ndarray, freqs: np.ndarray, amount: float
) -> np.ndarray:
    """Pull voiced frames' aperiodicity towards noise, most above 3 kHz: air on the voice."""
    ramp = np.clip((freqs - 1000.0) / 3000.0, 0.0, 1.0)
    mix = amount * (0.2 + 0.8 * ramp * ramp * (3 - 2 * ramp))  # smoothstep from 1 to 4 kHz
    breathy = aperiodicity + (1.0 - aperiodicity) * mix[None, :]
    return np.where(voiced[:, None], breathy, aperiodicity)


def _silence_gate(x: np.ndarray, floor_db: float = -65.0) -> np.ndarray:
    """0 where espeak was silent, 1 where it spoke, with 5 ms ramps: WORLD's noise floor fills
    pauses with a hiss that espeak never made and a real booth would not pick up."""
    window = np.hanning(round(0.01 * SAMPLE_RATE))
    power = signal.oaconvolve(x**2, window / window.sum(), mode="same")
    level_db = 10 * np.log10(np.maximum(power, 1e-20) / max(float(power.max()), 1e-20))
    gate = np.clip((level_db - floor_db) / 10.0, 0.0, 1.0)
    ramp = np.hanning(round(0.005 * SAMPLE_RATE))
    return np.clip(signal.oaconvolve(gate, ramp / ramp.sum(), mode="same"), 0.0, 1.0)


def _room_response(voice: ActorVoice, rng: np.random.Generator) -> np.ndarray:
    """A small room's impulse response: direct sound, early reflections, a filtered noise tail."""
    n = round(1.2 * voice.rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    early = np.zeros(n)
    delays = rng.uniform(0.002, 0.025, size=6)
    early[(delays * SAMPLE_RATE).astype(int)] = rng.uniform(0.4, 1.0, 6) * rng.choice([-1, 1], 6)
    early = signal.sosfilt(signal.butter(1, 6000, fs=SAMPLE_RATE, output="sos"), early)
    # Highs die out faster than lows in a furnished room, so the tail darkens as it decays.
    decay = np.exp(-6.91 * t / voice.rt60_s)
    noise = rng.standard_normal((2, n))
    low = signal.sosfilt(signal.butter(2, 2500, fs=SAMPLE_RATE, output="sos"), noise[0])
    high = signal.sosfilt(
        signal.butter(2, 2500, "highpass", fs=SAMPLE_RATE, output="sos"), noise[1]
    )
    tail = (low * decay + 0.5 * high * decay**2) * np.clip((t - 0.008) / 0.012, 0.0, 1.0)
    wet = early / np.sqrt(np.sum(early**2)) + tail / np.sqrt(np.sum(tail**2))
    wet *= 10 ** (voice.room_wet_db / 20) / np.sqrt(np.sum(wet**2))
    wet[0] = 1.0  # the direct path arrives undelayed, so timing is untouched
    return wet


def _room(x: np.ndarray, voice: ActorVoice, rng: np.random.Generator) -> np.ndarray:
    """``x`` in the room, cut to its own length; the reverb fades out over the last 30 ms."""
    response = _room_response(voice, rng)
    out = signal.oaconvolve(x, response)[: len(x)]
    fade = np.clip((len(x) - np.arange(len(x))) / (0.03 * SAMPLE_RATE), 0.0, 1.0)
    return x + (out - x) * fade


def _mic_eq(x: np.ndarray) -> np.ndarray:
    """A voice mic's curve, zero-phase so nothing moves in time: low cut, presence lift."""
    low_cut = signal.butter(1, 90, "highpass", fs=SAMPLE_RATE, output="sos")
    presence = _peaking(3500.0, gain_db=1.0, q=0.9)  # filtfilt applies it twice: +2 dB
    return signal.sosfiltfilt(np.vstack([low_cut, presence]), x)


def _peaking(freq: float, gain_db: float, q: float) -> np.ndarray:
    """One peaking-EQ biquad as a (1, 6) second-order section (audio-EQ cookbook form)."""
    a = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * freq / SAMPLE_RATE
    alpha = np.sin(w0) / (2 * q)
    b = np.array([1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a])
    den = np.array([1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a])
    return np.concatenate([b, den])[None, :] / den[0]


def _normalise(x: np.ndarray) -> np.ndarray:
    """Speech at TARGET_LUFS (gated, so silence does not count), peaks held under the ceiling."""
    if not np.any(x):
        return x
    if len(x) >= 0.4 * SAMPLE_RATE:
        loudness = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(x)
    else:  # the gate needs 400 ms blocks; a shorter snippet is levelled by its RMS
        loudness = 10 * np.log10(np.mean(x**2))
    x = x * 10 ** ((TARGET_LUFS - loudness) / 20)
    # The rare peak above the ceiling is tucked under by a smooth 5 ms look-ahead gain rather
    # than turning the whole line down; the moving average of a running minimum over the same
    # width never exceeds the gain each sample needs.
    need = np.minimum(1.0, 10 ** (PEAK_CEILING_DBFS / 20) / np.maximum(np.abs(x), 1e-12))
    width = round(0.005 * SAMPLE_RATE)
    gain = ndimage.uniform_filter1d(ndimage.minimum_filter1d(need, width), width)
    return x * np.minimum(gain, need)
