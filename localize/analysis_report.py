"""Readable outputs of the source analysis: summary text, RTTM turns, a mouth-crop contact sheet."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from pyannote.core import Annotation, Segment

from localize import media
from localize.analysis import AnalysisResult
from localize.face_align import mouth_crop
from localize.faces import FaceTracks
from localize.speakers import annotation_to_rttm

SHEET_COLUMNS = 8
SHEET_CROPS = 32  # crops sampled evenly over the first face track
CROP = 96


def summary(result: AnalysisResult) -> str:
    """Lines with times and confidence, speakers and their voice references, face tracks."""
    analysis = result.analysis
    rows = ["lines"]
    for line in analysis.alignment.lines:
        rows.append(
            f"  {line.id:<6} {line.start:7.2f}-{line.end:7.2f} s  "
            f"confidence {line.confidence:.2f}  words {len(line.words)}  "
            f"phonemes {len(line.phonemes)}"
        )
    speakers = analysis.speakers
    rows.append(f"speakers (unlabelled diarization hears {speakers.n_found})")
    for voice in speakers.voices:
        spans = ", ".join(f"{a:.2f}-{b:.2f}" for a, b in voice.segments)
        rows.append(f"  {voice.speaker:<10} voice reference {voice.duration:.1f} s: {spans}")
    faces = analysis.faces
    if faces is None:
        rows.append("faces    none")
    else:
        rows.append(
            f"faces    {len(faces.tracks)} track(s) over {faces.n_frames} frames, "
            f"face in {100 * faces.coverage():.1f} % of frames"
        )
        for track in faces.tracks:
            who = analysis.track_speakers.get(track.track_id, "unassigned")
            rows.append(
                f"  track {track.track_id}: frames {track.first_frame}-{track.last_frame}, "
                f"speaker {who}, {len(track.gaps)} gap(s)"
            )
    stages = ", ".join(f"{k} {'cached' if v else 'computed'}" for k, v in result.cached.items())
    rows.append(f"stages   {stages}")
    rows += ["findings"] + [f"  {f}" for f in analysis.findings] if analysis.findings else []
    return "\n".join(rows) + "\n"


def rttm(result: AnalysisResult, uri: str) -> str:
    annotation = Annotation(uri=uri)
    for index, turn in enumerate(result.analysis.speakers.turns):
        annotation[Segment(turn.start, turn.end), index] = turn.speaker
    return annotation_to_rttm(annotation, uri)


def contact_sheet(faces: FaceTracks, video: Path) -> np.ndarray | None:
    """(H, W, 3) uint8 RGB grid of aligned mouth crops from the first face track."""
    if not faces.tracks:
        return None
    track = faces.tracks[0]
    picks = np.unique(np.linspace(0, len(track.frames) - 1, SHEET_CROPS).round().astype(int))
    wanted = {int(track.frames[i]): i for i in picks}
    crops: list[np.ndarray] = []
    index = 0
    for chunk in media.iter_frames(video, chunk=32):
        for frame in chunk:
            if index in wanted:
                crop, _ = mouth_crop(frame, track.landmarks[wanted[index]], CROP)
                crops.append(crop)
            index += 1
    while len(crops) % SHEET_COLUMNS:
        crops.append(np.zeros_like(crops[0]))
    rows = [
        np.concatenate(crops[i : i + SHEET_COLUMNS], axis=1)
        for i in range(0, len(crops), SHEET_COLUMNS)
    ]
    return np.concatenate(rows, axis=0)


def write_report(result: AnalysisResult, video: Path, folder: Path, uri: str) -> list[Path]:
    """Write summary.txt, turns.rttm and contact_sheet.png into `folder`; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / "summary.txt", folder / "turns.rttm"]
    written[0].write_text(summary(result))
    written[1].write_text(rttm(result, uri))
    faces = result.analysis.faces
    sheet = contact_sheet(faces, video) if faces is not None else None
    if sheet is not None:
        path = folder / "contact_sheet.png"
        cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        written.append(path)
    return written
