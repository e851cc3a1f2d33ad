"""Speaker turns and voice references on the real recordings in ../shared/media, when present."""

from __future__ import annotations

import itertools
import json
import time
import warnings
from pathlib import Path

import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from localize import media, speakers
from localize.diarize import SAMPLE_RATE, embed_utterance

MEDIA = Path(__file__).resolve().parent.parent.parent / "shared" / "media" / "speech"
COLLAR = 0.25  # seconds forgiven around each reference boundary (the usual DER collar)


def der(reference: Annotation, hypothesis: Annotation) -> float:
    with warnings.catch_warnings():  # no UEM: scored over the union of both, which is intended
        warnings.simplefilter("ignore")
        return float(DiarizationErrorRate(collar=COLLAR)(reference, hypothesis))


def word_turns(words: list[dict], speech: tuple[tuple[float, float], ...]) -> Annotation:
    """Reference turns from speaker-tagged words that carry no times (approximate).

    Words are spread over the detected speech in proportion to their length; each change of
    speaker tag is then moved to the nearest pause between speech spans, where turns change.
    """
    weights = np.array([len(w["word"]) + 1 for w in words], dtype=float)
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum()  # (n_words + 1,)
    spans = np.array(speech)  # (S, 2)
    cum = np.concatenate([[0.0], np.cumsum(spans[:, 1] - spans[:, 0])])  # speech time at spans
    pauses = spans[:-1, 1]  # a turn may end at the end of any span but the last
    tags = [f"speaker{w['speaker_tag']}" for w in words]
    changes = [i for i in range(1, len(words)) if tags[i] != tags[i - 1]]
    bounds = [float(spans[0, 0])]
    for i in changes:
        x = edges[i] * cum[-1]
        k = min(int(np.searchsorted(cum, x, side="right")) - 1, len(spans) - 1)
        at = spans[k, 0] + x - cum[k]
        bounds.append(float(pauses[np.argmin(np.abs(pauses - at))]) if len(pauses) else at)
    bounds.append(float(spans[-1, 1]))
    reference = Annotation()
    turn_tags = [tags[0]] + [tags[i] for i in changes]
    for (lo, hi), tag in zip(itertools.pairwise(bounds), turn_tags, strict=True):
        for start, end in speech:
            a, b = max(start, lo), min(end, hi)
            if b > a:
                reference[Segment(a, b), len(reference)] = tag
    return reference


def timed_turns(audio: np.ndarray, n_speakers: int | None) -> tuple[speakers.SpeakerTurns, float]:
    start = time.perf_counter()
    turns = speakers.speaker_turns(audio, SAMPLE_RATE, n_speakers=n_speakers)
    return turns, time.perf_counter() - start


def report_turns(name: str, audio: np.ndarray, reference: Annotation, n_true: int) -> None:
    seconds = len(audio) / SAMPLE_RATE
    for n in (None, n_true):
        turns, spent = timed_turns(audio, n)
        given = "estimated" if n is None else "given"
        print(
            f"{name}: speakers {given}: found {len(turns.speakers)} (true {n_true}), "
            f"DER {der(reference, turns.annotation):.1%} (collar {COLLAR} s), "
            f"{spent / seconds:.3f} s compute per s of audio"
        )
        for finding in speakers.check_speaker_count(turns, n_true):
            print(f"  finding: {finding}")


def report_voices(name: str, audio: np.ndarray, reference: Annotation) -> None:
    script = [(seg.start, seg.end, str(lab)) for seg, _, lab in reference.itertracks(True)]
    turns = speakers.speaker_turns(audio, SAMPLE_RATE, script_turns=script)
    refs = {  # half of each speaker's speech (at most 5 s), the other half to compare against
        s: speakers.voice_reference(
            audio, SAMPLE_RATE, turns, s, min(5.0, turns.annotation.label_duration(s) / 2)
        )
        for s in turns.speakers
    }
    own: dict[str, np.ndarray] = {}
    for speaker, ref in refs.items():
        rest = turns.annotation.label_timeline(speaker).extrude(
            _timeline(ref.segments, reference.uri)
        )
        clip = [audio[round(s.start * SAMPLE_RATE) : round(s.end * SAMPLE_RATE)] for s in rest]
        own[speaker] = embed_utterance(np.concatenate(clip))
    for speaker, ref in refs.items():
        others = ", ".join(
            f"vs {o} {float(ref.embedding @ own[o]):.3f}" for o in refs if o != speaker
        )
        print(
            f"{name}: voice reference {speaker}: {ref.duration:.1f} s in {len(ref.segments)} "
            f"stretches; cosine vs own other turns {float(ref.embedding @ own[speaker]):.3f}, "
            f"{others}"
        )


def report_single(name: str, audio: np.ndarray) -> None:
    """The estimated count on a recording of one speaker (must be 1)."""
    turns, spent = timed_turns(audio, None)
    print(
        f"{name}: one speaker, speakers estimated: found {len(turns.speakers)} (true 1), "
        f"{spent / (len(audio) / SAMPLE_RATE):.3f} s compute per s of audio"
    )


def one_speaker(audio: np.ndarray, reference: Annotation, speaker: str) -> np.ndarray:
    """That speaker's reference turns alone, joined by 0.5 s of silence."""
    pause = np.zeros(SAMPLE_RATE // 2, dtype=np.float32)
    pieces = []
    for seg in reference.label_timeline(speaker).support():
        pieces += [audio[round(seg.start * SAMPLE_RATE) : round(seg.end * SAMPLE_RATE)], pause]
    return np.concatenate(pieces)


def _timeline(spans: tuple[tuple[float, float], ...], uri: str | None) -> Timeline:
    return Timeline([Segment(a, b) for a, b in spans], uri=uri)


def main() -> None:
    if not MEDIA.is_dir():
        print("skipped: no evaluation media")
        return
    start = time.perf_counter()
    speakers.speech_activity(np.zeros(SAMPLE_RATE, dtype=np.float32))
    embed_utterance(np.zeros(SAMPLE_RATE, dtype=np.float32))
    print(f"model load (silero-vad + Resemblyzer): {time.perf_counter() - start:.2f} s")

    sample = media.read_audio(MEDIA / "pyannote_sample.wav", SAMPLE_RATE)
    rttm = speakers.read_rttm((MEDIA / "pyannote_sample.rttm").read_text())
    reference = next(iter(rttm.values()))
    report_turns("pyannote_sample", sample, reference, len(reference.labels()))
    report_voices("pyannote_sample", sample, reference)
    for speaker in reference.labels():  # each voice alone must not be split in two
        report_single(f"pyannote_sample {speaker} alone", one_speaker(sample, reference, speaker))

    leopard = media.read_audio(MEDIA / "leopard_diarization_test.wav", SAMPLE_RATE)
    data = json.loads((MEDIA / "leopard_test_data.json").read_text())
    words = data["tests"]["diarization_tests"][0]["words"]
    reference = word_turns(words, speakers.speech_activity(leopard))
    reference.uri = "leopard"
    print(
        "leopard_diarization_test: reference turns from word speaker tags (the data has no word "
        "times: words spread over detected speech by length, changes moved to the nearest pause):"
    )
    for seg, _, label in reference.itertracks(yield_label=True):
        print(f"  {seg.start:6.2f}-{seg.end:6.2f} s {label}")
    report_turns("leopard_diarization_test", leopard, reference, len(reference.labels()))
    report_voices("leopard_diarization_test", leopard, reference)

    for path in sorted(MEDIA.glob("leopard_test_*.wav")):
        if path.stem != "leopard_test_ja":  # the same set as the alignment evaluation
            report_single(path.stem, media.read_audio(path, SAMPLE_RATE))


if __name__ == "__main__":
    main()
