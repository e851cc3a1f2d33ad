"""Pronunciation lexicons: IPA per word and language, loaded from YAML or JSON files."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from localize.errors import SpecError

# A word as the toolkit counts words: a number with its separators ("12.50", "5:30"), or letters
# and digits with inner apostrophes or hyphens ("don't", "well-known"), as espeak reads them.
WORD_PATTERN = re.compile(r"\d+(?:[.,:]\d+)+|\w+(?:['’-]\w+)*")
# BCP-47 in the shape markets use: a primary language subtag plus optional subtags (de-DE, es-419).
_TAG_PATTERN = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
_TOP_LEVEL_KEYS = ("name", "entries")
# People often paste IPA with its phonemic or phonetic delimiters; espeak would read them as text.
_DELIMITERS = "/[]"


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
    """Read and validate a lexicon file; every problem becomes one ``file: field: message`` line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: lexicon file not found"]) from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError([f"{path}: cannot read lexicon file: {err}"]) from None
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
