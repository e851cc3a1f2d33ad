"""Translations of the script per language, and glossary enforcement on them."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localize.errors import SpecError
from localize.spec import Job


@dataclass(frozen=True)
class Translation:
    """The translated text of every script line for one language."""

    lang: str
    lines: Mapping[str, str]  # line id -> translated text
    source: Path | None  # file it came from (None for generated ones)


@dataclass(frozen=True)
class Finding:
    """A QA finding: something a reviewer must look at; never silently fixed."""

    severity: str  # "FYI", "Issue" or "Blocker"
    code: str  # stable machine-readable kind, e.g. "glossary.missing"
    message: str
    line: str | None = None  # script line id, when the finding is about one line
    time: float | None = None  # seconds in the clip, when known


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    translate: bool = True  # False: the term must appear verbatim in every translation
    translations: Mapping[str, str] = field(default_factory=dict)  # lang -> approved rendering
    note: str = ""


@dataclass(frozen=True)
class Glossary:
    terms: tuple[GlossaryTerm, ...]
    source: Path | None = None


class Translator:
    """Back-end base class: returns the translation of a job's script for one language."""

    name = "base"

    def translate(self, job: Job, lang: str) -> Translation:
        raise NotImplementedError


class ProvidedTranslator(Translator):
    """Reads the vendor's translation file named in the job (`translations.files`)."""

    name = "provided"

    def translate(self, job: Job, lang: str) -> Translation:
        path = job.translations.files.get(lang)
        if path is None:
            raise SpecError(
                [f"{job.path}: translations.files.{lang}: no translation file for market {lang}"]
            )
        lines = read_translation_file(path, lang)
        ids = [line.id for line in job.script]
        problems = [f"{path}: lines.{i}: missing translation" for i in ids if i not in lines]
        problems += [
            f"{path}: lines.{i}: unknown line id (script ids: {', '.join(ids)})"
            for i in lines
            if i not in ids
        ]
        if problems:
            raise SpecError(problems)
        return Translation(lang=lang, lines=lines, source=path)


TRANSLATORS: dict[str, type[Translator]] = {ProvidedTranslator.name: ProvidedTranslator}


def read_translation_file(path: Path, lang: str) -> dict[str, str]:
    """Line id -> text from a CSV (columns id,text), JSON or YAML file.

    JSON/YAML hold either ``{language: xx, lines: {id: text}}`` or a flat ``{id: text}``.
    """
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    try:
        text = path.read_text(encoding="utf-8")
        if path.suffix.lower() == ".csv":
            return _from_csv(path, text)
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError([f"{path}: cannot parse: {' '.join(str(exc).split())}"]) from exc
    return _from_mapping(path, data, lang)


def _from_csv(path: Path, text: str) -> dict[str, str]:
    reader = csv.DictReader(text.splitlines())
    if reader.fieldnames is None or not {"id", "text"} <= set(reader.fieldnames):
        raise SpecError([f"{path}: header: expected columns 'id' and 'text'"])
    lines: dict[str, str] = {}
    for row_number, row in enumerate(reader, start=2):
        line_id, value = (row.get("id") or "").strip(), (row.get("text") or "").strip()
        if not line_id or not value:
            raise SpecError([f"{path}: row {row_number}: empty id or text"])
        lines[line_id] = value
    return lines


def _from_mapping(path: Path, data: Any, lang: str) -> dict[str, str]:
    if not isinstance(data, dict):
        raise SpecError([f"{path}: expected a mapping of line id to text"])
    if "lines" in data:
        declared = data.get("language")
        if declared is not None and declared != lang:
            raise SpecError([f"{path}: language: file is {declared!r}, job expects {lang!r}"])
        data = data["lines"]
        if not isinstance(data, dict):
            raise SpecError([f"{path}: lines: expected a mapping of line id to text"])
    problems = [
        f"{path}: lines.{key}: expected non-empty text"
        for key, value in data.items()
        if not isinstance(value, str) or not value.strip()
    ]
    if problems:
        raise SpecError(problems)
    return {str(key): value.strip() for key, value in data.items()}


def load_glossary(path: Path) -> Glossary:
    """Read a glossary YAML/JSON file (``terms: [{term, translate, translations, note}]``)."""
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpecError([f"{path}: cannot parse: {' '.join(str(exc).split())}"]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
        raise SpecError([f"{path}: terms: expected a list of terms"])
    terms, problems = [], []
    for index, item in enumerate(data["terms"]):
        if not isinstance(item, dict) or not isinstance(item.get("term"), str):
            problems.append(f"{path}: terms.{index}.term: expected a string")
            continue
        translations = item.get("translations") or {}
        if not isinstance(translations, dict):
            problems.append(f"{path}: terms.{index}.translations: expected lang -> text")
            continue
        terms.append(
            GlossaryTerm(
                term=item["term"],
                translate=bool(item.get("translate", True)),
                translations={str(k): str(v) for k, v in translations.items()},
                note=str(item.get("note", "")),
            )
        )
    if problems:
        raise SpecError(problems)
    return Glossary(terms=tuple(terms), source=path)


def _contains(text: str, term: str) -> bool:
    # Whole-word, case-sensitive for brand names; punctuation at the term's ends is optional.
    core = re.escape(term.strip().rstrip(".!?"))
    return re.search(rf"(?<!\w){core}(?!\w)", text) is not None


def check_glossary(job: Job, translation: Translation, glossary: Glossary) -> list[Finding]:
    """Every glossary term present in a source line must be honoured in its translation."""
    findings = []
    for line in job.script:
        target = translation.lines[line.id]
        for term in glossary.terms:
            if not _contains(line.text, term.term):
                continue
            if not term.translate and not _contains(target, term.term):
                findings.append(
                    Finding(
                        "Issue",
                        "glossary.missing",
                        f"do-not-translate term {term.term!r} is missing from the translation",
                        line=line.id,
                    )
                )
            approved = term.translations.get(translation.lang)
            if approved is not None and not _contains(target, approved):
                findings.append(
                    Finding(
                        "Issue",
                        "glossary.wrong",
                        f"{term.term!r} must read {approved!r} in {translation.lang}",
                        line=line.id,
                    )
                )
    return findings
