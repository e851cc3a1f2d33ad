"""Translations of the script per language, and glossary enforcement on them."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from localize.errors import SpecError
from localize.spec import Job

Progress = Callable[[str, float, float], None]  # (step, done, total)


@dataclass(frozen=True)
class Finding:
    """A QA finding: something a reviewer must look at; never silently fixed."""

    severity: str  # "FYI", "Issue" or "Blocker"
    code: str  # stable machine-readable kind, e.g. "glossary.missing"
    message: str
    line: str | None = None  # script line id, when the finding is about one line
    time: float | None = None  # seconds in the clip, when known


@dataclass(frozen=True)
class Translation:
    """The translated text of every script line for one language."""

    lang: str
    lines: Mapping[str, str]  # line id -> translated text
    source: Path | None  # file it came from, the MT model folder, or None for generated ones
    origin: str = "provided"  # back-end that made it: "provided", "xliff" or "machine"
    findings: tuple[Finding, ...] = ()  # what the back-end noticed (MT: lost glossary terms)


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

    def translate(
        self,
        job: Job,
        lang: str,
        glossary: Glossary | None = None,
        progress: Progress | None = None,
    ) -> Translation:
        raise NotImplementedError


class ProvidedTranslator(Translator):
    """Reads the vendor's translation file named in the job (`translations.files`)."""

    name = "provided"

    def translate(
        self,
        job: Job,
        lang: str,
        glossary: Glossary | None = None,
        progress: Progress | None = None,
    ) -> Translation:
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
        return Translation(lang=lang, lines=lines, source=path, origin=self.name)


class XliffTranslator(Translator):
    """Reads the XLIFF 2.0 file a translator returned (`translations.xliff`)."""

    name = "xliff"

    def translate(
        self,
        job: Job,
        lang: str,
        glossary: Glossary | None = None,
        progress: Progress | None = None,
    ) -> Translation:
        # Imported here: localize.xliff builds on this module's Translation.
        from localize.xliff import import_xliff

        path = job.translations.xliff.get(lang)
        if path is None:
            raise SpecError([f"{job.path}: translations.xliff.{lang}: no XLIFF file for {lang}"])
        return import_xliff(job, lang, path)


class MachineTranslator(Translator):
    """Translates with the local model named in `translations.machine`."""

    name = "machine"

    def translate(
        self,
        job: Job,
        lang: str,
        glossary: Glossary | None = None,
        progress: Progress | None = None,
    ) -> Translation:
        # Imported here: torch and transformers load only when a job asks for MT.
        from localize.mt import translate_machine

        return translate_machine(job, lang, glossary, progress)


TRANSLATORS: dict[str, type[Translator]] = {
    backend.name: backend for backend in (ProvidedTranslator, XliffTranslator, MachineTranslator)
}


def translator_for(job: Job, lang: str) -> Translator:
    """The back-end for one market: its file, else its XLIFF, else the job's MT model."""
    if lang in job.translations.files:
        return TRANSLATORS["provided"]()
    if lang in job.translations.xliff:
        return TRANSLATORS["xliff"]()
    if job.translations.machine is not None:
        return TRANSLATORS["machine"]()
    raise SpecError(
        [
            f"{job.path}: translations: no translation for market {lang} (give "
            f"translations.files.{lang}, translations.xliff.{lang} or translations.machine)"
        ]
    )


def translate_job(
    job: Job, lang: str, glossary: Glossary | None = None, progress: Progress | None = None
) -> Translation:
    """The translation of the job's script for one market, from whichever back-end serves it."""
    return translator_for(job, lang).translate(job, lang, glossary, progress)


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


def term_spans(text: str, term: str) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of a glossary term in ``text``.

    Whole-word and case-sensitive, since terms are mostly brand names; the term's closing
    punctuation is optional and belongs to the span when the text has it.
    """
    core = term.strip().rstrip(".!?")
    tail = term.strip()[len(core) :]
    pattern = rf"(?<!\w){re.escape(core)}(?!\w)(?:{re.escape(tail)})?"
    return [match.span() for match in re.finditer(pattern, text)]


def _contains(text: str, term: str) -> bool:
    return bool(term_spans(text, term))


def empty_lines(job: Job, translation: Translation) -> list[Finding]:
    """A line with no translated text cannot be spoken: a Blocker per empty line."""
    return [
        Finding("Blocker", "translation.empty", "the translation of this line is empty", line.id)
        for line in job.script
        if not translation.lines.get(line.id, "").strip()
    ]


def check_glossary(job: Job, translation: Translation, glossary: Glossary) -> list[Finding]:
    """Every glossary term present in a source line must be honoured in its translation.

    Empty lines are reported as such rather than as a missing term each.
    """
    findings = empty_lines(job, translation)
    empty = {finding.line for finding in findings}
    for line in job.script:
        if line.id in empty:
            continue
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


def check_translation(
    job: Job, translation: Translation, glossary: Glossary | None
) -> list[Finding]:
    """Every finding on a translation whatever its back-end: the back-end's own, empty lines and
    the glossary's, each (code, line) once."""
    if glossary is None:
        checks = empty_lines(job, translation)
    else:
        checks = check_glossary(job, translation, glossary)
    findings, seen = [], set()
    for finding in (*translation.findings, *checks):
        if (finding.code, finding.line) not in seen:
            seen.add((finding.code, finding.line))
            findings.append(finding)
    return findings
