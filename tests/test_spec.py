"""Job spec: loading YAML/JSON, path resolution, and the error lines users see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from localize.errors import SpecError
from localize.spec import DEFAULT_MARKETS, job_schema, load_job

MINIMAL = {
    "source": {"video": "clip.mp4"},
    "speakers": [{"name": "Ava"}],
    "script": [{"id": "L1", "speaker": "Ava", "text": "Hello."}],
}


def write(tmp_path: Path, data: object, name: str = "job.yaml") -> Path:
    path = tmp_path / name
    text = json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data)
    path.write_text(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_job(path)
    return info.value.problems


def test_yaml_and_json_load_the_same_job(tmp_path: Path) -> None:
    from_yaml = load_job(write(tmp_path, MINIMAL))
    from_json = load_job(write(tmp_path, MINIMAL, "job.json"))
    assert from_yaml.model_dump() == from_json.model_dump()
    assert from_yaml.langs == list(DEFAULT_MARKETS)
    assert from_yaml.mode == "lipsync"  # the default mode


def test_relative_paths_resolve_against_the_job_folder(tmp_path: Path) -> None:
    sub = tmp_path / "campaign"
    sub.mkdir()
    data = {
        **MINIMAL,
        "source": {"video": "media/clip.mp4", "stems": {"dialogue": "d.wav", "me": "/abs/me.wav"}},
        "translations": {"files": {"de-DE": "tr/de.yaml"}},
        "lexicons": ["../lex.yaml"],
    }
    job = load_job(write(sub, data))
    assert job.source.video == sub / "media" / "clip.mp4"
    assert job.source.stems is not None
    assert job.source.stems.dialogue == sub / "d.wav"
    assert job.source.stems.me == Path("/abs/me.wav")
    assert job.translations.files["de-DE"] == sub / "tr" / "de.yaml"
    assert job.lexicons == [tmp_path / "lex.yaml"]
    assert job.output.folder == sub / "out"
    assert job.path == sub / "job.yaml"


def test_every_error_names_file_and_field(tmp_path: Path) -> None:
    data = {
        "source": {"vidoe": "clip.mp4"},
        "speakers": [{"name": "Ava"}],
        "script": [
            {"id": "L1", "speaker": "Ava", "text": ""},
            {"id": "L2", "speaker": "Ava", "text": "Hi.", "start": 2.0, "end": 1.0},
        ],
        "markets": [{"lang": "german"}],
        "output": {"crf": 99},
    }
    path = write(tmp_path, data)
    found = problems(path)
    assert all(line.startswith(f"{path}: ") for line in found)
    fields = {line.split(": ")[1] for line in found}
    assert {
        "source.video",
        "source.vidoe",
        "script.0.text",
        "script.1",
        "markets.0.lang",
        "output.crf",
    } <= fields
    assert any("not a BCP-47 tag" in line for line in found)
    assert any("unknown field" in line for line in found)
    assert any("end (1.0) must be after start (2.0)" in line for line in found)


def test_cross_references_are_checked(tmp_path: Path) -> None:
    data = {
        **MINIMAL,
        "script": [
            {"id": "L1", "speaker": "Bob", "text": "Hi."},
            {"id": "L1", "speaker": "Ava", "text": "Again."},
        ],
        "markets": [{"lang": "de-DE"}, {"lang": "de-DE"}],
        "translations": {"files": {"fr-FR": "fr.yaml"}},
    }
    path = write(tmp_path, data)
    found = problems(path)
    assert f"{path}: script.0.speaker: unknown speaker 'Bob' (known: Ava)" in found
    assert f"{path}: script.1.id: duplicate line id 'L1'" in found
    assert f"{path}: markets.1.lang: market de-DE listed twice" in found
    assert any(line.startswith(f"{path}: translations.files.fr-FR: no market") for line in found)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("source: [unclosed", "cannot parse"), ("- a list", "expected a mapping at the top level")],
)
def test_unparseable_files(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(content)
    (line,) = problems(path)
    assert line.startswith(f"{path}: ") and expected in line


def test_missing_job_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_schema_describes_the_job() -> None:
    schema = job_schema()
    assert schema["title"] == "Job"
    assert {"source", "script", "speakers", "markets", "translations", "output"} <= set(
        schema["properties"]
    )
    assert "path" not in schema["properties"]
