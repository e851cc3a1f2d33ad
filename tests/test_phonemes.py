"""espeak-ng phonemes: voices, IPA per word, synthesized timings, lexicon overrides, threads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from localize import espeak, phonemes
from localize.errors import PhonemeError
from localize.lexicon import Lexicon
from localize.phonemes import (
    SUPPORTED_LANGUAGES,
    Speech,
    espeak_voice,
    normalize_ipa,
    phonemize,
    synthesize,
)

# Brightwell as each market says it, in IPA its espeak-ng voice can produce.
BRIGHTWELL = {
    "en": "ˈbɹaɪtwɛl",
    "de-DE": "ˈbʁaɪtvɛl",
    "fr-FR": "bʁajtwɛl",
    "es-ES": "ˈbɾajtwel",
    "it-IT": "ˈbraitwel",
    "pt-BR": "ˈbɾajtʃiwɛw",
}
LEXICON = Lexicon("brightwell", None, {"Brightwell": BRIGHTWELL})
CARRIERS = {
    "en-US": "We love Brightwell, really.",
    "de-DE": "Wir lieben Brightwell, wirklich.",
    "fr-FR": "Nous aimons Brightwell, vraiment.",
    "es-ES": "Nos encanta Brightwell, de verdad.",
    "it-IT": "Amiamo Brightwell, davvero.",
    "pt-BR": "Nós amamos Brightwell, de verdade.",
}
FRAME = 0.01  # seconds: one 100 Hz frame


def envelope(samples: np.ndarray) -> np.ndarray:
    """(T,) RMS per 10 ms frame: a shape to compare that a few samples of drift don't change."""
    hop = 22050 // 100
    frames = samples[: len(samples) // hop * hop].reshape(-1, hop)  # (T, hop)
    return np.sqrt((frames**2).mean(axis=1))


@pytest.fixture(scope="module")
def speech() -> Speech:
    # "already" and "well" make espeak emit zero-length l phonemes; "$5" a symbol without a word.
    return synthesize("Hello, world! It's already well past $5, isn't it?", "en-US")


@pytest.mark.parametrize(
    ("tag", "voice"),
    [
        *[("de-DE", "de"), ("fr-FR", "fr"), ("es-ES", "es"), ("it-IT", "it"), ("pt-BR", "pt-br")],
        *[("en-US", "en-us"), ("en-GB", "en"), ("pt-PT", "pt"), ("ja-JP", "ja"), ("de_de", "de")],
    ],
)
def test_espeak_voice(tag: str, voice: str) -> None:
    assert espeak_voice(tag) == voice


def test_unsupported_language_lists_supported_tags() -> None:
    with pytest.raises(PhonemeError) as caught:
        espeak_voice("xx-YY")
    assert "'xx-YY'" in str(caught.value)
    assert all(tag in str(caught.value) for tag in SUPPORTED_LANGUAGES)


@pytest.mark.parametrize("lang", SUPPORTED_LANGUAGES)
def test_every_supported_language_speaks(lang: str) -> None:
    text = "ありがとう" if lang == "ja-JP" else "Brightwell"
    result = synthesize(text, lang)
    assert result.duration > 0.2
    assert espeak.inventory(espeak.engine().data_path / "phontab", phonemes._voice(lang).table)


def test_phonemize_hello_world() -> None:
    words = phonemize("Hello, world!", "en-US")
    assert [w.text for w in words] == ["Hello", "world"]
    assert "h" in words[0].ipa and "w" in words[1].ipa
    assert all("," not in w.ipa and "!" not in w.ipa for w in words)
    assert all(w.start == w.end == 0.0 for w in words)


def test_synthesized_timings_are_consistent(speech: Speech) -> None:
    seq = speech.phonemes
    assert speech.sample_rate == 22050
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert np.abs(speech.samples).max() <= 1.0
    assert speech.duration == pytest.approx(len(speech.samples) / 22050)
    starts = [p.start for p in seq.phonemes]
    assert starts == sorted(starts) and starts[0] == 0.0
    assert all(p.duration > 0 for p in seq.phonemes)
    assert sum(p.duration for p in seq.phonemes) == pytest.approx(speech.duration, abs=FRAME)
    assert seq.duration == pytest.approx(speech.duration, abs=FRAME)
    assert all(
        p.ipa and p.ipa != "_" and 0 <= p.word < len(seq.words)
        for p in seq.phonemes
        if not p.is_pause
    )
    assert all(p.ipa == "_" and p.word == -1 for p in seq.phonemes if p.is_pause)
    assert seq.phonemes[0].is_pause  # espeak's lead-in silence is kept, not trimmed
    for index, word in enumerate(seq.words):
        assert word.start <= word.end
        for p in seq.phonemes:
            if p.word == index:
                assert word.start - 1e-9 <= p.start and p.start + p.duration <= word.end + 1e-9
    ends = [w.end for w in seq.words]
    assert all(a <= b.start + 1e-9 for a, b in zip(ends, seq.words[1:], strict=False))


def test_phonemes_espeak_gives_no_time_join_their_neighbour(speech: Speech) -> None:
    # espeak reports the l of "already" at the same sample as the next phoneme.
    assert "ɔːl" in [p.ipa for p in speech.phonemes.phonemes]
    words = {w.text: w.ipa for w in speech.phonemes.words}
    assert normalize_ipa(words["already"]) == "ɔlɹɛdi"
    assert normalize_ipa(words["5"]) == "dɑlɚfaɪv"  # "$" is spoken with the number after it


def test_faster_rate_is_shorter() -> None:
    text = "The quick brown fox jumps over the lazy dog."
    normal, fast = synthesize(text, "en-US"), synthesize(text, "en-US", rate=1.3)
    assert fast.duration <= 0.85 * normal.duration


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en-US", "The quick brown fox jumps over the lazy dog."),
        ("de-DE", "Der schnelle braune Fuchs springt über den faulen Hund."),
        ("pt-BR", "Eu não sei o que fazer."),  # ɐ̃ʊ̃ with stress overflows espeak's 8-byte field
    ],
)
def test_synthesis_agrees_with_phonemizer(lang: str, text: str) -> None:
    spoken = normalize_ipa(synthesize(text, lang).phonemes.ipa(""))
    written = normalize_ipa("".join(w.ipa for w in phonemize(text, lang)))
    assert spoken == written


@pytest.mark.parametrize("lang", list(CARRIERS))
def test_lexicon_word_is_spoken_as_written(lang: str) -> None:
    expected = LEXICON.lookup("Brightwell", lang)
    assert expected is not None
    result = synthesize(CARRIERS[lang], lang, LEXICON)
    (word,) = [w for w in result.phonemes.words if w.text == "Brightwell"]
    index = result.phonemes.words.index(word)
    spoken = "".join(p.ipa for p in result.phonemes.phonemes if p.word == index)
    assert normalize_ipa(spoken) == normalize_ipa(expected)
    assert word.end - word.start > 0.2
    written = {w.text: w.ipa for w in phonemize(CARRIERS[lang], lang, LEXICON)}
    assert written["Brightwell"] == expected


def test_lexicon_phoneme_the_voice_lacks_raises() -> None:
    clicky = Lexicon("clicks", None, {"Brightwell": {"de": "ˈbʁaɪtǃvɛl"}})
    with pytest.raises(PhonemeError) as caught:
        synthesize("Wir lieben Brightwell.", "de-DE", clicky)
    message = str(caught.value)
    assert message.startswith("lexicon 'clicks': entries.Brightwell.de: /ˈbʁaɪtǃvɛl/")
    assert "'Brightwell'" in message and "for de-DE" in message and "uses ǃ," in message


def test_lexicon_ipa_espeak_rewrites_in_context_raises() -> None:
    # espeak's Italian turns an unstressed open ɛ into e: the spoken check must catch it.
    open_e = Lexicon("it", None, {"Brightwell": {"it": "ˈbraitwɛl"}})
    with pytest.raises(PhonemeError, match=r"entries.Brightwell.it: .* for it-IT .*produce ɛ"):
        synthesize("Amiamo Brightwell.", "it-IT", open_e)


def test_brackets_in_text_are_not_phoneme_input() -> None:
    result = synthesize("Say [[p]] now.", "en-US")
    assert [w.text for w in result.phonemes.words] == ["Say", "p", "now"]
    assert normalize_ipa(result.phonemes.words[1].ipa) == "pi"  # the letter's name


def test_trimmed_cuts_silence_and_shifts_times(speech: Speech) -> None:
    trimmed = speech.trimmed()
    seq, original = trimmed.phonemes, speech.phonemes
    assert 0 < trimmed.duration < speech.duration
    assert sum(p.duration for p in seq.phonemes) == pytest.approx(trimmed.duration, abs=FRAME)
    first = next(p for p in seq.phonemes if not p.is_pause)
    first_before = next(p for p in original.phonemes if not p.is_pause)
    shift = first_before.start - first.start
    assert shift > 0
    assert seq.words[0].start == pytest.approx(original.words[0].start - shift)
    assert seq.ipa() == original.ipa()
    assert np.array_equal(
        trimmed.samples, speech.samples[round(shift * 22050) :][: len(trimmed.samples)]
    )


def test_bad_settings_raise() -> None:
    with pytest.raises(PhonemeError, match=r"pitch must be within 0\.\.100"):
        synthesize("Hi", "en-US", pitch=120)
    with pytest.raises(PhonemeError, match=r"rate must be > 0"):
        synthesize("Hi", "en-US", rate=0)
    with pytest.raises(PhonemeError, match=r"voice variant 'nobody'.*f3"):
        synthesize("Hi", "en-US", voice_variant="nobody")
    assert synthesize("Hi", "en-US", voice_variant="f3").duration > 0


def test_concurrent_synthesis_matches_sequential() -> None:
    # espeak's pitch flutter runs on across utterances (a never-reset static in libespeak-ng),
    # so even sequential calls differ by a few samples: compare phonemes, words and durations.
    jobs = [(CARRIERS[lang], lang) for lang in ("en-US", "de-DE", "fr-FR", "pt-BR")]
    expected = [synthesize(text, lang, LEXICON) for text, lang in jobs]
    results: dict[int, list[Speech]] = {}

    def work(worker: int) -> None:
        results[worker] = [synthesize(text, lang, LEXICON) for text, lang in jobs * 3]

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3]
    for got in results.values():
        for one, want in zip(got, expected * 3, strict=True):
            assert one.phonemes.ipa() == want.phonemes.ipa()
            assert [w.ipa for w in one.phonemes.words] == [w.ipa for w in want.phonemes.words]
            assert one.duration == pytest.approx(want.duration, abs=FRAME)
            n = min(len(one.samples), len(want.samples))
            assert np.corrcoef(envelope(one.samples[:n]), envelope(want.samples[:n]))[0, 1] > 0.95


def test_unspeakable_names_emoji_and_foreign_letters() -> None:
    from localize.phonemes import unspeakable

    assert unspeakable("Brightwell. Der bessere Start – 100 % Genuss!", "de-DE") == []
    assert unspeakable("ブライトウェル。一日の始まり、もっといい目覚めを。", "ja-JP") == []
    assert unspeakable("Café ☕ 🎉", "fr-FR") == [
        "'☕' (U+2615 HOT BEVERAGE)",
        "'🎉' (U+1F389 PARTY POPPER)",
    ]
    assert unspeakable("Так", "it-IT")[0] == "'Т' (U+0422 CYRILLIC CAPITAL LETTER TE)"
    assert unspeakable("ありがとう", "es-ES")[0].endswith("HIRAGANA LETTER A)")
