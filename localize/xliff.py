"""XLIFF 2.0 exchange with human translators: export a job's script, import the file they return."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lxml import etree
from translate.storage.xliff2 import Xliff2File, Xliff2Unit

from localize.errors import SpecError
from localize.spec import Job, Line
from localize.translate import Glossary, Translation, term_spans

NS = "urn:oasis:names:tc:xliff:document:2.0"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
# Characters per second a dubbing adapter can fit in a slot, by language. A guide only: the
# source line's own pace is unknown until alignment, so the budget follows the target language's
# typical speaking rate (German and Japanese pack fewer characters, Romance languages more).
CHARS_PER_SECOND = {"de": 14.0, "fr": 15.0, "es": 15.0, "it": 15.0, "pt": 15.0, "ja": 8.0}
DEFAULT_CHARS_PER_SECOND = 14.0
DONE_STATES = ("translated", "reviewed", "final")
ALL_STATES = ("initial", *DONE_STATES)


def char_budget(lang: str, seconds: float) -> int:
    """About how many characters of ``lang`` fit in ``seconds`` of speech."""
    rate = CHARS_PER_SECOND.get(lang.split("-")[0], DEFAULT_CHARS_PER_SECOND)
    return max(1, round(seconds * rate))


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _mark_do_not_translate(source: etree._Element, text: str, terms: list[str]) -> None:
    """Rewrite ``source`` as text with each do-not-translate term in a translate="no" <mrk>."""
    spans = sorted(span for term in terms for span in term_spans(text, term))
    kept: list[tuple[int, int]] = []
    for start, end in spans:
        if not kept or start >= kept[-1][1]:  # overlapping terms: the first one wins
            kept.append((start, end))
    if not kept:
        return
    for child in list(source):
        source.remove(child)
    source.text = text[: kept[0][0]]
    for index, (start, end) in enumerate(kept):
        mark = etree.SubElement(source, _q("mrk"), id=f"m{index + 1}", translate="no")
        mark.text = text[start:end]
        following = kept[index + 1][0] if index + 1 < len(kept) else len(text)
        mark.tail = text[end:following]


def _notes(line: Line, lang: str, seconds: float | None, glossary: Glossary | None) -> list:
    notes = [("speaker", f"Spoken by {line.speaker}.")]
    if seconds is not None:
        notes.append(
            (
                "length-budget",
                f"Slot {seconds:.2f} s: about {char_budget(lang, seconds)} characters "
                f"(the source has {len(line.text)}). Longer lines are sped up or overrun.",
            )
        )
    for term in glossary.terms if glossary else ():
        if not term_spans(line.text, term.term):
            continue
        approved = term.translations.get(lang)
        if not term.translate:
            notes.append(("glossary", f"Keep {term.term!r} as it is. {term.note}".strip()))
        elif approved is not None:
            notes.append(("glossary", f"Translate {term.term!r} as {approved!r}."))
    return notes


def _add_notes(unit: Xliff2Unit, notes: list[tuple[str, str]]) -> None:
    # XLIFF 2.0 keeps <notes> in the <unit> before its segments; translate-toolkit's addnote
    # would put them inside <segment>, which the schema forbids.
    container = etree.Element(_q("notes"))
    for category, text in notes:
        etree.SubElement(container, _q("note"), category=category).text = text
    unit.getunitelement().insert(0, container)


def export_xliff(
    job: Job,
    lang: str,
    path: Path,
    slots: Mapping[str, float],
    glossary: Glossary | None = None,
) -> Path:
    """Write the script as an XLIFF 2.0 file for translation into ``lang``.

    One <unit id=LINE_ID> per line; do-not-translate terms are marked translate="no"; notes give
    the speaker, the slot's length budget (``slots``: seconds per line id) and the glossary.
    """
    store = Xliff2File(sourcelanguage=job.source_lang, targetlanguage=lang)
    dnt = [term.term for term in glossary.terms if not term.translate] if glossary else []
    for line in job.script:
        unit = store.addsourceunit(line.text)
        unit.setid(line.id)
        unit.xmlelement.set("state", "initial")
        # The core schema allows xml:space on <unit>, not on <segment> where the toolkit puts it.
        unit.xmlelement.attrib.pop(XML_SPACE, None)
        unit.getunitelement().set(XML_SPACE, "preserve")
        _mark_do_not_translate(unit.xmlelement.find(_q("source")), line.text, dnt)
        _add_notes(unit, _notes(line, lang, slots.get(line.id), glossary))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(store))
    return path


def _parse(path: Path) -> Xliff2File:
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    try:
        store = Xliff2File.parsestring(path.read_bytes())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise SpecError([f"{path}: cannot parse: {' '.join(str(exc).split())}"]) from exc
    root = store.document.getroot()
    if root.tag != _q("xliff"):
        raise SpecError([f"{path}: not an XLIFF 2.0 file (root element {root.tag})"])
    return store


def _plain(text: str | None) -> str:
    return " ".join((text or "").split())


def _unit_problems(segments: list[Xliff2Unit], line: Line) -> list[str]:
    problems = []
    source = _plain(" ".join(str(segment.source or "") for segment in segments))
    if source != _plain(line.text):
        problems.append(
            f"source text {source!r} differs from the script's {line.text!r} "
            "(the script changed after export: export again)"
        )
    for segment in segments:
        # XLIFF 2.0: a segment without a state attribute is "initial".
        state = segment.xmlelement.get("state", "initial")
        if not _plain(str(segment.target or "")):
            problems.append("no translation (missing or empty <target>)")
        elif state not in ALL_STATES:
            problems.append(f"unknown state {state!r} (expected one of {', '.join(ALL_STATES)})")
        elif state == "initial":
            problems.append(
                f"state is 'initial' (not translated yet); expected {', '.join(DONE_STATES)}"
            )
    return problems


def import_xliff(job: Job, lang: str, path: Path) -> Translation:
    """Read a translated XLIFF 2.0 file back; every problem is one ``file: unit id: reason``."""
    store = _parse(path)
    problems = []
    target = store.gettargetlanguage()
    if target != lang:
        problems.append(f"{path}: trgLang: file is {target!r}, job expects {lang!r}")
    if store.getsourcelanguage() != job.source_lang:
        problems.append(
            f"{path}: srcLang: file is {store.getsourcelanguage()!r}, "
            f"job's source_lang is {job.source_lang!r}"
        )
    units: dict[str, list[Xliff2Unit]] = {}
    elements: dict[str, etree._Element] = {}
    for segment in store.units:
        element = segment.getunitelement()
        unit_id = str(element.get("id"))
        if elements.setdefault(unit_id, element) is not element:
            problems.append(f"{path}: unit {unit_id}: listed twice")
            continue
        units.setdefault(unit_id, []).append(segment)
    script = {line.id: line for line in job.script}
    lines: dict[str, str] = {}
    for unit_id, segments in units.items():
        if unit_id not in script:
            problems.append(
                f"{path}: unit {unit_id}: unknown line id (script ids: {', '.join(script)})"
            )
            continue
        found = _unit_problems(segments, script[unit_id])
        problems += [f"{path}: unit {unit_id}: {reason}" for reason in found]
        lines[unit_id] = _plain(" ".join(str(segment.target or "") for segment in segments))
    problems += [
        f"{path}: unit {line_id}: missing (every script line needs a unit)"
        for line_id in script
        if line_id not in units
    ]
    if problems:
        raise SpecError(problems)
    return Translation(lang=lang, lines=lines, source=path, origin="xliff")
