"""An OpenTimelineIO timeline of a delivered language: picture, dialogue lines and M&E."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from localize.errors import LocalizeError

LineTiming = tuple[str, float, float, str]  # (line id, start s, end s, text)
METADATA_KEY = "localize"  # namespace of our clip metadata, as OTIO adapters expect


class TimelineError(LocalizeError):
    """A timeline cannot be built from the given lines or written."""


def _frames(seconds: float, rate: float) -> int:
    return round(seconds * rate)


def _span(start: int, n_frames: int, rate: float) -> otio.opentime.TimeRange:
    return otio.opentime.TimeRange(
        otio.opentime.RationalTime(start, rate), otio.opentime.RationalTime(n_frames, rate)
    )


def _whole_clip(name: str, path: Path, n_frames: int, rate: float) -> otio.schema.Clip:
    """A clip over the whole programme; the reference is the bare file name, so the delivery
    folder can be moved or renamed (it is staged and renamed into place after writing)."""
    reference = otio.schema.ExternalReference(
        target_url=path.name, available_range=_span(0, n_frames, rate)
    )
    return otio.schema.Clip(
        name=name, media_reference=reference, source_range=_span(0, n_frames, rate)
    )


def _dialogue_track(
    lines: Sequence[LineTiming], dialogue: Path, n_frames: int, rate: float
) -> otio.schema.Track:
    """One clip per line at its rendered time, gaps between; the track lasts the programme."""
    track = otio.schema.Track(name="Dialogue", kind=otio.schema.TrackKind.Audio)
    available = _span(0, n_frames, rate)
    position = 0  # frames laid down so far
    for line_id, start, end, text in sorted(lines, key=lambda line: line[1]):
        # Frame rounding may make neighbours touch; a line never starts before the last one ends.
        first = max(_frames(start, rate), position)
        last = min(max(_frames(end, rate), first + 1), n_frames)
        if first >= last:
            raise TimelineError(
                f"line {line_id}: {start:.3f}-{end:.3f} s falls outside the programme "
                f"({n_frames / rate:.3f} s) or behind the previous line"
            )
        if first > position:
            track.append(otio.schema.Gap(source_range=_span(0, first - position, rate)))
        reference = otio.schema.ExternalReference(
            target_url=dialogue.name, available_range=available
        )
        clip = otio.schema.Clip(
            name=line_id, media_reference=reference, source_range=_span(first, last - first, rate)
        )
        clip.metadata[METADATA_KEY] = {"line": line_id, "text": text, "start": start, "end": end}
        track.append(clip)
        position = last
    if position < n_frames:
        track.append(otio.schema.Gap(source_range=_span(0, n_frames - position, rate)))
    return track


def write_timeline(
    path: Path,
    *,
    name: str,
    frame_rate: Fraction | float,
    duration: float,
    picture: Path,
    dialogue: Path,
    me: Path,
    lines: Sequence[LineTiming],
) -> Path:
    """Write an .otio timeline: "Picture" (video), "Dialogue" (a clip per line) and "M&E".

    Times are on the picture's frame grid; every track lasts `duration` seconds.
    """
    rate = float(frame_rate)
    if rate <= 0 or duration <= 0:
        raise TimelineError(f"{path}: frame rate {rate} and duration {duration} s must be > 0")
    n_frames = _frames(duration, rate)
    picture_track = otio.schema.Track(name="Picture", kind=otio.schema.TrackKind.Video)
    picture_track.append(_whole_clip(picture.stem, picture, n_frames, rate))
    me_track = otio.schema.Track(name="M&E", kind=otio.schema.TrackKind.Audio)
    me_track.append(_whole_clip(me.stem, me, n_frames, rate))
    timeline = otio.schema.Timeline(name=name)
    timeline.tracks.append(picture_track)
    timeline.tracks.append(_dialogue_track(lines, dialogue, n_frames, rate))
    timeline.tracks.append(me_track)
    timeline.metadata[METADATA_KEY] = {"frame_rate": str(frame_rate), "duration": duration}
    try:
        otio.adapters.write_to_file(timeline, str(path))
    except (OSError, otio.exceptions.OTIOError) as exc:
        raise TimelineError(f"{path}: cannot write the timeline: {exc}") from exc
    return path
