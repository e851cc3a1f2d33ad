"""Runs a checked job: for each market, dialogue, mix, master, stems and manifest."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from localize import loudness, media, mix, subtitles, timeline
from localize.analysis import SourceAnalysis
from localize.cast import Cast
from localize.deliver import FileHasher, FileRecord, staged_folder, write_manifest
from localize.errors import RenderError, SpecError
from localize.ingest import CheckedJob
from localize.lipsync import SYNC_EARLY_MS, SYNC_LATE_MS, render_lipsync
from localize.media import Overlay
from localize.render import DialogueRender, Progress, render_voice_over
from localize.translate import Finding, check_translation
from localize.voice_talent import render_external_voice

# Share of a language's progress bar each stage takes (speech synthesis is quick; encoding is not).
STAGE_WEIGHTS = {"speech": 30.0, "mix": 10.0, "encode": 60.0}


@dataclass(frozen=True)
class LanguageResult:
    """What one market's render produced."""

    lang: str
    folder: Path
    outputs: tuple[FileRecord, ...]
    findings: tuple[Finding, ...]
    mix: mix.MixReport
    seconds: float  # wall time of this language's render


def output_folder(checked: CheckedJob, lang: str) -> Path:
    return checked.job.output.folder / lang


def check_outputs(checked: CheckedJob, langs: list[str], force: bool) -> None:
    """Refuse before any work when an output folder exists and --force was not given."""
    existing = [str(output_folder(checked, lang)) for lang in langs]
    existing = [path for path in existing if Path(path).exists()]
    if existing and not force:
        raise SpecError(
            [
                f"{checked.job.path}: output.folder: {path} exists; use --force to overwrite"
                for path in existing
            ]
        )


def _staged_progress(progress: Progress | None) -> Callable[[str], Progress]:
    """Maps each stage's (done, total) onto one 0..100 bar for the language."""

    def for_stage(stage: str) -> Progress:
        names = list(STAGE_WEIGHTS)
        offset = sum(STAGE_WEIGHTS[name] for name in names[: names.index(stage)])

        def report(step: str, done: float, total: float) -> None:
            if progress is not None and total > 0:
                share = STAGE_WEIGHTS[stage] * min(1.0, done / total)
                progress(stage, offset + share, 100.0)

        return report

    return for_stage


def _inputs(checked: CheckedJob, lang: str, hasher: FileHasher) -> list[FileRecord]:
    job, source = checked.job, checked.source
    assert job.path is not None
    records = [hasher.record("job", job.path), hasher.record("video", source.video.path)]
    if source.dialogue is not None and source.me is not None:
        records += [hasher.record("dialogue", source.dialogue.path)]
        records += [hasher.record("me", source.me.path)]
    if source.mix is not source.video:
        records.append(hasher.record("mix", source.mix.path))
    translation = checked.translations[lang]
    if translation.source is not None and translation.source.is_dir():  # an MT model folder
        files = sorted(p for p in translation.source.rglob("*") if p.is_file())
        records += [hasher.record("translation-model", path) for path in files]
    elif translation.source is not None:
        records.append(hasher.record("translation", translation.source))
    if job.glossary is not None:
        records.append(hasher.record("glossary", job.glossary))
    records += [hasher.record("lexicon", path) for path in job.lexicons]
    return records


def _master_audio(checked: CheckedJob, dialogue: DialogueRender, bed: np.ndarray) -> np.ndarray:
    if checked.source.has_stems:
        return mix.mix_over(bed, dialogue.samples)
    # Only a mix: the original speech cannot be removed, so it is ducked under the new lines.
    spans = [(line.start, line.end) for line in dialogue.lines]
    envelope = mix.duck_envelope(len(bed), spans, dialogue.sample_rate)
    return mix.mix_over(bed * envelope[:, None], dialogue.samples)


def _mix_findings(report: mix.MixReport) -> list[Finding]:
    if report.clipped_samples == 0:
        return []
    return [
        Finding(
            "Blocker",
            "mix.clipping",
            f"the master mix exceeds full scale on {report.clipped_samples} samples "
            f"(peak {report.sample_peak_dbfs:+.1f} dBFS)",
        )
    ]


@dataclass(frozen=True, eq=False)
class RunContext:
    """What every market of a run shares: the source analysis, the cast, the mix settings."""

    analysis: SourceAnalysis | None = None
    cast: Cast | None = None  # lipsync / external-voice: the fitted actors and their crops
    normalize: bool = False  # --normalize: bring each master to its market's loudness spec


def _dialogue(
    checked: CheckedJob,
    lang: str,
    context: RunContext,
    sample_rate: int,
    workdir: Path,
    progress: Progress,
) -> tuple[DialogueRender, tuple[Overlay, ...]]:
    """The market's dialogue stem, and in lip-sync modes the mouth patches to composite."""
    aligned = None
    if context.analysis is not None:
        aligned = {ln.id: (ln.start, ln.end) for ln in context.analysis.alignment.lines}
    mode = checked.job.mode
    if mode == "voice-over":
        return render_voice_over(checked, lang, sample_rate, progress, aligned), ()
    if context.cast is None:
        raise RenderError(f"{checked.job.path}: mode {mode} needs the fitted actor models")
    render = render_lipsync if mode == "lipsync" else render_external_voice
    result = render(checked, lang, context.cast, sample_rate, workdir, progress, aligned)
    return result.dialogue, result.overlays


def render_language(
    checked: CheckedJob,
    lang: str,
    hasher: FileHasher,
    force: bool = False,
    progress: Progress | None = None,
    context: RunContext | None = None,
) -> LanguageResult:
    """Render one market into `<output>/<lang>/`; nothing is left behind if it fails.

    With the source analysis in `context`, lines without times take their aligned times.
    """
    started = time.perf_counter()
    context = context if context is not None else RunContext()
    job = checked.job
    stage = _staged_progress(progress)
    bed, sample_rate = mix.read_bed(checked.source)
    spec = loudness.get_spec(job.market(lang).loudness)
    final = output_folder(checked, lang)
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{lang}.patches-", dir=final.parent) as tmp:
        dialogue, overlays = _dialogue(
            checked, lang, context, sample_rate, Path(tmp), stage("speech")
        )
        finished = mix.finish_master(
            _master_audio(checked, dialogue, bed),
            dialogue.samples,
            sample_rate,
            spec,
            context.normalize,
        )
        stage("mix")("mix", 1, 1)
        findings = list(dialogue.findings) + _mix_findings(finished.report)
        findings += list(finished.findings)
        findings += check_translation(job, checked.translations[lang], checked.glossary)
        with staged_folder(final, force) as folder:
            outputs, me_hash = _write_outputs(
                checked, folder, dialogue, finished.samples, overlays, stage("encode"), hasher
            )
            write_manifest(
                folder,
                _manifest(checked, lang, context, hasher, outputs, me_hash, dialogue, finished)
                | {"findings": findings},
            )
    outputs = [
        FileRecord(r.role, str(final / Path(r.path).name), r.sha256, r.bytes) for r in outputs
    ]
    seconds = time.perf_counter() - started
    return LanguageResult(lang, final, tuple(outputs), tuple(findings), finished.report, seconds)


def _manifest(
    checked: CheckedJob,
    lang: str,
    context: RunContext,
    hasher: FileHasher,
    outputs: list[FileRecord],
    me_hash: str | None,
    dialogue: DialogueRender,
    finished: mix.FinishedMaster,
) -> dict[str, Any]:
    job, analysis, cast = checked.job, context.analysis, context.cast
    cloned = job.mode != "voice-over"
    offsets = [ln.av_offset_ms for ln in dialogue.lines if ln.av_offset_ms is not None]
    return {
        "job": job.name,
        "language": lang,
        "mode": job.mode,
        "translation": {
            "origin": checked.translations[lang].origin,
            "source": checked.translations[lang].source,
        },
        "loudness_spec": loudness.get_spec(job.market(lang).loudness),
        "inputs": _inputs(checked, lang, hasher),
        "outputs": outputs,
        "actors": {}
        if cast is None
        else {
            name: {"checkpoint": a.checkpoint.name, "sha256": a.sha256}
            for name, a in cast.actors.items()
        },
        "lines": dialogue.lines,
        "stretch": {ln.id: ln.rate for ln in dialogue.lines},
        "sync": {
            "av_offset_ms": {ln.id: ln.av_offset_ms for ln in dialogue.lines},
            "median_ms": float(np.median(offsets)) if offsets else None,
            "tolerance_ms": {"audio_early": SYNC_EARLY_MS, "audio_late": SYNC_LATE_MS},
        },
        "mix": finished.report,
        "normalization": finished.normalization,
        # Checked on this render: the delivered M&E decodes to the input's samples.
        "me_sample_identical": me_hash is not None,
        "me_samples_sha256": me_hash,
        "consent": {s.name: s.consent_record_id for s in job.speakers},
        "ai_generated": {"speech": job.mode != "external-voice", "picture": cloned},
        "source_analysis": None
        if analysis is None
        else {
            "aligned_lines": {ln.id: (ln.start, ln.end) for ln in analysis.alignment.lines},
            "findings": analysis.findings,
        },
    }


def _write_outputs(
    checked: CheckedJob,
    folder: Path,
    dialogue: DialogueRender,
    master: np.ndarray,
    overlays: tuple[Overlay, ...],
    progress: Progress,
    inputs: FileHasher,
) -> tuple[list[FileRecord], str | None]:
    """Write stems, master, subtitles and timeline into `folder`; their records and the M&E
    sample hash."""
    source, settings = checked.source, checked.job.output
    hasher = FileHasher()
    me_hash = None
    media.write_audio(folder / "dialogue.wav", dialogue.samples, dialogue.sample_rate)
    records = [hasher.record("dialogue", folder / "dialogue.wav")]
    if source.me is not None:
        media.copy_audio_lossless(source.me.path, folder / "me.wav")
        me_hash = inputs.samples(source.me.path)
        if media.audio_sample_hash(folder / "me.wav") != me_hash:
            raise RenderError(f"{folder / 'me.wav'}: M&E samples differ from {source.me.path}")
        records.append(hasher.record("me", folder / "me.wav"))
    spoken = [(ln.id, ln.start, ln.end, ln.text) for ln in dialogue.lines]
    cues = subtitles.cues_from_lines(spoken, dialogue.lang)
    for fmt in ("srt", "vtt"):
        path = subtitles.write_subtitles(folder / f"subtitles.{fmt}", cues, fmt, dialogue.lang)
        records.append(hasher.record(f"subtitles.{fmt}", path))
    mix_wav = folder / ".mix.wav"
    media.write_audio(mix_wav, master, dialogue.sample_rate, subtype="FLOAT")
    try:
        media.encode_master(
            source.video.path,
            mix_wav,
            folder / "master.mp4",
            crf=settings.crf,
            preset=settings.preset,
            video_codec=settings.video_codec,
            audio_bitrate=settings.audio_bitrate,
            overlays=overlays,
            progress=lambda done, total: progress("encode", done, total),
        )
    finally:
        mix_wav.unlink(missing_ok=True)
    timeline.write_timeline(
        folder / "timeline.otio",
        name=f"{checked.job.name} {dialogue.lang}",
        frame_rate=source.frame_rate,
        duration=source.duration,
        picture=folder / "master.mp4",
        dialogue=folder / "dialogue.wav",
        me=folder / ("me.wav" if source.me is not None else "master.mp4"),
        lines=spoken,
    )
    records = [hasher.record("master", folder / "master.mp4"), *records]
    records.append(hasher.record("timeline", folder / "timeline.otio"))
    # Outputs are named relative to the manifest's folder, which is renamed into place later.
    return [FileRecord(r.role, Path(r.path).name, r.sha256, r.bytes) for r in records], me_hash


def run_job(
    checked: CheckedJob,
    langs: list[str] | None = None,
    force: bool = False,
    progress_for: Callable[[str], Progress | None] | None = None,
    context: RunContext | None = None,
) -> list[LanguageResult]:
    """Render every requested market, one after another, sharing the analysis and the cast."""
    langs = checked.job.langs if langs is None else langs
    check_outputs(checked, langs, force)
    hasher = FileHasher()
    results = []
    for lang in langs:
        progress = progress_for(lang) if progress_for is not None else None
        results.append(render_language(checked, lang, hasher, force, progress, context))
        if progress is not None:
            progress("done", 100.0, 100.0)
    return results
