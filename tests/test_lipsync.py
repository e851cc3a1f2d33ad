"""Lip-sync and external-voice rendering end to end: a generated talking clip, a tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
import yaml

from localize import media
from localize.analysis import analyze
from localize.cache import ArtefactStore
from localize.cast import Cast, prepare_cast
from localize.cli import main
from localize.deliver import FileHasher, sha256_file
from localize.ingest import check_job
from localize.patches import PatchBox, union_box
from localize.pipeline import RunContext, render_language
from localize.spec import load_job
from localize.subtitles import read_srt
from tests.conftest import QUICK, TINY, write_talking_job

pytestmark = pytest.mark.slow
LINES = [
    ("L1", "Good morning, everyone.", 0.3),
    ("L2", "Coffee is ready now, come and get it.", 2.2),
    ("L3", "The kettle is singing in the kitchen.", 5.0),
    ("L4", "Brightwell makes every morning better.", 7.8),
]
GERMAN = {
    "L1": "Guten Morgen, alle zusammen.",
    "L2": "Der Kaffee ist fertig, kommt und holt ihn.",
    "L3": "Der Kessel singt in der Küche.",
    "L4": "Brightwell macht jeden Morgen besser.",
}


@pytest.fixture(scope="module")
def job_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lipsync")
    path = write_talking_job(folder, LINES, 11.0)
    data = yaml.safe_load(path.read_text())
    (folder / "de-DE.yaml").write_text(yaml.safe_dump({"language": "de-DE", "lines": GERMAN}))
    english = {line_id: text for line_id, text, _ in LINES}
    (folder / "en-GB.yaml").write_text(yaml.safe_dump({"language": "en-GB", "lines": english}))
    data |= {
        "mode": "lipsync",
        "markets": [{"lang": "de-DE", "loudness": "ebu-r128-s1"}, {"lang": "en-GB"}],
        "translations": {"files": {"de-DE": "de-DE.yaml", "en-GB": "en-GB.yaml"}},
        # A "voice talent" recording for en-GB: the clip's own dialogue stem, as delivered.
        "external_voice": {"en-GB": "dialogue.wav"},
        "output": {"folder": "out", "preset": "ultrafast"},
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ArtefactStore:
    """One store for the module: the clip is analysed and its tiny actor fitted once."""
    return ArtefactStore(tmp_path_factory.mktemp("store"))


def _render(job_path: Path, lang: str, mode: str, store: ArtefactStore) -> tuple[Path, Cast]:
    job = load_job(job_path).model_copy(update={"mode": mode})
    checked = check_job(job, [lang])
    analysis = analyze(checked, store).analysis
    cast = prepare_cast(checked, analysis, QUICK, store, cfg=TINY)
    result = render_language(checked, lang, FileHasher(), True, None, RunContext(analysis, cast))
    return result.folder, cast


def _mouth_change(master: Path, source: Path, box: PatchBox) -> np.ndarray:
    """(F,) mean abs difference between master and source inside `box`."""
    x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
    out = np.concatenate(list(media.iter_frames(master)))[:, y0:y1, x0:x1].astype(int)
    src = np.concatenate(list(media.iter_frames(source)))[:, y0:y1, x0:x1].astype(int)
    return np.abs(out - src).mean(axis=(1, 2, 3))


def test_lipsync_market_delivers_everything(job_path: Path, store: ArtefactStore) -> None:
    folder, cast = _render(job_path, "de-DE", "lipsync", store)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "dialogue.wav", "manifest.json", "master.mp4", "me.wav",
        "subtitles.srt", "subtitles.vtt", "timeline.otio",
    ]  # fmt: skip
    source = job_path.parent / "clip.mp4"
    src, out = media.probe(source).video, media.probe(folder / "master.mp4").video
    assert src is not None and out is not None
    assert (out.width, out.height, out.frame_rate) == (src.width, src.height, src.frame_rate)
    assert out.n_frames == src.n_frames
    assert media.audio_sample_hash(folder / "me.wav") == media.audio_sample_hash(
        job_path.parent / "me.wav"
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    actor = manifest["actors"]["Ava"]
    checkpoints = list((store.root / "actors").iterdir())
    assert actor["sha256"] == sha256_file(checkpoints[0])
    assert manifest["ai_generated"] == {"speech": True, "picture": True}
    assert manifest["consent"] == {"Ava": "CR-1"}
    lines = manifest["lines"]
    assert [ln["id"] for ln in lines] == ["L1", "L2", "L3", "L4"]
    for line in lines:
        assert 0.85 - 1e-9 <= manifest["stretch"][line["id"]] <= 1.15 + 1e-9
        a, b = line["region"]
        assert a <= min(line["start"], line["slot_start"]) and b >= line["end"]
    assert set(manifest["sync"]["av_offset_ms"]) == {"L1", "L2", "L3", "L4"}
    # The dub's speech lies inside the regions, and is silent between them.
    voice = media.read_audio(folder / "dialogue.wav", sample_rate=16000, channels=1)
    spans = [ln["region"] for ln in lines]
    between = np.ones(len(voice), bool)
    for a, b in spans:
        between[round(a * 16000) : round(b * 16000)] = False
    assert np.abs(voice[between]).max() < 1e-4 and np.abs(voice[~between]).max() > 0.01
    cues = read_srt(folder / "subtitles.srt")
    assert cues[0].text.startswith("Guten Morgen") and cues[0].start == pytest.approx(
        lines[0]["start"], abs=0.002
    )
    timeline = otio.adapters.read_from_file(str(folder / "timeline.otio"))
    assert [t.name for t in timeline.tracks] == ["Picture", "Dialogue", "M&E"]
    # The mouth is repainted inside the regions; elsewhere the picture is the source's.
    face = cast.faces["Ava"]
    box = union_box(face.matrices(np.arange(len(face.frames))), TINY.crop_size, cast.frame_shape)
    change = _mouth_change(folder / "master.mp4", source, box)
    fps = float(src.frame_rate)
    inside = np.zeros(len(change), bool)
    for a, b in spans:
        inside[int(np.ceil(a * fps)) : int(np.floor(b * fps)) + 1] = True
    assert change[inside].mean() > 2 * change[~inside].mean() + 1.0


def test_external_voice_uses_the_recording_as_delivered(
    job_path: Path, store: ArtefactStore
) -> None:
    folder, _ = _render(job_path, "en-GB", "external-voice", store)
    recording = media.read_audio(job_path.parent / "dialogue.wav", sample_rate=None, channels=1)
    delivered = media.read_audio(folder / "dialogue.wav", sample_rate=None, channels=1)
    assert len(delivered) == len(recording)
    assert np.abs(delivered - recording).max() < 1e-4
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["ai_generated"] == {"speech": False, "picture": True}
    found = {ln["id"]: ln for ln in manifest["lines"]}
    for line_id, _, start in LINES:  # the script aligned to the recording finds each line
        assert abs(found[line_id]["start"] - start) < 0.25, line_id


def test_run_refuses_to_clone_without_consent(
    job_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = yaml.safe_load(job_path.read_text())
    data["speakers"][0].pop("consent_record_id")
    data["output"]["folder"] = str(tmp_path / "out")
    bare = job_path.parent / "no-consent.yaml"
    bare.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["run", str(bare), "--lang", "de-DE"]) == 2
    err = capsys.readouterr().err
    assert "speakers.0.consent_record_id: 'Ava' has no consent record" in err
    assert "--no-consent-check" in err
    assert not (tmp_path / "out").exists()
