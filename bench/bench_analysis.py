"""Benchmark: wall time of the whole source analysis of a 30 s 1080p clip (target: <= 30 s).

Builds the clip from the sample campaign (run `make sample` first): the actor re-rendered at
1920x1080 from the sample's ground-truth phonemes, its dialogue and M&E stems padded to 30 s.
Run from the repository root: ``python -m bench.bench_analysis``. Prints figures only.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import yaml

from localize import media
from localize.analysis import analyze
from localize.cache import ArtefactStore
from localize.ingest import check_job
from localize.spec import load_job
from samples.gen_face import ActorRenderer

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "media"
SECONDS = 30.0
FPS = 25
SIZE = (1920, 1080)


def build_clip(folder: Path) -> Path:
    """Write the 30 s 1080p clip, its stems and a job file into `folder`; returns the job."""
    truth = json.loads((SAMPLE / "truth.json").read_text())
    for name in ("dialogue", "me"):
        audio = media.read_audio(SAMPLE / f"{name}.wav", channels=None)
        padded = np.zeros((round(SECONDS * 48000), *audio.shape[1:]), np.float32)
        padded[: len(audio)] = audio
        media.write_audio(folder / f"{name}.wav", padded, 48000)
    phonemes = [(p["ipa"], p["start"], p["end"]) for p in truth["phonemes"]]
    renderer = ActorRenderer(width=SIZE[0], height=SIZE[1])
    with media.FrameWriter(folder / "clip.mp4", *SIZE, Fraction(FPS), preset="veryfast") as out:
        for frames, _ in renderer.render(phonemes, round(SECONDS * FPS)):
            out.write(frames)
    job = yaml.safe_load((ROOT / "samples" / "job.yaml").read_text())
    job["source"] = {"video": "clip.mp4", "stems": {"dialogue": "dialogue.wav", "me": "me.wav"}}
    job["translations"] = {"files": {}}
    job["glossary"] = None
    job["lexicons"] = [str(ROOT / "lexicons" / "brightwell.yaml")]
    (folder / "job.yaml").write_text(yaml.safe_dump(job, allow_unicode=True))
    return folder / "job.yaml"


def main() -> int:
    if not (SAMPLE / "truth.json").exists():
        print("skipped: no sample media (run `make sample` first)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        job = build_clip(folder)
        print(
            f"built a {SECONDS:.0f} s {SIZE[0]}x{SIZE[1]} clip in "
            f"{time.perf_counter() - started:.1f} s"
        )
        checked = check_job(load_job(job), [])
        store = ArtefactStore(folder / "cache")
        started = time.perf_counter()
        result = analyze(checked, store)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = analyze(checked, store)
        second = time.perf_counter() - started
    faces = result.analysis.faces
    coverage = 100 * faces.coverage() if faces is not None else 0.0
    print(
        f"analysis, first run: {first:.1f} s wall for {SECONDS:.0f} s of video "
        f"({first / SECONDS:.2f} x real time); face in {coverage:.1f} % of frames"
    )
    print(f"analysis, second run: {second:.2f} s wall, stages cached: {again.cached}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
