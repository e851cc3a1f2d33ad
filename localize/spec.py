"""The job spec: what a user writes (pydantic v2), loaded from YAML or JSON, paths resolved."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from localize.errors import SpecError

# BCP-47 as used for markets: language, optional script, optional region (de-DE, pt-BR, zh-Hans-CN).
BCP47 = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")
LINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

LoudnessSpecName = Literal["ebu-r128", "ebu-r128-s1", "atsc-a85", "arib-tr-b32", "op-59", "online"]
Mode = Literal["lipsync", "voice-over", "external-voice"]
DEFAULT_MARKETS = ("de-DE", "fr-FR", "es-ES", "it-IT", "pt-BR")


def _bcp47(value: str) -> str:
    if not BCP47.match(value):
        raise ValueError(f"{value!r} is not a BCP-47 tag like 'de-DE' or 'pt-BR'")
    return value


class _Model(BaseModel):
    # Unknown keys are typos in a hand-written file: reject them instead of ignoring them.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stems(_Model):
    """Separate dialogue and music-and-effects stems of the source mix."""

    dialogue: Path = Field(description="Dialogue stem (wav/flac), same length as the video.")
    me: Path = Field(description="Music-and-effects / ambience stem; delivered sample-identical.")


class Source(_Model):
    """The source clip: picture plus either stems or only a mix."""

    video: Path = Field(description="Source video (any container/codec ffmpeg reads).")
    stems: Stems | None = Field(
        None, description="Dialogue and M&E stems, when the client has them."
    )
    mix: Path | None = Field(None, description="Mixed audio; defaults to the video's own audio.")


class Line(_Model):
    """One line of the approved script."""

    id: str = Field(description="Unique line id, e.g. L1; translations are keyed by it.")
    speaker: str = Field(description="Name of a speaker in `speakers`.")
    text: str = Field(min_length=1, description="The approved source text.")
    start: float | None = Field(None, ge=0, description="Start of the line in the clip, seconds.")
    end: float | None = Field(None, gt=0, description="End of the line in the clip, seconds.")

    @field_validator("id")
    @classmethod
    def _id_chars(cls, value: str) -> str:
        if not LINE_ID.match(value):
            raise ValueError(f"line id {value!r} may hold only letters, digits, '_', '.', '-'")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Line:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Speaker(_Model):
    """A person who speaks in the clip."""

    name: str = Field(min_length=1)
    voice_reference: Path | None = Field(None, description="Clean recording of this voice.")
    consent_record_id: str | None = Field(
        None, description="Id of the signed consent to synthesise this person's voice/likeness."
    )
    gender: Literal["female", "male"] | None = Field(
        None, description="Picks a matching stock voice in voice-over mode."
    )
    actor_model: Path | None = Field(
        None,
        description="Checkpoint of this actor fitted on another clip (`localize fit` prints "
        "its path); used instead of fitting on this clip.",
    )


class Market(_Model):
    """A target market: a language tag and the loudness spec its broadcaster asks for."""

    lang: str = Field(description="BCP-47 tag, e.g. de-DE.")
    loudness: LoudnessSpecName = Field("ebu-r128", description="Loudness delivery spec.")

    @field_validator("lang")
    @classmethod
    def _tag(cls, value: str) -> str:
        return _bcp47(value)


class MachineTranslation(_Model):
    """A local machine-translation model (a folder `transformers` reads; never a hub download)."""

    model: Path | None = Field(
        None, description="Folder of a multilingual model (NLLB, M2M100) used for every market."
    )
    models: dict[str, Path] = Field(
        default_factory=dict,
        description="Language tag -> model folder (e.g. a Marian en-de model); wins over `model`.",
    )
    beams: int = Field(4, ge=1, le=16, description="Beam search width.")
    batch_size: int = Field(8, ge=1, le=256, description="Lines translated per batch.")


class Translations(_Model):
    """Where each market's translated lines come from: a file, an XLIFF file, or a local MT model.

    A language takes its lines from `files`, else from `xliff`, else from `machine`.
    """

    files: dict[str, Path] = Field(
        default_factory=dict, description="Language tag -> CSV/JSON/YAML file keyed by line id."
    )
    xliff: dict[str, Path] = Field(
        default_factory=dict,
        description="Language tag -> XLIFF 2.0 file returned by the translator "
        "(`localize export-xliff` writes the file to send).",
    )
    machine: MachineTranslation | None = Field(
        None, description="Machine translation for markets with no file and no XLIFF."
    )


class Timing(_Model):
    """How far a line's speaking rate may move to fit its slot."""

    min_rate: float = Field(0.85, gt=0.3, le=1.0)
    max_rate: float = Field(1.15, ge=1.0, lt=3.0)


class Mix(_Model):
    """How the new dialogue is mixed and whether the master is normalised to its market's spec."""

    normalize: bool = Field(
        False,
        description="Apply a gain and a true-peak limiter so the master meets its market's "
        "loudness spec (recorded in the manifest); off: measure and report only.",
    )


class Output(_Model):
    """Where deliverables go and how the master is encoded."""

    folder: Path = Field(Path("out"), description="One sub-folder per language is written here.")
    video_codec: Literal["libx264", "copy"] = Field(
        "libx264", description="libx264 re-encodes the picture; copy keeps the source stream."
    )
    crf: int = Field(18, ge=0, le=51, description="x264 constant rate factor (lower = better).")
    preset: Literal[
        "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower"
    ] = "medium"
    audio_bitrate: str = Field("192k", pattern=r"^[0-9]+k$")


class Job(_Model):
    """A localization job: one source clip into several markets."""

    name: str = Field("job", description="Short name used in reports.")
    mode: Mode = Field(
        "lipsync",
        description="lipsync: the actor model regenerates speech and mouth together; voice-over: "
        "a stock voice over the untouched picture; external-voice: recordings in "
        "`external_voice` drive the mouth.",
    )
    source_lang: str = Field("en-US", description="BCP-47 tag of the script's language.")
    source: Source
    speakers: list[Speaker] = Field(min_length=1)
    script: list[Line] = Field(min_length=1)
    markets: list[Market] = Field(
        default_factory=lambda: [Market(lang=tag) for tag in DEFAULT_MARKETS]
    )
    translations: Translations = Field(default_factory=Translations)
    glossary: Path | None = None
    lexicons: list[Path] = Field(default_factory=list)
    timing: Timing = Field(default_factory=Timing)
    mix: Mix = Field(default_factory=Mix)
    external_voice: dict[str, Path] = Field(
        default_factory=dict,
        description="Language tag -> dialogue recording by a voice talent (mode external-voice): "
        "same length as the video, used as delivered.",
    )
    output: Output = Field(default_factory=Output)

    @field_validator("source_lang")
    @classmethod
    def _source_tag(cls, value: str) -> str:
        return _bcp47(value)

    # Set by load_job: the file the job came from (paths were resolved against its folder).
    _path: Path | None = PrivateAttr(None)

    @property
    def path(self) -> Path | None:
        return self._path

    def market(self, lang: str) -> Market:
        for market in self.markets:
            if market.lang == lang:
                return market
        raise SpecError([f"{self.path}: markets: no market {lang!r} (have {self.langs})"])

    @property
    def langs(self) -> list[str]:
        return [m.lang for m in self.markets]

    def speaker(self, name: str) -> Speaker:
        return next(s for s in self.speakers if s.name == name)


def _cross_ref_problems(job: Job) -> list[str]:
    problems: list[str] = []
    names = [s.name for s in job.speakers]
    seen: set[str] = set()
    for index, line in enumerate(job.script):
        if line.speaker not in names:
            problems.append(
                f"script.{index}.speaker: unknown speaker {line.speaker!r} "
                f"(known: {', '.join(names)})"
            )
        if line.id in seen:
            problems.append(f"script.{index}.id: duplicate line id {line.id!r}")
        seen.add(line.id)
    tags = [m.lang for m in job.markets]
    for index, tag in enumerate(tags):
        if tags.index(tag) != index:
            problems.append(f"markets.{index}.lang: market {tag} listed twice")
    sources = {
        "translations.files": job.translations.files,
        "translations.xliff": job.translations.xliff,
        "external_voice": job.external_voice,
    }
    if job.translations.machine is not None:
        sources["translations.machine.models"] = job.translations.machine.models
    for where, by_lang in sources.items():
        problems += [
            f"{where}.{tag}: no market {tag} (markets: {', '.join(tags)})"
            for tag in by_lang
            if tag not in tags
        ]
    if job.mode == "external-voice":
        problems += [
            f"external_voice.{tag}: mode external-voice needs a recording for every market"
            for tag in tags
            if tag not in job.external_voice
        ]
    return problems


def job_schema() -> dict[str, Any]:
    """JSON Schema of the job file."""
    return Job.model_json_schema()


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SpecError([f"{path}: no such file"])
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError([f"{path}: cannot parse: {_one_line(exc)}"]) from exc
    if not isinstance(data, dict):
        raise SpecError([f"{path}: expected a mapping at the top level, got {type(data).__name__}"])
    return data


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def _format_errors(path: Path, error: ValidationError) -> list[str]:
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"]) or "(top level)"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling; `localize schema` lists fields)"
        lines.append(f"{path}: {loc}: {message}")
    return lines


def _resolve(job: Job, base: Path) -> Job:
    def fix(p: Path | None) -> Path | None:
        return None if p is None else (p if p.is_absolute() else (base / p)).resolve()

    source = job.source.model_copy(
        update={
            "video": fix(job.source.video),
            "mix": fix(job.source.mix),
            "stems": None
            if job.source.stems is None
            else Stems(dialogue=fix(job.source.stems.dialogue), me=fix(job.source.stems.me)),
        }
    )
    speakers = [
        s.model_copy(
            update={"voice_reference": fix(s.voice_reference), "actor_model": fix(s.actor_model)}
        )
        for s in job.speakers
    ]
    machine = job.translations.machine
    if machine is not None:
        machine = machine.model_copy(
            update={
                "model": fix(machine.model),
                "models": {lang: fix(p) for lang, p in machine.models.items()},
            }
        )
    translations = Translations(
        files={lang: fix(p) for lang, p in job.translations.files.items()},
        xliff={lang: fix(p) for lang, p in job.translations.xliff.items()},
        machine=machine,
    )
    return job.model_copy(
        update={
            "source": source,
            "speakers": speakers,
            "translations": translations,
            "external_voice": {lang: fix(p) for lang, p in job.external_voice.items()},
            "glossary": fix(job.glossary),
            "lexicons": [fix(p) for p in job.lexicons],
            "output": job.output.model_copy(update={"folder": fix(job.output.folder)}),
        }
    )


def load_job(path: str | Path) -> Job:
    """Read and validate a job file; relative paths resolve against the file's folder.

    Raises SpecError listing every problem as ``file: field.path: message``.
    """
    path = Path(path)
    data = _read_mapping(path)
    try:
        job = Job.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_errors(path, exc)) from None
    problems = _cross_ref_problems(job)
    if problems:
        raise SpecError([f"{path}: {problem}" for problem in problems])
    resolved = _resolve(job, path.resolve().parent)
    resolved._path = path  # as the user wrote it, so messages name the file they know
    return resolved
