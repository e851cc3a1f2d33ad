"""Self-reenactment: fit on the first ~85 % of an actor's speech, regenerate the rest, score it.

The same held-out stretch is also rebuilt by simple baselines (a static mouth, the mean mouth,
retrieval of the actor's own crops by viseme or by sound, the selected units without the
network's repair, plain espeak-ng speech), so every figure of the model reads against them.

Legend: T 100 Hz frames, F video frames, S crop side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from localize import av_metrics as avm
from localize import speech_metrics as spm
from localize.diarize import embed_utterance
from model.articulatory import INVENTORY
from model.checkpoint import ActorModel
from model.config import HOP, SAMPLE_RATE, JointConfig
from model.data import ActorMaterial, pose_vectors, slice_material
from model.generate import Generated, Target, generate
from model.train import FitConfig, Progress, fit
from model.vocoder import MCEP, n_aperiodicity, synthesize
from model.vocoder import analyze as world_analyze

HOLDOUT = 0.15  # share of the actor's speech regenerated rather than fitted


@dataclass(frozen=True)
class Scores:
    """One row of the table; None where a figure does not apply to that method."""

    name: str
    ssim: float | None = None  # mouth SSIM on the masked region, vs the real frames
    psnr: float | None = None  # dB, same region
    sharpness: float | None = None  # Laplacian energy of the mouth, ratio to the real frames'
    content_drop: float | None = None  # SSIM lost when driven by another stretch's content
    follows_driver: float | None = None  # corr(mouth motion, driving speech) when re-driven
    follows_original: float | None = None  # corr(mouth motion, the original speech) then
    mcd: float | None = None  # mel-cepstral distortion vs the real speech, dB
    f0_rmse: float | None = None  # Hz, frames voiced in both
    speaker_cos: float | None = None  # Resemblyzer cosine to the actor's held-out real speech
    other_cos: float | None = None  # the highest cosine to another real speaker's speech
    av_offset_ms: float | None = None  # median over windows; > 0: audio late


@dataclass(frozen=True)
class Evaluation:
    clip: str
    mode: str  # "phoneme" (from the script) or "audio" (from the recording)
    fitted_seconds: float
    heldout_seconds: float
    fit_seconds: float
    rows: tuple[Scores, ...] = field(default=())

    def table(self) -> str:
        head = (
            f"{self.clip}: {self.mode}-driven, fitted on {self.fitted_seconds:.1f} s in "
            f"{self.fit_seconds:.0f} s, held out {self.heldout_seconds:.1f} s\n"
        )
        cols = [
            ("method", "name", "{}", 18),
            ("SSIM", "ssim", "{:.3f}", 6),
            ("PSNR", "psnr", "{:.1f}", 5),
            ("sharp", "sharpness", "{:.2f}", 5),
            ("drop", "content_drop", "{:.3f}", 6),
            ("drv", "follows_driver", "{:.2f}", 5),
            ("orig", "follows_original", "{:.2f}", 5),
            ("MCD", "mcd", "{:.2f}", 5),
            ("F0rmse", "f0_rmse", "{:.1f}", 6),
            ("spkcos", "speaker_cos", "{:.3f}", 6),
            ("other", "other_cos", "{:.3f}", 6),
            ("AVms", "av_offset_ms", "{:+.0f}", 5),
        ]
        lines = [" ".join(f"{c[0]:>{c[3]}}" for c in cols)]
        for row in self.rows:
            cells = []
            for _, attr, fmt, width in cols:
                value = getattr(row, attr)
                cells.append(f"{'-' if value is None else fmt.format(value):>{width}}")
            lines.append(" ".join(cells))
        return head + "\n".join(lines)


def split_point(material: ActorMaterial, share: float = HOLDOUT) -> int:
    """The 100 Hz frame where the held-out part begins: a segment start leaving >= share out."""
    starts = material.segments[:, 0]
    goal = material.n_frames * (1 - share)
    candidates = [int(s) for s in starts if 0 < s <= goal]
    if candidates:
        return max(candidates)
    return int(goal)  # one long segment: cut inside it


def _composite(crops: np.ndarray, frames: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[None, :, :, None]
    return np.clip(np.rint(crops * m + frames * (1 - m)), 0, 255).astype(np.uint8)


@dataclass(frozen=True, eq=False)
class _Truth:
    held: ActorMaterial
    audio: np.ndarray  # (N,) 16 kHz real speech of the held-out part
    frames: np.ndarray  # (F, S, S, 3) real crops with a face
    pos: np.ndarray  # (F,) their 100 Hz positions
    embedding: np.ndarray  # Resemblyzer embedding of the real held-out speech
    others: dict[str, np.ndarray]  # other real speakers' embeddings

    @property
    def times(self) -> np.ndarray:
        return self.pos / 100.0

    @property
    def frame_rate(self) -> float:
        return float(100.0 / np.median(np.diff(self.pos))) if len(self.pos) > 1 else 25.0


def _video_scores(truth: _Truth, crops: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    return {
        "ssim": avm.masked_ssim(crops, truth.frames, mask),
        "psnr": avm.masked_psnr(crops, truth.frames, mask),
        "sharpness": avm.sharpness(crops, mask) / max(avm.sharpness(truth.frames, mask), 1e-9),
    }


def _speech_scores(truth: _Truth, speech: np.ndarray) -> dict[str, Any]:
    emb = embed_utterance(speech)
    scores: dict[str, Any] = {
        "mcd": spm.mel_cepstral_distortion(truth.audio, speech, SAMPLE_RATE),
        "f0_rmse": spm.f0_rmse(truth.audio, speech, SAMPLE_RATE),
        "speaker_cos": float(np.dot(emb, truth.embedding)),
    }
    if truth.others:
        scores["other_cos"] = max(float(np.dot(emb, e)) for e in truth.others.values())
    return scores


def core(mask: np.ndarray) -> np.ndarray:
    """The mask's fully repainted interior: motion measured there is the generated mouth's own,
    not the real frame showing through the feathered edge."""
    return (mask >= 0.99).astype(np.float32)


def _offset(truth: _Truth, crops: np.ndarray, audio: np.ndarray, mask: np.ndarray) -> float:
    motion = avm.mouth_motion(crops, core(mask), truth.times)
    env = avm.speech_envelope(audio, SAMPLE_RATE, truth.times)
    _, m = avm.resample_uniform(truth.times, motion, truth.frame_rate)
    _, e = avm.resample_uniform(truth.times, env, truth.frame_rate)
    windows = avm.av_offset_windows(m, e, truth.frame_rate)
    return float(np.median([w.offset_ms for w in windows]))


def _target(m: ActorMaterial, truth: _Truth, mode: str) -> Target:
    if mode == "phoneme":
        return Target(ids=m.ids, features=m.features, frame_pos=truth.pos, frames=truth.frames)
    return Target(mel=m.mel, frame_pos=truth.pos, frames=truth.frames)


def _driver(fitted: ActorMaterial, n: int) -> int:
    """Start of the fitted stretch of n frames with the most voicing: another line's content."""
    voiced = np.concatenate([[0.0], np.cumsum(fitted.world[:, 1])])
    if fitted.n_frames <= n:
        return 0
    sums = voiced[n:] - voiced[:-n]
    return int(np.argmax(sums[: fitted.n_frames - n + 1]))


def _redriven(
    actor: ActorModel, fitted: ActorMaterial, joined: np.ndarray, truth: _Truth, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Mouths for the held-out frames driven by a fitted stretch; and that stretch's audio."""
    n = truth.held.n_frames
    d0 = _driver(fitted, n)
    drive = slice_material(fitted, d0, d0 + n)
    gen = generate(actor, _target(drive, truth, mode))
    audio = joined[d0 * HOP : (d0 + drive.n_frames) * HOP]
    assert gen.crops is not None
    return gen.crops, audio


def _retrieval(fitted: ActorMaterial, truth: _Truth, mode: str) -> np.ndarray:
    """Per held-out frame, the fitted crop of the same viseme (or nearest sound) and pose."""
    assert fitted.crops is not None and fitted.frame_pos is not None and fitted.face_ok is not None
    seen = np.flatnonzero(fitted.face_ok)
    at_f = np.clip(np.rint(fitted.frame_pos[seen]).astype(int), 0, fitted.n_frames - 1)
    at_t = np.clip(np.rint(truth.pos).astype(int), 0, truth.held.n_frames - 1)
    assert fitted.mask is not None
    upper = pose_vectors(fitted.crops[seen], fitted.mask)  # pose cue, blind to the mouth
    wanted = pose_vectors(truth.frames, fitted.mask)
    out = np.empty_like(truth.frames)
    for k, t in enumerate(at_t):
        if mode == "phoneme" and truth.held.ids is not None and fitted.ids is not None:
            vis = INVENTORY.viseme(INVENTORY.symbols[truth.held.ids[t]])
            pool = [
                i
                for i, f in enumerate(at_f)
                if INVENTORY.viseme(INVENTORY.symbols[fitted.ids[f]]) == vis
            ]
        else:
            d = ((fitted.mel[at_f] - truth.held.mel[t]) ** 2).sum(1)
            pool = list(np.argsort(d)[:5])
        pool = pool or list(range(len(seen)))
        best = min(pool, key=lambda i: float(((upper[i] - wanted[k]) ** 2).mean()))
        out[k] = fitted.crops[seen[best]]
    return out


def self_reenactment(
    material: ActorMaterial,
    joined: np.ndarray,
    cfg: JointConfig,
    fit_cfg: FitConfig,
    clip: str,
    espeak: Callable[[], np.ndarray] | None = None,
    progress: Progress | None = None,
    cut: int | None = None,
    others: dict[str, np.ndarray] | None = None,
) -> Evaluation:
    """Fit on the first part of ``material`` (whose speech is ``joined``, 16 kHz), regenerate
    the held-out rest from ``cut`` (default: split_point) and score it with the baselines.

    ``espeak`` renders the held-out text; ``others`` are voice embeddings of other real
    speakers, for the cosine the cloned voice must stay below its own speaker's.
    """
    cut = split_point(material) if cut is None else cut
    fitted = slice_material(material, 0, cut)
    held = slice_material(material, cut, material.n_frames)
    audio = joined[cut * HOP : material.n_frames * HOP]
    mode = "phoneme" if material.scripted else "audio"
    result = fit(fitted, cfg, fit_cfg, progress)
    actor = ActorModel(result.model, fitted, {})
    rows: list[Scores] = []
    frames, pos = np.zeros((0, 1, 1, 3), np.uint8), np.zeros(0)
    if held.has_video:
        assert held.crops is not None and held.face_ok is not None and held.frame_pos is not None
        frames, pos = held.crops[held.face_ok], held.frame_pos[held.face_ok]
    truth = _Truth(held, audio, frames, pos, embed_utterance(audio), others or {})
    gen = generate(actor, _target(held, truth, mode))
    speech = synthesize(gen.world)
    rows.append(_model_row(actor, fitted, joined, truth, mode, gen, speech))
    rows.extend(_baselines(actor, fitted, truth, mode, gen, espeak))
    return Evaluation(clip, mode, cut / 100, held.n_frames / 100, result.seconds, tuple(rows))


def _model_row(
    actor: ActorModel,
    fitted: ActorMaterial,
    joined: np.ndarray,
    truth: _Truth,
    mode: str,
    gen: Generated,
    speech: np.ndarray,
) -> Scores:
    row = Scores("joint model", **_speech_scores(truth, speech))
    if gen.crops is None or fitted.mask is None:
        return row
    mask = fitted.mask
    driven, driver_audio = _redriven(actor, fitted, joined, truth, mode)
    motion = avm.mouth_motion(driven, core(mask), truth.times)
    video = _video_scores(truth, gen.crops, mask)
    return replace(
        row,
        **video,
        content_drop=video["ssim"] - avm.masked_ssim(driven, truth.frames, mask),
        follows_driver=avm.correlation(
            motion, avm.speech_envelope(driver_audio, SAMPLE_RATE, truth.times)
        ),
        follows_original=avm.correlation(
            motion, avm.speech_envelope(truth.audio, SAMPLE_RATE, truth.times)
        ),
        av_offset_ms=_offset(truth, gen.crops, speech, mask),
    )


def _baselines(
    actor: ActorModel,
    fitted: ActorMaterial,
    truth: _Truth,
    mode: str,
    gen: Generated,
    espeak: Callable[[], np.ndarray] | None,
) -> list[Scores]:
    rows = []
    units_speech = synthesize(fitted.world[gen.ticks])
    units = Scores("units, no repair", **_speech_scores(truth, units_speech))
    if gen.crops is not None and fitted.crops is not None and fitted.mask is not None:
        mask = fitted.mask
        frames = truth.frames
        assert gen.refs is not None
        unit_crops = _composite(fitted.crops[gen.refs[:, 0]], frames, mask)
        units = replace(
            units,
            **_video_scores(truth, unit_crops, mask),
            av_offset_ms=_offset(truth, unit_crops, units_speech, mask),
        )
        static = fitted.crops[fitted.static_reference()]
        seen = fitted.crops[fitted.face_ok] if fitted.face_ok is not None else fitted.crops
        mean = seen.astype(np.float32).mean(0)
        retrieved = _composite(_retrieval(fitted, truth, mode), frames, mask)
        rows.append(
            Scores(
                "static mouth",
                **_video_scores(
                    truth, _composite(np.broadcast_to(static, frames.shape), frames, mask), mask
                ),
            )
        )
        rows.append(
            Scores(
                "mean mouth",
                **_video_scores(
                    truth, _composite(np.broadcast_to(mean, frames.shape), frames, mask), mask
                ),
            )
        )
        name = "viseme retrieval" if mode == "phoneme" else "nearest-sound retr."
        rows.append(
            Scores(
                name,
                **_video_scores(truth, retrieved, mask),
                av_offset_ms=_offset(truth, retrieved, truth.audio, mask),
            )
        )
        rows.append(
            Scores(
                "real frames",
                av_offset_ms=_offset(truth, frames, truth.audio, mask),
                sharpness=1.0,
                ssim=1.0,
            )
        )
    rows.insert(0, units)
    # The vocoder's own floor: the real held-out speech analysed and resynthesised by WORLD.
    n_cep = fitted.world.shape[1] - MCEP - n_aperiodicity()
    resynth = synthesize(world_analyze(truth.audio.astype(np.float64), n_cep))
    rows.append(Scores("WORLD resynthesis", **_speech_scores(truth, resynth)))
    if espeak is not None:
        rows.append(Scores("plain espeak-ng", **_speech_scores(truth, espeak())))
    return rows
