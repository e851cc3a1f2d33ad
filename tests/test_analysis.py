"""Source analysis end to end on a generated talking clip: results, report, and the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from localize.analysis import analyze
from localize.analysis_report import write_report
from localize.cache import ArtefactStore
from localize.ingest import check_job
from localize.spec import load_job
from tests.conftest import write_talking_job

pytestmark = pytest.mark.slow
SECONDS = 5.0
LINES = [("L1", "Good morning, everyone.", 0.4), ("L2", "Coffee is ready now.", 2.6)]


@pytest.fixture(scope="module")
def talking_job(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 5 s 640x360 clip of the sample actor saying two lines, with stems and a job file."""
    return write_talking_job(tmp_path_factory.mktemp("talking"), LINES, SECONDS)


def test_analysis_finds_lines_speaker_and_face_then_comes_from_the_cache(
    talking_job: Path, tmp_path: Path
) -> None:
    checked = check_job(load_job(talking_job), [])
    store = ArtefactStore(tmp_path / "cache")
    first = analyze(checked, store)
    assert first.cached == {"align": False, "speakers": False, "faces": False}
    analysis = first.analysis
    for line, (_, _, start) in zip(analysis.alignment.lines, LINES, strict=True):
        assert abs(line.start - start) < 0.1
        assert line.words and line.phonemes
    assert [v.speaker for v in analysis.speakers.voices] == ["Ava"]
    assert analysis.faces is not None and analysis.faces.coverage() >= 0.98
    assert analysis.track_speakers == {analysis.faces.tracks[0].track_id: "Ava"}
    second = analyze(checked, store)
    assert second.cached == {"align": True, "speakers": True, "faces": True}
    assert second.analysis.alignment == analysis.alignment
    written = write_report(second, checked.source.video.path, tmp_path / "report", "clip")
    assert [p.name for p in written] == ["summary.txt", "turns.rttm", "contact_sheet.png"]
    assert "L2" in (tmp_path / "report" / "summary.txt").read_text()
    assert (tmp_path / "report" / "turns.rttm").read_text().startswith("SPEAKER clip 1 ")
