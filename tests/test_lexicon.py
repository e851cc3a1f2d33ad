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


PLS = """\
<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" alphabet="ipa" xml:lang="de-DE"
         xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">
  <lexeme>
    <grapheme>Brightwell</grapheme>
    <grapheme>Brightwells</grapheme>
    <phoneme>ˈbʁaɪtvɛl</phoneme>
  </lexeme>
  <lexeme xml:lang="fr-FR">
    <grapheme>Acme</grapheme>
    <phoneme>akme</phoneme>
    <phoneme prefer="true">akmə</phoneme>
    <alias>A C M E</alias>
  </lexeme>
</lexicon>
"""


def pls(body: str, attributes: str = 'version="1.0" alphabet="ipa" xml:lang="de-DE"') -> str:
    return (
        f'<lexicon {attributes} xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">'
        f"{body}</lexicon>"
    )


def test_pls_lexicon_loads_and_looks_up(tmp_path: Path) -> None:
    lexicon = load_lexicon(write(tmp_path, PLS, "brands.pls"))
    assert lexicon.name == "brands"
    assert lexicon.lookup("Brightwell", "de-DE") == "ˈbʁaɪtvɛl"
    assert lexicon.lookup("brightwells", "de") is None  # de-DE is not a fallback for de
    assert lexicon.lookup("BRIGHTWELLS", "de-DE") == "ˈbʁaɪtvɛl"
    assert lexicon.lookup("Acme", "fr-FR") == "akmə"  # the lexeme's own language, preferred
    assert lexicon.lookup("Acme", "de-DE") is None
    merged = Lexicon("y", None, {"Brightwell": {"en": "ˈbɹaɪtwɛl"}}).merge(lexicon)
    assert merged.lookup("brightwell", "en-US") == "ˈbɹaɪtwɛl"
    assert merged.lookup("brightwell", "de-DE") == "ˈbʁaɪtvɛl"


def test_example_pls_agrees_with_the_yaml_lexicon() -> None:
    folder = Path(__file__).parents[1] / "lexicons"
    from_pls = load_lexicon(folder / "brightwell.de-DE.pls")
    from_yaml = load_lexicon(folder / "brightwell.yaml")
    german = from_yaml.lookup("Brightwell", "de-DE")
    assert dict(from_pls.entries) == {"Brightwell": {"de-DE": german}}
    assert from_pls.source == folder / "brightwell.de-DE.pls"


def test_pls_other_alphabets_are_refused(tmp_path: Path) -> None:
    body = '<lexeme><grapheme>Brightwell</grapheme><phoneme>"bRaItvEl</phoneme></lexeme>'
    path = write(tmp_path, pls(body, 'version="1.0" alphabet="x-sampa" xml:lang="de-DE"'), "x.pls")
    (line,) = problems(path)
    assert line.startswith(f"{path}: lexicon: alphabet 'x-sampa' is not supported")
    own = '<lexeme><grapheme>A</grapheme><phoneme alphabet="x-sampa">a</phoneme></lexeme>'
    path = write(tmp_path, pls(own), "own.pls")
    assert problems(path) == [
        f"{path}: lexeme 1: <phoneme> alphabet 'x-sampa' is not supported: write it in IPA"
    ]


def test_pls_problems_name_the_lexeme(tmp_path: Path) -> None:
    body = (
        "<lexeme><grapheme>Acme</grapheme><phoneme>ˈækmi</phoneme></lexeme>"
        "<lexeme><grapheme>New York</grapheme><phoneme>nuː jɔːk</phoneme></lexeme>"
        "<lexeme><grapheme>Brightwell</grapheme><alias>Bright well</alias></lexeme>"
        "<lexeme><grapheme>ACME</grapheme><phoneme>/ækmi/</phoneme></lexeme>"
        "<lexeme><grapheme>acme</grapheme><phoneme>ækmi</phoneme></lexeme>"
        '<lexeme xml:lang="not a tag"><grapheme>Zed</grapheme><phoneme>zɛt</phoneme></lexeme>'
    )
    path = write(tmp_path, pls(body), "bad.xml")
    assert problems(path) == [
        f"{path}: lexeme 2: grapheme 'New York': must be a single word (letters, digits, ' or -)",
        f"{path}: lexeme 3: no <phoneme> (<alias> is not used)",
        f"{path}: lexeme 4: <phoneme> '/ækmi/': write the IPA without / / or [ ] around it",
        f"{path}: lexeme 5: grapheme 'acme' in de-DE is given by lexeme 1",
        f"{path}: lexeme 6: xml:lang 'not a tag': not a BCP-47 tag (e.g. de-DE)",
    ]


def test_pls_header_problems(tmp_path: Path) -> None:
    body = "<lexeme><grapheme>Acme</grapheme></lexeme>"
    path = write(tmp_path, pls(body, 'version="2.0" alphabet="ipa"'), "v.pls")
    assert problems(path) == [
        f"{path}: lexicon: version '2.0': only 1.0 is read",
        f'{path}: lexicon: no xml:lang: give the language, e.g. xml:lang="de-DE"',
        f"{path}: lexeme 1: no <phoneme>",
    ]


def test_pls_not_xml(tmp_path: Path) -> None:
    path = write(tmp_path, "<lexicon><lexeme></lexicon>", "broken.pls")
    (line,) = problems(path)
    assert line.startswith(f"{path}: not valid XML: mismatched tag")


def test_pls_wrong_root_element(tmp_path: Path) -> None:
    path = write(tmp_path, '<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis"/>')
    path = path.rename(tmp_path / "ssml.xml")
    assert problems(path) == [
        f"{path}: root element <speak>: expected "
        '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">'
    ]
