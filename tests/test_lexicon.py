"""Lexicon files: format, lookups by word and language tag, merging, and errors that name fields."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from localize.errors import SpecError
from localize.lexicon import Lexicon, load_lexicon

BRIGHTWELL = """\
name: brightwell
entries:
  Brightwell:
    en: "ˈbɹaɪtwɛl"
    de-DE: "ˈbʁaɪtvɛl"
"""


def write(tmp_path: Path, text: str, name: str = "lex.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_lexicon(path)
    return caught.value.problems


def test_load_and_lookup(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, BRIGHTWELL))
    assert lexicon.name == "brightwell"
    assert lexicon.source == tmp_path / "lex.yaml"
    assert lexicon.lookup("Brightwell", "de-DE") == "ˈbʁaɪtvɛl"
    assert lexicon.lookup("BRIGHTWELL", "de_de") == "ˈbʁaɪtvɛl"  # tags are case-blind too
    assert lexicon.lookup("brightwell", "en-US") == "ˈbɹaɪtwɛl"  # primary subtag fallback
    assert lexicon.lookup("Brightwell", "de-AT") is None  # de-DE is not a fallback for de-AT
    assert lexicon.lookup("Brightwell", "fr-FR") is None
    assert lexicon.lookup("Bright", "en") is None  # whole words only
    assert (
        lexicon.describe("BRIGHTWELL", "en-US") == f"{tmp_path / 'lex.yaml'}: entries.Brightwell.en"
    )


@given(st.lists(st.booleans(), min_size=10, max_size=10))
def test_lookup_ignores_letter_case(upper: list[bool]) -> None:
    lexicon = Lexicon("t", None, {"Brightwell": {"en": "ˈbɹaɪtwɛl"}})
    word = "".join(c.upper() if u else c.lower() for c, u in zip("brightwell", upper, strict=True))
    assert lexicon.lookup(word, "en-GB") == "ˈbɹaɪtwɛl"


def test_json_lexicon(tmp_path: Path) -> None:
    data = {"name": "brands", "entries": {"Brightwell": {"fr-FR": "bʁajtwɛl"}}}
    path = write(tmp_path, json.dumps(data, ensure_ascii=False), "brands.json")
    assert load_lexicon(path).lookup("Brightwell", "fr-FR") == "bʁajtwɛl"


def test_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, "entries:\n  Acme:\n    en: ˈækmi\n", "acme.yaml")
    assert load_lexicon(path).name == "acme"


def test_merge_later_wins_and_words_meet_case_blind() -> None:
    first = Lexicon("a", None, {"Brightwell": {"en": "old", "de": "ˈbʁaɪtvɛl"}})
    second = Lexicon("b", None, {"BRIGHTWELL": {"en": "ˈbɹaɪtwɛl"}, "Acme": {"en": "ˈækmi"}})
    merged = first.merge(second)
    assert merged.name == "a+b"
    assert merged.lookup("brightwell", "en") == "ˈbɹaɪtwɛl"
    assert merged.lookup("brightwell", "de-DE") == "ˈbʁaɪtvɛl"
    assert merged.lookup("acme", "en-US") == "ˈækmi"
    assert len(merged.entries) == 2


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert problems(path) == [f"{path}: lexicon file not found"]


def test_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "entries: [unclosed\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}: not valid YAML")


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "- Brightwell\n")
    assert problems(path) == [
        f"{path}: (top level): expected a mapping with keys 'name' and 'entries'"
    ]


def test_entries_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nentries: [Brightwell]\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}: entries: expected a mapping")


def test_every_problem_is_reported_with_its_field_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
name: brightwell
colour: blue
entries:
  Brightwell:
    en: "ˈbɹaɪtwɛl"
    de-DE: ""
    "not a tag!": "x"
    fr-FR: "/bʁajtwɛl/"
  Acme: "ˈækmi"
  two words:
    en: "tuː wɜːdz"
""",
    )
    found = problems(path)
    assert f"{path}: colour: unknown key; allowed: name, entries" in found
    assert f"{path}: entries.Brightwell.de-DE: expected the IPA as a non-empty string" in found
    assert any(p.startswith(f"{path}: entries.Brightwell.not a tag!: not a BCP-47") for p in found)
    assert any(
        p.startswith(f"{path}: entries.Brightwell.fr-FR: write the IPA without") for p in found
    )
    assert any(
        p.startswith(f"{path}: entries.Acme: expected a mapping of language tag") for p in found
    )
    assert any(
        p.startswith(f"{path}: entries.two words: the word must be a single word") for p in found
    )
    assert len(found) == 6


def test_words_differing_only_in_case_clash(tmp_path: Path) -> None:
    path = write(tmp_path, "entries:\n  Acme: {en: ˈækmi}\n  ACME: {en: eɪ siː ɛm iː}\n")
    assert problems(path) == [f"{path}: entries.ACME: same word as entries.Acme (case-blind)"]
