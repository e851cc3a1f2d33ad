"""Shared fixtures: seconds-long generated jobs (video, stems, translations) for pipeline tests."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from localize import media
from localize.mix import resample
from localize.phonemes import synthesize
from model.config import JointConfig
from model.train import FitConfig

RATE = 48000
FPS = 25
SIZE = (160, 120)  # (W, H): tiny frames keep encodes fast

# A tiny actor model and a few fitting steps: end-to-end tests of fitting and rendering.
TINY = JointConfig(
    d_model=32, n_layers=1, n_heads=2, n_mel_cep=8, d_speaker=256, n_mels=12,
    crop_size=48, mouth_channels=8, n_reference_crops=3,
)  # fmt: skip
QUICK = FitConfig(profile="test", steps=6, critic_steps=2, batch_size=2, window=64)


def write_video(
    path: Path, seconds: float, fps: Fraction = Fraction(FPS), audio: Path | None = None
) -> None:
    """A moving gradient clip, so the encoder has real content to code."""
    n_frames = round(seconds * fps)
    width, height = SIZE
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    with media.FrameWriter(path, width, height, fps, preset="ultrafast", audio=audio) as writer:
        for index in range(n_frames):
            frame = np.stack(
                [(x + 5 * index) % 256 + 0 * y, (y + 3 * index) % 256 + 0 * x, 128 + 0 * (x + y)],
                axis=-1,
            )
            writer.write(frame.astype(np.uint8))


def spoken(seconds: float, lines: list[tuple[str, float]]) -> np.ndarray:
    """(N,) espeak-ng speech of each (text, start) line, silence elsewhere: a dialogue stem."""
    out = np.zeros(round(seconds * RATE), dtype=np.float32)
    for text, start in lines:
        speech = synthesize(text, "en-US", voice_variant="f4").trimmed()
        audio = resample(speech.samples, speech.sample_rate, RATE) * 0.5
        begin = round(start * RATE)
        out[begin : begin + len(audio)] = audio[: len(out) - begin]
    return out


def ambience(seconds: float, seed: int = 2) -> np.ndarray:
    """(N, 2) quiet stereo noise with a soft tone: a stand-in M&E stem."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    tone = 0.05 * np.sin(2 * np.pi * 220 * t)
    noise = 0.02 * rng.standard_normal((n, 2))
    return (noise + tone[:, None]).astype(np.float32)


def write_talking_job(
    folder: Path, lines: list[tuple[str, str, float]], seconds: float, face: bool = True
) -> Path:
    """A 640x360 clip of the sample actor (or, without ``face``, a faceless gradient) saying
    (id, text, start) lines with espeak-ng's voice, its stems, and a job file naming them."""
    from samples.gen_face import ActorRenderer

    dialogue = np.zeros(round(seconds * RATE), np.float32)
    phonemes, script = [], []
    for line_id, text, start in lines:
        speech = synthesize(text, "en-US", rate=0.9, voice_variant="f4").trimmed()
        audio = resample(speech.samples, speech.sample_rate, RATE) * 0.5
        a = round(start * RATE)
        dialogue[a : a + len(audio)] = audio
        phonemes += [
            (p.ipa, start + p.start, start + p.start + p.duration) for p in speech.phonemes.phonemes
        ]
        end = round(start + speech.duration + 0.2, 2)
        script.append({"id": line_id, "speaker": "Ava", "text": text, "start": start, "end": end})
    me = (0.01 * np.random.default_rng(0).standard_normal((len(dialogue), 2))).astype(np.float32)
    media.write_audio(folder / "dialogue.wav", dialogue, RATE)
    media.write_audio(folder / "me.wav", me, RATE)
    media.write_audio(folder / "mix.wav", me + dialogue[:, None], RATE)
    if face:
        renderer = ActorRenderer(width=640, height=360)
        with media.FrameWriter(
            folder / "clip.mp4", 640, 360, Fraction(FPS), preset="ultrafast",
            audio=folder / "mix.wav",
        ) as writer:  # fmt: skip
            for frames, _ in renderer.render(phonemes, round(seconds * FPS)):
                writer.write(frames)
    else:
        write_video(folder / "clip.mp4", seconds, audio=folder / "mix.wav")
    job = {
        "source": {"video": "clip.mp4", "stems": {"dialogue": "dialogue.wav", "me": "me.wav"}},
        "speakers": [{"name": "Ava", "consent_record_id": "CR-1"}],
        "script": script,
        "markets": [{"lang": "de-DE"}],
        "translations": {"files": {}},
    }
    (folder / "job.yaml").write_text(yaml.safe_dump(job))
    return folder / "job.yaml"


LINES = [
    {"id": "L1", "speaker": "Ava", "text": "Good morning.", "start": 0.2, "end": 1.4},
    {"id": "L2", "speaker": "Ava", "text": "Brightwell is here.", "start": 1.6, "end": 2.9},
]
TRANSLATIONS = {
    "de-DE": {"L1": "Guten Morgen.", "L2": "Brightwell ist da."},
    "fr-FR": {"L1": "Bonjour.", "L2": "Brightwell est là."},
}


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3 s clip with dialogue and M&E stems, made once per test session."""
    folder = tmp_path_factory.mktemp("clip")
    seconds = 3.0
    dialogue = spoken(seconds, [(str(line["text"]), float(line["start"])) for line in LINES])
    me = ambience(seconds)
    media.write_audio(folder / "dialogue.wav", dialogue, RATE)
    media.write_audio(folder / "me.wav", me, RATE)
    media.write_audio(folder / "mix.wav", me + dialogue[:, None], RATE)
    write_video(folder / "clip.mp4", seconds, audio=folder / "mix.wav")
    return folder


@pytest.fixture(autouse=True)
def _private_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Analyses go to a per-session store, never the user's cache."""
    monkeypatch.setenv("LOCALIZE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def make_job(clip_dir: Path, tmp_path: Path) -> Callable[..., Path]:
    """Write a job file (plus translations) in tmp_path; keyword overrides edit the mapping."""

    def make(**overrides: Any) -> Path:
        files = {}
        for lang, lines in TRANSLATIONS.items():
            path = tmp_path / f"{lang}.yaml"
            path.write_text(yaml.safe_dump({"language": lang, "lines": lines}, allow_unicode=True))
            files[lang] = path.name
        job: dict[str, Any] = {
            "name": "test",
            "mode": "voice-over",
            "source": {
                "video": str(clip_dir / "clip.mp4"),
                "stems": {
                    "dialogue": str(clip_dir / "dialogue.wav"),
                    "me": str(clip_dir / "me.wav"),
                },
            },
            "speakers": [{"name": "Ava", "gender": "female", "consent_record_id": "CR-1"}],
            "script": [dict(line) for line in LINES],
            "markets": [{"lang": "de-DE"}, {"lang": "fr-FR", "loudness": "ebu-r128-s1"}],
            "translations": {"files": files},
            "output": {"folder": "out", "preset": "ultrafast"},
        }
        job.update(overrides)
        path = tmp_path / "job.yaml"
        path.write_text(yaml.safe_dump(job, allow_unicode=True, sort_keys=False))
        return path

    return make
