"""Tests of the sample actor renderer: visemes, the co-articulated mouth track, rendered frames."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

import numpy as np
import pytest

from samples.gen_face import (
    FPS,
    ActorRenderer,
    FaceFrame,
    blink_track,
    mouth_track,
    viseme_for,
)

SMALL = (320, 180)  # a quarter of 720 p keeps rendering fast; the geometry scales with it


def _line(*spec: tuple[str, float]) -> list[tuple[str, float, float]]:
    """Phonemes back to back from t = 0, each given as (ipa, duration)."""
    out, t = [], 0.0
    for ipa, duration in spec:
        out.append((ipa, t, t + duration))
        t += duration
    return out


def test_bilabials_close_the_lips() -> None:
    for ipa in ("p", "b", "m", "mː", "pʰ"):
        assert viseme_for(ipa).open == 0.0


def test_open_vowels_open_wider_than_close_vowels() -> None:
    for open_ in ("a", "ɑː", "æ", "ˈa"):
        for close in ("i", "iː", "u", "ɪ"):
            assert viseme_for(open_).open > viseme_for(close).open + 0.4


def test_rounded_vowels_are_narrow() -> None:
    for ipa in ("o", "oː", "u", "uː", "w", "ʊ", "ɔ"):
        assert viseme_for(ipa).width < -0.3
    assert viseme_for("i").width > 0.3


def test_pauses_and_unknown_symbols_rest_closed() -> None:
    for ipa in ("_", "", "|", "ˈ"):
        assert viseme_for(ipa).open == 0.0


def test_labiodentals_tuck_the_lip_under_the_teeth() -> None:
    f = viseme_for("f")
    assert 0.0 < f.open < 0.25 and f.teeth == 1.0
    assert viseme_for("s").teeth > 0.5 and viseme_for("s").open < 0.3


def test_track_rests_closed_in_pauses() -> None:
    phonemes = _line(("_", 0.6), ("t", 0.08), ("a", 0.2), ("t", 0.08), ("_", 0.84))
    track = mouth_track(phonemes, 45)
    assert track.shape == (45, 3) and track.dtype == np.float32
    assert np.all(track[:10, 0] < 0.05)  # the first 0.4 s: well before speech
    assert np.all(track[-10:, 0] < 0.05)  # the last 0.4 s: well after it


def test_track_peaks_at_the_vowel_centre() -> None:
    phonemes = _line(("_", 0.5), ("k", 0.08), ("a", 0.24), ("t", 0.08), ("_", 0.6))
    track = mouth_track(phonemes, 38)
    centre_frame = (0.5 + 0.08 + 0.12) * FPS
    assert abs(int(np.argmax(track[:, 0])) - centre_frame) <= 2
    assert track[:, 0].max() > 0.7


def test_track_moves_like_lips_not_a_switch() -> None:
    phonemes = _line(
        ("_", 0.3),
        ("h", 0.06),
        ("ə", 0.07),
        ("l", 0.06),
        ("oʊ", 0.2),
        ("m", 0.08),
        ("aɪ", 0.18),
        ("b", 0.07),
        ("ɑː", 0.2),
        ("f", 0.1),
        ("uː", 0.25),
        ("s", 0.12),
        ("iː", 0.2),
        ("_", 0.5),
    )
    track = mouth_track(phonemes, 60)
    steps = np.abs(np.diff(track, axis=0))
    assert steps[:, 0].max() < 0.5  # opening changes by less than half its range per frame
    assert steps.max() < 0.6
    assert track[:, 0].max() > 0.6 and track[:, 1].min() < -0.6  # yet poses are reached


def test_track_seals_the_lips_for_a_short_bilabial() -> None:
    phonemes = _line(("_", 0.3), ("a", 0.2), ("m", 0.08), ("a", 0.2), ("_", 0.3))
    track = mouth_track(phonemes, 28, fps=FPS)
    times = np.arange(28) / FPS
    in_m = (times > 0.5) & (times < 0.58)
    assert in_m.any() and track[in_m, 0].min() < 0.05


def _render(
    phonemes: list[tuple[str, float, float]], n_frames: int, seed: int = 7
) -> tuple[np.ndarray, list[FaceFrame]]:
    renderer = ActorRenderer(seed=seed, width=SMALL[0], height=SMALL[1])
    chunks = list(renderer.render(phonemes, n_frames, chunk=4))
    frames = np.concatenate([frames for frames, _ in chunks])
    return frames, [truth for _, chunk_truth in chunks for truth in chunk_truth]


def _box_diff(a: np.ndarray, b: np.ndarray, centre: tuple[float, float], half: int) -> float:
    x, y = round(centre[0]), round(centre[1])
    crop = (slice(y - half, y + half), slice(x - half, x + half))
    return float(np.abs(a[crop].astype(np.float32) - b[crop].astype(np.float32)).mean())


def test_render_yields_chunks_with_ground_truth() -> None:
    frames, truth = _render(_line(("a", 0.3)), 10)
    assert frames.shape == (10, SMALL[1], SMALL[0], 3) and frames.dtype == np.uint8
    assert [t.index for t in truth] == list(range(10))
    json.dumps([asdict(t) for t in truth])  # plain floats and tuples: JSON-ready
    face = truth[0]
    (x0, y0), (x1, _), (x2, _), (x3, _), (xn, yn) = face.landmarks5
    assert x0 > x1 > x3 > x2  # dlib order: image-right eye (outer, inner), then image-left
    assert yn > y0 and x2 < xn < x0
    assert face.mouth_center[1] > yn


def test_render_is_deterministic() -> None:
    phonemes = _line(("m", 0.1), ("a", 0.2))
    first, truth_a = _render(phonemes, 6)
    second, truth_b = _render(phonemes, 6)
    assert hashlib.sha256(first.tobytes()).digest() == hashlib.sha256(second.tobytes()).digest()
    assert truth_a == truth_b
    other, _ = _render(phonemes, 6, seed=8)
    assert not np.array_equal(first, other)  # another seed moves the head differently


def test_mouth_changes_between_open_vowel_and_bilabial() -> None:
    # Frames 0-9 say "a", frames 10-19 hold "m"; compare the middle of each.
    phonemes = [("a", -0.2, 0.4), ("m", 0.4, 0.8)]
    frames, truth = _render(phonemes, 18)
    open_, shut = 4, 15
    assert truth[open_].mouth_open > 0.8 and truth[shut].mouth_open < 0.05
    assert truth[open_].mouth_open_px > 5 and truth[shut].mouth_open_px == 0.0
    eye_y = truth[open_].landmarks5[1][1]
    nose_x, nose_y = truth[open_].landmarks5[4]
    forehead = (nose_x, eye_y - 0.55 * (nose_y - eye_y))  # between the brows
    half = max(3, round(0.25 * (nose_y - eye_y)))
    mouth_diff = _box_diff(frames[open_], frames[shut], truth[open_].mouth_center, half)
    forehead_diff = _box_diff(frames[open_], frames[shut], forehead, half)
    assert mouth_diff > 5 * max(forehead_diff, 1.0)


def test_mouth_open_px_follows_the_vowel() -> None:
    phonemes = [("a", -0.2, 0.4), ("i", 0.4, 0.8), ("u", 0.8, 1.2)]
    _, truth = _render(phonemes, 28)
    a, i, u = truth[4], truth[15], truth[25]
    assert a.mouth_open_px > i.mouth_open_px > 0
    assert a.mouth_open_px > u.mouth_open_px
    assert u.mouth_width < 0 < i.mouth_width


def test_blink_closes_the_eyes() -> None:
    blinks = blink_track(7, 200)
    shut = int(np.argmax(blinks))
    assert blinks[shut] == pytest.approx(1.0)
    opened = max(i for i in range(shut) if blinks[i] == 0.0)
    frames, truth = _render([("_", 0.0, 10.0)], shut + 1)
    assert truth[shut].blink == pytest.approx(1.0) and truth[opened].blink == 0.0
    points = truth[shut].landmarks5
    half = max(3, round(abs(points[0][0] - points[1][0]) / 2))
    between = ((points[1][0] + points[3][0]) / 2, (points[1][1] + points[3][1]) / 2 - half)
    reference = _box_diff(frames[shut], frames[opened], between, half)  # skin between the eyes
    for outer, inner in (points[0:2], points[2:4]):
        eye = ((outer[0] + inner[0]) / 2, (outer[1] + inner[1]) / 2)
        assert _box_diff(frames[shut], frames[opened], eye, half) > 4 * max(reference, 1.0)
