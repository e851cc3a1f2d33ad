"""The `localize` command line: thin commands over the library; errors become exit status 2."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localize import __version__
from localize.analysis import AnalysisResult
from localize.cli_xliff import add_xliff_commands
from localize.errors import LocalizeError, SpecError
from localize.ingest import CheckedJob, check_job
from localize.spec import job_schema, load_job

EXIT_OK, EXIT_USER_ERROR, EXIT_INTERRUPTED = 0, 2, 130

EPILOG = """examples:
  localize validate samples/job.yaml
  localize analyze samples/job.yaml             # alignment, speakers, faces (cached)
  localize fit samples/job.yaml                 # fit the actor model (cached)
  localize evaluate samples/job.yaml            # self-reenactment figures vs baselines
  localize run samples/job.yaml                 # every market in the job
  localize run samples/job.yaml --lang de-DE --lang fr-FR --force
  localize schema > job.schema.json
"""


def relative(path: Path) -> str:
    """`path` relative to the working directory when it lies below it (shorter messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(checked: CheckedJob) -> str:
    """A readable summary of a checked job."""
    job, source = checked.job, checked.source
    video = source.video.video
    assert video is not None
    rows = [
        f"job      {job.name} ({job.mode})",
        f"video    {relative(source.video.path)}: {source.duration:.3f} s, "
        f"{video.display_width}x{video.display_height}, {video.frame_rate} fps, {video.codec}",
    ]
    for role, info in (("dialogue", source.dialogue), ("m&e", source.me)):
        if info is not None:
            stream = info.audio[0]
            rows.append(
                f"{role:<8} {relative(info.path)}: {info.duration:.3f} s, "
                f"{stream.sample_rate} Hz, {stream.channels} ch"
            )
    if not source.has_stems:
        rows.append(f"mix      {relative(source.mix.path)} (no stems: voice-over ducks the mix)")
    speakers = ", ".join(
        f"{s.name} (consent {s.consent_record_id or 'none'})" for s in job.speakers
    )
    rows.append(f"script   {len(job.script)} lines; speakers: {speakers}")
    for market in job.markets:
        translation = checked.translations.get(market.lang)
        where = relative(translation.source) if translation and translation.source else "-"
        rows.append(f"market   {market.lang:<6} loudness {market.loudness:<12} {where}")
    if checked.glossary is not None:
        rows.append(f"glossary {len(checked.glossary.terms)} terms")
    if checked.lexicon is not None:
        rows.append(f"lexicon  {len(checked.lexicon.entries)} entries")
    rows.append(f"output   {relative(job.output.folder)}")
    return "\n".join(rows)


def cmd_validate(args: argparse.Namespace) -> int:
    checked = check_job(load_job(args.job))
    print(summary(checked))
    print("OK")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    print(json.dumps(job_schema(), indent=2))
    return EXIT_OK


def _bars(langs: list[str]) -> tuple[Callable[[str], Callable[[str, float, float], None]], list]:
    from tqdm import tqdm

    bars: list = []

    def progress_for(lang: str) -> Callable[[str, float, float], None]:
        bar = tqdm(
            total=100,
            desc=f"{lang:<6}",
            unit="%",
            leave=True,
            bar_format="{desc} {bar} {n:.0f}% {postfix} [{elapsed}]",
        )
        bars.append(bar)

        def update(step: str, done: float, total: float) -> None:
            bar.n = round(100 * done / total, 1)
            bar.set_postfix_str(step, refresh=False)
            bar.refresh()
            if step == "done":
                bar.close()

        return update

    return progress_for, bars


def _analyze(checked: CheckedJob, cache: str | None) -> AnalysisResult:
    """The source analysis (cached per clip), with a bar while faces are tracked."""
    from tqdm import tqdm

    from localize.analysis import analyze
    from localize.cache import ArtefactStore

    store = ArtefactStore(Path(cache).resolve() if cache else None)
    with tqdm(total=100, desc="analysis", unit="%", leave=False) as bar:

        def progress(step: str, done: float, total: float) -> None:
            bar.n = round(100 * done / max(total, 1), 1)
            bar.set_postfix_str(step, refresh=False)
            bar.refresh()

        result = analyze(checked, store, progress)
    stages = ", ".join(f"{k} {'cached' if v else 'computed'}" for k, v in result.cached.items())
    print(f"source analysis: {stages}")
    return result


def _cast(checked: CheckedJob, analysis: Any, args: argparse.Namespace) -> Any:
    """Fit (or load) the actor models a lip-sync run needs, with a bar per actor."""
    from localize.cache import ArtefactStore
    from localize.cast import prepare_cast
    from localize.fit import profile

    store = ArtefactStore(Path(args.cache).resolve() if args.cache else None)
    bars: list[Any] = []

    def fit_progress(name: str) -> Callable[[int, int, dict[str, float]], None]:
        bar, progress = _fit_bar(f"fit {name}")
        bars.append(bar)
        return progress

    try:
        return prepare_cast(checked, analysis, profile(args.profile), store, fit_progress)
    finally:
        for bar in bars:
            bar.close()


def cmd_run(args: argparse.Namespace) -> int:
    from localize.cast import consent_problems
    from localize.pipeline import RunContext, check_outputs, run_job

    job = load_job(args.job)
    if args.out is not None:
        job = job.model_copy(
            update={"output": job.output.model_copy(update={"folder": Path(args.out).resolve()})}
        )
    langs = args.lang or job.langs
    checked = check_job(job, langs)
    check_outputs(checked, langs, args.force)
    lipsync = job.mode != "voice-over"
    if lipsync and not args.no_consent_check:
        problems = consent_problems(checked)
        if problems:
            raise SpecError(problems)
    analysis = _analyze(checked, args.cache).analysis
    for note in analysis.findings:
        print(f"  {note}")
    cast = _cast(checked, analysis, args) if lipsync else None
    context = RunContext(analysis, cast, normalize=args.normalize or job.mix.normalize)
    progress_for, bars = _bars(langs)
    try:
        results = run_job(checked, langs, args.force, progress_for, context)
    finally:
        for bar in bars:
            bar.close()
    for result in results:
        loud = result.mix.integrated_lufs
        print(
            f"{result.lang}: {relative(result.folder)}  {result.seconds:.1f} s  "
            f"{'n/a' if loud is None else f'{loud:.1f}'} LUFS  {len(result.findings)} findings"
        )
        for finding in result.findings:
            where = f" [{finding.line}]" if finding.line else ""
            print(f"  {finding.severity}{where} {finding.code}: {finding.message}")
    return EXIT_OK


def cmd_analyze(args: argparse.Namespace) -> int:
    from localize.analysis_report import write_report

    checked = check_job(load_job(args.job))
    folder = Path(args.out).resolve() if args.out else checked.job.output.folder / "analysis"
    result = _analyze(checked, args.cache)
    written = write_report(result, checked.source.video.path, folder, checked.job.name)
    print((folder / "summary.txt").read_text(), end="")
    for path in written:
        print(f"wrote {relative(path)}")
    return EXIT_OK


def _fit_bar(total_label: str) -> tuple[Any, Callable[[int, int, dict[str, float]], None]]:
    from tqdm import tqdm

    bar = tqdm(total=1, desc=total_label, unit="step", leave=True)

    def progress(step: int, total: int, logs: dict[str, float]) -> None:
        bar.total = total
        bar.n = step
        shown = {k.removeprefix("loss/"): f"{v:.3f}" for k, v in logs.items() if k != "loss/total"}
        bar.set_postfix(shown, refresh=False)
        bar.refresh()

    return bar, progress


def cmd_fit(args: argparse.Namespace) -> int:
    from localize.cache import ArtefactStore
    from localize.fit import fit_speaker, profile

    fit_cfg = profile(args.profile)
    checked = check_job(load_job(args.job), [])
    names = [args.speaker] if args.speaker else [s.name for s in checked.job.speakers]
    analysis = _analyze(checked, args.cache).analysis
    store = ArtefactStore(Path(args.cache).resolve() if args.cache else None)
    for name in names:
        bar, progress = _fit_bar(f"fit {name}")
        try:
            fitted = fit_speaker(checked, analysis, name, fit_cfg, store=store, progress=progress)
        finally:
            bar.close()
        how = "cached" if fitted.cached else f"fitted in {fitted.actor.info.get('seconds', 0)} s"
        print(f"{name}: {how} ({fit_cfg.profile} profile) -> {fitted.checkpoint}")
        print(f"  sha256 {fitted.sha256}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from localize.fit import profile
    from localize.reenact import evaluate_job, evaluate_video, evaluate_voices

    fit_cfg = profile(args.profile)
    bar, progress = _fit_bar("fit")
    try:
        if args.video:
            results = [evaluate_video(Path(args.video), fit_cfg, progress=progress)]
        elif args.speech:
            if not args.stm:
                raise LocalizeError("--speech needs --stm with the turns' speakers, times and text")
            results = evaluate_voices(
                Path(args.speech), Path(args.stm), args.lang, fit_cfg, progress=progress
            )
        elif args.job:
            checked = check_job(load_job(args.job), [])
            analysis = _analyze(checked, args.cache).analysis
            names = [args.speaker] if args.speaker else [s.name for s in checked.job.speakers]
            results = [
                evaluate_job(checked, analysis, name, fit_cfg, progress=progress) for name in names
            ]
        else:
            raise LocalizeError("give a job file, --video FILE, or --speech FILE --stm FILE")
    finally:
        bar.close()
    for result in results:
        print(result.table())
        print()
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localize",
        description="Localize a video into several markets: translated speech over the "
        "untouched music-and-effects, one deliverable folder per language.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"localize {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser(
        "validate",
        help="check a job file and its media; print a summary or every error",
        epilog="example:\n  localize validate samples/job.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("job", help="job file (YAML or JSON)")
    validate.set_defaults(func=cmd_validate)
    schema = sub.add_parser("schema", help="print the job file's JSON Schema")
    schema.set_defaults(func=cmd_schema)
    analyze = sub.add_parser(
        "analyze",
        help="analyse the source clip only (alignment, speakers, faces); cached per clip",
        epilog="examples:\n  localize analyze samples/job.yaml\n"
        "  localize analyze samples/job.yaml --out /tmp/analysis --cache /tmp/cache",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyze.add_argument("job", help="job file (YAML or JSON)")
    analyze.add_argument("--out", help="report folder (default <output>/analysis)")
    analyze.add_argument(
        "--cache", help="artefact store (default $LOCALIZE_CACHE_DIR or ~/.cache/localize)"
    )
    analyze.set_defaults(func=cmd_analyze)
    run = sub.add_parser(
        "run",
        help="render every market of a job into <output>/<lang>/",
        epilog="examples:\n  localize run samples/job.yaml\n"
        "  localize run samples/job.yaml --lang de-DE --out /tmp/out --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("job", help="job file (YAML or JSON)")
    run.add_argument("--lang", action="append", help="render only this market (repeatable)")
    run.add_argument("--out", help="output folder (overrides the job's output.folder)")
    run.add_argument("--force", action="store_true", help="overwrite existing language folders")
    run.add_argument(
        "--normalize",
        action="store_true",
        help="bring each master to its market's loudness spec (gain + true-peak limiter; "
        "recorded in the manifest); default: measure and report only",
    )
    run.add_argument(
        "--no-consent-check",
        action="store_true",
        help="clone speakers whose job entry has no consent_record_id (consent handled elsewhere)",
    )
    run.add_argument(
        "--profile",
        default="fast",
        help="actor-model fit profile for lipsync modes: fast (demo, ~3 min) or quality",
    )
    run.add_argument(
        "--cache", help="artefact store (default $LOCALIZE_CACHE_DIR or ~/.cache/localize)"
    )
    run.set_defaults(func=cmd_run)
    _add_model_commands(sub)
    add_xliff_commands(sub)
    return parser


def _add_model_commands(sub: Any) -> None:
    cache_help = "artefact store (default $LOCALIZE_CACHE_DIR or ~/.cache/localize)"
    profile_help = "fast (demo, about 3 min) or quality (real work, about 15 min)"
    fit = sub.add_parser(
        "fit",
        help="fit each speaker's actor model (voice + mouth) on the source clip; cached",
        epilog="examples:\n  localize fit samples/job.yaml\n"
        "  localize fit samples/job.yaml --speaker Maya --profile quality",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("job", help="job file (YAML or JSON)")
    fit.add_argument("--speaker", help="fit only this speaker (default: every speaker)")
    fit.add_argument("--profile", default="fast", help=profile_help)
    fit.add_argument("--cache", help=cache_help)
    fit.set_defaults(func=cmd_fit)
    ev = sub.add_parser(
        "evaluate",
        help="self-reenactment: fit on the first 85 %%, regenerate the rest, print figures",
        epilog="examples:\n  localize evaluate samples/job.yaml\n"
        "  localize evaluate --video talking_head.mp4          # no script: audio-driven\n"
        "  localize evaluate --speech talk.wav --stm talk.stm  # voices only, from text",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("job", nargs="?", help="job file: phoneme-driven, from its script")
    ev.add_argument("--video", help="a talking-head clip without a script (audio-driven)")
    ev.add_argument("--speech", help="a conversation recording (with --stm)")
    ev.add_argument("--stm", help="STM transcript of --speech: speakers, times, text")
    ev.add_argument("--lang", default="en-US", help="language of --speech (default en-US)")
    ev.add_argument("--speaker", help="evaluate only this speaker of the job")
    ev.add_argument("--profile", default="fast", help=profile_help)
    ev.add_argument("--cache", help=cache_help)
    ev.set_defaults(func=cmd_evaluate)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SpecError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_USER_ERROR
    except LocalizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; no partial output was kept", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
