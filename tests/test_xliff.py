"""XLIFF 2.0 round trip with translators: export, import, and one clear line per problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from translate.storage.xliff2 import Xliff2File

from localize.cli import build_parser, main
from localize.errors import SpecError
from localize.spec import load_job
from localize.translate import load_glossary, read_translation_file, translate_job
from localize.xliff import NS, char_budget, export_xliff, import_xliff

GERMAN = {"L1": "Guten Morgen.", "L2": "Brightwell ist da."}
GLOSSARY = "terms:\n  - {term: Brightwell, translate: false, note: Brand name.}\n"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@pytest.fixture
def job_file(make_job: Callable[..., Path], tmp_path: Path) -> Path:
    (tmp_path / "glossary.yaml").write_text(GLOSSARY)
    return make_job(glossary="glossary.yaml")


def _fill(path: Path, targets: dict[str, str], state: str = "translated") -> None:
    """What the translator's tool does: a target and a state on every segment."""
    store = Xliff2File.parsestring(path.read_bytes())
    for unit in store.units:
        unit.target = targets[unit.getid()]
        unit.xmlelement.set("state", state)
    path.write_bytes(bytes(store))


def test_export_writes_units_terms_and_budgets(
    job_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "export-xliff", str(job_file), "--lang", "de-DE")
    assert code == 0, err
    path = tmp_path / "xliff" / "test.de-DE.xlf"
    assert f"{path.name}: 2 units, en-US -> de-DE" in out
    store = Xliff2File.parsestring(path.read_bytes())
    assert (store.getsourcelanguage(), store.gettargetlanguage()) == ("en-US", "de-DE")
    assert [(u.getid(), u.source) for u in store.units] == [
        ("L1", "Good morning."),
        ("L2", "Brightwell is here."),
    ]
    source = store.units[1].xmlelement.find(_q("source"))
    [mark] = source.findall(_q("mrk"))
    assert (mark.text, mark.get("translate"), mark.tail) == ("Brightwell", "no", " is here.")
    notes = {
        unit.getid(): {n.get("category"): n.text for n in unit.getunitelement().iter(_q("note"))}
        for unit in store.units
    }
    # L1's slot is 0.2-1.4 s: 1.2 s at German's 14 characters per second.
    assert notes["L1"]["length-budget"].startswith("Slot 1.20 s: about 17 characters")
    assert notes["L2"]["glossary"] == "Keep 'Brightwell' as it is. Brand name."
    assert all(u.xmlelement.get("state") == "initial" for u in store.units)
    assert "xml:space" not in path.read_text().split("<segment")[1].split(">")[0]  # schema-valid


def test_round_trip_through_the_cli(
    job_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "de.xlf"
    assert (
        run_cli(capsys, "export-xliff", str(job_file), "--lang", "de-DE", "--out", str(path))[0]
        == 0
    )
    _fill(path, GERMAN, state="final")
    code, out, err = run_cli(capsys, "import-xliff", str(job_file), "--lang", "de-DE", str(path))
    assert code == 0, err
    written = tmp_path / "translations" / "de-DE.yaml"
    assert read_translation_file(written, "de-DE") == GERMAN
    assert "translations: files: de-DE:" in out and "translations.xliff.de-DE" in out
    code, _, err = run_cli(capsys, "import-xliff", str(job_file), "--lang", "de-DE", str(path))
    assert code == 2 and "de-DE.yaml exists; use --force to overwrite" in err


def test_job_can_point_at_the_xliff(job_file: Path, tmp_path: Path) -> None:
    job = load_job(job_file)
    path = export_xliff(job, "de-DE", tmp_path / "de.xlf", {}, load_glossary(job.glossary))
    _fill(path, GERMAN)
    update = {
        "translations": job.translations.model_copy(update={"files": {}, "xliff": {"de-DE": path}})
    }
    translation = translate_job(job.model_copy(update=update), "de-DE")
    assert (translation.lines, translation.origin, translation.source) == (GERMAN, "xliff", path)


def test_marked_targets_read_as_plain_text(job_file: Path, tmp_path: Path) -> None:
    job = load_job(job_file)
    path = export_xliff(job, "de-DE", tmp_path / "de.xlf", {}, load_glossary(job.glossary))
    _fill(path, GERMAN)
    tree = etree.parse(str(path))
    target = tree.find(f".//{_q('unit')}[@id='L2']//{_q('target')}")
    target.text = ""
    mark = etree.SubElement(target, _q("mrk"), id="m1", translate="no")
    mark.text, mark.tail = "Brightwell", " ist da."
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    assert import_xliff(job, "de-DE", path).lines == GERMAN


def _unit(tree: etree._ElementTree, line_id: str) -> etree._Element:
    return tree.find(f".//{_q('unit')}[@id='{line_id}']")


def _segment(tree: etree._ElementTree, line_id: str) -> etree._Element:
    return _unit(tree, line_id).find(_q("segment"))


def _set_target(tree: etree._ElementTree, text: str) -> None:
    _segment(tree, "L1").find(_q("target")).text = text


BAD_FILES: dict[str, tuple[Callable[[etree._ElementTree], object], list[str]]] = {
    "unknown id": (
        lambda tree: _unit(tree, "L2").set("id", "L9"),
        [
            "unit L9: unknown line id (script ids: L1, L2)",
            "unit L2: missing (every script line needs a unit)",
        ],
    ),
    "missing unit": (
        lambda tree: _unit(tree, "L2").getparent().remove(_unit(tree, "L2")),
        ["unit L2: missing (every script line needs a unit)"],
    ),
    "missing target": (
        lambda tree: _segment(tree, "L1").remove(_segment(tree, "L1").find(_q("target"))),
        ["unit L1: no translation (missing or empty <target>)"],
    ),
    "empty target": (
        lambda tree: _set_target(tree, "  "),
        ["unit L1: no translation (missing or empty <target>)"],
    ),
    "changed source": (
        lambda tree: setattr(_segment(tree, "L1").find(_q("source")), "text", "Good evening."),
        [
            "unit L1: source text 'Good evening.' differs from the script's 'Good morning.' "
            "(the script changed after export: export again)"
        ],
    ),
    "state initial": (
        lambda tree: _segment(tree, "L1").set("state", "initial"),
        ["unit L1: state is 'initial' (not translated yet); expected translated, reviewed, final"],
    ),
    "no state": (
        lambda tree: _segment(tree, "L1").attrib.pop("state"),
        ["unit L1: state is 'initial' (not translated yet); expected translated, reviewed, final"],
    ),
    "wrong trgLang": (
        lambda tree: tree.getroot().set("trgLang", "fr-FR"),
        ["trgLang: file is 'fr-FR', job expects 'de-DE'"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_xliff_names_file_and_unit(job_file: Path, tmp_path: Path, case: str) -> None:
    job = load_job(job_file)
    path = export_xliff(job, "de-DE", tmp_path / "de.xlf", {})
    _fill(path, GERMAN)
    tree = etree.parse(str(path))
    edit, expected = BAD_FILES[case]
    edit(tree)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    with pytest.raises(SpecError) as info:
        import_xliff(job, "de-DE", path)
    assert info.value.problems == [f"{path}: {message}" for message in expected]


def test_not_xml_is_one_line_on_the_cli(
    job_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "de.xlf"
    path.write_text("Guten Morgen, this is not XML\n")
    code, _, err = run_cli(capsys, "import-xliff", str(job_file), "--lang", "de-DE", str(path))
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(f"error: {path}: cannot parse: ")
    assert not (tmp_path / "translations").exists()


def test_every_problem_is_reported(job_file: Path, tmp_path: Path) -> None:
    job = load_job(job_file)
    path = export_xliff(job, "de-DE", tmp_path / "de.xlf", {})
    with pytest.raises(SpecError) as info:
        import_xliff(job, "de-DE", path)  # sent back untouched
    assert [p.removeprefix(f"{path}: ") for p in info.value.problems] == [
        "unit L1: no translation (missing or empty <target>)",
        "unit L2: no translation (missing or empty <target>)",
    ]


def test_export_refuses_to_overwrite(
    job_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "de.xlf"
    path.write_text("keep me")
    code, _, err = run_cli(
        capsys, "export-xliff", str(job_file), "--lang", "de-DE", "--out", str(path)
    )
    assert code == 2 and "de.xlf exists; use --force to overwrite" in err
    assert path.read_text() == "keep me"
    code, _, err = run_cli(capsys, "export-xliff", str(job_file), "--lang", "it-IT")
    assert code == 2 and "markets: no market 'it-IT'" in err


def test_budget_follows_the_language() -> None:
    assert (char_budget("de-DE", 2.0), char_budget("ja-JP", 2.0), char_budget("nl-NL", 1.0)) == (
        28,
        16,
        14,
    )


def test_xliff_commands_have_examples() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.choices and "run" in a.choices)
    for name in ("export-xliff", "import-xliff"):
        assert (
            f"localize {name} samples/job.yaml --lang de-DE"
            in subparsers.choices[name].format_help()
        )
