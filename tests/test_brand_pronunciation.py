"""The sample campaign says Brightwell as its lexicon says, in every market's brand lines."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from localize.lexicon import Lexicon, load_lexicon
from localize.phonemes import normalize_ipa, phonemize, synthesize
from localize.spec import Job, load_job
from localize.translate import read_translation_file

JOB = Path(__file__).parents[1] / "samples" / "job.yaml"
BRAND = "Brightwell"
BRAND_LINES = ("L4", "L6")  # the lines that open with the brand name in every language


@cache
def sample() -> tuple[Job, Lexicon]:
    job = load_job(JOB)
    lexicons = [load_lexicon(path) for path in job.lexicons]
    lexicon = lexicons[0]
    for other in lexicons[1:]:
        lexicon = lexicon.merge(other)
    return job, lexicon


def brand_line(lang: str, line_id: str) -> str:
    job, _ = sample()
    return read_translation_file(job.translations.files[lang], lang)[line_id]


def expected_ipa(lang: str) -> str:
    _, lexicon = sample()
    ipa = lexicon.lookup(BRAND, lang)
    assert ipa is not None, f"{lexicon.describe(BRAND, lang)}: no pronunciation for {lang}"
    return ipa


MARKETS = [market.lang for market in sample()[0].markets]


def test_every_market_has_a_translation_file_and_the_japanese_one_is_there() -> None:
    job, _ = sample()
    assert "ja-JP" in MARKETS
    assert set(job.translations.files) == set(MARKETS)


@pytest.mark.parametrize("line_id", BRAND_LINES)
@pytest.mark.parametrize("lang", MARKETS)
def test_brand_word_is_written_with_the_lexicon_ipa(lang: str, line_id: str) -> None:
    _, lexicon = sample()
    words = phonemize(brand_line(lang, line_id), lang, lexicon)
    # The brand must stay a word of its own: Japanese has no spaces, so a brand run into kana
    # ("Brightwellで") would be one token the lexicon never matches.
    (brand,) = [w for w in words if BRAND.casefold() in w.text.casefold()]
    assert brand.text == BRAND
    assert brand.ipa == expected_ipa(lang)


@pytest.mark.parametrize("line_id", BRAND_LINES)
@pytest.mark.parametrize("lang", MARKETS)
def test_brand_word_is_spoken_with_the_lexicon_ipa(lang: str, line_id: str) -> None:
    _, lexicon = sample()
    seq = synthesize(brand_line(lang, line_id), lang, lexicon).phonemes
    (index,) = [i for i, w in enumerate(seq.words) if w.text == BRAND]
    spoken = "".join(p.ipa for p in seq.phonemes if p.word == index)
    assert normalize_ipa(spoken) == normalize_ipa(expected_ipa(lang))
    assert seq.words[index].end - seq.words[index].start > 0.2
