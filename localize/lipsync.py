"""Lip-sync rendering: each speaker's actor model speaks a translated line and repaints the mouth.

Per line: espeak-ng gives the translation's phonemes and natural durations, the timing fit
places them in the source slot, the actor model turns the 100 Hz phoneme track into WORLD
speech and mouth crops in one pass, and the crops become RGBA patches that ffmpeg overlays
while it encodes the master. The repainted stretch covers the dub's speech *and* the source
line's, so the source actor's mouth never moves in silence and the dub never speaks with a
still mouth. Legend: T 100 Hz frames, F video frames, S crop side.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
import torch

from localize import av_metrics as avm
from localize import mix
from localize.actor import phoneme_track
from localize.align import TimedUnit
from localize.cast import Cast, SpeakerFrames
from localize.face_align import MOUTH_REGION, mouth_mask
from localize.fit import FittedActor
from localize.ingest import CheckedJob
from localize.media import Overlay
from localize.patches import write_patches
from localize.phonemes import Phoneme, Speech, synthesize
from localize.render import DialogueRender, PlacedLine, Progress, check_peak
from localize.timing import Slot, TimingPlan, fit_line, phoneme_durations, slots
from localize.timing import findings as timing_findings
from localize.translate import Finding
from model.config import SAMPLE_RATE
from model.generate import Target, generate
from model.vocoder import synthesize as world_synthesize

Result = TypeVar("Result")
TICKS = 100  # frames per second of the model's timeline
PAD = 0.12  # s repainted before and after a line: lips close and part around speech
FADE = 0.02  # s fades where the generated speech is gated to the line's phonemes
# Patches fade out between these heights (template units, eye line 0, nose base 0.8): a
# dropped jaw reaches about CHIN_FADE; below it lie the neck and the collar.
CHIN_FADE, NECK_END = 1.95, 2.15
GUARD_TOP = 1.75  # template units: below the lower lip even with the jaw dropped
GUARD_DARKER = 30.0  # grey levels: the generated crop this much darker than the source
# Allowed audio-to-picture offset per line (EBU R37: sound at most 40 ms early, 60 ms late).
SYNC_EARLY_MS, SYNC_LATE_MS = 40.0, 60.0
SYNC_SEARCH = 8  # frames searched each way when measuring a line's AV offset


@dataclass(frozen=True, eq=False)
class LineTake:
    """One line as the actor model rendered it."""

    audio: np.ndarray  # (N,) float32 at SAMPLE_RATE, from `region[0]`, gated to the speech
    region: tuple[float, float]  # seconds of the clip the take covers (and repaints)
    frames: np.ndarray  # (F,) video frames repainted
    crops: np.ndarray  # (F, S, S, 3) uint8 generated mouths
    matrices: np.ndarray  # (F, 2, 3) frame-to-crop matrices of those frames
    sources: np.ndarray  # (F, S, S, 3) uint8 the source's crops of those frames
    av_offset_ms: float | None  # measured on the take; None when too short or unconfident


def regions(spans: Sequence[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """Seconds of picture to regenerate per line, from each line's (first, last) spoken second
    over the source and the dub: padded by PAD, never overlapping a neighbour (two lines closer
    than 2 * PAD meet halfway between them), inside the clip."""
    out = []
    for k, (a, b) in enumerate(spans):
        lo = a - PAD if k == 0 else max(a - PAD, (spans[k - 1][1] + a) / 2)
        hi = b + PAD if k + 1 == len(spans) else min(b + PAD, (b + spans[k + 1][0]) / 2)
        out.append((max(lo, 0.0), min(hi, duration)))
    return out


def spoken(speech: Speech) -> tuple[Phoneme, ...]:
    """The utterance's phonemes without its leading and trailing pauses, each lasting a whole
    number of 100 Hz frames (the model's grid).

    Read from espeak-ng's events, not its audio: its pitch flutter carries over from one
    utterance to the next, which moves the audio's edges (and phoneme ends by a fraction of a
    millisecond) with what was spoken before; on the frame grid a line plans the same every time.
    """
    phonemes = list(speech.phonemes.phonemes)
    while phonemes and phonemes[0].is_pause:
        phonemes.pop(0)
    while phonemes and phonemes[-1].is_pause:
        phonemes.pop()
    out, t = [], 0.0
    for p in phonemes:
        ticks = max(1, round(p.duration * TICKS))
        out.append(replace(p, start=t, duration=ticks / TICKS))
        t += ticks / TICKS
    return tuple(out)


def retimed(phonemes: Sequence[Phoneme], plan: TimingPlan) -> list[TimedUnit]:
    """The line's phonemes on the clip timeline, with the durations the timing fit chose."""
    units, t = [], plan.start
    for phoneme, seconds in zip(phonemes, plan.durations, strict=True):
        if not phoneme.is_pause:
            units.append(TimedUnit(phoneme.ipa, t, t + float(seconds)))
        t += float(seconds)
    return units


def take_line(
    fitted: FittedActor,
    span: tuple[float, float],
    face: SpeakerFrames | None,
    frame_rate: Fraction,
    units: Sequence[TimedUnit] = (),
    mel: np.ndarray | None = None,
) -> LineTake:
    """Speech and mouths for the clip stretch `span`: saying `units` (phonemes at clip times),
    or following `mel` (T, n_mels), a recording's log-mel over the span (external voice)."""
    a, b = span
    n = max(round((b - a) * TICKS), 1) if mel is None else len(mel)
    frames = rows = np.zeros(0, np.int64)
    if face is not None:
        fps = float(frame_rate)
        lo, hi = int(np.ceil(a * fps)), int(np.floor(b * fps))
        rows = np.flatnonzero((face.frames >= lo) & (face.frames <= hi))
        frames = face.frames[rows]
    video = face is not None and len(frames) > 0
    pos = (frames / float(frame_rate) - a) * TICKS  # (F,) in 100 Hz frames of the span
    drive: dict[str, np.ndarray | None] = {"mel": mel}
    if mel is None:
        drive["ids"], drive["features"] = phoneme_track(units, n, offset=a)
    sources = face.crops[rows] if face is not None else np.zeros((0, 1, 1, 3), np.uint8)
    target = Target(
        frame_pos=np.minimum(pos, n - 1) if video else None,
        frames=sources if video else None,
        **drive,
    )
    gen = generate(fitted.actor, target)
    audio = world_synthesize(gen.world).astype(np.float32)
    if mel is None:
        audio = _gate(audio, units, a)
    crops = gen.crops if gen.crops is not None else np.zeros((0, 1, 1, 3), np.uint8)
    matrices = face.matrices(rows) if face is not None and video else np.zeros((0, 2, 3))
    offset = measure_offset(crops, audio, frames, a, frame_rate, fitted) if video else None
    return LineTake(audio, span, frames, crops, matrices, sources, offset)


def _gate(audio: np.ndarray, units: Sequence[TimedUnit], offset: float) -> np.ndarray:
    """Silence outside the spoken phonemes: pause units may carry the actor's breaths, which a
    clean dialogue stem should not."""
    if not units:
        return np.zeros_like(audio)
    gain = np.zeros(len(audio), np.float32)
    a = max(round((units[0].start - offset) * SAMPLE_RATE), 0)
    b = min(round((units[-1].end - offset) * SAMPLE_RATE), len(audio))
    gain[a:b] = 1.0
    ramp = round(FADE * SAMPLE_RATE)
    kernel = np.ones(ramp, np.float32) / ramp
    return audio * np.convolve(gain, kernel, mode="same").astype(np.float32)


def measure_offset(
    crops: np.ndarray,
    audio: np.ndarray,
    frames: np.ndarray,
    start: float,
    frame_rate: Fraction,
    fitted: FittedActor,
) -> float | None:
    """AV offset of a take: its mouth motion against its own speech envelope."""
    mask = fitted.actor.database.mask
    if mask is None or len(frames) < 8 or np.any(np.diff(frames) != 1):
        return None
    times = frames / float(frame_rate) - start
    motion = avm.mouth_motion(crops, (mask >= 0.99).astype(np.float32), times)
    envelope = avm.speech_envelope(audio, SAMPLE_RATE, times)
    # ±SYNC_SEARCH frames is far beyond any tolerance, and short enough that a 3 s line's
    # correlation is not decided by a few frames at the ends of the shifted overlap.
    lag = min(SYNC_SEARCH, len(frames) // 4)
    found = avm.av_offset(motion, envelope, float(frame_rate), max_lag=lag)
    return found.offset_ms if found.confident else None


def place(track: np.ndarray, take: LineTake, gain_db: float, sample_rate: int) -> np.ndarray:
    """Add a take's speech into `track` (N,) at `sample_rate`; returns the resampled take."""
    audio = mix.resample(take.audio, SAMPLE_RATE, sample_rate) * np.float32(10 ** (gain_db / 20))
    begin = round(take.region[0] * sample_rate)
    audio = audio[: max(0, len(track) - begin)]
    track[begin : begin + len(audio)] += audio
    return audio


def mouth_mask_for(fitted: FittedActor) -> np.ndarray:
    """The blend mask (S, S) of the actor's patches: the one the decoder was trained to fill,
    faded out below the resting chin.

    Under the chin the decoder can only guess the neck and collar from reference crops, which
    follow the face while clothing does not; the source's own pixels are right there.
    """
    side = fitted.actor.model.cfg.crop_size
    mask = fitted.actor.database.mask
    mask = mask if mask is not None else mouth_mask(side)
    _, top, span = MOUTH_REGION
    y = (np.arange(side) + 0.5) * span / side + top  # (S,) row centres in template units
    t = np.clip((NECK_END - y) / (NECK_END - CHIN_FADE), 0.0, 1.0)
    return (mask * (t * t * (3 - 2 * t))[:, None]).astype(np.float32)


@dataclass(frozen=True, eq=False)
class LipsyncRender:
    """A market's lip-synced dialogue stem and the mouth patches ffmpeg composites."""

    dialogue: DialogueRender
    overlays: tuple[Overlay, ...]


def sync_findings(line_id: str, take: LineTake) -> list[Finding]:
    offset = take.av_offset_ms
    if offset is None and len(take.frames) > 0:
        return [
            Finding(
                "FYI",
                "sync.unmeasured",
                "the repainted mouth's motion does not correlate clearly enough with the speech "
                "to measure their offset; check this line by eye",
                line=line_id,
                time=take.region[0],
            )
        ]
    if offset is None or -SYNC_EARLY_MS <= offset <= SYNC_LATE_MS:
        return []
    return [
        Finding(
            "Issue",
            "sync.offset",
            f"sound is {abs(offset):.0f} ms {'late' if offset > 0 else 'early'} against the "
            f"repainted mouth (allowed: {SYNC_EARLY_MS:.0f} ms early, {SYNC_LATE_MS:.0f} ms late)",
            line=line_id,
            time=take.region[0],
        )
    ]


def patches(take: LineTake, speaker: str, cast: Cast, path: Path) -> list[Overlay]:
    """Write the take's mouths as the speaker's RGBA patches at `path`; the overlays to use."""
    if len(take.frames) == 0:
        return []
    fitted = cast.actors[speaker]
    masks = mouth_mask_for(fitted)[None] * clothing_guard(take.crops, take.sources)
    return [
        write_patches(
            path, take.crops, take.matrices, take.frames, masks, cast.frame_shape, cast.frame_rate
        )
    ]


def clothing_guard(generated: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(F, S, S) weights that keep the source below the mouth wherever the generated crop is
    much darker than the source there: the decoder drawing a collar over the neck.

    generated, source: (F, S, S, 3) uint8 crops of the same frames. Above GUARD_TOP (template
    units) the weights are 1: a mouth's dark interior is never held back.
    """
    side = generated.shape[1]
    _, top, span = MOUTH_REGION
    y = (np.arange(side) + 0.5) * span / side + top  # (S,) row centres in template units
    band = np.clip((y - GUARD_TOP) / 0.1, 0.0, 1.0)[None, :, None]  # (1, S, 1)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    darker = (source.astype(np.float32) @ luma) - (generated.astype(np.float32) @ luma)
    hold = np.clip((darker - GUARD_DARKER) / GUARD_DARKER, 0.0, 1.0)  # (F, S, S)
    hold = np.stack([cv2.GaussianBlur(h, (0, 0), 1.5) for h in hold]) if len(hold) else hold
    return (1.0 - band * np.clip(2 * hold, 0.0, 1.0)).astype(np.float32)


def render_lipsync(
    checked: CheckedJob,
    lang: str,
    cast: Cast,
    sample_rate: int,
    workdir: Path,
    progress: Progress | None = None,
    aligned: Mapping[str, tuple[float, float]] | None = None,
) -> LipsyncRender:
    """Every translated line spoken by its actor's model, fitted to its slot, mouth repainted."""
    job, source = checked.job, checked.source
    track = np.zeros(round(source.duration * sample_rate), np.float32)  # (N,)
    reference = mix.reference_dialogue(source, sample_rate)
    line_slots = slots(job.script, source.duration, aligned)
    speeches, plans = [], []
    for line, slot in zip(job.script, line_slots, strict=True):
        text = checked.translations[lang].lines[line.id]
        phonemes = spoken(synthesize(text, lang, checked.lexicon))
        durations, pauses = phoneme_durations(phonemes)
        bounds = (job.timing.min_rate, job.timing.max_rate)
        speeches.append(phonemes)
        plans.append(fit_line(line.id, durations, slot, *bounds, pauses))
    spans = regions(
        [
            (min(s.start, p.start), max(s.end, p.end))
            for s, p in zip(line_slots, plans, strict=True)
        ],
        source.duration,
    )

    def make_take(index: int) -> tuple[LineTake, list[Overlay]]:
        line = job.script[index]
        fitted, face = cast.actors[line.speaker], cast.faces.get(line.speaker)
        units = retimed(speeches[index], plans[index])
        take = take_line(fitted, spans[index], face, cast.frame_rate, units)
        return take, patches(take, line.speaker, cast, workdir / f"{line.id}.rgba")

    placed, overlays, findings = [], [], []
    for index, (take, line_patches) in enumerate(_in_parallel(make_take, len(job.script))):
        line, slot, plan, speech = (
            job.script[index],
            line_slots[index],
            plans[index],
            speeches[index],
        )
        fitted = cast.actors[line.speaker]
        heard = mix.resample(take.audio, SAMPLE_RATE, sample_rate)
        gain = mix.match_level(heard, reference, slot.start, slot.end, sample_rate)
        place(track, take, gain, sample_rate)
        overlays += line_patches
        findings += sync_findings(line.id, take)
        text = checked.translations[lang].lines[line.id]
        placed.append(_placed(line.id, line.speaker, text, slot, plan, gain, fitted, speech, take))
        if progress is not None:
            progress("speech", index + 1, len(job.script))
    findings = timing_findings(plans) + findings
    check_peak(track, lang)
    dialogue = DialogueRender(lang, track, sample_rate, tuple(placed), tuple(findings))
    return LipsyncRender(dialogue, tuple(overlays))


def _in_parallel(work: Callable[[int], Result], n: int) -> Iterator[Result]:
    """work(0), ..., work(n - 1) in order, computed by one worker per core.

    Each line's tensors are small, so one torch thread per line on every core keeps the cores
    busier than all threads on one line at a time.
    """
    workers = max(1, min(n, os.cpu_count() or 1))
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads // workers))
    try:
        with ThreadPoolExecutor(workers) as pool:
            yield from pool.map(work, range(n))
    finally:
        torch.set_num_threads(threads)


def _placed(
    line_id: str,
    speaker: str,
    text: str,
    slot: Slot,
    plan: TimingPlan,
    gain_db: float,
    fitted: FittedActor,
    phonemes: Sequence[Phoneme],
    take: LineTake,
) -> PlacedLine:
    return PlacedLine(
        id=line_id,
        speaker=speaker,
        text=text,
        slot_start=slot.start,
        slot_end=slot.end,
        window_end=slot.window_end,
        start=plan.start,
        end=plan.end,
        rate=plan.rate,
        borrowed=plan.borrowed,
        overflow=plan.overflow,
        gain_db=gain_db,
        voice=f"actor model {fitted.checkpoint.name}",
        ipa=" ".join(p.ipa for p in phonemes if not p.is_pause),
        region=take.region,
        av_offset_ms=take.av_offset_ms,
    )
