"""Joint model speed on the sample: fitting time per profile, inference rates, determinism.

Run after `make sample`:  python -m bench.bench_model [--profile fast|quality|both]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from localize.analysis import analyze
from localize.fit import job_material
from localize.ingest import check_job
from localize.spec import load_job
from model.checkpoint import ActorModel
from model.config import DEFAULT_CONFIG
from model.generate import Target, generate
from model.train import PROFILES, fit
from model.vocoder import synthesize

JOB = Path("samples/job.yaml")


def _inference(actor: ActorModel) -> None:
    db = actor.database
    assert db.frame_pos is not None and db.crops is not None and db.face_ok is not None
    ok = db.face_ok
    target = Target(db.ids, db.features, None, db.frame_pos[ok], db.crops[ok])
    generate(actor, Target(db.ids[:300], db.features[:300]))  # warm-up
    began = time.perf_counter()
    out = generate(actor, target)
    mid = time.perf_counter()
    speech = synthesize(out.world)
    end = time.perf_counter()
    assert out.crops is not None
    seconds = len(speech) / 16000
    n = len(out.crops)
    print(
        f"inference: {n} mouth crops + {seconds:.1f} s of speech in {mid - began:.2f} s "
        f"(network + selection), vocoder {end - mid:.2f} s"
    )
    print(f"  mouths: {n / (mid - began):.0f} frames/s (target >= 100)")
    print(f"  speech: {seconds / (end - began):.1f}x real time (target >= 20x), all included")
    began = time.perf_counter()
    alone = generate(actor, Target(db.ids, db.features))  # a voice-only render: no mouths
    speech_only = synthesize(alone.world)
    took = time.perf_counter() - began
    rate = len(speech_only) / 16000 / took
    print(f"  speech alone (selection + network + vocoder): {rate:.1f}x real time")
    again = generate(actor, target)
    same = np.array_equal(again.world, out.world) and np.array_equal(again.crops, out.crops)
    print(f"  same inputs twice: {'identical' if same else 'DIFFERENT'} outputs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="fast", choices=["fast", "quality", "both"])
    args = parser.parse_args()
    if not JOB.is_file() or not Path("samples/media/brightwell.mp4").is_file():
        print("skipped: run `make sample` first")
        return
    print(f"torch threads {torch.get_num_threads()}, device cpu")
    checked = check_job(load_job(JOB), [])
    analysis = analyze(checked).analysis
    speaker = checked.job.speakers[0].name
    began = time.perf_counter()
    material = job_material(checked, analysis, speaker, DEFAULT_CONFIG)
    prep = time.perf_counter() - began
    print(
        f"sample: {checked.source.duration:.1f} s clip, {material.n_frames / 100:.1f} s of "
        f"{speaker}'s speech, {0 if material.crops is None else len(material.crops)} mouth "
        f"crops; material built in {prep:.1f} s"
    )
    profiles = ["fast", "quality"] if args.profile == "both" else [args.profile]
    actor = None
    for name in profiles:
        cfg = PROFILES[name]
        result = fit(material, DEFAULT_CONFIG, cfg)
        total = prep + result.seconds
        last = result.history[-1]
        print(
            f"fit {name}: {cfg.steps} steps + {cfg.critic_steps} critic warm-up in "
            f"{result.seconds:.0f} s, {total / 60:.1f} min with material "
            f"(target {'3' if name == 'fast' else '15'} min for a 30 s clip); "
            f"final mouth_l1 {last['loss/mouth_l1']:.3f}, world {last['loss/world']:.3f}"
        )
        actor = ActorModel(result.model, material, {})
    assert actor is not None
    _inference(actor)


if __name__ == "__main__":
    main()
