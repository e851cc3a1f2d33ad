"""Speakers of the source clip: speech activity, speaker turns, voice references, embeddings."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from pyannote.core import Annotation, Segment
from scipy.signal import resample_poly

from localize.diarize import (
    BACKENDS,
    FRAME_RATE,
    MEL_HOP,
    SAMPLE_RATE,
    DiarizationBackend,
    SpeakerError,
    TurnOptions,
    embed_utterance,
    get_backend,
    spans_from_mask,
    speech_frames,
)

Span = tuple[float, float]  # (start, end) in seconds
VAD_CHUNK = 512  # samples per silero-vad decision at 16 kHz (32 ms)

__all__ = [
    "BACKENDS",
    "DiarizationBackend",
    "SpeakerError",
    "SpeakerTurns",
    "TurnOptions",
    "VadOptions",
    "VoiceRef",
    "check_speaker_count",
    "read_rttm",
    "speaker_turns",
    "speech_activity",
    "voice_reference",
]


@dataclass(frozen=True)
class VadOptions:
    """silero-vad settings; times in seconds."""

    threshold: float = 0.5  # speech probability for a 32 ms chunk to count (silero's default)
    min_speech: float = 0.25  # shorter bursts are clicks or breaths, not speech
    min_silence: float = 0.1  # shorter gaps inside speech are kept as speech (stop closures)
    pad: float = 0.03  # silero's edge padding, so word onsets are not clipped
    # silero releases speech ~0.1 s late; edges are pulled in to the last 10 ms frame within this
    # many dB of the span's loudest frame (never widened). None keeps silero's edges.
    trim_db: float | None = 40.0


@dataclass(frozen=True)
class SpeakerTurns:
    """Who speaks when: a pyannote Annotation of turns labelled by speaker name."""

    annotation: Annotation  # one track per turn; labels are speaker names
    speech: tuple[Span, ...]  # speech activity the turns were found in
    duration: float  # seconds of audio analysed
    source: str  # "script" when the turns came from script labels, else the backend's name

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted(str(label) for label in self.annotation.labels()))

    def turns_of(self, speaker: str) -> tuple[Span, ...]:
        """The turns of one speaker, in time order."""
        timeline = self.annotation.label_timeline(speaker)
        return tuple((seg.start, seg.end) for seg in timeline)

    def to_rttm(self, uri: str) -> str:
        """The turns as RTTM lines (one per turn, times to the millisecond)."""
        return annotation_to_rttm(self.annotation, uri)


def annotation_to_rttm(annotation: Annotation, uri: str) -> str:
    """RTTM lines of a labelled annotation (one per track, times to the millisecond)."""
    if not uri or any(ch.isspace() for ch in uri):
        raise SpeakerError(f"RTTM uri must be a non-empty word without spaces, got {uri!r}")
    lines = [
        f"SPEAKER {uri} 1 {seg.start:.3f} {seg.duration:.3f} <NA> <NA> {label} <NA> <NA>"
        for seg, _, label in annotation.itertracks(yield_label=True)
    ]
    return "".join(line + "\n" for line in lines)


@dataclass(frozen=True)
class VoiceRef:
    """A speaker's cleanest stretches of speech and the Resemblyzer embedding of them."""

    speaker: str
    segments: tuple[Span, ...]  # in time order
    embedding: np.ndarray = field(repr=False)  # (256,) float32, L2-normalised
    duration: float  # seconds of speech in `segments`


def read_rttm(text: str) -> dict[str, Annotation]:
    """Parse RTTM text into one Annotation per file uri."""
    out: dict[str, Annotation] = {}
    for number, line in enumerate(text.splitlines(), 1):
        parts = line.split()
        if not parts or parts[0] != "SPEAKER":
            continue
        if len(parts) < 8:
            raise SpeakerError(f"RTTM line {number}: expected 10 fields, got {len(parts)}")
        uri, start, length, label = parts[1], float(parts[3]), float(parts[4]), parts[7]
        annotation = out.setdefault(uri, Annotation(uri=uri))
        annotation[Segment(start, start + length), len(annotation)] = label
    return out


@functools.cache
def _vad_model() -> Any:
    threads = torch.get_num_threads()
    import silero_vad  # sets torch to one thread on import: restore it below

    torch.set_num_threads(threads)
    with warnings.catch_warnings():  # its loader's deprecation notices are not the user's concern
        warnings.simplefilter("ignore", DeprecationWarning)
        return silero_vad.load_silero_vad()


def to_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N,) mono audio resampled to 16 kHz float32."""
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise SpeakerError(f"audio must be mono, shape (N,), got shape {samples.shape}")
    if sample_rate == SAMPLE_RATE:
        return samples
    divisor = np.gcd(int(sample_rate), SAMPLE_RATE)
    up, down = SAMPLE_RATE // divisor, int(sample_rate) // divisor
    return resample_poly(samples, up, down).astype(np.float32)


def speech_probabilities(audio: np.ndarray) -> np.ndarray:
    """(N,) audio at 16 kHz -> (ceil(N / 512),) silero speech probability per 32 ms chunk."""
    model = _vad_model()
    model.reset_states()
    n_chunks = -(-len(audio) // VAD_CHUNK)
    padded = np.zeros(n_chunks * VAD_CHUNK, dtype=np.float32)
    padded[: len(audio)] = audio
    chunks = torch.from_numpy(padded).reshape(n_chunks, VAD_CHUNK)  # (n_chunks, 512)
    with torch.inference_mode():
        probs = [float(model(chunk, SAMPLE_RATE)) for chunk in chunks]
    return np.asarray(probs, dtype=np.float32)


def speech_activity(audio: np.ndarray, opts: VadOptions = VadOptions()) -> tuple[Span, ...]:
    """(N,) mono audio at 16 kHz -> speech spans in seconds (empty for silence)."""
    audio = to_16k(audio, SAMPLE_RATE)
    spans = _spans_from_probs(speech_probabilities(audio), len(audio), opts)
    return spans if opts.trim_db is None else _trim_edges(audio, spans, opts.trim_db, opts.pad)


def _trim_edges(
    audio: np.ndarray, spans: Sequence[Span], trim_db: float, pad: float
) -> tuple[Span, ...]:
    """Pull each span's edges in to its frames within ``trim_db`` of its loudest (plus ``pad``)."""
    n_frames = -(-len(audio) * FRAME_RATE // SAMPLE_RATE)
    level = _frame_db(audio, n_frames)  # (T,)
    out = []
    for start, end in spans:
        a, b = int(start * FRAME_RATE), min(-(-int(end * SAMPLE_RATE) // MEL_HOP), n_frames)
        loud = np.flatnonzero(level[a:b] >= level[a:b].max() - trim_db) if b > a else np.array([])
        if len(loud) == 0:
            out.append((start, end))
            continue
        first, last = (a + loud[0]) / FRAME_RATE, (a + loud[-1] + 1) / FRAME_RATE
        out.append((max(start, first - pad), min(end, last + pad)))
    return tuple(out)


def _spans_from_probs(probs: np.ndarray, n_samples: int, opts: VadOptions) -> tuple[Span, ...]:
    import silero_vad

    stamps = silero_vad.get_speech_timestamps_from_probs(
        probs.tolist(),
        sampling_rate=SAMPLE_RATE,
        threshold=opts.threshold,
        min_speech_duration_ms=round(opts.min_speech * 1000),
        min_silence_duration_ms=round(opts.min_silence * 1000),
        speech_pad_ms=round(opts.pad * 1000),
        audio_length_samples=n_samples,
    )
    return tuple((s["start"] / SAMPLE_RATE, s["end"] / SAMPLE_RATE) for s in stamps)


def speaker_turns(
    audio: np.ndarray,
    sample_rate: int,
    script_turns: Sequence[tuple[float, float, str]] | None = None,
    n_speakers: int | None = None,
    backend: str = "embedding",
    opts: TurnOptions | None = None,
    vad: VadOptions = VadOptions(),
) -> SpeakerTurns:
    """Speaker turns of (N,) mono audio: from script labels when given, else by diarization.

    ``script_turns`` are (start, end, speaker) lines of the approved script; their turns are the
    lines intersected with speech activity (a line with no detected speech keeps its own span).
    """
    if n_speakers is not None and n_speakers < 1:
        raise SpeakerError(f"n_speakers must be >= 1 or None (estimate), got {n_speakers}")
    diarizer = None if script_turns is not None else get_backend(backend, opts or TurnOptions())
    samples = to_16k(audio, sample_rate)
    duration = len(samples) / SAMPLE_RATE
    speech = speech_activity(samples, vad)
    if not speech:
        raise SpeakerError(f"no speech found in {duration:.2f} s of audio (silence only?)")
    if diarizer is None:
        assert script_turns is not None
        return SpeakerTurns(_script_annotation(script_turns, speech), speech, duration, "script")
    annotation = diarizer.diarize(samples, speech, n_speakers)
    return SpeakerTurns(annotation, speech, duration, backend)


def _script_annotation(
    lines: Sequence[tuple[float, float, str]], speech: Sequence[Span]
) -> Annotation:
    annotation = Annotation()
    for index, (start, end, speaker) in enumerate(lines):
        if not end > start:
            raise SpeakerError(f"script line {index}: end {end} must be after start {start}")
        pieces = [(max(start, a), min(end, b)) for a, b in speech if a < end and b > start]
        for a, b in pieces or [(start, end)]:
            annotation[Segment(a, b), len(annotation)] = str(speaker)
    return annotation


def check_speaker_count(turns: SpeakerTurns, expected: int) -> list[str]:
    """Findings when the audio holds a different number of speakers than the script names."""
    found = turns.speakers
    if len(found) == expected:
        return []
    ranked = sorted(found, key=lambda s: -turns.annotation.label_duration(s))
    where = "; ".join(
        f"{s} at " + ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in turns.turns_of(s)) for s in ranked
    )
    return [f"found {len(found)} speakers where the script has {expected}: {where}"]


def voice_reference(
    audio: np.ndarray,
    sample_rate: int,
    turns: SpeakerTurns,
    speaker: str,
    seconds: float = 8.0,
    music: np.ndarray | None = None,
) -> VoiceRef:
    """The cleanest ``seconds`` of one speaker and their Resemblyzer embedding.

    Clean means: inside the speaker's turns and speech activity, away from other speakers' turns,
    with high speech probability and, when the M&E stem ``music`` ((N,) or (N, C) at
    ``sample_rate``) is given, away from its loud passages. A speaker with less clean speech than
    ``seconds`` gets all of it: check ``duration``.
    """
    if speaker not in turns.speakers:
        raise SpeakerError(f"no speaker {speaker!r}; the turns name {', '.join(turns.speakers)}")
    samples = to_16k(audio, sample_rate)
    n_frames = -(-len(samples) * FRAME_RATE // SAMPLE_RATE)
    mask = speech_frames(turns.turns_of(speaker), n_frames) & speech_frames(turns.speech, n_frames)
    others = [s for s in turns.speakers if s != speaker]
    for other in others:
        guard = [(a - 0.1, b + 0.1) for a, b in turns.turns_of(other)]  # 100 ms from any overlap
        mask &= ~speech_frames(guard, n_frames)
    score = _frame_cleanliness(samples, n_frames, music, sample_rate)
    stretches = [span for span in spans_from_mask(mask) if span[1] - span[0] >= 0.3]
    if not stretches:
        raise SpeakerError(f"speaker {speaker!r} has no speech free of other speakers")
    ranked = sorted(stretches, key=lambda s: -_stretch_score(score, s))
    chosen: list[Span] = []
    total = 0.0
    for start, end in ranked:
        end = min(end, start + seconds - total)
        chosen.append((round(start, 3), round(end, 3)))
        total += end - start
        if total >= seconds - 1e-6:
            break
    chosen.sort()
    clip = np.concatenate(
        [samples[round(a * SAMPLE_RATE) : round(b * SAMPLE_RATE)] for a, b in chosen]
    )
    return VoiceRef(speaker, tuple(chosen), embed_utterance(clip), round(total, 3))


def _frame_cleanliness(
    samples: np.ndarray, n_frames: int, music: np.ndarray | None, sample_rate: int
) -> np.ndarray:
    """(T,) per-frame score: speech probability, less where the M&E stem is loud vs dialogue."""
    probs = speech_probabilities(samples)
    frame_chunk = np.minimum(
        (np.arange(n_frames) * SAMPLE_RATE / FRAME_RATE // VAD_CHUNK).astype(int), len(probs) - 1
    )
    score = probs[frame_chunk]
    if music is not None:
        bed = to_16k(
            np.asarray(music, dtype=np.float32).reshape(len(music), -1).mean(axis=1), sample_rate
        )
        bed_db = _frame_db(bed, n_frames)
        speech_db = _frame_db(samples, n_frames)
        # Each dB the bed comes within 20 dB of the dialogue costs 1/20 of a point, so a frame
        # where the bed is as loud as the dialogue scores below any frame of clean speech.
        score = score - np.clip(bed_db - (speech_db - 20.0), 0.0, None) / 20.0
    return score


def _frame_db(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """(N,) at 16 kHz -> (T,) level of each 10 ms frame in dB."""
    padded = np.zeros(n_frames * MEL_HOP, dtype=np.float32)
    padded[: min(len(samples), len(padded))] = samples[: len(padded)]
    power = (padded.reshape(n_frames, MEL_HOP) ** 2).mean(axis=1)  # (T,)
    return 10 * np.log10(power + 1e-10)


def _stretch_score(score: np.ndarray, span: Span) -> float:
    a, b = round(span[0] * FRAME_RATE), round(span[1] * FRAME_RATE)
    # Mean cleanliness, with a small bonus for length: a long clean stretch beats crumbs.
    return float(score[a:b].mean()) + 0.02 * min(span[1] - span[0], 5.0)
