"""Benchmark of lip-sync dubbing: render time over a plain transcode, peak memory, sync per line.

Run after `make sample`:  python -m bench.bench_dub [--skip-long] [--lang de-DE]
Prints figures only; it asserts nothing, so a slow machine never fails a build.

1. The sample, six markets in lipsync mode, actor model already fitted (fitted first if not):
   each market's render time over a plain ffmpeg transcode of the same clip timed around it,
   the six markets' total wall time, every line's timing fit and AV offset.
2. A 60 s 1080p clip made from the sample (picture upscaled, clip and script looped), dubbed
   into one market with the sample's actor model: render over transcode, and the peak memory
   of the render (its Python process and its ffmpeg, measured in a child process).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from bench.bench_render import time_transcode
from localize import media
from localize.analysis import analyze
from localize.cache import ArtefactStore
from localize.cast import prepare_cast
from localize.deliver import FileHasher
from localize.fit import profile
from localize.ingest import check_job
from localize.pipeline import LanguageResult, RunContext, render_language
from localize.spec import Job, load_job
from localize.translate import read_translation_file

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "samples" / "job.yaml"
LONG_SECONDS = 60.0
LONG_SIZE = (1920, 1080)


def _context(job: Job, store: ArtefactStore) -> tuple[Any, RunContext, float]:
    checked = check_job(job)
    analysis = analyze(checked, store).analysis
    began = time.perf_counter()
    cast = prepare_cast(checked, analysis, profile("fast"), store)
    return checked, RunContext(analysis, cast), time.perf_counter() - began


def _with_output(job: Job, folder: Path) -> Job:
    return job.model_copy(update={"output": job.output.model_copy(update={"folder": folder})})


def sample_markets(out: Path, store: ArtefactStore) -> None:
    job = _with_output(load_job(JOB), out)
    checked, context, fit_s = _context(job, store)
    print(f"actor model ready in {fit_s:.1f} s (fast profile; 0 s when cached)")
    hasher = FileHasher()
    rows: list[tuple[LanguageResult, float]] = []
    began = time.perf_counter()
    transcodes = 0.0
    for lang in job.langs:
        t0 = time.perf_counter()
        before = time_transcode(
            job.source.video, out / "transcode.mp4", job.output.crf, job.output.preset
        )
        result = render_language(checked, lang, hasher, True, None, context)
        after = time_transcode(
            job.source.video, out / "transcode.mp4", job.output.crf, job.output.preset
        )
        transcodes += time.perf_counter() - t0 - result.seconds
        rows.append((result, (before + after) / 2))
    wall = time.perf_counter() - began - transcodes
    print(f"\nsample, {len(rows)} markets, lipsync")
    print(f"{'market':<8}{'render s':>10}{'transcode s':>13}{'ratio':>8}")
    for result, floor in rows:
        print(
            f"{result.lang:<8}{result.seconds:>10.2f}{floor:>13.2f}{result.seconds / floor:>8.2f}"
        )
    print(f"six markets' renders, total wall time: {wall:.1f} s")
    _lines_table(rows)


def _lines_table(rows: list[tuple[LanguageResult, float]]) -> None:
    print(f"\n{'market':<8}{'line':<6}{'slot s':>8}{'speech s':>10}{'rate':>7}"
          f"{'overflow ms':>13}{'AV ms':>8}  finding")  # fmt: skip
    inside = total = 0
    for result, _ in rows:
        manifest = json.loads((result.folder / "manifest.json").read_text())
        coded = {f["line"]: f["code"] for f in manifest["findings"] if f.get("line")}
        for line in manifest["lines"]:
            offset = line["av_offset_ms"]
            total += 1
            inside += offset is not None and -40 <= offset <= 60
            shown = "-" if offset is None else f"{offset:+.0f}"
            print(
                f"{result.lang:<8}{line['id']:<6}{line['slot_end'] - line['slot_start']:>8.2f}"
                f"{line['end'] - line['start']:>10.2f}{line['rate']:>7.2f}"
                f"{line['overflow'] * 1000:>13.0f}{shown:>8}  {coded.get(line['id'], '')}"
            )
    print(f"lines with AV offset within -40/+60 ms (audio early/late): {inside} of {total}")


def _loop(samples: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // len(samples))
    return np.concatenate([samples] * reps)[:n]


def build_long(folder: Path, actor: Path) -> Path:
    """The 60 s 1080p clip, its stems and a job dubbing it into de-DE; built once per folder."""
    job_path = folder / "job.yaml"
    if job_path.is_file():
        return job_path
    sample = load_job(JOB)
    info = media.probe(sample.source.video)
    assert info.video is not None and sample.source.stems is not None
    fps = info.video.frame_rate
    n_frames = round(LONG_SECONDS * fps)
    written = 0
    with media.FrameWriter(folder / "long.mp4", *LONG_SIZE, fps, preset="veryfast") as writer:
        while written < n_frames:  # the sample again and again, upscaled
            for chunk in media.iter_frames(sample.source.video):
                for frame in chunk[: n_frames - written]:
                    writer.write(cv2.resize(frame, LONG_SIZE, interpolation=cv2.INTER_CUBIC))
                    written += 1
    for stem in ("dialogue", "me"):
        path = getattr(sample.source.stems, stem)
        rate = media.probe(path).audio[0].sample_rate
        audio = media.read_audio(path, sample_rate=None, channels=None)
        media.write_audio(folder / f"{stem}.wav", _loop(audio, round(LONG_SECONDS * rate)), rate)
    period = info.duration
    german = read_translation_file(sample.translations.files["de-DE"], "de-DE")
    script, lines = [], {}
    for rep in range(int(LONG_SECONDS // period) + 1):
        for line in sample.script:
            assert line.start is not None and line.end is not None
            if line.end + rep * period > LONG_SECONDS:
                continue
            new_id = f"{line.id}.{rep}"
            script.append({"id": new_id, "speaker": line.speaker, "text": line.text,
                           "start": round(line.start + rep * period, 3),
                           "end": round(line.end + rep * period, 3)})  # fmt: skip
            lines[new_id] = german[line.id]
    (folder / "de-DE.yaml").write_text(
        yaml.safe_dump({"language": "de-DE", "lines": lines}, allow_unicode=True)
    )
    speaker = sample.speakers[0].model_dump(mode="json", exclude_none=True)
    job = {
        "name": "brightwell-60s-1080p",
        "mode": "lipsync",
        "source": {"video": "long.mp4", "stems": {"dialogue": "dialogue.wav", "me": "me.wav"}},
        "speakers": [speaker | {"actor_model": str(actor)}],
        "script": script,
        "markets": [{"lang": "de-DE", "loudness": "ebu-r128-s1"}],
        "translations": {"files": {"de-DE": "de-DE.yaml"}},
        "glossary": str(sample.glossary),
        "lexicons": [str(p) for p in sample.lexicons],
        "output": {"folder": "out", "crf": sample.output.crf, "preset": sample.output.preset},
    }
    job_path.write_text(yaml.safe_dump(job, allow_unicode=True, sort_keys=False))
    return job_path


def _rss_mb(pid: int | str) -> float:
    """Resident memory of a process in MB from /proc, 0 when it has gone."""
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children() -> list[str]:
    pids: list[str] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += (task / "children").read_text().split()
        except OSError:
            continue
    return pids


class MemorySampler(threading.Thread):
    """Polls this process and its children (ffmpeg) every 20 ms: the peak of their sum.

    getrusage's figure for children is no use here: a child forked from a large Python
    process reports the parent's pages it briefly shared before exec.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_total = self.peak_python = self.peak_children = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            own = _rss_mb("self")
            kids = sum(_rss_mb(pid) for pid in _children())
            self.peak_python = max(self.peak_python, own)
            self.peak_children = max(self.peak_children, kids)
            self.peak_total = max(self.peak_total, own + kids)


def render_child(job_path: Path, lang: str, cache: Path) -> None:
    """In a child process: render one market; print seconds and peak memory as JSON."""
    store = ArtefactStore(cache)
    job = load_job(job_path)
    checked, context, _ = _context(job, store)
    sampler = MemorySampler()
    sampler.start()
    result = render_language(checked, lang, FileHasher(), True, None, context)
    sampler.done.set()
    sampler.join()
    print(
        json.dumps(
            {
                "seconds": result.seconds,
                "python_mb": sampler.peak_python,
                "ffmpeg_mb": sampler.peak_children,
                "total_mb": sampler.peak_total,
            }
        )
    )


def long_clip(work: Path, store: ArtefactStore, lang: str) -> None:
    sample = load_job(JOB)
    _, context, _ = _context(_with_output(sample, work / "sample-out"), store)
    assert context.cast is not None
    actor = context.cast.actors[sample.speakers[0].name].checkpoint
    job_path = build_long(work, actor)
    job = load_job(job_path)
    analyze(check_job(job), store)  # the clip's analysis, once: not part of a market's render
    before = time_transcode(
        job.source.video, work / "transcode.mp4", job.output.crf, job.output.preset
    )
    child = subprocess.run(
        [sys.executable, "-m", "bench.bench_dub", "--child", str(job_path), lang, str(store.root)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    after = time_transcode(
        job.source.video, work / "transcode.mp4", job.output.crf, job.output.preset
    )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    floor = (before + after) / 2
    print(f"\n60 s 1080p clip, {lang}, lipsync ({len(job.script)} lines)")
    print(f"render {figures['seconds']:.1f} s, transcode {floor:.1f} s, "
          f"ratio {figures['seconds'] / floor:.2f}")  # fmt: skip
    total, own, kids = figures["total_mb"], figures["python_mb"], figures["ffmpeg_mb"]
    print(f"peak memory of the render: {total:.0f} MB (python and ffmpeg together;"
          f" python alone {own:.0f} MB, ffmpeg {kids:.0f} MB)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--skip-long", action="store_true", help="only the sample's markets")
    parser.add_argument("--lang", default="de-DE", help="market of the 60 s clip")
    parser.add_argument("--work", help="folder kept between runs for the 60 s clip")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        render_child(Path(args.child[0]), args.child[1], Path(args.child[2]))
        return 0
    store = ArtefactStore()
    with tempfile.TemporaryDirectory() as tmp:
        sample_markets(Path(tmp), store)
        if not args.skip_long:
            work = Path(args.work) if args.work else store.root / "bench-long"
            work.mkdir(parents=True, exist_ok=True)
            long_clip(work, store, args.lang)
    return 0


if __name__ == "__main__":
    sys.exit(main())
