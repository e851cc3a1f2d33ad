"""Face tracks of a clip: HOG detection, 5-point landmarks, smoothing, gaps and speakers.

Shapes: F video frames, H/W pixels; landmarks are (F, 5, 2) float32 (x, y) frame pixels in
dlib's 5-point order (see `localize.face_align`); boxes are (F, 4) float32 (left, top, right,
bottom). The mouth crop, its mask and the inverse warp live in `localize.face_align`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path

import cv2
import dlib
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import linear_sum_assignment

from localize import media
from localize.errors import LocalizeError
from localize.face_align import FACE_REGION, MOUTH_REGION, fit_similarity, region_matrix

Progress = Callable[[str, int, int], None]
PREDICTOR_FILE = "shape_predictor_5_face_landmarks.dat"
MOTION_CROP = 32  # px: mouth motion is measured on a small grey crop; detail does not help it
PATCH_SIZE = 32  # px: face patch compared against the last detection


class FaceError(LocalizeError):
    """No usable face in a clip, or a face model missing; names the file."""


@dataclass(frozen=True)
class TrackConfig:
    """How faces are found and followed."""

    detect_height: int = 480  # HOG runs on a grey frame this tall: faces >= ~1/6 of the height
    match_iou: float = 0.3  # a detection continues a track when their boxes overlap this much
    min_similarity: float = 0.5  # face patch correlation below this means the face is gone
    max_gap_s: float = 3.0  # a face missing longer than this ends its track
    min_track_s: float = 0.2  # shorter tracks are detector noise
    # Gaussian sigma of the zero-phase landmark filter: removes jitter without lag; wider starts
    # to flatten real head motion. Landmarks are eyes and nose, so the mouth is never blunted.
    smooth_s: float = 0.1


@dataclass(frozen=True)
class FaceGap:
    """A stretch where a tracked face was not seen: frames [start_frame, end_frame)."""

    start_frame: int
    end_frame: int  # exclusive
    start: float  # seconds
    end: float

    @property
    def n_frames(self) -> int:
        return self.end_frame - self.start_frame


@dataclass(frozen=True, eq=False)
class FaceTrack:
    """One face followed through the clip; arrays hold only the frames where it was seen."""

    track_id: int
    frames: np.ndarray  # (F,) int64 frame indices, increasing
    landmarks: np.ndarray  # (F, 5, 2) float32, temporally smoothed
    raw: np.ndarray  # (F, 5, 2) float32, as predicted
    boxes: np.ndarray  # (F, 4) float32 left, top, right, bottom
    mouth_motion: np.ndarray  # (F,) float32 mean abs grey change in the mouth crop, 0..255
    gaps: tuple[FaceGap, ...]  # where the face was missing between its first and last frame

    @property
    def first_frame(self) -> int:
        return int(self.frames[0])

    @property
    def last_frame(self) -> int:
        return int(self.frames[-1])


@dataclass(frozen=True, eq=False)
class FaceTracks:
    """Every face track of a clip."""

    path: Path
    tracks: tuple[FaceTrack, ...]
    n_frames: int
    frame_rate: Fraction
    size: tuple[int, int]  # (W, H) of the analysed frames

    def coverage(self) -> float:
        """Fraction of the clip's frames that show at least one tracked face."""
        seen = np.zeros(self.n_frames, bool)
        for track in self.tracks:
            seen[track.frames[track.frames < self.n_frames]] = True
        return float(seen.mean()) if self.n_frames else 0.0

    def track(self, track_id: int) -> FaceTrack:
        for t in self.tracks:
            if t.track_id == track_id:
                return t
        raise KeyError(f"{self.path}: no face track {track_id}")

    def gaps(self) -> list[tuple[int, FaceGap]]:
        """(track_id, gap) for every gap, in time order: findings for a report."""
        found = [(t.track_id, g) for t in self.tracks for g in t.gaps]
        return sorted(found, key=lambda item: item[1].start_frame)


@cache
def _models() -> tuple[dlib.fhog_object_detector, dlib.shape_predictor]:
    """The HOG detector and the 5-point predictor from the face-recognition-models wheel."""
    spec = importlib.util.find_spec("face_recognition_models")
    folders = list(spec.submodule_search_locations or []) if spec else []
    candidates = [Path(folder) / "models" / PREDICTOR_FILE for folder in folders]
    for path in candidates:
        if path.is_file():
            return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(path))
    raise FaceError(f"{PREDICTOR_FILE} not found: install the face-recognition-models package")


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _predict(grey: np.ndarray, box: np.ndarray) -> np.ndarray:
    """5 landmarks (5, 2) float32 inside `box`."""
    rect = dlib.rectangle(*(round(float(v)) for v in box))
    shape = _models()[1](grey, rect)
    return np.array([(p.x, p.y) for p in shape.parts()], np.float32)


def _moved_box(box: np.ndarray, before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """`box` carried along by the similarity that takes landmarks `before` to `after`."""
    try:
        m = fit_similarity(before, after)
    except ValueError:  # collapsed landmarks: keep the box, the appearance check decides
        return box
    centre = m[:, :2] @ ((box[:2] + box[2:]) / 2) + m[:, 2]
    half = (box[2:] - box[:2]) / 2 * np.hypot(m[0, 0], m[1, 0])
    return np.concatenate([centre - half, centre + half]).astype(np.float32)


def _patch(
    grey: np.ndarray, landmarks: np.ndarray, region: tuple[float, float, float]
) -> np.ndarray:
    """Aligned grey patch (P, P) float32, zero mean and unit norm (all zeros when flat)."""
    m = region_matrix(landmarks, region, PATCH_SIZE)
    size = (PATCH_SIZE, PATCH_SIZE)
    patch = cv2.warpAffine(grey, m, size, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    patch -= patch.mean()
    norm = float(np.linalg.norm(patch))
    return patch / norm if norm > 1e-3 else np.zeros_like(patch)


@dataclass(eq=False)
class _Live:
    """A track being built."""

    track_id: int
    box: np.ndarray  # (4,) current or last known box
    landmarks: np.ndarray  # (5, 2) last landmarks
    reference: np.ndarray  # face patch at the last detection
    lost_at: int | None = None  # frame the face went missing
    mouth: np.ndarray | None = None  # previous mouth patch, for motion
    frames: list[int] = field(default_factory=list)
    raw: list[np.ndarray] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    motion: list[float] = field(default_factory=list)
    gaps: list[tuple[int, int]] = field(default_factory=list)


class _Tracker:
    """Frame-by-frame state: detect, follow, link and record."""

    def __init__(self, cfg: TrackConfig, detect_every: int, fps: float, height: int) -> None:
        self.cfg, self.detect_every = cfg, detect_every
        self.scale = min(1.0, cfg.detect_height / height)
        self.max_gap = max(1, round(cfg.max_gap_s * fps))
        self.live: list[_Live] = []
        self.done: list[_Live] = []
        self.next_id = 0

    def step(self, index: int, grey: np.ndarray) -> None:
        for t in self.live:
            if t.lost_at is None:
                self._follow(t, index, grey)
        lost = any(t.lost_at is not None for t in self.live)
        if lost or index % self.detect_every == 0:
            self._link(index, grey, self._detect(grey))
        for t in self.live:
            if t.lost_at is None:
                self._record(t, index, grey)
        for t in list(self.live):
            if t.lost_at is not None and index - t.lost_at >= self.max_gap:
                self.live.remove(t)
                self.done.append(t)

    def finish(self) -> list[_Live]:
        return [t for t in self.done + self.live if t.frames]

    def _detect(self, grey: np.ndarray) -> list[np.ndarray]:
        small = grey
        if self.scale < 1:
            small = cv2.resize(
                grey, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA
            )
        rects = _models()[0](small, 0)
        boxes = [np.array([r.left(), r.top(), r.right(), r.bottom()], np.float32) for r in rects]
        return [b / self.scale for b in boxes]

    def _follow(self, t: _Live, index: int, grey: np.ndarray) -> None:
        """Move the track to this frame from its last landmarks; mark it lost if the face left."""
        moved = _moved_box(t.box, t.landmarks, _predict(grey, t.box))
        landmarks = _predict(grey, moved)
        collapsed = float(np.ptp(landmarks, axis=0).max()) < 2  # no face shape left to align
        similarity = (
            0.0 if collapsed else float((_patch(grey, landmarks, FACE_REGION) * t.reference).sum())
        )
        if similarity < self.cfg.min_similarity:
            t.lost_at, t.mouth = index, None
            return
        t.box = _moved_box(t.box, t.landmarks, landmarks)
        t.landmarks = landmarks

    def _link(self, index: int, grey: np.ndarray, boxes: list[np.ndarray]) -> None:
        """Match detections to tracks by IoU; the rest start tracks."""
        pairs = sorted(
            (
                (_box_iou(t.box, b), i, j)
                for i, t in enumerate(self.live)
                for j, b in enumerate(boxes)
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_b: set[int] = set()
        for iou, i, j in pairs:
            if iou < self.cfg.match_iou or i in used_t or j in used_b:
                continue
            used_t.add(i)
            used_b.add(j)
            t = self.live[i]
            if t.lost_at is not None and t.lost_at < index:
                t.gaps.append((t.lost_at, index))
            t.lost_at = None
            self._reset(t, grey, boxes[j])
        for j, box in enumerate(boxes):
            if j not in used_b:
                t = _Live(self.next_id, box, np.zeros((5, 2), np.float32), np.zeros(0))
                self.next_id += 1
                self._reset(t, grey, box)
                self.live.append(t)

    def _reset(self, t: _Live, grey: np.ndarray, box: np.ndarray) -> None:
        t.box = box
        t.landmarks = _predict(grey, box)
        t.reference = _patch(grey, t.landmarks, FACE_REGION)

    def _record(self, t: _Live, index: int, grey: np.ndarray) -> None:
        m = region_matrix(t.landmarks, MOUTH_REGION, MOTION_CROP)
        size = (MOTION_CROP, MOTION_CROP)
        mouth = cv2.warpAffine(grey, m, size, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        t.motion.append(float(np.abs(mouth - t.mouth).mean()) if t.mouth is not None else 0.0)
        t.mouth = mouth
        t.frames.append(index)
        t.raw.append(t.landmarks.copy())
        t.boxes.append(t.box.copy())


def smooth_landmarks(frames: np.ndarray, raw: np.ndarray, sigma: float) -> np.ndarray:
    """Zero-phase Gaussian smoothing of (F, 5, 2) landmarks over each unbroken run of frames."""
    out = raw.astype(np.float32).copy()
    if sigma <= 0 or len(frames) == 0:
        return out
    breaks = np.flatnonzero(np.diff(frames) > 1) + 1
    for run in np.split(np.arange(len(frames)), breaks):
        out[run] = gaussian_filter1d(raw[run].astype(np.float64), sigma, axis=0, mode="nearest")
    return out


def _build(t: _Live, new_id: int, fps: float, cfg: TrackConfig) -> FaceTrack:
    frames = np.array(t.frames, np.int64)
    raw = np.stack(t.raw).astype(np.float32)  # (F, 5, 2)
    gaps = tuple(FaceGap(a, b, a / fps, b / fps) for a, b in t.gaps)
    return FaceTrack(
        track_id=new_id,
        frames=frames,
        landmarks=smooth_landmarks(frames, raw, cfg.smooth_s * fps),
        raw=raw,
        boxes=np.stack(t.boxes).astype(np.float32),
        mouth_motion=np.array(t.motion, np.float32),
        gaps=gaps,
    )


def track_faces(
    video: Path,
    *,
    detect_every: int = 5,
    cfg: TrackConfig | None = None,
    progress: Progress | None = None,
) -> FaceTracks:
    """Find and follow every face in `video`, streaming its frames.

    HOG detection runs every `detect_every` frames (and every frame while a face is missing, so
    gaps end exactly); between detections the 5-point predictor follows each face. Raises
    FaceError when no face is found anywhere in the clip.
    """
    if detect_every < 1:
        raise ValueError(f"detect_every must be at least 1, got {detect_every}")
    cfg = cfg or TrackConfig()
    info = media.probe(video)
    if info.video is None:
        raise FaceError(f"{video}: no video stream, so no faces to track")
    fps = float(info.video.frame_rate)
    size = (info.video.display_width, info.video.display_height)
    tracker = _Tracker(cfg, detect_every, fps, size[1])
    total = info.video.n_frames
    index = 0
    for chunk in media.iter_frames(video):
        for frame in chunk:  # (H, W, 3)
            tracker.step(index, cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY))
            index += 1
        if progress is not None:
            progress("faces", index, max(total, index))
    min_len = max(1, round(cfg.min_track_s * fps))
    kept = [t for t in tracker.finish() if len(t.frames) >= min_len]
    if not kept:
        raise FaceError(f"{video}: no face found in any of its {index} frames")
    kept.sort(key=lambda t: t.frames[0])
    tracks = tuple(_build(t, i, fps, cfg) for i, t in enumerate(kept))
    return FaceTracks(Path(video), tracks, index, info.video.frame_rate, size)


def activity_signal(
    speech_activity: Sequence[tuple[float, float, str]], speaker: str, n_frames: int, fps: float
) -> np.ndarray:
    """(F,) float32: 1 on frames whose centre lies in one of `speaker`'s (start, end) spans."""
    times = (np.arange(n_frames) + 0.5) / fps
    out = np.zeros(n_frames, np.float32)
    for start, end, who in speech_activity:
        if who == speaker:
            out[(times >= start) & (times < end)] = 1.0
    return out


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float((a * b).sum()) / denom if denom > 0 else 0.0


def speaker_scores(
    tracks: FaceTracks, speech_activity: Sequence[tuple[float, float, str]]
) -> dict[tuple[int, str], float]:
    """Correlation of each track's mouth motion with each speaker's activity, on its frames."""
    fps = float(tracks.frame_rate)
    speakers = sorted({who for _, _, who in speech_activity})
    scores = {}
    for speaker in speakers:
        active = activity_signal(speech_activity, speaker, tracks.n_frames, fps)
        for t in tracks.tracks:
            motion = gaussian_filter1d(t.mouth_motion.astype(np.float64), 2.0)  # syllable scale
            scores[t.track_id, speaker] = _correlation(motion, active[t.frames])
    return scores


def assign_speakers(
    tracks: FaceTracks, speech_activity: Sequence[tuple[float, float, str]]
) -> dict[int, str]:
    """Track id -> speaker, one track per speaker, maximising mouth-motion/speech correlation.

    `speech_activity` holds (start_s, end_s, speaker). With one track and one speaker the pair is
    returned whatever the correlation; otherwise tracks left over stay unassigned.
    """
    speakers = sorted({who for _, _, who in speech_activity})
    ids = [t.track_id for t in tracks.tracks]
    if not speakers or not ids:
        return {}
    if len(ids) == 1 and len(speakers) == 1:
        return {ids[0]: speakers[0]}
    scores = speaker_scores(tracks, speech_activity)
    table = np.array([[scores[i, s] for s in speakers] for i in ids])  # (tracks, speakers)
    rows, cols = linear_sum_assignment(-table)
    return {ids[r]: speakers[c] for r, c in zip(rows, cols, strict=True)}
