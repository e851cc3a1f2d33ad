"""Kanji to kana (MeCab via fugashi + unidic-lite) so espeak-ng's ja voice can read Japanese."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from localize.errors import PhonemeError

# CJK ideographs (with extensions and compatibility forms) and the repeat mark 々.
_KANJI = re.compile(r"[\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


@lru_cache(maxsize=1)
def _tagger() -> Any:
    try:
        import fugashi  # type: ignore[import-not-found,import-untyped,unused-ignore]

        return fugashi.Tagger()
    except (ImportError, RuntimeError) as exc:
        raise PhonemeError(
            "Japanese needs a kanji reading: install fugashi and unidic-lite "
            f"(pip install fugashi unidic-lite): {exc}"
        ) from exc


def _reading(token: Any) -> str:
    """A token's spoken katakana if it has kanji (pronunciation, as long vowels: トーキョー);
    other tokens (kana, punctuation, Latin, digits) as written."""
    surface: str = token.surface
    if not _KANJI.search(surface):
        return surface
    for field in ("pron", "kana"):
        value = getattr(token.feature, field, None)
        if value and value != "*":
            return str(value)
    return surface


def reading_words(text: str) -> tuple[tuple[str, str], ...]:
    """(surface, reading) per MeCab token of ``text``; whitespace is not kept."""
    return tuple((token.surface, _reading(token)) for token in _tagger()(text))


def to_kana(text: str) -> str:
    """``text`` with its kanji words in katakana; kana, punctuation, Latin and spaces kept."""
    if not _KANJI.search(text):
        return text
    spoken = "".join(token.white_space + _reading(token) for token in _tagger()(text))
    return spoken + text[len(text.rstrip()) :]  # MeCab drops trailing whitespace
