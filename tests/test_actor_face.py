"""The sample's actor renderer: visemes, mouth track, and what the rendered frames show."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from samples.actor_face import ActorRenderer, mouth_track, viseme_for

PHONEMES = [("_", 0.0, 0.2), ("a", 0.2, 0.44), ("m", 0.44, 0.64), ("_", 0.64, 1.2)]


def test_visemes_follow_articulation() -> None:
    for ipa in ("p", "b", "m"):
        assert viseme_for(ipa).closure == 1.0 and viseme_for(ipa).open == 0.0
    assert viseme_for("aː").open > viseme_for("ɛ").open > viseme_for("ɪ").open
    assert viseme_for("uː").width < 0 and viseme_for("oʊ").width < 0 < viseme_for("i").width
    assert viseme_for("_") == viseme_for("")


def test_mouth_track_is_closed_in_pauses_and_opens_on_vowels() -> None:
    track = mouth_track(PHONEMES, 30)
    assert track.shape == (30, 3)
    assert track[1, 0] < 0.05 and track[1, 2] > 0.9  # pause: jaw shut, lips together
    peak = int(np.argmax(track[:, 0]))
    assert abs(peak - 0.32 * 25) <= 2  # the vowel's centre is at frame 8
    assert np.max(np.abs(np.diff(track[:, 0]))) < 0.5  # co-articulated, not switched


@pytest.fixture(scope="module")
def rendered() -> tuple[np.ndarray, list]:
    frames, truth = [], []
    for chunk, chunk_truth in ActorRenderer(seed=7).render(PHONEMES, 30, chunk=16):
        frames.append(chunk)
        truth += chunk_truth
    return np.concatenate(frames), truth


def test_render_is_deterministic(rendered: tuple[np.ndarray, list]) -> None:
    frames, _ = rendered
    again = next(ActorRenderer(seed=7).render(PHONEMES, 30, chunk=30))[0]
    assert frames.shape == (30, 720, 1280, 3) and frames.dtype == np.uint8
    assert hashlib.sha256(frames).hexdigest() == hashlib.sha256(again).hexdigest()


def test_the_mouth_moves_and_the_forehead_does_not(rendered: tuple[np.ndarray, list]) -> None:
    frames, truth = rendered
    vowel, closed = 8, 13  # the open "a" and the closed "m"
    assert truth[vowel].mouth_open_px > 20 > 5 > truth[closed].mouth_open_px

    def box(index: int, centre: tuple[float, float]) -> np.ndarray:
        x, y = (round(v) for v in centre)
        return frames[index, y - 25 : y + 25, x - 50 : x + 50].astype(np.float32)

    mouth = truth[vowel].mouth_center
    forehead = (mouth[0], mouth[1] - 230)
    mouth_change = np.mean(np.abs(box(vowel, mouth) - box(closed, mouth)))
    forehead_change = np.mean(np.abs(box(vowel, forehead) - box(closed, forehead)))
    assert mouth_change > 5 * forehead_change + 5


def test_blinks_close_the_eyes() -> None:
    renderer = ActorRenderer(seed=7)
    blinks = renderer._blinks(250, 25)
    assert 1 <= np.count_nonzero(np.diff((blinks > 0).astype(int)) == 1) <= 5
    open_eyes = renderer._deform(np.array([0.0, 0.0, 1.0]), 0.0)
    closed_eyes = renderer._deform(np.array([0.0, 0.0, 1.0]), 1.0)
    rows, cols, _, _ = renderer.eyes
    assert np.mean(np.abs(open_eyes[rows, cols] - closed_eyes[rows, cols])) > 5
    # Nothing outside the eye and mouth regions changes.
    outside = np.ones(open_eyes.shape[:2], bool)
    outside[rows, cols] = False
    assert np.array_equal(open_eyes[outside], closed_eyes[outside])
