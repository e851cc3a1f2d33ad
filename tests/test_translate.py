"""Translation files in three formats, back-end choice per market, and checks on translations."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.errors import SpecError
from localize.spec import Job
from localize.translate import (
    Finding,
    Translation,
    check_glossary,
    check_translation,
    load_glossary,
    read_translation_file,
    term_spans,
    translate_job,
    translator_for,
)

LINES = {"L1": "Guten Morgen.", "L2": "Brightwell ist da."}


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("t.yaml", "language: de-DE\nlines:\n  L1: Guten Morgen.\n  L2: Brightwell ist da.\n"),
        ("t.json", '{"L1": "Guten Morgen.", "L2": "Brightwell ist da."}'),
        ("t.csv", "id,text\nL1,Guten Morgen.\nL2,Brightwell ist da.\n"),
    ],
)
def test_three_formats_read_alike(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    assert read_translation_file(path, "de-DE") == LINES


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("t.yaml", "language: fr-FR\nlines: {L1: Bonjour}\n", "language: file is 'fr-FR'"),
        ("t.yaml", "lines: {L1: ''}\n", "lines.L1: expected non-empty text"),
        ("t.csv", "key,value\nL1,x\n", "header: expected columns 'id' and 'text'"),
        ("t.json", "{not json", "cannot parse"),
    ],
)
def test_bad_translation_files(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(SpecError) as info:
        read_translation_file(path, "de-DE")
    assert info.value.problems[0].startswith(f"{path}: ")
    assert expected in info.value.problems[0]


def _job() -> Job:
    return Job.model_validate(
        {
            "source": {"video": "v.mp4"},
            "speakers": [{"name": "Ava"}],
            "script": [
                {"id": "L1", "speaker": "Ava", "text": "Brightwell. Smooth and rich."},
                {"id": "L2", "speaker": "Ava", "text": "Brightwell. Wake up to something better."},
            ],
        }
    )


def test_glossary_findings_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text(
        "terms:\n  - {term: Brightwell, translate: false}\n"
        "  - term: Wake up to something better.\n"
        "    translations: {de-DE: Der bessere Start in den Tag.}\n"
    )
    glossary = load_glossary(path)
    good = Translation(
        "de-DE",
        {"L1": "Brightwell. Mild.", "L2": "Brightwell. Der bessere Start in den Tag."},
        None,
    )
    assert check_glossary(_job(), good, glossary) == []
    bad = Translation("de-DE", {"L1": "Brightwelle. Mild.", "L2": "Brightwell. Wach auf."}, None)
    findings = {(f.code, f.line) for f in check_glossary(_job(), bad, glossary)}
    assert findings == {("glossary.missing", "L1"), ("glossary.wrong", "L2")}


def test_bad_glossary(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("terms:\n  - {translate: false}\n")
    with pytest.raises(SpecError, match=r"terms\.0\.term: expected a string"):
        load_glossary(path)


def _sourced_job(tmp_path: Path, translations: dict) -> Job:
    data = _job().model_dump(mode="json") | {"translations": translations}
    data["markets"] = [{"lang": "de-DE"}]
    job = Job.model_validate(data)
    job._path = tmp_path / "job.yaml"
    return job


@pytest.mark.parametrize(
    ("translations", "expected"),
    [
        ({"files": {"de-DE": "de.yaml"}, "xliff": {"de-DE": "de.xlf"}, "machine": {}}, "provided"),
        ({"xliff": {"de-DE": "de.xlf"}, "machine": {"model": "m"}}, "xliff"),
        ({"machine": {"model": "m"}}, "machine"),
    ],
)
def test_each_market_takes_file_then_xliff_then_machine(
    tmp_path: Path, translations: dict, expected: str
) -> None:
    assert translator_for(_sourced_job(tmp_path, translations), "de-DE").name == expected


def test_no_translation_source_names_the_options(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        translate_job(_sourced_job(tmp_path, {}), "de-DE")
    assert info.value.problems == [
        f"{tmp_path / 'job.yaml'}: translations: no translation for market de-DE (give "
        "translations.files.de-DE, translations.xliff.de-DE or translations.machine)"
    ]


def test_empty_line_is_a_blocker_whatever_the_source(tmp_path: Path) -> None:
    path = tmp_path / "glossary.yaml"
    path.write_text("terms:\n  - {term: Brightwell, translate: false}\n")
    lost = Finding("Issue", "glossary.mt_lost", "placeholder lost", line="L1")
    empty = Finding("Blocker", "translation.empty", "the model returned no text", line="L2")
    translation = Translation(
        "de-DE", {"L1": "Mild.", "L2": " "}, None, origin="machine", findings=(lost, empty)
    )
    glossary = load_glossary(path)
    assert [(f.code, f.line) for f in check_glossary(_job(), translation, glossary)] == [
        ("translation.empty", "L2"),
        ("glossary.missing", "L1"),
    ]
    found = check_translation(_job(), translation, glossary)
    assert [(f.code, f.line) for f in found] == [
        ("glossary.mt_lost", "L1"),
        ("translation.empty", "L2"),
        ("glossary.missing", "L1"),
    ]
    assert [f.code for f in check_translation(_job(), translation, None)] == [
        "glossary.mt_lost",
        "translation.empty",
    ]


def test_term_spans_take_closing_punctuation_when_present() -> None:
    text = "Wake up to something better. Wake up to something better"
    assert term_spans(text, "Wake up to something better.") == [(0, 28), (29, 56)]
    assert term_spans("Brightwells", "Brightwell") == []
