"""Joint model on a tiny config: shapes, fitting lowers the loss, checkpoints, unit selection."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from model.checkpoint import ActorModel, CheckpointError, load, save
from model.config import CHECKPOINT_FORMAT, JointConfig
from model.data import ActorMaterial, select, slice_material
from model.generate import Target, generate
from model.joint import JointModel
from model.train import FitConfig, _Sampler, fit, generator_losses
from model.units import phoneme_descriptors, select_units

TINY = JointConfig(
    d_model=32, n_layers=1, n_heads=2, n_mel_cep=8, d_speaker=16, n_mels=12,
    crop_size=32, mouth_channels=8, n_reference_crops=3,
)  # fmt: skip
FAST = FitConfig(steps=40, critic_steps=10, batch_size=4, window=64, lr=3e-3)


def _material(seed: int = 0, seconds: float = 8.0) -> ActorMaterial:
    """A generated actor: phonemes whose identity sets the mouth opening and the spectrum."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 100)
    ids = np.repeat(rng.integers(0, 12, n // 8 + 1), 8)[:n]  # 80 ms phones
    feats = np.zeros((n, TINY.n_articulatory + 1), np.float32)
    feats[np.arange(n), ids % TINY.n_articulatory] = 1.0
    feats[:, -1] = (np.arange(n) % 8 + 0.5) / 8
    world = np.zeros((n, TINY.n_world), np.float32)
    world[:, 0] = np.log(150) + 0.05 * np.sin(np.arange(n) / 30)
    world[:, 1] = (ids > 0).astype(np.float32)
    world[:, 2:] = np.sin(ids[:, None] * np.arange(1, TINY.n_world - 1)[None] / 3.0)
    mel = np.cos(ids[:, None] * np.arange(1, TINY.n_mels + 1)[None] / 4.0).astype(np.float32)
    pos = np.arange(0, n - 1, 4.0)  # 25 fps
    yy, xx = np.mgrid[0:32, 0:32]
    opening = (ids[np.rint(pos).astype(int)] % 4) * 2.0  # (F,) pixels
    crops = np.full((len(pos), 32, 32, 3), 170, np.uint8)
    for k, o in enumerate(opening):
        crops[k][(np.abs(yy - 20) <= o) & (np.abs(xx - 16) <= 8)] = 40
    crops = np.clip(crops.astype(int) + rng.integers(-8, 9, crops.shape), 0, 255).astype(np.uint8)
    mask = np.zeros((32, 32), np.float32)
    mask[12:30, 4:28] = 1.0
    segments = np.array([[a, min(a + 100, n)] for a in range(0, n, 100)])
    return ActorMaterial(
        world, mel, ids.astype(np.int64), feats, segments,
        rng.standard_normal(16).astype(np.float32), pos, crops, np.ones(len(pos), bool), mask,
    )  # fmt: skip


def test_select_units_plays_an_identical_source_straight_through() -> None:
    rng = np.random.default_rng(1)
    source = rng.standard_normal((200, 6)).astype(np.float32)
    assert np.array_equal(select_units(source, source), np.arange(200))
    # leaving a stretch out forces a jump elsewhere, never into the stretch
    allowed = np.ones(200, bool)
    allowed[50:100] = False
    path = select_units(source[40:110], source, allowed)
    assert not np.any((path >= 50) & (path < 100))


def test_phoneme_descriptors_see_neighbours() -> None:
    ids = np.array([1, 1, 2, 2, 3, 3])
    feats = np.eye(4, dtype=np.float32)[ids]
    desc = phoneme_descriptors(ids, feats, np.linspace(0, 1, 6), n_phonemes=8)
    assert desc.shape == (6, 8 + 3 * 4 + 1)
    # frames of phone 2 carry phone 1 as previous and phone 3 as next
    assert desc[2, 8 + 4 + 1] > 0 and desc[2, 8 + 8 + 3] > 0


def test_shapes_of_every_head() -> None:
    model = JointModel(TINY)
    b, t, f = 2, 50, 7
    content = model.content(torch.zeros(b, t, dtype=torch.long), torch.zeros(b, t, 25))
    assert content.shape == (b, t, 32)
    assert model.content(mel=torch.zeros(b, t, 12)).shape == (b, t, 32)
    latent = model.latent(content, torch.zeros(b, t, TINY.n_world), torch.zeros(b, 16))
    assert model.speech(latent, torch.zeros(b, t, TINY.n_world)).shape == (b, t, TINY.n_world)
    pooled = model.pool(latent, torch.linspace(0, t - 1, f).repeat(b, 1))
    assert pooled.shape == (b, f, 32)
    crops = model.mouths(
        pooled.flatten(0, 1), torch.rand(b * f, 3, 32, 32), torch.rand(b * f, 3, 3, 32, 32),
        torch.ones(32, 32),
    )  # fmt: skip
    assert crops.shape == (b * f, 3, 32, 32)
    assert float(crops.detach().min()) >= 0 and float(crops.detach().max()) <= 1


def _fixed_loss(model: JointModel, material: ActorMaterial) -> float:
    sampler = _Sampler(material, TINY, replace(FAST, seed=123), torch.device("cpu"))
    mask = torch.from_numpy(material.mask)
    model.eval()
    with torch.no_grad():
        total = 0.0
        for _ in range(3):
            losses = generator_losses(model, sampler.batch("phoneme"), "phoneme", mask)
            total += sum(float(v) for k, v in losses.items() if k != "loss/sync")
    return total / 3


def test_fitting_lowers_the_loss_and_is_reproducible() -> None:
    material = _material()
    torch.manual_seed(0)
    model = JointModel(TINY)
    before = _fixed_loss(model, material)
    result = fit(material, TINY, FAST, model=model)
    after = _fixed_loss(result.model, material)
    assert after < 0.8 * before, (before, after)
    assert len(result.history) == FAST.steps
    again = fit(material, TINY, FAST)
    for (k, v), w in zip(
        result.model.state_dict().items(), again.model.state_dict().values(), strict=True
    ):
        assert torch.equal(v, w), k


@pytest.fixture(scope="module")
def fitted() -> ActorModel:
    material = _material()
    return ActorModel(fit(material, TINY, replace(FAST, steps=5)).model, material, {"k": 1})


def test_generate_gives_speech_features_and_mouths(fitted: ActorModel) -> None:
    held = slice_material(_material(seed=3), 0, 200)
    assert held.frame_pos is not None and held.crops is not None
    target = Target(held.ids, held.features, None, held.frame_pos, held.crops)
    out = generate(fitted, target)
    assert out.world.shape == (200, TINY.n_world)
    assert out.crops is not None and out.crops.shape == held.crops.shape
    assert out.refs is not None and out.refs.shape == (len(held.crops), 3)
    # outside the mask the crop is the frame it was painted into
    outside = fitted.database.mask == 0
    assert np.abs(out.crops[:, outside].astype(int) - held.crops[:, outside]).max() <= 1
    assert np.array_equal(generate(fitted, target).crops, out.crops)  # deterministic


def test_audio_driven_without_script(fitted: ActorModel) -> None:
    held = slice_material(_material(seed=4), 0, 150)
    out = generate(fitted, Target(mel=held.mel, frame_pos=held.frame_pos, frames=held.crops))
    assert out.world.shape == (150, TINY.n_world) and out.crops is not None


def test_checkpoint_round_trip_is_exact(fitted: ActorModel, tmp_path: Path) -> None:
    path = tmp_path / "actor.safetensors"
    save(path, fitted)
    back = load(path)
    assert back.model.cfg == TINY and back.info == {"k": 1}
    for (k, v), w in zip(
        fitted.model.state_dict().items(), back.model.state_dict().values(), strict=True
    ):
        assert torch.equal(v, w), k
    assert np.array_equal(back.database.crops, fitted.database.crops)
    assert np.array_equal(back.database.ids, fitted.database.ids)
    held = slice_material(_material(seed=3), 0, 120)
    target = Target(held.ids, held.features, None, held.frame_pos, held.crops)
    assert np.array_equal(generate(back, target).world, generate(fitted, target).world)


def test_checkpoint_refuses_truncation_and_other_formats(
    fitted: ActorModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "actor.safetensors"
    save(path, fitted)
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut\.safetensors: not a readable checkpoint"):
        load(cut)
    import model.checkpoint as ck

    old = tmp_path / "old.safetensors"
    with monkeypatch.context() as patch:  # a file written by another version
        patch.setattr(ck, "CHECKPOINT_FORMAT", CHECKPOINT_FORMAT + 1)
        save(old, fitted)
    with pytest.raises(CheckpointError, match=f"format {CHECKPOINT_FORMAT + 1}.*reads format 1"):
        load(old)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load(tmp_path / "missing.safetensors")


def test_training_selection_never_copies_the_frame_it_fits() -> None:
    material = _material()
    sel = select(
        material, material.descriptors("phoneme", TINY), "phoneme", TINY,
        material.frame_pos, material.crops, leave_out=True,
    )  # fmt: skip
    for a, b in material.segments:
        chosen = sel.ticks[a:b]
        assert not np.any((chosen >= a) & (chosen < b))
