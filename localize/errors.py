"""Errors for people: each names the file, the field and what was expected."""

from __future__ import annotations


class LocalizeError(Exception):
    """Base of every error the toolkit raises on purpose; the CLI turns it into exit status 2."""


class SpecError(LocalizeError):
    """A job file (or a file it references) is missing, unreadable or invalid.

    ``problems`` holds one ``file: field.path: message`` line per problem.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class MediaError(LocalizeError):
    """ffmpeg/ffprobe failed or a media file is not what it should be; carries ffmpeg's stderr."""

    def __init__(self, message: str, stderr: str = "") -> None:
        self.stderr = stderr
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else ""
        super().__init__(f"{message}: {detail}" if detail else message)


class PhonemeError(LocalizeError):
    """Text could not be phonemized or synthesized (unsupported language, bad lexicon entry)."""


class RenderError(LocalizeError):
    """A language could not be rendered; names the language, line and stage."""
