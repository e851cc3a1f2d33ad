"""Tests of face tracking, mouth alignment, paste-back and speaker assignment on rendered clips."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from localize.face_align import (
    MOUTH_REGION,
    NOSE_BASE_Y,
    fit_similarity,
    mask_in_frame,
    mouth_crop,
    mouth_mask,
    paste_back,
)
from localize.faces import (
    FaceError,
    FaceTrack,
    FaceTracks,
    assign_speakers,
    track_faces,
)
from localize.media import FrameWriter
from samples.gen_face import FPS, ActorRenderer

SIZE = (640, 360)  # half of 720 p: the face stays well above HOG's minimum size
N_FRAMES = 50
BLANK = range(20, 30)  # frames whose face is painted over in the gap clip
PHONEMES = [("h", 0.2, 0.3), ("a", 0.3, 0.6), ("l", 0.6, 0.7), ("o", 0.7, 1.1), ("m", 1.3, 1.5)]


def _write(path: Path, frames: list[np.ndarray]) -> Path:
    height, width = frames[0].shape[:2]
    with FrameWriter(path, width, height, Fraction(FPS), crf=12, preset="ultrafast") as writer:
        for frame in frames:
            writer.write(frame)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The rendered actor (plain and with a 10-frame gap), its truth, and a faceless clip."""
    folder = tmp_path_factory.mktemp("faces")
    renderer = ActorRenderer(width=SIZE[0], height=SIZE[1])
    frames, truth = [], []
    for chunk, chunk_truth in renderer.render(PHONEMES, N_FRAMES, FPS):
        frames += list(chunk)
        truth += chunk_truth
    landmarks = np.array([t.landmarks5 for t in truth], np.float32)  # (F, 5, 2)
    blanked = []
    for i, frame in enumerate(frames):
        frame = frame.copy()
        if i in BLANK:  # paint a flat patch over everything from brows to chin
            x0, y0 = landmarks[i].min(0) - np.array([40, 40])
            x1, y1 = landmarks[i].max(0) + np.array([40, 100])
            frame[int(y0) : int(y1), int(x0) : int(x1)] = frame.mean(axis=(0, 1)).astype(np.uint8)
        blanked.append(frame)
    ys = np.linspace(60, 200, SIZE[1], dtype=np.uint8)[:, None, None]
    plain = np.broadcast_to(ys, (SIZE[1], SIZE[0], 3)).copy()
    return {
        "actor": _write(folder / "actor.mp4", frames),
        "gap": _write(folder / "gap.mp4", blanked),
        "plain": _write(folder / "plain.mp4", [plain] * 12),
        "pair": _write(folder / "pair.mp4", [np.hstack([f, f[:, ::-1]]) for f in frames[:15]]),
        "frames": frames,
        "truth": landmarks,
    }


@pytest.fixture(scope="module")
def actor_tracks(clips: dict[str, object]) -> FaceTracks:
    calls: list[tuple[str, int, int]] = []
    result = track_faces(
        clips["actor"],  # type: ignore[arg-type]
        progress=lambda step, done, total: calls.append((step, done, total)),
    )
    assert calls and calls[-1] == ("faces", N_FRAMES, N_FRAMES)
    return result


def test_face_found_in_nearly_every_frame(actor_tracks: FaceTracks) -> None:
    assert actor_tracks.n_frames == N_FRAMES
    assert actor_tracks.coverage() >= 0.98
    assert len(actor_tracks.tracks) == 1
    track = actor_tracks.tracks[0]
    assert track.landmarks.shape == (len(track.frames), 5, 2)
    assert track.gaps == ()


def test_smoothed_landmarks_follow_ground_truth(
    actor_tracks: FaceTracks, clips: dict[str, object]
) -> None:
    track = actor_tracks.tracks[0]
    truth = np.asarray(clips["truth"])[track.frames]  # (F, 5, 2)
    eyes = truth[:, :2].mean(1) - truth[:, 2:4].mean(1)  # (F, 2) between the eye centres
    eye_distance = float(np.linalg.norm(eyes, axis=1).mean())
    error = track.landmarks - truth  # (F, 5, 2)
    # dlib's corners sit a little apart from the renderer's: a constant offset per point ...
    assert np.abs(error.mean(0)).max() < 0.08 * eye_distance
    # ... around which the smoothed landmarks move with the head to within a pixel.
    residual = error - error.mean(0)
    assert np.sqrt((residual**2).mean()) < 1.0


def test_paste_back_of_unchanged_crop_touches_only_the_mask(
    actor_tracks: FaceTracks, clips: dict[str, object]
) -> None:
    track = actor_tracks.tracks[0]
    mask = mouth_mask(96)
    frames: list[np.ndarray] = clips["frames"]  # type: ignore[assignment]
    for row in (0, 17, 33, len(track.frames) - 1):
        frame = frames[int(track.frames[row])]
        crop, matrix = mouth_crop(frame, track.landmarks[row], 96)
        assert crop.shape == (96, 96, 3) and crop.dtype == np.uint8
        out = paste_back(frame, crop, matrix, mask)
        support = mask_in_frame(mask, matrix, frame.shape) > 0  # (H, W)
        assert support.sum() > 1000
        assert np.array_equal(out[~support], frame[~support])
        mse = ((out.astype(float) - frame)[support] ** 2).mean()
        assert 10 * np.log10(255**2 / mse) > 35


def test_mask_covers_mouth_and_jaw_but_not_nose() -> None:
    size = 96
    mask = mouth_mask(size)
    left, top, side = MOUTH_REGION
    px = size / side
    nose_row = int((NOSE_BASE_Y - top) * px)
    mouth_row = int((1.15 - top) * px)  # a typical mouth height below the eyes
    centre = int(-left * px)
    assert mask.shape == (size, size) and mask.dtype == np.float32
    assert mask[: nose_row + 1].max() == 0.0
    assert mask[mouth_row, centre] == 1.0
    assert mask[int((1.95 - top) * px), centre] == 1.0  # the chin
    assert mask[mouth_row, int(0.2 * size)] > 0.5  # a cheek
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    assert border.max() == 0.0


def test_fit_similarity_recovers_a_known_transform() -> None:
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    m = fit_similarity(src, src @ rot.T + shift)
    assert np.allclose(m[:, :2], rot) and np.allclose(m[:, 2], shift)


def test_clip_without_a_face_raises_face_error(clips: dict[str, object]) -> None:
    with pytest.raises(FaceError, match=r"plain\.mp4: no face found"):
        track_faces(clips["plain"])  # type: ignore[arg-type]


def test_face_missing_for_a_stretch_is_a_gap(clips: dict[str, object]) -> None:
    result = track_faces(clips["gap"])  # type: ignore[arg-type]
    assert len(result.tracks) == 1
    (gap,) = result.tracks[0].gaps
    assert (gap.start_frame, gap.end_frame) == (BLANK.start, BLANK.stop)
    assert gap.start == pytest.approx(BLANK.start / FPS)
    assert gap.n_frames == 10
    assert not np.isin(result.tracks[0].frames, list(BLANK)).any()
    assert result.gaps() == [(0, gap)]


def test_two_faces_make_two_tracks(clips: dict[str, object]) -> None:
    result = track_faces(clips["pair"], detect_every=4)  # type: ignore[arg-type]
    assert len(result.tracks) == 2 and result.coverage() == 1.0
    left, right = sorted(result.tracks, key=lambda t: float(t.boxes[:, 0].mean()))
    assert left.boxes[:, 2].max() < SIZE[0] < right.boxes[:, 0].min()
    assert all(len(t.frames) == 15 and t.gaps == () for t in result.tracks)


def _fake_track(track_id: int, motion: np.ndarray) -> FaceTrack:
    n = len(motion)
    zeros = np.zeros((n, 5, 2), np.float32)
    return FaceTrack(track_id, np.arange(n), zeros, zeros, np.zeros((n, 4), np.float32), motion, ())


def test_assign_speakers_follows_mouth_motion() -> None:
    n = 250  # 10 s at 25 fps
    times = np.arange(n) / FPS
    anna = [(0.0, 2.0, "anna"), (4.0, 6.0, "anna")]
    ben = [(2.0, 4.0, "ben"), (7.0, 9.5, "ben")]
    rng = np.random.default_rng(1)

    def talks(spans: list[tuple[float, float, str]]) -> np.ndarray:
        on = np.zeros(n, np.float32)
        for start, end, _ in spans:
            on[(times >= start) & (times < end)] = 1
        return (on * rng.uniform(2, 6, n) + rng.uniform(0, 0.5, n)).astype(np.float32)

    tracks = FaceTracks(
        Path("two.mp4"),
        (_fake_track(0, talks(ben)), _fake_track(1, talks(anna))),
        n,
        Fraction(FPS),
        SIZE,
    )
    assert assign_speakers(tracks, anna + ben) == {0: "ben", 1: "anna"}


def test_assign_speakers_single_face_single_speaker(actor_tracks: FaceTracks) -> None:
    assert assign_speakers(actor_tracks, [(0.2, 1.5, "actor")]) == {0: "actor"}
    assert assign_speakers(actor_tracks, []) == {}
