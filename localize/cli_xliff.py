"""The translator round trip on the command line: `localize export-xliff` and `import-xliff`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from localize.errors import LocalizeError
from localize.ingest import CheckedJob, check_job
from localize.spec import load_job


def _slot_seconds(checked: CheckedJob) -> dict[str, float]:
    """Seconds each line may take, from the script's times; empty when a line has none."""
    from localize.errors import RenderError
    from localize.timing import slots

    script = checked.job.script
    try:
        found = slots(script, checked.source.duration)
    except RenderError as exc:
        print(f"note: no length budget in the file ({exc}; give every line a start time)")
        return {}
    return {line.id: slot.end - slot.start for line, slot in zip(script, found, strict=True)}


def _refuse_overwrite(path: Path, force: bool) -> None:
    from localize.cli import relative  # the CLI's own module imports this one

    if path.exists() and not force:
        raise LocalizeError(f"{relative(path)} exists; use --force to overwrite")


def cmd_export_xliff(args: argparse.Namespace) -> int:
    from localize.cli import relative  # the CLI's own module imports this one
    from localize.translate import load_glossary
    from localize.xliff import export_xliff

    job = load_job(args.job)
    job.market(args.lang)
    folder = Path(args.job).resolve().parent
    out = Path(args.out) if args.out else folder / "xliff" / f"{job.name}.{args.lang}.xlf"
    _refuse_overwrite(out, args.force)
    checked = check_job(job, [])
    glossary = load_glossary(job.glossary) if job.glossary else None
    export_xliff(job, args.lang, out, _slot_seconds(checked), glossary)
    print(f"wrote {relative(out)}: {len(job.script)} units, {job.source_lang} -> {args.lang}")
    print(f"when it comes back: localize import-xliff {args.job} --lang {args.lang} FILE")
    return 0


def cmd_import_xliff(args: argparse.Namespace) -> int:
    import yaml

    from localize.cli import relative  # the CLI's own module imports this one
    from localize.translate import check_glossary, load_glossary
    from localize.xliff import import_xliff

    job = load_job(args.job)
    job.market(args.lang)
    folder = Path(args.job).resolve().parent
    out = Path(args.out) if args.out else folder / "translations" / f"{args.lang}.yaml"
    _refuse_overwrite(out, args.force)
    translation = import_xliff(job, args.lang, Path(args.file))
    if job.glossary is not None:
        for finding in check_glossary(job, translation, load_glossary(job.glossary)):
            print(f"  {finding.severity} [{finding.line}] {finding.code}: {finding.message}")
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"language": args.lang, "lines": dict(translation.lines)}
    out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    print(f"wrote {relative(out)}: {len(translation.lines)} lines")
    print(f"use it in the job: translations: files: {args.lang}: {relative(out)}")
    print(f"(or point translations.xliff.{args.lang} at {relative(Path(args.file))} directly)")
    return 0


def add_xliff_commands(sub: Any) -> None:
    """Add the two XLIFF commands to the CLI's sub-parsers."""
    export = sub.add_parser(
        "export-xliff",
        help="write the script as an XLIFF 2.0 file for a translator (one unit per line)",
        epilog="examples:\n  localize export-xliff samples/job.yaml --lang de-DE\n"
        "  localize export-xliff samples/job.yaml --lang fr-FR --out /tmp/fr.xlf --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    export.add_argument("job", help="job file (YAML or JSON)")
    export.add_argument("--lang", required=True, help="target market, e.g. de-DE")
    export.add_argument("--out", help="XLIFF file (default <job folder>/xliff/<name>.<lang>.xlf)")
    export.add_argument("--force", action="store_true", help="overwrite an existing file")
    export.set_defaults(func=cmd_export_xliff)
    imp = sub.add_parser(
        "import-xliff",
        help="check a translated XLIFF 2.0 file against the job; write it as a translation file",
        epilog="examples:\n"
        "  localize import-xliff samples/job.yaml --lang de-DE back/brightwell.de-DE.xlf\n"
        "  localize import-xliff samples/job.yaml --lang de-DE de.xlf --out /tmp/de.yaml --force",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("job", help="job file (YAML or JSON)")
    imp.add_argument("file", help="the translated XLIFF 2.0 file")
    imp.add_argument("--lang", required=True, help="target market, e.g. de-DE")
    imp.add_argument(
        "--out", help="translation file (default <job folder>/translations/<lang>.yaml)"
    )
    imp.add_argument("--force", action="store_true", help="overwrite an existing file")
    imp.set_defaults(func=cmd_import_xliff)
