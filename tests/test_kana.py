"""Japanese kanji get a kana reading before espeak-ng, which would otherwise spell them out."""

from __future__ import annotations

import re
import sys

import pytest

from localize import kana
from localize.errors import PhonemeError
from localize.kana import reading_words, to_kana
from localize.phonemes import normalize_ipa, phonemize, synthesize

KANJI = re.compile(r"[\u3005\u4e00-\u9fff]")
SENTENCE = "東京へ行きました。"
KANA = "トーキョーへイキました。"


def test_to_kana_leaves_no_kanji_and_keeps_the_rest() -> None:
    spoken = to_kana("客観的実在の判断的知識が成立する、ABC 3 です。")
    assert not KANJI.search(spoken)
    assert spoken.endswith("する、ABC 3 です。")
    assert to_kana(SENTENCE) == KANA
    assert to_kana("かなだけ ") == "かなだけ "


def test_reading_words_pairs_each_surface_with_its_reading() -> None:
    words = reading_words(SENTENCE)
    assert "".join(surface for surface, _ in words) == SENTENCE
    assert words[0] == ("東京", "トーキョー")
    assert not any(KANJI.search(reading) for _, reading in words)


def test_kanji_are_read_not_spelled_out() -> None:
    speech = synthesize(SENTENCE, "ja-JP")
    ipa = normalize_ipa(speech.phonemes.ipa(""))
    assert ipa == normalize_ipa(synthesize(KANA, "ja-JP").phonemes.ipa(""))
    assert "tʃaɪniːz" not in ipa
    assert 0.8 < speech.duration < 3.0  # ~10 morae, not "Chinese letter" x 4
    assert phonemize(SENTENCE, "ja")[0].ipa == phonemize(KANA, "ja")[0].ipa


def test_missing_tagger_is_a_phoneme_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fugashi", None)  # import fugashi -> ImportError
    kana._tagger.cache_clear()
    try:
        with pytest.raises(PhonemeError, match="fugashi and unidic-lite"):
            to_kana("東京")
        assert to_kana("かな") == "かな"  # kana alone needs no tagger
    finally:
        kana._tagger.cache_clear()
