"""Speech activity, speaker turns, RTTM and voice references on two synthetic espeak-ng voices."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate
from scipy.signal import resample_poly

from localize.diarize import distinct_voices
from localize.phonemes import synthesize
from localize.speakers import (
    BACKENDS,
    SpeakerError,
    SpeakerTurns,
    TurnOptions,
    check_speaker_count,
    read_rttm,
    speaker_turns,
    speech_activity,
    voice_reference,
)

RATE = 16000
GAP = 0.7  # seconds of silence between lines: a clear turn change
VOICES = {  # two clearly different speakers: a low slow male voice, a high quick female one
    "ann": {"voice_variant": "f4", "pitch": 85, "rate": 1.15},
    "bob": {"voice_variant": "m3", "pitch": 20, "rate": 0.9},
}
LINES = [
    ("bob", "The morning train leaves the station at seven sharp every day"),
    ("ann", "I never take that train because the coffee there is terrible"),
    ("bob", "Then you should bring your own flask and a good book to read"),
    ("ann", "That sounds like a wonderful plan for the long winter months"),
    ("bob", "We could meet at the platform and travel into the city together"),
    ("ann", "Only if you promise to stop talking about the weather all morning"),
]


@dataclass(frozen=True)
class Dialogue:
    audio: np.ndarray  # (N,) float32 at 16 kHz
    lines: list[tuple[float, float, str]]  # (start, end, speaker) of each spoken line


def _line_audio(text: str, speaker: str) -> np.ndarray:
    speech = synthesize(text, "en-US", **VOICES[speaker]).trimmed()  # type: ignore[arg-type]
    samples = resample_poly(speech.samples, 320, 441)  # 22050 Hz -> 16 kHz
    return (0.5 * samples / np.max(np.abs(samples))).astype(np.float32)


@pytest.fixture(scope="module")
def dialogue() -> Dialogue:
    rng = np.random.default_rng(0)
    pieces = [np.zeros(round(0.5 * RATE), dtype=np.float32)]
    lines = []
    at = 0.5
    for speaker, text in LINES:
        samples = _line_audio(text, speaker)
        lines.append((at, at + len(samples) / RATE, speaker))
        pieces += [samples, np.zeros(round(GAP * RATE), dtype=np.float32)]
        at += len(samples) / RATE + GAP
    audio = np.concatenate(pieces)
    audio += 1e-4 * rng.standard_normal(len(audio)).astype(np.float32)  # a faint room tone
    return Dialogue(audio, lines)


def _reference(lines: list[tuple[float, float, str]]) -> Annotation:
    reference = Annotation(uri="dialogue")
    for start, end, speaker in lines:
        reference[Segment(start, end), len(reference)] = speaker
    return reference


def _der(reference: Annotation, hypothesis: Annotation) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no UEM given: scored over both extents, as intended
        return float(DiarizationErrorRate(collar=0.25)(reference, hypothesis))


@pytest.fixture(scope="module")
def unlabelled(dialogue: Dialogue) -> SpeakerTurns:
    return speaker_turns(dialogue.audio, RATE)


def test_speech_activity_finds_each_line_within_100_ms(dialogue: Dialogue) -> None:
    spans = speech_activity(dialogue.audio)
    assert len(spans) >= len(dialogue.lines)
    for start, end, _ in dialogue.lines:
        inside = [(a, b) for a, b in spans if a < end and b > start]
        assert inside, f"no speech found in line {start:.2f}-{end:.2f} s"
        assert abs(inside[0][0] - start) <= 0.1
        assert abs(inside[-1][1] - end) <= 0.1
    silence = [(a, b) for a, b in spans if not any(a < e and b > s for s, e, _ in dialogue.lines)]
    assert not silence


def test_clustering_recovers_two_speakers(dialogue: Dialogue, unlabelled: SpeakerTurns) -> None:
    assert len(unlabelled.speakers) == 2
    assert unlabelled.source == "embedding"
    assert _der(_reference(dialogue.lines), unlabelled.annotation) <= 0.15
    assert check_speaker_count(unlabelled, 2) == []


def test_given_speaker_count(dialogue: Dialogue) -> None:
    turns = speaker_turns(dialogue.audio, RATE, n_speakers=2)
    assert len(turns.speakers) == 2
    assert _der(_reference(dialogue.lines), turns.annotation) <= 0.15


def test_resampled_input_gives_the_same_speakers(dialogue: Dialogue) -> None:
    audio_48k = resample_poly(dialogue.audio, 3, 1).astype(np.float32)
    turns = speaker_turns(audio_48k, 48000)
    assert _der(_reference(dialogue.lines), turns.annotation) <= 0.15


def test_script_labels_define_the_turns(dialogue: Dialogue) -> None:
    # Labels padded by 0.3 s into the silence: the turns follow the script, trimmed to speech.
    script = [(s - 0.3, e + 0.3, f"actor_{speaker}") for s, e, speaker in dialogue.lines]
    turns = speaker_turns(dialogue.audio, RATE, script_turns=script)
    assert turns.source == "script"
    assert turns.speakers == ("actor_ann", "actor_bob")
    reference = _reference([(s, e, f"actor_{k}") for s, e, k in dialogue.lines])
    assert _der(reference, turns.annotation) <= 0.02
    for seg, _, label in turns.annotation.itertracks(yield_label=True):
        line = next(x for x in script if x[0] <= seg.start and seg.end <= x[1])
        assert label == line[2]


def test_rttm_round_trip(unlabelled: SpeakerTurns) -> None:
    text = unlabelled.to_rttm("clip_01")
    lines = text.splitlines()
    assert len(lines) == len(list(unlabelled.annotation.itertracks()))
    assert all(line.split()[0] == "SPEAKER" and len(line.split()) == 10 for line in lines)
    parsed = read_rttm(text)["clip_01"]
    assert parsed.labels() == unlabelled.annotation.labels()
    for label in parsed.labels():
        ours, theirs = unlabelled.annotation.label_timeline(label), parsed.label_timeline(label)
        assert abs(ours.duration() - theirs.duration()) < 0.01
    with pytest.raises(SpeakerError, match="uri"):
        unlabelled.to_rttm("clip 01")


def test_voice_reference_is_one_speaker(dialogue: Dialogue) -> None:
    script = list(dialogue.lines)
    turns = speaker_turns(dialogue.audio, RATE, script_turns=script)
    refs = {s: voice_reference(dialogue.audio, RATE, turns, s, seconds=4.0) for s in ("ann", "bob")}
    for speaker, ref in refs.items():
        assert ref.speaker == speaker
        assert ref.embedding.shape == (256,) and ref.embedding.dtype == np.float32
        assert 3.0 <= ref.duration <= 4.0 + 1e-6
        assert abs(sum(b - a for a, b in ref.segments) - ref.duration) < 1e-6
        own = [(s, e) for s, e, k in script if k == speaker]
        for a, b in ref.segments:  # every stretch lies inside one of the speaker's own lines
            assert any(s - 0.05 <= a and b <= e + 0.05 for s, e in own)
    assert float(refs["ann"].embedding @ refs["bob"].embedding) < 0.9
    with pytest.raises(SpeakerError, match="carol"):
        voice_reference(dialogue.audio, RATE, turns, "carol")


def test_voice_reference_avoids_loud_music(dialogue: Dialogue) -> None:
    turns = speaker_turns(dialogue.audio, RATE, script_turns=list(dialogue.lines))
    start, end, _ = next(line for line in dialogue.lines if line[2] == "bob")
    music = np.zeros_like(dialogue.audio)
    t = np.arange(round(start * RATE), round(end * RATE))
    music[t] = 0.5 * np.sin(2 * np.pi * 220 * t / RATE)  # a loud chord under bob's first line
    ref = voice_reference(dialogue.audio, RATE, turns, "bob", seconds=3.0, music=music)
    assert all(b <= start or a >= end for a, b in ref.segments)


def test_speaker_count_finding_names_times(unlabelled: SpeakerTurns) -> None:
    findings = check_speaker_count(unlabelled, 1)
    assert len(findings) == 1
    assert "found 2 speakers where the script has 1" in findings[0]
    assert " s" in findings[0] and "SPEAKER_00 at" in findings[0]


def test_vad_keeps_torch_threads() -> None:
    # silero-vad sets one thread when first imported: only a fresh interpreter shows it.
    code = (
        "import numpy, torch; torch.set_num_threads(2); import localize.speakers as s; "
        "s.speech_activity(numpy.zeros(16000, 'float32')); print(torch.get_num_threads())"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2"]


def test_silence_raises() -> None:
    silence = np.zeros(3 * RATE, dtype=np.float32)
    assert speech_activity(silence) == ()
    with pytest.raises(SpeakerError, match="no speech"):
        speaker_turns(silence, RATE)


def test_backends(dialogue: Dialogue) -> None:
    assert set(BACKENDS) >= {"embedding", "pyannote"}
    with pytest.raises(SpeakerError, match=r"pyannote\.audio.*checkpoint"):
        speaker_turns(dialogue.audio, RATE, backend="pyannote")
    with pytest.raises(SpeakerError, match="unknown speaker backend"):
        speaker_turns(dialogue.audio, RATE, backend="nope", opts=TurnOptions())


def test_close_voices_need_enough_speech() -> None:
    opts = TurnOptions()
    close = np.array([[0.0, 0.12], [0.12, 0.0]])  # two similar voices, or halves of one
    assert distinct_voices(np.array([[0.0, 0.3], [0.3, 0.0]]), None, opts)  # far: always two
    assert not distinct_voices(close, None, opts)  # no durations: the distance alone decides
    assert distinct_voices(close, np.array([10.0, 15.0]), opts)  # ~10 s each: noise is small
    assert not distinct_voices(close, np.array([3.0, 3.0]), opts)  # 3 s each: within the noise
    assert not distinct_voices(close, np.array([2.0, 40.0]), opts)  # too little of one voice
    tiny = np.array([[0.0, 0.08], [0.08, 0.0]])  # below the floor: one voice however long
    assert not distinct_voices(tiny, np.array([60.0, 60.0]), opts)
