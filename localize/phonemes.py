"""Phonemes: espeak-ng IPA per word, and espeak-ng speech with per-phoneme timings."""

from __future__ import annotations

import bisect
import difflib
import logging
import re
import unicodedata
from dataclasses import dataclass, replace

import espeakng_loader
import numpy as np
from phonemizer.backend import EspeakBackend
from phonemizer.backend.espeak.wrapper import EspeakWrapper
from phonemizer.separator import Separator

from localize import espeak
from localize.errors import PhonemeError
from localize.kana import to_kana
from localize.lexicon import WORD_PATTERN, Lexicon

# phonemizer warns about language switches and word-count mismatches that phonemize() handles.
_phonemizer_log = logging.getLogger(f"{__name__}.phonemizer")
_phonemizer_log.setLevel(logging.ERROR)


_VOICES = {
    "en-US": espeak.Voice("en-us", "en-us", "en-us"),
    "en-GB": espeak.Voice("en", "en-gb", "en"),
    "de-DE": espeak.Voice("de", "de", "de"),
    "fr-FR": espeak.Voice("fr", "fr-fr", "fr"),
    "es-ES": espeak.Voice("es", "es", "es"),
    "it-IT": espeak.Voice("it", "it", "it"),
    "pt-BR": espeak.Voice("pt-br", "pt-br", "pt"),
    "pt-PT": espeak.Voice("pt", "pt", "pt-pt"),
    "ja-JP": espeak.Voice("ja", "ja", "ja"),  # kana only: _readable() turns kanji into kana
    "nl-NL": espeak.Voice("nl", "nl", "nl"),
    "pl-PL": espeak.Voice("pl", "pl", "pl"),
    "sv-SE": espeak.Voice("sv", "sv", "sv"),
}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_VOICES)
# A bare primary subtag names its main market: en is en-US; pt is Portugal, as in espeak.
_BARE_TAGS = {t.split("-")[0]: t for t in SUPPORTED_LANGUAGES if t not in ("en-GB", "pt-BR")}

ESPEAK_RATE_WPM = espeak.RATE_WPM  # espeak's default speaking rate: rate=1.0
_IGNORED_IN_IPA = "ˈˌːˑ.‿͜͡ "  # stress, length, syllable, linking and tie marks, spaces
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")  # "(en)" when espeak switches


def espeak_voice(lang: str) -> str:
    """The espeak-ng voice for a BCP-47 tag (``de-DE`` -> ``de``)."""
    return _voice(lang).name


# Unicode scripts (as the first word of a character's name) each market's voice can read.
_SCRIPTS = {"ja": ("LATIN", "HIRAGANA", "KATAKANA", "CJK", "IDEOGRAPHIC", "HALFWIDTH", "FULLWIDTH")}
_LATIN = ("LATIN",)


def unspeakable(text: str, lang: str) -> list[str]:
    """Characters of `text` the market's voice cannot say, each described for people: symbols
    such as emoji, control characters, and letters of a script the language is not written in."""
    scripts = _SCRIPTS.get(lang.split("-")[0].lower(), _LATIN)
    found: dict[str, str] = {}
    for ch in text:
        category = unicodedata.category(ch)
        name = unicodedata.name(ch, f"U+{ord(ch):04X}")
        letter = category.startswith("L") and not name.startswith(scripts)
        if letter or category == "So" or (category.startswith("C") and ch not in "\t\n"):
            found.setdefault(ch, f"{ch!r} (U+{ord(ch):04X} {name})")
    return list(found.values())


def normalize_ipa(ipa: str) -> str:
    """IPA reduced to its segments (no stress, length, ties or spaces) for comparisons."""
    return "".join(ch for ch in espeak.nfd(ipa) if ch not in _IGNORED_IN_IPA)


def _readable(text: str, lang: str) -> str:
    """Japanese with its kanji as kana (espeak's ja voice spells kanji out); others unchanged."""
    return to_kana(text) if lang.replace("_", "-").split("-")[0].lower() == "ja" else text


def _voice(lang: str) -> espeak.Voice:
    tags = {t.lower(): t for t in SUPPORTED_LANGUAGES} | _BARE_TAGS
    found = tags.get(lang.replace("_", "-").lower())
    if found is None:
        raise PhonemeError(
            f"language {lang!r} is not supported by the espeak-ng phonemizer; "
            f"supported: {', '.join(SUPPORTED_LANGUAGES)}"
        )
    return _VOICES[found]


@dataclass(frozen=True)
class Phoneme:
    """One phoneme (or pause) of synthesized speech."""

    ipa: str  # espeak's IPA for one phoneme, stress mark included ("ˈaɪ"); "_" for pauses
    start: float  # seconds from the start of the utterance
    duration: float  # seconds, > 0
    word: int  # index into PhonemeSeq.words, -1 for pauses
    is_pause: bool = False


@dataclass(frozen=True)
class Word:
    """A word of the text with its IPA; times come from synthesize(), 0 from phonemize()."""

    text: str
    ipa: str
    start: float = 0.0
    end: float = 0.0


@dataclass(frozen=True)
class PhonemeSeq:
    """The phonemes of one utterance, covering its audio from 0 to the end without gaps."""

    lang: str
    text: str
    words: tuple[Word, ...]
    phonemes: tuple[Phoneme, ...]

    @property
    def duration(self) -> float:
        return self.phonemes[-1].start + self.phonemes[-1].duration if self.phonemes else 0.0

    def ipa(self, sep: str = " ") -> str:
        return sep.join(p.ipa for p in self.phonemes if not p.is_pause)


@dataclass(frozen=True, eq=False)
class Speech:
    """Synthesized speech: mono float32 samples in [-1, 1], shape (N,), and their phonemes."""

    samples: np.ndarray  # (N,)
    sample_rate: int  # 22050 for espeak-ng
    phonemes: PhonemeSeq

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    def trimmed(self, threshold_db: float = -50.0) -> Speech:
        """Leading/trailing silence cut; spoken phonemes are kept whole (a stop's closure too)."""
        loud = np.flatnonzero(np.abs(self.samples) > 10 ** (threshold_db / 20))
        spoken = [p for p in self.phonemes.phonemes if not p.is_pause]
        starts, ends = loud[:1].tolist(), (loud[-1:] + 1).tolist()
        if spoken:
            starts.append(round(spoken[0].start * self.sample_rate))
            ends.append(round((spoken[-1].start + spoken[-1].duration) * self.sample_rate))
        a, b = (min(starts), max(ends)) if starts else (0, 0)
        t0, t1 = a / self.sample_rate, b / self.sample_rate

        def clip(t: float) -> float:
            return min(max(t, t0), t1) - t0

        phonemes = tuple(
            replace(p, start=clip(p.start), duration=clip(p.start + p.duration) - clip(p.start))
            for p in self.phonemes.phonemes
            if clip(p.start + p.duration) > clip(p.start)
        )
        words = tuple(replace(w, start=clip(w.start), end=clip(w.end)) for w in self.phonemes.words)
        seq = replace(self.phonemes, words=words, phonemes=phonemes)
        return Speech(self.samples[a:b], self.sample_rate, seq)


def phonemize(text: str, lang: str, lexicon: Lexicon | None = None) -> tuple[Word, ...]:
    """IPA per word, stress marks kept; a lexicon entry replaces espeak's IPA for its word."""
    voice = _voice(lang)
    text = _readable(text, lang)
    tokens = [m.group() for m in WORD_PATTERN.finditer(text)]
    if not tokens:
        return ()
    separator = Separator(phone="", word=" ", syllable="")
    with espeak.LOCK:
        backend = _phonemizer(voice)
        lines = backend.phonemize([" ".join(text.split())], separator=separator, strip=True)
        ipas = lines[0].split() if lines else []
        if len(ipas) != len(tokens):
            # espeak split or merged words (abbreviations, symbols): go word by word, which
            # loses cross-word context but keeps every IPA on its own word.
            lines = backend.phonemize(tokens, separator=separator, strip=True)
            ipas = ["".join(line.split()) for line in lines]
    overrides = [lexicon.lookup(t, lang) if lexicon else None for t in tokens]
    return tuple(Word(t, o or ipa) for t, ipa, o in zip(tokens, ipas, overrides, strict=True))


def synthesize(
    text: str,
    lang: str,
    lexicon: Lexicon | None = None,
    *,
    rate: float = 1.0,
    pitch: int = 50,
    pitch_range: int = 50,
    voice_variant: str | None = None,
) -> Speech:
    """Speak ``text`` with espeak-ng; phoneme and word timings come from its own events.

    ``rate`` scales espeak's default 175 words/min (clamped to its 80..450); ``pitch`` and
    ``pitch_range`` are espeak's 0..100; ``voice_variant`` names a file in espeak-ng-data/voices/!v.
    A lexicon word is spoken from the lexicon's IPA and checked: PhonemeError if espeak can't.
    """
    voice = _voice(lang)
    text = _readable(text, lang)
    if not rate > 0:
        raise PhonemeError(f"rate must be > 0 (1.0 = {ESPEAK_RATE_WPM} words/min), got {rate}")
    for label, value in (("pitch", pitch), ("pitch_range", pitch_range)):
        if not 0 <= value <= 100:
            raise PhonemeError(f"{label} must be within 0..100, got {value}")
    low, high = espeak.RATE_LIMITS_WPM
    wpm = min(max(round(ESPEAK_RATE_WPM * rate), low), high)
    name = voice.name if voice_variant is None else f"{voice.name}+{espeak.variant(voice_variant)}"
    tokens = [m.group() for m in WORD_PATTERN.finditer(text)]

    def attempt(guard: set[int]) -> tuple[np.ndarray, _Timeline, dict[int, str]]:
        spoken, spans, expected = _spoken_text(text, lang, voice, lexicon, guard)
        samples, events = engine.speak(name, spoken, (wpm, pitch, pitch_range))
        events = [(kind, pos, at, espeak.uncut(ipa, voice)) for kind, pos, at, ipa in events]
        return samples, _timeline(events, samples.size, engine.sample_rate, spans, tokens), expected

    with espeak.LOCK:
        engine = espeak.engine()
        samples, (phonemes, words), expected = attempt(set())
        wrong = {
            i for i, ipa in expected.items() if normalize_ipa(ipa) != normalize_ipa(words[i].ipa)
        }
        if wrong:
            # espeak applies cross-word rules to inline phonemes too (Spanish b -> β after a
            # vowel): say those words again between short pauses, which block such rules.
            samples, (phonemes, words), expected = attempt(wrong)
    for index, ipa in expected.items():
        assert lexicon is not None, "only lexicon words are expected"
        _verify(words[index], ipa, lang, voice, lexicon)
    audio = samples.astype(np.float32) / 32768.0  # int16 full scale -> [-1, 1)
    return Speech(audio, engine.sample_rate, PhonemeSeq(lang, text, words, phonemes))


def _spoken_text(
    text: str, lang: str, voice: espeak.Voice, lexicon: Lexicon | None, guard: set[int]
) -> tuple[str, list[tuple[int, int]], dict[int, str]]:
    """espeak's input, lexicon words as inline ``[[mnemonics]]``, the ``guard`` ones between
    short pauses (``_!``); and each word's span in it."""
    # espeakPHONEMES makes "[[" start phoneme input: turn the text's own brackets into
    # parentheses (same length, so character positions stay put).
    safe = text.translate(str.maketrans("[]", "()"))
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    expected: dict[int, str] = {}
    cursor = length = 0
    for index, match in enumerate(WORD_PATTERN.finditer(safe)):
        word = match.group()
        ipa = lexicon.lookup(word, lang) if lexicon else None
        if ipa is not None and lexicon is not None:
            expected[index] = ipa
            mnemonics = _to_mnemonics(ipa, voice, word, lang, lexicon)
            word = f"[[_!|{mnemonics}|_!]]" if index in guard else f"[[{mnemonics}]]"
        start = length + match.start() - cursor
        parts += [safe[cursor : match.start()], word]
        spans.append((start, start + len(word)))
        cursor, length = match.end(), start + len(word)
    parts.append(safe[cursor:])
    return "".join(parts), spans, expected


_Timeline = tuple[tuple[Phoneme, ...], tuple[Word, ...]]


def _timeline(
    events: list[espeak.Event], n_samples: int, sample_rate: int, spans: list, tokens: list[str]
) -> _Timeline:
    """Phonemes covering the audio from 0 to its end, and the words they belong to."""
    marks: list[tuple[int, str, int]] = []  # (start sample, ipa or "" for a pause, word)
    word = -1
    for kind, position, sample, ipa in events:
        if kind == espeak.EVENT_WORD and spans:
            word = _word_at(position - 1, spans)  # espeak counts characters from 1
        elif kind == espeak.EVENT_PHONEME and not _LANGUAGE_SWITCH.fullmatch(ipa):
            marks.append((sample, ipa, word if ipa else -1))
    if not marks or marks[0][0] > 0:
        marks.insert(0, (0, "", -1))  # espeak's lead-in silence before the first phoneme
    ends = [start for start, _, _ in marks[1:]] + [n_samples]
    phonemes: list[Phoneme] = []
    carry = ""  # a phoneme espeak gave no time (English post-vocalic l) sounds in a neighbour
    for (start, ipa, owner), end in zip(marks, ends, strict=True):
        assert end >= start, "espeak phoneme events out of order"
        last = phonemes[-1] if phonemes else None
        seconds = (end - start) / sample_rate
        if not ipa and last is not None and last.is_pause:
            phonemes[-1] = replace(last, duration=last.duration + seconds)
        elif end == start and ipa and last and not last.is_pause and last.word == owner:
            phonemes[-1] = replace(last, ipa=last.ipa + ipa)
        elif end == start:
            carry += ipa  # empty for espeak's zero-length pauses
        elif ipa:
            phonemes.append(Phoneme(carry + ipa, start / sample_rate, seconds, owner))
            carry = ""
        else:
            phonemes.append(Phoneme("_", start / sample_rate, seconds, -1, is_pause=True))
    spoken = [i for i, p in enumerate(phonemes) if not p.is_pause]
    if carry and spoken:
        phonemes[spoken[-1]] = replace(phonemes[spoken[-1]], ipa=phonemes[spoken[-1]].ipa + carry)
    words: list[Word] = []
    for index, token in enumerate(tokens):
        own = [p for p in phonemes if p.word == index]
        at = words[-1].end if words else 0.0
        times = (own[0].start, own[-1].start + own[-1].duration) if own else (at, at)
        words.append(Word(token, "".join(p.ipa for p in own), *times))
    return tuple(phonemes), tuple(words)


def _word_at(offset: int, spans: list[tuple[int, int]]) -> int:
    """The word at a character offset; between words (punctuation, symbols), the next one."""
    index = bisect.bisect_right([start for start, _ in spans], offset) - 1
    if index < 0:
        return 0
    return index + 1 if offset >= spans[index][1] and index + 1 < len(spans) else index


def _verify(word: Word, ipa: str, lang: str, voice: espeak.Voice, lexicon: Lexicon) -> None:
    """espeak may still rewrite inline phonemes in context: check it said what the lexicon says."""
    want, got = normalize_ipa(ipa), normalize_ipa(word.ipa)
    if want != got:
        matcher = difflib.SequenceMatcher(a=want, b=got, autojunk=False)
        differ = [want[i:j] or "∅" for op, i, j, _, _ in matcher.get_opcodes() if op != "equal"]
        raise PhonemeError(
            f"{lexicon.describe(word.text, lang)}: espeak-ng voice '{voice.name}' for {lang} "
            f"said /{word.ipa}/ for {word.text!r} instead of /{ipa}/; "
            f"it cannot produce {', '.join(differ)} there"
        )


# espeak reads no IPA, only its own mnemonics inline as [[...]]: lexicon IPA goes through the
# voice's IPA -> mnemonic table (localize.espeak.mnemonic_table).
def _to_mnemonics(ipa: str, voice: espeak.Voice, word: str, lang: str, lexicon: Lexicon) -> str:
    """Greedy longest match of the IPA over the voice's table; ' or , before a stressed vowel."""
    table = espeak.mnemonic_table(voice)
    longest = max(map(len, table))
    text = "".join(c for c in espeak.nfd(ipa) if c not in ".‿͜͡ ")
    out: list[str] = []
    missing: list[str] = []
    stress, i = "", 0
    while i < len(text):
        if text[i] in "ˈˌːˑ":  # stress waits for its vowel; a length mark no phoneme took
            stress = {"ˈ": "'", "ˌ": ","}.get(text[i], stress)
            i += 1
            continue
        sizes = range(min(longest, len(text) - i), 0, -1)
        size = next((n for n in sizes if text[i : i + n] in table), 0)
        if size == 0:
            missing.append(f"◌{text[i]}" if unicodedata.combining(text[i]) else text[i])
            i += 1
            continue
        mnemonic, is_vowel = table[text[i : i + size]]
        out.append(stress + mnemonic if is_vowel else mnemonic)
        stress, i = ("" if is_vowel else stress), i + size
    if missing:
        raise PhonemeError(
            f"{lexicon.describe(word, lang)}: /{ipa}/ for {word!r} uses "
            f"{', '.join(dict.fromkeys(missing))}, which espeak-ng voice '{voice.name}' for {lang} "
            f"cannot produce; it has {' '.join(sorted(table))}"
        )
    return "|".join(out)  # "|" keeps espeak from reading t|S as its single phoneme tS


_BACKENDS: dict[str, EspeakBackend] = {}  # phonemizer's own copies of libespeak-ng, per voice


def _phonemizer(voice: espeak.Voice) -> EspeakBackend:
    if voice.phonemizer not in _BACKENDS:
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        # remove-flags: for English-looking words espeak switches voice and marks them "(en)";
        # keep its phonemes (synthesis speaks them too), drop the marks.
        _BACKENDS[voice.phonemizer] = EspeakBackend(
            voice.phonemizer,
            with_stress=True,
            language_switch="remove-flags",
            logger=_phonemizer_log,
        )
    return _BACKENDS[voice.phonemizer]
