"""CLI: exit codes, help with examples, and one clear error line per bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from localize import media
from localize.cli import build_parser, main
from tests.conftest import LINES, RATE, ambience


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_schema_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "schema")
    assert code == 0
    assert "script" in json.loads(out)["properties"]


def test_every_command_has_an_example_in_its_help() -> None:
    parser = build_parser()
    assert "localize run samples/job.yaml" in parser.format_help()
    subparsers = next(a for a in parser._actions if a.choices and "run" in a.choices)
    for name in ("validate", "run"):
        assert "example" in subparsers.choices[name].format_help()


def test_validate_prints_a_summary(
    make_job: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "validate", str(make_job()))
    assert code == 0, err
    assert out.rstrip().endswith("OK")
    assert "3.000 s, 160x120, 25 fps, h264" in out
    assert "de-DE" in out and "fr-FR" in out and "consent CR-1" in out


def _stem(path: Path, seconds: float) -> str:
    media.write_audio(path, ambience(seconds), RATE)
    return str(path)


BAD_INPUTS: dict[str, tuple[Callable[[Path, Path], dict], str]] = {
    "missing file": (
        lambda tmp, clip: {"source": {"video": str(tmp / "gone.mp4")}},
        "source.video: {tmp}/gone.mp4: no such file",
    ),
    "unreadable video": (
        lambda tmp, clip: {"source": {"video": str(_text(tmp / "notes.mp4"))}},
        "source.video: cannot probe {tmp}/notes.mp4",
    ),
    "stem duration": (
        lambda tmp, clip: {
            "source": {
                "video": str(clip / "clip.mp4"),
                "stems": {"dialogue": str(clip / "dialogue.wav"), "me": _stem(tmp / "me.wav", 2.5)},
            }
        },
        "source.stems.me: duration 2.500 s differs from the video's 3.000 s by more than one frame",
    ),
    "line outside clip": (
        lambda tmp, clip: {"script": [LINES[0], {**LINES[1], "end": 9.5}]},
        "script.1.end: 9.500 s lies outside the clip (0 to 3.000 s) (line L2)",
    ),
    "unknown speaker": (
        lambda tmp, clip: {"script": [LINES[0], {**LINES[1], "speaker": "Max"}]},
        "script.1.speaker: unknown speaker 'Max' (known: Ava)",
    ),
    "unsupported language": (
        lambda tmp, clip: {"markets": [{"lang": "xx-XX"}], "translations": {"files": {}}},
        "markets.0.lang: ",
    ),
}


def _text(path: Path) -> Path:
    path.write_text("this is not a video\n")
    return path


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_clear_line(
    case: str,
    command: str,
    make_job: Callable[..., Path],
    clip_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    overrides, expected = BAD_INPUTS[case]
    job = make_job(**overrides(tmp_path, clip_dir))
    code, _, err = run_cli(capsys, command, str(job))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {job}: ")
    assert expected.format(tmp=tmp_path) in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_run_refuses_to_overwrite_without_force(
    make_job: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out" / "de-DE").mkdir(parents=True)
    code, _, err = run_cli(capsys, "run", str(make_job()), "--lang", "de-DE")
    assert code == 2
    assert "out/de-DE exists; use --force to overwrite" in err
    assert list((tmp_path / "out" / "de-DE").iterdir()) == []


def test_unknown_market_on_the_command_line(
    make_job: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "run", str(make_job()), "--lang", "it-IT")
    assert code == 2
    assert "markets: no market 'it-IT'" in err


def test_silent_translation_gap_is_an_error(
    make_job: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = make_job()
    (tmp_path / "de-DE.yaml").write_text("language: de-DE\nlines:\n  L1: Hallo.\n  L9: Extra.\n")
    code, _, err = run_cli(capsys, "validate", str(job))
    assert code == 2
    assert f"{tmp_path / 'de-DE.yaml'}: lines.L2: missing translation" in err
    assert f"{tmp_path / 'de-DE.yaml'}: lines.L9: unknown line id" in err


def test_validate_refuses_a_line_the_voice_cannot_say(
    make_job: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "fr-emoji.yaml"
    bad.write_text('language: fr-FR\nlines: {L1: "Bonjour ☕", L2: "Brightwell est là."}\n')
    job = make_job()
    text = job.read_text().replace("fr-FR.yaml", "fr-emoji.yaml")
    job.write_text(text)
    code, _, err = run_cli(capsys, "validate", str(job))
    assert code == 2
    assert f"{bad}: lines.L1: the fr-FR voice cannot say '☕' (U+2615 HOT BEVERAGE)" in err


def test_validate_checks_external_voice_recordings_and_copy(
    make_job: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "de-short.wav"
    media.write_audio(short, ambience(1.0)[:, 0], RATE)
    job = make_job(
        mode="external-voice",
        external_voice={"de-DE": str(short), "fr-FR": str(tmp_path / "missing.wav")},
        output={"folder": "out", "video_codec": "copy"},
    )
    code, _, err = run_cli(capsys, "validate", str(job))
    assert code == 2
    assert "external_voice.de-DE: duration 1.000 s differs from the video's 3.000 s" in err
    assert f"external_voice.fr-FR: {tmp_path / 'missing.wav'}: no such file" in err
    assert "output.video_codec: mode external-voice repaints the picture" in err
