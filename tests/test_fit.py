"""Fitting an actor from a job: the cached checkpoint, reuse, and refusals that cache nothing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from localize.analysis import analyze
from localize.cache import ArtefactStore
from localize.cli import main
from localize.fit import ActorError, fit_speaker, job_material
from localize.ingest import check_job
from localize.spec import load_job
from model.generate import Target, generate
from tests.conftest import QUICK, TINY, write_talking_job

pytestmark = pytest.mark.slow
LONG = [
    ("L1", "Good morning, everyone.", 0.3),
    ("L2", "Coffee is ready now, come and get it.", 2.2),
    ("L3", "The kettle is singing in the kitchen.", 5.0),
    ("L4", "Brightwell makes every morning better.", 7.8),
]


@pytest.fixture(scope="module")
def long_job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_talking_job(tmp_path_factory.mktemp("long"), LONG, 11.0)


def _actors(store: ArtefactStore) -> list[Path]:
    folder = store.root / "actors"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_fit_writes_a_checkpoint_then_reuses_it(long_job: Path, tmp_path: Path) -> None:
    checked = check_job(load_job(long_job), [])
    store = ArtefactStore(tmp_path / "store")
    analysis = analyze(checked, store).analysis
    material = job_material(checked, analysis, "Ava", TINY)
    assert material.scripted and material.has_video
    assert material.crops is not None and material.crops.shape[1:] == (48, 48, 3)
    # the lines' speech, not the silences between them: ~7-9 s of the 11 s clip
    assert 6.0 < material.n_frames / 100 < 10.0
    seen: list[int] = []
    first = fit_speaker(
        checked, analysis, "Ava", QUICK, TINY, store, lambda s, n, logs: seen.append(s)
    )
    assert not first.cached and first.checkpoint.is_file()
    assert seen[-1] == QUICK.steps + QUICK.critic_steps
    assert _actors(store) == [first.checkpoint]
    again = fit_speaker(checked, analysis, "Ava", QUICK, TINY, store)
    assert again.cached and again.sha256 == first.sha256
    # another profile is another model
    other = fit_speaker(checked, analysis, "Ava", replace(QUICK, steps=7), TINY, store)
    assert not other.cached and other.checkpoint != first.checkpoint
    # another clip of the same actor names the checkpoint instead of fitting again
    job = yaml.safe_load(long_job.read_text())
    job["speakers"][0]["actor_model"] = str(first.checkpoint)
    (long_job.parent / "reuse.yaml").write_text(yaml.safe_dump(job))
    reuse = check_job(load_job(long_job.parent / "reuse.yaml"), [])
    elsewhere = ArtefactStore(tmp_path / "other")
    named = fit_speaker(reuse, analysis, "Ava", QUICK, TINY, elsewhere)
    assert named.cached and named.sha256 == first.sha256 and _actors(elsewhere) == []
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(first.checkpoint.read_bytes()[:1000])
    job["speakers"][0]["actor_model"] = str(broken)
    (long_job.parent / "reuse.yaml").write_text(yaml.safe_dump(job))
    reuse = check_job(load_job(long_job.parent / "reuse.yaml"), [])
    with pytest.raises(ActorError, match=r"broken\.safetensors: not a readable checkpoint"):
        fit_speaker(reuse, analysis, "Ava", QUICK, TINY, elsewhere)
    db = again.actor.database
    assert db.frame_pos is not None and db.crops is not None
    out = generate(
        again.actor, Target(db.ids[:150], db.features[:150], None, db.frame_pos[:10], db.crops[:10])
    )
    assert out.world.shape == (150, TINY.n_world) and np.isfinite(out.world).all()


def test_short_speech_is_refused_and_nothing_is_cached(tmp_path: Path) -> None:
    job = write_talking_job(tmp_path, [*LONG[:1], ("L2", "Coffee is ready now.", 2.2)], 4.5)
    checked = check_job(load_job(job), [])
    store = ArtefactStore(tmp_path / "store")
    analysis = analyze(checked, store).analysis
    with pytest.raises(ActorError, match=r"job.yaml: speaker 'Ava' has \d\.\d s of aligned speech"):
        fit_speaker(checked, analysis, "Ava", QUICK, TINY, store)
    assert _actors(store) == []


def test_a_speaker_never_on_screen_is_refused(tmp_path: Path) -> None:
    job = write_talking_job(tmp_path, LONG, 11.0, face=False)
    checked = check_job(load_job(job), [])
    store = ArtefactStore(tmp_path / "store")
    analysis = analyze(checked, store).analysis
    with pytest.raises(ActorError, match="speaker 'Ava': their face is never visible"):
        fit_speaker(checked, analysis, "Ava", QUICK, TINY, store)
    assert _actors(store) == []


def test_cli_fit_names_unknown_speaker_and_profile(
    long_job: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["fit", str(long_job), "--profile", "slow"]) == 2
    assert "unknown fit profile 'slow'; choose one of fast, quality" in capsys.readouterr().err
    assert main(["fit", str(long_job), "--speaker", "Bob"]) == 2
    assert "no speaker 'Bob'; the job has Ava" in capsys.readouterr().err


def test_evaluate_job_prints_the_model_beside_every_baseline(long_job: Path) -> None:
    from localize.reenact import evaluate_job

    checked = check_job(load_job(long_job), [])
    analysis = analyze(checked).analysis
    result = evaluate_job(checked, analysis, "Ava", QUICK, TINY)
    names = [row.name for row in result.rows]
    assert names == [
        "joint model", "units, no repair", "static mouth", "mean mouth", "viseme retrieval",
        "real frames", "WORLD resynthesis", "plain espeak-ng",
    ]  # fmt: skip
    assert result.mode == "phoneme" and 0 < result.heldout_seconds < result.fitted_seconds
    model = result.rows[0]
    assert model.ssim is not None and 0.3 < model.ssim < 1.0
    assert model.mcd is not None and model.mcd > 0 and model.speaker_cos is not None
    assert result.rows[5].ssim == 1.0
    table = result.table()
    assert "joint model" in table and "plain espeak-ng" in table and "SSIM" in table


def test_read_stm_names_the_bad_line(tmp_path: Path) -> None:
    from localize.errors import LocalizeError
    from localize.reenact import read_stm

    stm = tmp_path / "talk.stm"
    stm.write_text("talk 1 Ann 0.5 1.5 Hello there.\ntalk 1 Bob 2.0 x Hi.\n")
    with pytest.raises(LocalizeError, match=r"talk.stm:2: start/end are not numbers"):
        read_stm(stm)
    stm.write_text("talk 1 Bob 2.0 3.0 Hi.\ntalk 1 Ann 0.5 1.5 Hello there.\n")
    assert [(t.speaker, t.start) for t in read_stm(stm)] == [("Ann", 0.5), ("Bob", 2.0)]


def test_cli_evaluate_needs_an_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate"]) == 2
    assert "give a job file, --video FILE, or --speech FILE --stm FILE" in capsys.readouterr().err
    assert main(["evaluate", "--speech", "talk.wav"]) == 2
    assert "--speech needs --stm" in capsys.readouterr().err
