"""Builds the synthetic Brightwell sample: actor video, dialogue and M&E stems, mix, ground truth.

Run from the repository root: ``python -m samples.make_sample [--force]``. The output goes to
``samples/media/`` and is deterministic; a stamp of the inputs makes a second run a no-op.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import numpy as np
from tqdm import tqdm

from localize import media
from localize.deliver import staged_folder
from localize.lexicon import load_lexicon
from localize.spec import load_job
from samples.gen_face import FPS, HEIGHT, WIDTH, ActorRenderer
from samples.gen_voice import ActorVoice, make_dialogue
from samples.me_stem import make_me, mix

HERE = Path(__file__).resolve().parent
JOB = HERE / "job.yaml"
LEXICON = HERE.parent / "lexicons" / "brightwell.yaml"
OUT = HERE / "media"
DURATION = 26.0  # seconds; the spot's length
# Effects of the M&E: (name, start seconds). The door opens as the actor starts, the cup lands
# between lines, coffee pours under the product line, the machine hisses before the tagline.
EFFECTS = (("door", 0.3), ("cup", 7.9), ("pour", 12.6), ("steam", 19.2), ("cup", 24.6))
SOURCES = ("make_sample.py", "gen_face.py", "face_parts.py", "gen_voice.py", "me_stem.py")
# The actor is a woman: espeak-ng's f4 variant as the base (the voice-over mode's stock female
# voice is f3), pitched and shaped by the WORLD treatment in gen_voice.
VOICE = ActorVoice(
    espeak_variant="f4", f0_mean_hz=165.0, f0_range_semitones=8.0, formant_shift=0.97
)
CRF = 20  # visually clean and small enough to keep the demo's input light


def input_stamp() -> str:
    """Hash of everything the output depends on: generator code, job script, lexicon."""
    digest = hashlib.sha256()
    for name in SOURCES:
        path = HERE / name
        if path.exists():
            digest.update(path.read_bytes())
    digest.update(JOB.read_bytes())
    digest.update(LEXICON.read_bytes())
    return digest.hexdigest()


def _render_video(path: Path, phonemes: list[tuple[str, float, float]], audio: Path) -> list:
    n_frames = round(DURATION * FPS)
    truth = []
    renderer = ActorRenderer(seed=7)
    with (
        media.FrameWriter(path, WIDTH, HEIGHT, Fraction(FPS), crf=CRF, audio=audio) as writer,
        tqdm(total=n_frames, desc="actor video", unit="frame") as bar,
    ):
        for frames, chunk_truth in renderer.render(phonemes, n_frames):
            writer.write(frames)
            truth += [asdict(frame) for frame in chunk_truth]
            bar.update(len(frames))
    return truth


def build(out: Path) -> None:
    """Write the sample's media and ground truth into `out` (replaced atomically)."""
    job = load_job(JOB)
    lexicon = load_lexicon(LEXICON)
    lines = [(line.id, line.text, float(line.start or 0.0)) for line in job.script]
    dialogue = make_dialogue(lines, DURATION, VOICE, lexicon)
    for (line_id, _start, end), line in zip(dialogue.lines, job.script, strict=True):
        if line.end is not None and end > line.end:
            raise SystemExit(
                f"{JOB}: line {line_id} speech ends at {end:.2f} s, after its slot end"
            )
    me = make_me(DURATION, EFFECTS)
    master = mix(dialogue.samples, me.samples)
    with staged_folder(out, force=True) as staging:
        media.write_audio(staging / "dialogue.wav", dialogue.samples, dialogue.sample_rate)
        media.write_audio(staging / "me.wav", me.samples, me.sample_rate)
        media.write_audio(staging / "mix.wav", master, me.sample_rate)
        phonemes = [(p.ipa, p.start, p.end) for p in dialogue.phonemes]
        frames = _render_video(staging / "brightwell.mp4", phonemes, staging / "mix.wav")
        truth = {
            "about": "Ground truth of the synthetic Brightwell sample, written by make_sample.py",
            "fps": FPS,
            "duration": DURATION,
            "lines": [{"id": i, "start": s, "end": e} for i, s, e in dialogue.lines],
            "phonemes": [asdict(p) for p in dialogue.phonemes],
            "effects": [asdict(e) for e in me.effects],
            "frames": frames,
        }
        (staging / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False))
        (staging / ".stamp").write_text(input_stamp())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (samples/media)")
    args = parser.parse_args(argv)
    stamp = args.out / ".stamp"
    if not args.force and stamp.exists() and stamp.read_text() == input_stamp():
        print(f"sample is up to date in {args.out}")
        return 0
    build(args.out)
    master = media.read_audio(args.out / "mix.wav", channels=None)
    print(
        f"sample written to {args.out} ({len(master) / 48000:.1f} s, peak "
        f"{20 * np.log10(np.max(np.abs(master))):.1f} dBFS)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
