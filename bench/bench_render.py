"""Benchmark: wall time of `make demo`; each voice-over market's render over a plain transcode.

Run from the repository root after set-up: ``python -m bench.bench_render`` (``make bench``).
Prints figures only; it asserts nothing, so a slow machine never fails a build.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from localize import media
from localize.deliver import FileHasher
from localize.ingest import check_job
from localize.pipeline import render_language
from localize.spec import load_job

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "samples" / "job.yaml"


def time_demo() -> float:
    """Seconds of `make demo` (set-up already done, so this is the real work)."""
    started = time.perf_counter()
    subprocess.run(["make", "-s", "demo"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def time_transcode(src: Path, dst: Path, crf: int, preset: str) -> float:
    started = time.perf_counter()
    media.transcode_reference(src, dst, crf=crf, preset=preset)
    return time.perf_counter() - started


def render_ratios(out: Path) -> list[tuple[str, float, float]]:
    """(lang, render seconds, transcode seconds) per market.

    The transcode is timed right before and right after each render and averaged, so a change
    in machine load during the run affects both sides of the ratio alike.
    """
    job = load_job(JOB)  # voice-over: bench_dub measures lip-sync
    job = job.model_copy(
        update={"mode": "voice-over", "output": job.output.model_copy(update={"folder": out})}
    )
    checked = check_job(job)
    hasher = FileHasher()
    rows = []
    for lang in job.langs:
        args = (job.source.video, out / "transcode.mp4", job.output.crf, job.output.preset)
        before = time_transcode(*args)
        result = render_language(checked, lang, hasher, force=True)
        after = time_transcode(*args)
        rows.append((lang, result.seconds, (before + after) / 2))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-demo", action="store_true", help="only the per-market ratios")
    args = parser.parse_args()
    if not args.skip_demo:
        print(f"make demo (after set-up): {time_demo():.1f} s wall")
    with tempfile.TemporaryDirectory() as tmp:
        rows = render_ratios(Path(tmp))
    print(f"{'market':<8}{'render s':>10}{'transcode s':>13}{'ratio':>8}")
    for lang, render, floor in rows:
        print(f"{lang:<8}{render:>10.2f}{floor:>13.2f}{render / floor:>8.2f}")
    total_render = sum(r for _, r, _ in rows)
    total_floor = sum(f for _, _, f in rows)
    print(f"{'all':<8}{total_render:>10.2f}{total_floor:>13.2f}{total_render / total_floor:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
