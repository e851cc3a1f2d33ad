"""Ingest: probe the source clip and its stems, and check the job against the media."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from localize import media
from localize.errors import LocalizeError, MediaError, SpecError
from localize.lexicon import Lexicon, load_lexicon
from localize.phonemes import espeak_voice, unspeakable
from localize.spec import Job
from localize.translate import Glossary, Translation, load_glossary, translate_job


@dataclass(frozen=True)
class SourceMedia:
    """What the source clip is: picture, and where its dialogue and M&E come from."""

    video: media.MediaInfo
    dialogue: media.MediaInfo | None  # dialogue stem, None when only a mix exists
    me: media.MediaInfo | None  # music-and-effects stem, None when only a mix exists
    mix: media.MediaInfo  # the mix: a separate file, or the video file's own audio

    @property
    def duration(self) -> float:
        return self.video.duration

    @property
    def frame_rate(self) -> Fraction:
        assert self.video.video is not None
        return self.video.video.frame_rate

    @property
    def has_stems(self) -> bool:
        return self.dialogue is not None and self.me is not None


@dataclass(frozen=True)
class CheckedJob:
    """A job whose files all exist, parse, and agree with each other."""

    job: Job
    source: SourceMedia
    translations: dict[str, Translation]
    glossary: Glossary | None
    lexicon: Lexicon | None


def _probe(job: Job, field: str, path: Path, problems: list[str]) -> media.MediaInfo | None:
    try:
        return media.probe(path)
    except MediaError as exc:
        problems.append(f"{job.path}: {field}: {exc}")
        return None


def _check_duration(
    job: Job, field: str, info: media.MediaInfo, video: media.MediaInfo, problems: list[str]
) -> None:
    if not info.audio:
        problems.append(f"{job.path}: {field}: {info.path} has no audio stream")
    frame = video.frame_duration
    if abs(info.duration - video.duration) > frame + 1e-6:
        problems.append(
            f"{job.path}: {field}: duration {info.duration:.3f} s differs from the video's "
            f"{video.duration:.3f} s by more than one frame ({frame * 1000:.0f} ms)"
        )


def probe_source(job: Job) -> SourceMedia:
    """Probe video, stems and mix; raise SpecError naming every unusable file or field."""
    problems: list[str] = []
    video = _probe(job, "source.video", job.source.video, problems)
    if video is not None and video.video is None:
        problems.append(f"{job.path}: source.video: {video.path} has no video stream")
        video = None
    stems = job.source.stems
    dialogue = me = mix = None
    if stems is not None:
        dialogue = _probe(job, "source.stems.dialogue", stems.dialogue, problems)
        me = _probe(job, "source.stems.me", stems.me, problems)
    if job.source.mix is not None:
        mix = _probe(job, "source.mix", job.source.mix, problems)
    if video is not None:
        for field, info in (
            ("source.stems.dialogue", dialogue),
            ("source.stems.me", me),
            ("source.mix", mix),
        ):
            if info is not None:
                _check_duration(job, field, info, video, problems)
        if mix is None and job.source.mix is None:
            mix = video
            if not video.audio and stems is None:
                problems.append(
                    f"{job.path}: source: {video.path} has no audio; give stems or a mix"
                )
    if problems:
        raise SpecError(problems)
    assert video is not None and mix is not None
    return SourceMedia(video=video, dialogue=dialogue, me=me, mix=mix)


def _check_lines(job: Job, duration: float) -> list[str]:
    problems = []
    for index, line in enumerate(job.script):
        for name in ("start", "end"):
            value = getattr(line, name)
            if value is not None and value > duration:
                problems.append(
                    f"{job.path}: script.{index}.{name}: {value:.3f} s lies outside the clip "
                    f"(0 to {duration:.3f} s) (line {line.id})"
                )
    return problems


def _check_languages(job: Job) -> tuple[list[str], set[str]]:
    """Problems with languages and voice references, and the market tags that cannot be spoken."""
    problems, unsupported = [], set()
    try:
        espeak_voice(job.source_lang)
    except LocalizeError as exc:
        problems.append(f"{job.path}: source_lang: {exc}")
    for index, market in enumerate(job.markets):
        try:
            espeak_voice(market.lang)
        except LocalizeError as exc:
            problems.append(f"{job.path}: markets.{index}.lang: {exc}")
            unsupported.add(market.lang)
    for index, speaker in enumerate(job.speakers):
        ref = speaker.voice_reference
        if ref is not None and not ref.is_file():
            problems.append(f"{job.path}: speakers.{index}.voice_reference: {ref}: no such file")
        model = speaker.actor_model
        if model is not None and not model.is_file():
            problems.append(f"{job.path}: speakers.{index}.actor_model: {model}: no such file")
    for lang, path in job.external_voice.items():
        if not path.is_file():
            problems.append(f"{job.path}: external_voice.{lang}: {path}: no such file")
    if job.mode != "voice-over" and job.output.video_codec == "copy":
        problems.append(
            f"{job.path}: output.video_codec: mode {job.mode} repaints the picture, so it cannot "
            "be copied; use libx264"
        )
    return problems, unsupported


def _unspeakable_lines(translation: Translation) -> list[str]:
    """Lines holding characters the market's voice cannot say (emoji, another script)."""
    where = translation.source or translation.origin
    problems = []
    for line_id, text in translation.lines.items():
        chars = unspeakable(text, translation.lang)
        if chars:
            more = f" and {len(chars) - 3} more" if len(chars) > 3 else ""
            problems.append(
                f"{where}: lines.{line_id}: the {translation.lang} voice cannot say "
                f"{', '.join(chars[:3])}{more}; rewrite the line in the market's script"
            )
    return problems


def check_job(job: Job, langs: list[str] | None = None) -> CheckedJob:
    """Everything a run needs, checked before any work: media, times, languages, side files."""
    langs = job.langs if langs is None else langs
    problems, unsupported = _check_languages(job)
    unknown = [lang for lang in langs if lang not in job.langs]
    problems += [f"{job.path}: markets: no market {lang!r} (have {job.langs})" for lang in unknown]
    source: SourceMedia | None = None
    try:
        source = probe_source(job)
    except SpecError as exc:
        problems += exc.problems
    if source is not None:
        problems += _check_lines(job, source.duration)
        for lang, path in job.external_voice.items():
            info = _probe(job, f"external_voice.{lang}", path, problems) if path.is_file() else None
            if info is not None:
                _check_duration(job, f"external_voice.{lang}", info, source.video, problems)
    glossary = lexicon = None
    try:
        glossary = load_glossary(job.glossary) if job.glossary else None
        for path in job.lexicons:
            loaded = load_lexicon(path)
            lexicon = loaded if lexicon is None else lexicon.merge(loaded)
    except SpecError as exc:
        problems += exc.problems
    # After the glossary: machine translation masks its terms.
    translations: dict[str, Translation] = {}
    for lang in langs:
        if lang in unknown or lang in unsupported:
            continue
        try:
            translations[lang] = translate_job(job, lang, glossary)
            problems += _unspeakable_lines(translations[lang])
        except SpecError as exc:
            problems += exc.problems
    if problems:
        raise SpecError(problems)
    assert source is not None
    return CheckedJob(job, source, translations, glossary, lexicon)
