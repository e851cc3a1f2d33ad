"""End to end: a generated 3 s job rendered in voice-over mode into two markets."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile

from localize import media
from localize.cli import main
from localize.deliver import sha256_file
from localize.errors import MediaError
from localize.ingest import check_job
from localize.pipeline import run_job
from localize.spec import load_job

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rendered(clip_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs the CLI once for the module; returns the output folder."""
    import yaml

    from tests.conftest import LINES, TRANSLATIONS

    folder = tmp_path_factory.mktemp("job")
    files = {}
    for lang, lines in TRANSLATIONS.items():
        (folder / f"{lang}.yaml").write_text(yaml.safe_dump({"lines": lines}, allow_unicode=True))
        files[lang] = f"{lang}.yaml"
    job = {
        "mode": "voice-over",
        "source": {
            "video": str(clip_dir / "clip.mp4"),
            "stems": {"dialogue": str(clip_dir / "dialogue.wav"), "me": str(clip_dir / "me.wav")},
        },
        "speakers": [{"name": "Ava", "gender": "female", "consent_record_id": "CR-1"}],
        "script": LINES,
        "markets": [{"lang": "de-DE"}, {"lang": "fr-FR"}],
        "translations": {"files": files},
        "output": {"folder": "out", "preset": "ultrafast"},
    }
    (folder / "job.yaml").write_text(yaml.safe_dump(job, allow_unicode=True))
    assert main(["run", str(folder / "job.yaml")]) == 0
    return folder / "out"


@pytest.mark.parametrize("lang", ["de-DE", "fr-FR"])
def test_outputs_exist_and_are_listed_with_their_hashes(rendered: Path, lang: str) -> None:
    folder = rendered / lang
    assert sorted(p.name for p in folder.iterdir()) == [
        "dialogue.wav",
        "manifest.json",
        "master.mp4",
        "me.wav",
        "subtitles.srt",
        "subtitles.vtt",
        "timeline.otio",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["language"] == lang
    for record in manifest["outputs"]:
        assert sha256_file(folder / record["path"]) == record["sha256"]
    roles = {r["role"] for r in manifest["inputs"]}
    assert {"job", "video", "dialogue", "me", "translation"} <= roles
    for record in manifest["inputs"]:
        assert sha256_file(Path(record["path"])) == record["sha256"]
    assert manifest["consent"] == {"Ava": "CR-1"}
    assert manifest["ai_generated"]["speech"] is True


@pytest.mark.parametrize("lang", ["de-DE", "fr-FR"])
def test_me_stem_is_sample_identical(rendered: Path, clip_dir: Path, lang: str) -> None:
    source, sr_in = soundfile.read(clip_dir / "me.wav", dtype="int32")
    delivered, sr_out = soundfile.read(rendered / lang / "me.wav", dtype="int32")
    assert sr_in == sr_out
    assert np.array_equal(source, delivered)
    sample_hash = media.audio_sample_hash(clip_dir / "me.wav")
    assert media.audio_sample_hash(rendered / lang / "me.wav") == sample_hash
    manifest = json.loads((rendered / lang / "manifest.json").read_text())
    assert manifest["me_sample_identical"] is True
    assert manifest["me_samples_sha256"] == sample_hash
    # A PCM WAV input is even delivered byte for byte.
    assert sha256_file(rendered / lang / "me.wav") == sha256_file(clip_dir / "me.wav")


def test_master_keeps_the_picture_timing(rendered: Path, clip_dir: Path) -> None:
    source = media.probe(clip_dir / "clip.mp4")
    master = media.probe(rendered / "de-DE" / "master.mp4")
    assert master.video is not None and source.video is not None
    assert master.video.codec == "h264" and master.audio[0].codec == "aac"
    assert master.video.frame_rate == source.video.frame_rate
    assert (master.video.width, master.video.height) == (source.video.width, source.video.height)
    assert abs(master.duration - source.duration) <= 1 / 25 + 1e-3


def test_dialogue_sits_in_the_line_slots(rendered: Path) -> None:
    manifest = json.loads((rendered / "de-DE" / "manifest.json").read_text())
    dialogue, rate = soundfile.read(rendered / "de-DE" / "dialogue.wav", dtype="float32")
    assert len(dialogue) == 3 * rate
    speech = np.zeros(len(dialogue), dtype=bool)
    for line in manifest["lines"]:
        assert 0.85 <= line["rate"] <= 1.15
        assert line["start"] == line["slot_start"]
        a, b = round(line["start"] * rate), round(line["end"] * rate)
        margin = rate // 100  # the resampler's filter may ring for a few ms past the ends
        speech[a - margin : b + margin] = True
        assert np.sqrt(np.mean(dialogue[a:b] ** 2)) > 0.01
    assert np.max(np.abs(dialogue[~speech]), initial=0.0) < 1e-3


def test_master_audio_is_dialogue_over_me(rendered: Path, clip_dir: Path) -> None:
    master = media.read_audio(rendered / "de-DE" / "master.mp4", sample_rate=48000, channels=2)
    me = media.read_audio(clip_dir / "me.wav", channels=2)
    dialogue = media.read_audio(rendered / "de-DE" / "dialogue.wav")
    n = min(len(master), len(me))

    def snr(reference: np.ndarray) -> float:
        error = master[:n] - reference[:n]
        return float(10 * np.log10(np.mean(reference[:n] ** 2) / np.mean(error**2)))

    # AAC is lossy (and the test M&E is broadband noise, hard to code): the decoded master
    # follows dialogue + M&E, and clearly better than it follows the M&E alone.
    with_dialogue = snr(me + dialogue[:, None])
    assert with_dialogue > 10
    assert with_dialogue > snr(me) + 3


def test_a_failed_render_leaves_nothing_behind(
    make_job: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise MediaError("cannot encode", "simulated encoder failure")

    monkeypatch.setattr(media, "encode_master", broken)
    checked = check_job(load_job(make_job()))
    with pytest.raises(MediaError):
        run_job(checked, ["de-DE"])
    assert list((tmp_path / "out").iterdir()) == []


def test_mix_only_job_ducks_the_original(
    make_job: Callable[..., Path], clip_dir: Path, tmp_path: Path
) -> None:
    job = make_job(source={"video": str(clip_dir / "clip.mp4")})
    checked = check_job(load_job(job), ["de-DE"])
    (result,) = run_job(checked, ["de-DE"])
    names = sorted(p.name for p in result.folder.iterdir())
    assert names == [
        "dialogue.wav", "manifest.json", "master.mp4",
        "subtitles.srt", "subtitles.vtt", "timeline.otio",
    ]  # fmt: skip
    manifest = json.loads((result.folder / "manifest.json").read_text())
    assert manifest["me_sample_identical"] is False


def test_lines_borrow_silence_then_speed_up_then_report(
    make_job: Callable[..., Path], tmp_path: Path
) -> None:
    from tests.conftest import LINES

    # L1 has 0.28 s before L2 (too short even at the bound); L2 may borrow up to the clip end.
    lines = [{**LINES[0], "end": 0.5}, {**LINES[1], "start": 0.6, "end": 0.9}]
    job = make_job(
        script=lines, markets=[{"lang": "de-DE"}], translations={"files": {"de-DE": "de-DE.yaml"}}
    )
    (result,) = run_job(check_job(load_job(job)), ["de-DE"])
    manifest = json.loads((result.folder / "manifest.json").read_text())
    first, second = manifest["lines"]
    assert first["rate"] == pytest.approx(1.15)
    assert first["overflow"] > 0.2
    assert second["rate"] == 1.0 and second["borrowed"] > 0.3 and second["overflow"] == 0
    codes = {(f.code, f.line) for f in result.findings if f.code.startswith("timing.")}
    assert codes == {("timing.overflow", "L1"), ("timing.spill", "L1")}


def test_lines_without_times_take_their_aligned_times_and_analysis_is_cached(
    make_job: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import LINES

    untimed = [{k: v for k, v in line.items() if k not in ("start", "end")} for line in LINES]
    job = make_job(script=untimed)
    assert main(["run", str(job), "--lang", "de-DE", "--cache", str(tmp_path / "c")]) == 0
    first = capsys.readouterr().out
    assert "source analysis: align computed, speakers computed, faces computed" in first
    manifest = json.loads((tmp_path / "out" / "de-DE" / "manifest.json").read_text())
    starts = [line["start"] for line in manifest["lines"]]
    assert starts == pytest.approx([line["start"] for line in LINES], abs=0.1)
    assert any("no face" in f for f in manifest["source_analysis"]["findings"])
    argv = ["run", str(job), "--lang", "fr-FR", "--cache", str(tmp_path / "c")]
    assert main(argv) == 0
    assert "source analysis: align cached, speakers cached, faces cached" in capsys.readouterr().out
