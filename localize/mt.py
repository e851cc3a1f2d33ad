"""Machine translation from a local model folder (Marian, M2M100, NLLB), glossary terms masked."""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from localize.errors import SpecError
from localize.spec import Job
from localize.translate import Finding, Glossary, Progress, Translation, term_spans

FAMILIES = ("marian", "m2m100", "nllb")
# NLLB names languages by FLORES-200 code: ISO 639-3 plus script.
FLORES = {
    "en": "eng_Latn",
    "de": "deu_Latn",
    "fr": "fra_Latn",
    "es": "spa_Latn",
    "it": "ita_Latn",
    "pt": "por_Latn",
    "ja": "jpn_Jpan",
}
# Multilingual Marian models pick the target with a >>xxx<< token, mostly ISO 639-3.
ISO639_3 = {code: flores.split("_")[0] for code, flores in FLORES.items()}
# Glossary spans become numbers before MT: NMT models copy digits through far more reliably
# than made-up words, which they translate, inflect or transliterate.
PLACEHOLDER_BASE = 7301
# Separators a model may put inside a number ("7 301", "7.301") and still mean the placeholder.
DIGIT_GAP = r"[\s.,\u00a0\u202f]?"


@dataclass(frozen=True)
class Mask:
    """A source line with its glossary spans replaced by placeholders."""

    text: str  # what the model sees
    spans: tuple[tuple[str, str, str], ...]  # (placeholder, restored text, glossary term)

    @property
    def only_placeholders(self) -> bool:
        """Nothing left to translate (e.g. "Brand. Tagline."): MT would only risk the terms."""
        rest = self.text
        for placeholder, _, _ in self.spans:
            rest = rest.replace(placeholder, "")
        return not re.search(r"\w", rest)


@dataclass(frozen=True, eq=False)
class MachineModel:
    """A loaded model and tokenizer, and how they name languages."""

    folder: Path
    family: str  # one of FAMILIES
    tokenizer: Any
    model: Any
    device: str


def model_folder(job: Job, lang: str) -> tuple[Path, str]:
    """The model folder serving ``lang`` and the job field that names it."""
    machine = job.translations.machine
    if machine is None:
        raise SpecError([f"{job.path}: translations.machine: not set"])
    if lang in machine.models:
        return machine.models[lang], f"translations.machine.models.{lang}"
    if machine.model is None:
        raise SpecError(
            [
                f"{job.path}: translations.machine.models.{lang}: no model for {lang} "
                "(give translations.machine.models.{lang} or translations.machine.model)"
            ]
        )
    return machine.model, "translations.machine.model"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def detect_family(folder: Path, where: str) -> str:
    """marian, m2m100 or nllb, from the folder's config.json (and tokenizer files for NLLB)."""
    if not folder.is_dir():
        raise SpecError([f"{where}: {folder}: no such folder"])
    config = _read_json(folder / "config.json")
    if not config:
        raise SpecError([f"{where}: {folder}: no readable config.json (not a transformers model)"])
    model_type = str(config.get("model_type", ""))
    if model_type == "marian":
        return "marian"
    if model_type == "m2m_100":
        # NLLB reuses M2M100's architecture; only its tokenizer and FLORES codes tell it apart.
        names = ("tokenizer_config.json", "special_tokens_map.json")
        text = " ".join(json.dumps(_read_json(folder / name)) for name in names)
        return "nllb" if "Nllb" in text or "eng_Latn" in text else "m2m100"
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES

    if model_type not in MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES:
        raise SpecError(
            [f"{where}: {folder}: model_type {model_type!r} is not a sequence-to-sequence model"]
        )
    raise SpecError(
        [
            f"{where}: {folder}: unsupported model family {model_type!r} "
            "(supported: marian, m2m_100 for M2M100 and NLLB)"
        ]
    )


def language_code(family: str, lang: str, tokenizer: Any) -> str | None:
    """The code ``tokenizer`` knows ``lang`` by; None when the family has none (Marian pairs).

    Raises ValueError when the model does not cover the language.
    """
    primary = lang.split("-")[0]
    if family == "m2m100":
        if primary not in getattr(tokenizer, "lang_code_to_id", {}):
            raise ValueError(f"M2M100 has no language code {primary!r}")
        return primary
    if family == "nllb":
        code = FLORES.get(primary)
        if code is None or code not in tokenizer.get_vocab():
            raise ValueError(f"NLLB has no FLORES code for {lang} (known: {sorted(FLORES)})")
        return code
    codes = list(getattr(tokenizer, "supported_language_codes", []) or [])
    if not codes:
        return None  # one model per language pair: the folder is the choice
    for candidate in (f">>{ISO639_3.get(primary, primary)}<<", f">>{primary}<<"):
        if candidate in codes:
            return candidate
    raise ValueError(f"Marian model has no target token for {lang} (has {', '.join(codes[:8])})")


@lru_cache(maxsize=2)  # one multilingual model serves every market: load it once per run
def load_model(folder: Path, where: str) -> MachineModel:
    """Tokenizer and model from a local folder; never a download."""
    family = detect_family(folder, where)
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    with warnings.catch_warnings():
        # MarianTokenizer asks for sacremoses; punctuation normalisation is optional.
        warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            model = AutoModelForSeq2SeqLM.from_pretrained(folder, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            reason = " ".join(str(exc).split())
            raise SpecError([f"{where}: {folder}: cannot load: {reason}"]) from exc
    if family == "m2m100" and type(tokenizer).__name__.startswith("Nllb"):
        family = "nllb"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    return MachineModel(folder, family, tokenizer, model, device)


def mask_line(text: str, glossary: Glossary | None, lang: str) -> Mask:
    """Replace do-not-translate terms and terms with an approved rendering by placeholders."""
    found: list[tuple[int, int, str, str]] = []
    for term in glossary.terms if glossary else ():
        approved = term.translations.get(lang)
        if term.translate and approved is None:
            continue
        for start, end in term_spans(text, term.term):
            matched = text[start:end]
            restored = matched if approved is None or not term.translate else approved
            if restored is approved and matched[-1] not in ".!?":
                restored = restored.rstrip(".!?")  # the line goes on after the term
            found.append((start, end, restored, term.term))
    found.sort()
    number = PLACEHOLDER_BASE
    spans, pieces, position = [], [], 0
    for start, end, restored, name in found:
        if start < position:
            continue  # overlaps a term already masked
        while str(number) in text:
            number += 1
        placeholder = str(number)
        number += 1
        pieces += [text[position:start], placeholder]
        spans.append((placeholder, restored, name))
        position = end
    pieces.append(text[position:])
    return Mask("".join(pieces), tuple(spans))


def unmask(output: str, mask: Mask) -> tuple[str, list[str]]:
    """Model output with placeholders restored, and the terms whose placeholder was lost."""
    lost = []
    for placeholder, restored, term in mask.spans:
        pattern = r"(?<!\d)" + DIGIT_GAP.join(placeholder) + r"(?!\d)"
        # Split and join rather than re.sub: the restored text is literal, backslashes included.
        parts = re.split(pattern, output)
        output = restored.join(parts)
        if len(parts) == 1:
            lost.append(term)
    return output, lost


def generate(
    loaded: MachineModel,
    texts: list[str],
    source_lang: str,
    target_lang: str,
    beams: int,
    batch_size: int,
    progress: Progress | None = None,
) -> list[str]:
    """Translate ``texts`` with beam search (deterministic), ``batch_size`` at a time."""
    import torch

    tokenizer, family = loaded.tokenizer, loaded.family
    target = language_code(family, target_lang, tokenizer)
    options: dict[str, Any] = {"num_beams": beams, "do_sample": False}
    prefix = ""
    if family == "marian":
        prefix = f"{target} " if target else ""
    else:
        tokenizer.src_lang = language_code(family, source_lang, tokenizer)
        # The decoder's first token names the target language.
        options["forced_bos_token_id"] = (
            tokenizer.get_lang_id(target)
            if family == "m2m100"
            else tokenizer.convert_tokens_to_ids(target)
        )
    outputs: list[str] = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = [prefix + text for text in texts[start : start + batch_size]]
            inputs = tokenizer(batch, return_tensors="pt", padding=True, truncation=True)
            inputs = inputs.to(loaded.device)
            # Room for a target up to three times the source, as for terse source languages.
            limit = 3 * int(inputs["input_ids"].shape[1]) + 10
            ids = loaded.model.generate(**inputs, max_new_tokens=limit, **options)
            outputs += [t.strip() for t in tokenizer.batch_decode(ids, skip_special_tokens=True)]
            if progress is not None:
                progress("translate", len(outputs), len(texts))
    return outputs


def translate_machine(
    job: Job, lang: str, glossary: Glossary | None = None, progress: Progress | None = None
) -> Translation:
    """The job's script translated into ``lang`` by its local MT model; glossary terms kept.

    A lost placeholder and an empty output are findings on the translation, never patched.
    """
    machine = job.translations.machine
    assert machine is not None, "translator_for only picks MT when translations.machine is set"
    folder, field = model_folder(job, lang)
    where = f"{job.path}: {field}"
    loaded = load_model(folder, where)
    try:
        language_code(loaded.family, lang, loaded.tokenizer)
        if loaded.family != "marian":  # Marian's >>xxx<< tokens name targets only
            language_code(loaded.family, job.source_lang, loaded.tokenizer)
    except ValueError as exc:
        raise SpecError([f"{where}: {folder}: {exc}"]) from None
    masks = {line.id: mask_line(line.text, glossary, lang) for line in job.script}
    todo = [line_id for line_id, mask in masks.items() if not mask.only_placeholders]
    texts = [masks[line_id].text for line_id in todo]
    outputs = generate(
        loaded, texts, job.source_lang, lang, machine.beams, machine.batch_size, progress
    )
    raw = dict(zip(todo, outputs, strict=True))
    lines: dict[str, str] = {}
    findings: list[Finding] = []
    for line_id, mask in masks.items():
        lines[line_id], lost = unmask(raw.get(line_id, mask.text), mask)
        findings += [
            Finding(
                "Issue",
                "glossary.mt_lost",
                f"the model dropped the placeholder for {term!r}; the line lacks it",
                line=line_id,
            )
            for term in lost
        ]
        if not lines[line_id]:
            findings.append(
                Finding("Blocker", "translation.empty", "the model returned no text", line_id)
            )
    return Translation(lang, lines, folder, origin="machine", findings=tuple(findings))
