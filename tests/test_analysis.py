"""Source analysis end to end on a generated talking clip: results, report, and the cache."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml

from localize import media
from localize.analysis import analyze
from localize.analysis_report import write_report
from localize.cache import ArtefactStore
from localize.ingest import check_job
from localize.mix import resample
from localize.phonemes import synthesize
from localize.spec import load_job
from samples.gen_face import ActorRenderer

pytestmark = pytest.mark.slow
RATE = 48000
SECONDS = 5.0
LINES = [("L1", "Good morning, everyone.", 0.4), ("L2", "Coffee is ready now.", 2.6)]


@pytest.fixture(scope="module")
def talking_job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 s 640x360 clip of the sample actor saying two lines, with stems and a job file."""
    folder = tmp_path_factory.mktemp("talking")
    dialogue = np.zeros(round(SECONDS * RATE), np.float32)
    phonemes, script = [], []
    for line_id, text, start in LINES:
        speech = synthesize(text, "en-US", rate=0.9, voice_variant="f4").trimmed()
        audio = resample(speech.samples, speech.sample_rate, RATE) * 0.5
        a = round(start * RATE)
        dialogue[a : a + len(audio)] = audio
        phonemes += [
            (p.ipa, start + p.start, start + p.start + p.duration) for p in speech.phonemes.phonemes
        ]
        script.append(
            {
                "id": line_id,
                "speaker": "Ava",
                "text": text,
                "start": start,
                "end": round(start + speech.duration + 0.2, 2),
            }
        )
    me = (0.01 * np.random.default_rng(0).standard_normal((len(dialogue), 2))).astype(np.float32)
    media.write_audio(folder / "dialogue.wav", dialogue, RATE)
    media.write_audio(folder / "me.wav", me, RATE)
    media.write_audio(folder / "mix.wav", me + dialogue[:, None], RATE)
    renderer = ActorRenderer(width=640, height=360)
    with media.FrameWriter(
        folder / "clip.mp4", 640, 360, Fraction(25), preset="ultrafast", audio=folder / "mix.wav"
    ) as writer:
        for frames, _ in renderer.render(phonemes, round(SECONDS * 25)):
            writer.write(frames)
    job = {
        "source": {"video": "clip.mp4", "stems": {"dialogue": "dialogue.wav", "me": "me.wav"}},
        "speakers": [{"name": "Ava", "consent_record_id": "CR-1"}],
        "script": script,
        "markets": [{"lang": "de-DE"}],
        "translations": {"files": {}},
    }
    (folder / "job.yaml").write_text(yaml.safe_dump(job))
    return folder / "job.yaml"


def test_analysis_finds_lines_speaker_and_face_then_comes_from_the_cache(
    talking_job: Path, tmp_path: Path
) -> None:
    checked = check_job(load_job(talking_job), [])
    store = ArtefactStore(tmp_path / "cache")
    first = analyze(checked, store)
    assert first.cached == {"align": False, "speakers": False, "faces": False}
    analysis = first.analysis
    for line, (_, _, start) in zip(analysis.alignment.lines, LINES, strict=True):
        assert abs(line.start - start) < 0.1
        assert line.words and line.phonemes
    assert [v.speaker for v in analysis.speakers.voices] == ["Ava"]
    assert analysis.faces is not None and analysis.faces.coverage() >= 0.98
    assert analysis.track_speakers == {analysis.faces.tracks[0].track_id: "Ava"}
    second = analyze(checked, store)
    assert second.cached == {"align": True, "speakers": True, "faces": True}
    assert second.analysis.alignment == analysis.alignment
    written = write_report(second, checked.source.video.path, tmp_path / "report", "clip")
    assert [p.name for p in written] == ["summary.txt", "turns.rttm", "contact_sheet.png"]
    assert "L2" in (tmp_path / "report" / "summary.txt").read_text()
    assert (tmp_path / "report" / "turns.rttm").read_text().startswith("SPEAKER clip 1 ")
