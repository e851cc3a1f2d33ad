"""Pronunciation lexicons: IPA per word and language, loaded from YAML, JSON or W3C PLS files."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from localize.errors import SpecError

try:  # defusedxml refuses entity tricks outright; without it, the stdlib parser is used
    from defusedxml.ElementTree import fromstring as _xml_fromstring
except ImportError:  # expat >= 2.4.1 caps entity expansion; ElementTree fetches no external ones
    from xml.etree.ElementTree import fromstring as _xml_fromstring

# A word as the toolkit counts words: a number with its separators ("12.50", "5:30"), or letters
# and digits with inner apostrophes or hyphens ("don't", "well-known"), as espeak reads them.
WORD_PATTERN = re.compile(r"\d+(?:[.,:]\d+)+|\w+(?:['’-]\w+)*")
# BCP-47 in the shape markets use: a primary language subtag plus optional subtags (de-DE, es-419).
_TAG_PATTERN = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_TOP_LEVEL_KEYS = ("name", "entries")
# People often paste IPA with its phonemic or phonetic delimiters; espeak would read them as text.
_DELIMITERS = "/[]"
_PLS_NS = "http://www.w3.org/2005/01/pronunciation-lexicon"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_PLS_SUFFIXES = (".pls", ".xml")


@dataclass(frozen=True)
class Lexicon:
    """Pronunciations that replace espeak's own, keyed by word, then by BCP-47 tag.

    A file (YAML or JSON) holds ``name`` (defaults to the file's stem) and ``entries``::

        entries:
          Brightwell:            # one word, matched case-blind as a whole word
            en: "ˈbɹaɪtwɛl"      # IPA; lookup tries the exact tag, then its primary subtag
            de-DE: "ˈbʁaɪtvɛl"
    """

    name: str
    source: Path | None
    entries: Mapping[str, Mapping[str, str]]

    @cached_property
    def _index(self) -> dict[str, tuple[str, dict[str, str]]]:
        # Words and tags are matched case-blind: fold both once, keep the file's spelling.
        return {
            word.casefold(): (word, {tag.lower(): tag for tag in by_lang})
            for word, by_lang in self.entries.items()
        }

    def _find(self, word: str, lang: str) -> tuple[str, str] | None:
        found = self._index.get(word.casefold())
        if found is None:
            return None
        spelling, tags = found
        wanted = lang.replace("_", "-").lower()
        tag = tags.get(wanted) or tags.get(wanted.split("-")[0])
        return (spelling, tag) if tag else None

    def lookup(self, word: str, lang: str) -> str | None:
        """IPA for ``word`` in ``lang``: the exact tag first, then its primary subtag."""
        found = self._find(word, lang)
        return self.entries[found[0]][found[1]] if found else None

    def describe(self, word: str, lang: str) -> str:
        """Where lookup(word, lang) reads from, for messages: ``file: entries.Word.tag``."""
        found = self._find(word, lang)
        field = f"entries.{found[0]}.{found[1]}" if found else f"entries.{word}"
        return f"{self.source or f'lexicon {self.name!r}'}: {field}"

    def merge(self, other: Lexicon) -> Lexicon:
        """A lexicon holding both; ``other`` wins where both define a word in the same tag."""
        merged: dict[str, dict[str, str]] = {}
        spelling: dict[str, str] = {}
        for lexicon in (self, other):
            for word, by_lang in lexicon.entries.items():
                key = spelling.setdefault(word.casefold(), word)
                merged.setdefault(key, {}).update(by_lang)
        return Lexicon(f"{self.name}+{other.name}", None, _frozen(merged))


def load_lexicon(path: str | Path) -> Lexicon:
    """Read and validate a lexicon file; every problem becomes one ``file: field: message`` line.

    ``.yaml``/``.yml``/``.json`` hold the format of Lexicon; ``.pls``/``.xml`` are W3C PLS 1.0.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: lexicon file not found"]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError([f"{path}: cannot read lexicon file: {err}"]) from None
    if path.suffix.lower() in _PLS_SUFFIXES:
        return _load_pls(text, path)
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        detail = " ".join(str(err).split())
        raise SpecError(
            [f"{path}: not valid {path.suffix.lstrip('.').upper()}: {detail}"]
        ) from None
    problems: list[str] = []
    lexicon = _parse(data, path, problems)
    if problems:
        raise SpecError(problems)
    return lexicon


def _parse(data: Any, path: Path, problems: list[str]) -> Lexicon:
    if not isinstance(data, dict):
        problems.append(f"{path}: (top level): expected a mapping with keys 'name' and 'entries'")
        return Lexicon(path.stem, path, {})
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            problems.append(f"{path}: {key}: unknown key; allowed: {', '.join(_TOP_LEVEL_KEYS)}")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}: name: expected a non-empty string")
        name = path.stem
    raw_entries = data.get("entries")
    if not isinstance(raw_entries, dict):
        problems.append(f"{path}: entries: expected a mapping of word -> {{language tag: IPA}}")
        return Lexicon(name, path, {})
    entries: dict[str, dict[str, str]] = {}
    seen: dict[str, str] = {}
    for word, by_lang in raw_entries.items():
        where = f"{path}: entries.{word}"
        if not isinstance(word, str) or not WORD_PATTERN.fullmatch(word):
            problems.append(f"{where}: the word must be a single word (letters, digits, ' or -)")
            continue
        if word.casefold() in seen:
            problems.append(f"{where}: same word as entries.{seen[word.casefold()]} (case-blind)")
            continue
        seen[word.casefold()] = word
        if not isinstance(by_lang, dict) or not by_lang:
            problems.append(f"{where}: expected a mapping of language tag -> IPA, e.g. en: ...")
            continue
        entries[word] = _parse_pronunciations(by_lang, where, problems)
    return Lexicon(name, path, _frozen(entries))


def _parse_pronunciations(by_lang: dict[Any, Any], where: str, problems: list[str]) -> dict:
    parsed: dict[str, str] = {}
    for tag, ipa in by_lang.items():
        if not isinstance(tag, str) or not _TAG_PATTERN.fullmatch(tag):
            problems.append(f"{where}.{tag}: not a BCP-47 language tag (e.g. en, de-DE, pt-BR)")
        elif not isinstance(ipa, str) or not ipa.strip():
            problems.append(f"{where}.{tag}: expected the IPA as a non-empty string")
        elif any(mark in ipa for mark in _DELIMITERS):
            problems.append(f"{where}.{tag}: write the IPA without / / or [ ] around it")
        else:
            parsed[tag] = ipa.strip()
    return parsed


def _frozen(entries: Mapping[str, Mapping[str, str]]) -> Mapping[str, Mapping[str, str]]:
    return MappingProxyType({word: MappingProxyType(dict(v)) for word, v in entries.items()})


def _load_pls(text: str, path: Path) -> Lexicon:
    """A W3C Pronunciation Lexicon Specification 1.0 file with IPA phonemes.

    Each ``<lexeme>`` gives its ``<grapheme>`` words its preferred (else first) ``<phoneme>``,
    under the lexeme's ``xml:lang`` or else the lexicon's. An ``<alias>`` rewrites text rather
    than giving IPA, so it is not used.
    """
    try:
        root = _xml_fromstring(text)
    except (ElementTree.ParseError, ValueError) as err:  # defusedxml's refusals are ValueErrors
        raise SpecError([f"{path}: not valid XML: {' '.join(str(err).split())}"]) from None
    if root.tag not in (f"{{{_PLS_NS}}}lexicon", "lexicon"):
        raise SpecError(
            [f'{path}: root element <{_local(root.tag)}>: expected <lexicon xmlns="{_PLS_NS}">']
        )
    problems = _pls_header_problems(root, path)
    entries: dict[str, dict[str, str]] = {}
    given_by: dict[tuple[str, str], int] = {}  # (word, tag) case-blind -> lexeme number
    for number, lexeme in enumerate(_children(root, "lexeme"), start=1):
        where = f"{path}: lexeme {number}"
        for word, tag, ipa in _lexeme(lexeme, where, root, problems):
            spelling = next((w for w in entries if w.casefold() == word.casefold()), word)
            key = (spelling.casefold(), tag.lower())
            if key in given_by:
                first = given_by[key]
                problems.append(f"{where}: grapheme {word!r} in {tag} is given by lexeme {first}")
                continue
            given_by[key] = number
            entries.setdefault(spelling, {})[tag] = ipa
    if problems:
        raise SpecError(problems)
    return Lexicon(path.stem, path, _frozen(entries))


def _pls_header_problems(root: ElementTree.Element, path: Path) -> list[str]:
    problems = []
    if root.get("version", "1.0") != "1.0":
        problems.append(f"{path}: lexicon: version {root.get('version')!r}: only 1.0 is read")
    lang = root.get(_XML_LANG)
    if lang is None:
        problems.append(f'{path}: lexicon: no xml:lang: give the language, e.g. xml:lang="de-DE"')
    elif not _TAG_PATTERN.fullmatch(lang):
        problems.append(f"{path}: lexicon: xml:lang {lang!r}: not a BCP-47 tag (e.g. de-DE)")
    alphabet = root.get("alphabet")
    # The lexicon's alphabet matters only for phonemes that do not name their own.
    inherit = any(p.get("alphabet") is None for p in root.iter() if _local(p.tag) == "phoneme")
    if not _is_ipa(alphabet) and inherit:
        problems.append(
            f"{path}: lexicon: alphabet {alphabet!r} is not supported: write the phonemes in IPA "
            'and declare alphabet="ipa"'
        )
    return problems


def _lexeme(
    lexeme: ElementTree.Element, where: str, root: ElementTree.Element, problems: list[str]
) -> list[tuple[str, str, str]]:
    """(word, language tag, IPA) per grapheme of one lexeme; its problems are appended."""
    found = len(problems)
    lang = lexeme.get(_XML_LANG, root.get(_XML_LANG))
    if _XML_LANG in lexeme.attrib and not _TAG_PATTERN.fullmatch(lexeme.attrib[_XML_LANG]):
        problems.append(f"{where}: xml:lang {lang!r}: not a BCP-47 tag (e.g. de-DE)")
    words = [(g.text or "").strip() for g in _children(lexeme, "grapheme")]
    if not words:
        problems.append(f"{where}: no <grapheme>")
    problems += [
        f"{where}: grapheme {word!r}: must be a single word (letters, digits, ' or -)"
        for word in words
        if not WORD_PATTERN.fullmatch(word)
    ]
    phonemes = _children(lexeme, "phoneme")
    if not phonemes:
        alias = _children(lexeme, "alias")
        problems.append(f"{where}: no <phoneme>" + (" (<alias> is not used)" if alias else ""))
        return []
    phoneme = next((p for p in phonemes if p.get("prefer") == "true"), phonemes[0])
    ipa = (phoneme.text or "").strip()
    own_alphabet = phoneme.get("alphabet")
    if own_alphabet is not None and not _is_ipa(own_alphabet):
        problems.append(
            f"{where}: <phoneme> alphabet {own_alphabet!r} is not supported: write it in IPA"
        )
    elif not ipa:
        problems.append(f"{where}: <phoneme> is empty: expected the IPA")
    elif any(mark in ipa for mark in _DELIMITERS):
        problems.append(f"{where}: <phoneme> {ipa!r}: write the IPA without / / or [ ] around it")
    if len(problems) > found or lang is None:
        return []
    return [(word, lang, ipa) for word in words]


def _is_ipa(alphabet: str | None) -> bool:
    return alphabet is not None and alphabet.lower() == "ipa"


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    """Child elements called ``name``, in the PLS namespace or (leniently) none."""
    return [child for child in element if child.tag in (f"{{{_PLS_NS}}}{name}", name)]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
