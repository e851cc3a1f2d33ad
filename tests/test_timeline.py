"""Timeline: the .otio file of a delivered language, read back with OpenTimelineIO."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest

from localize.errors import LocalizeError
from localize.timeline import METADATA_KEY, write_timeline

LINES = [
    ("L1", 0.52, 2.31, "Guten Tag."),
    ("L2", 2.31, 4.0, "Das ist neu."),  # touches L1
    ("L3", 6.25, 8.9, "Jetzt kaufen!"),
]


def _write(folder: Path, rate: Fraction | float, duration: float = 10.0) -> otio.schema.Timeline:
    path = write_timeline(
        folder / "de-DE.otio",
        name="job de-DE",
        frame_rate=rate,
        duration=duration,
        picture=folder / "master.mp4",
        dialogue=folder / "dialogue.wav",
        me=folder / "me.wav",
        lines=LINES,
    )
    timeline = otio.adapters.read_from_file(str(path))
    assert isinstance(timeline, otio.schema.Timeline)
    return timeline


@pytest.mark.parametrize("rate", [Fraction(25), Fraction(30000, 1001), 24.0])
def test_tracks_clips_and_gaps(tmp_path: Path, rate: Fraction | float) -> None:
    timeline = _write(tmp_path, rate)
    fps = float(rate)
    frame = 1 / fps
    picture, dialogue, me = timeline.tracks
    assert (picture.name, picture.kind) == ("Picture", otio.schema.TrackKind.Video)
    assert (dialogue.name, dialogue.kind) == ("Dialogue", otio.schema.TrackKind.Audio)
    assert (me.name, me.kind) == ("M&E", otio.schema.TrackKind.Audio)
    total = timeline.duration().to_seconds()
    assert total == pytest.approx(10.0, abs=frame)
    for track in (picture, dialogue, me):
        assert track.duration().to_seconds() == pytest.approx(total, abs=1e-9)
    [video_clip] = picture.find_clips()
    assert video_clip.media_reference.target_url == "master.mp4"
    [me_clip] = me.find_clips()
    assert me_clip.media_reference.target_url == "me.wav"
    assert me_clip.source_range.duration.to_seconds() == pytest.approx(total)

    clips = dialogue.find_clips()
    assert [c.name for c in clips] == ["L1", "L2", "L3"]
    for clip, (line_id, start, end, text) in zip(clips, LINES, strict=True):
        placed = clip.range_in_parent()
        assert placed.start_time.to_seconds() == pytest.approx(start, abs=frame)
        assert placed.end_time_exclusive().to_seconds() == pytest.approx(end, abs=frame)
        # The clip plays the same span of the full-length dialogue stem.
        assert clip.source_range.start_time.to_seconds() == pytest.approx(start, abs=frame)
        assert clip.media_reference.target_url == "dialogue.wav"
        assert clip.metadata[METADATA_KEY]["text"] == text
        assert clip.metadata[METADATA_KEY]["line"] == line_id
    kinds = [type(item).__name__ for item in dialogue]
    assert kinds == ["Gap", "Clip", "Clip", "Gap", "Clip", "Gap"]
    gap = dialogue[3]
    assert gap.range_in_parent().start_time.to_seconds() == pytest.approx(4.0, abs=frame)
    assert gap.duration().to_seconds() == pytest.approx(6.25 - 4.0, abs=frame)


def test_references_survive_moving_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / ".staging"
    folder.mkdir()
    _write(folder, Fraction(25))
    moved = folder.rename(tmp_path / "de-DE")
    timeline = otio.adapters.read_from_file(str(moved / "de-DE.otio"))
    urls = {clip.media_reference.target_url for clip in timeline.find_clips()}
    assert urls == {"master.mp4", "dialogue.wav", "me.wav"}


def test_a_line_past_the_end_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LocalizeError, match="line L3"):
        _write(tmp_path, Fraction(25), duration=5.0)
