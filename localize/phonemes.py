"""Phonemes: espeak-ng IPA per word, and espeak-ng speech with per-phoneme timings."""

from __future__ import annotations

import bisect
import ctypes
import difflib
import logging
import os
import re
import struct
import threading
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

import espeakng_loader
import numpy as np
from phonemizer.backend import EspeakBackend
from phonemizer.backend.espeak.wrapper import EspeakWrapper
from phonemizer.separator import Separator

from localize.errors import PhonemeError
from localize.lexicon import WORD_PATTERN, Lexicon

# phonemizer warns about language switches and word-count mismatches that phonemize() handles.
_phonemizer_log = logging.getLogger(f"{__name__}.phonemizer")
_phonemizer_log.setLevel(logging.ERROR)


@dataclass(frozen=True)
class _Voice:
    name: str  # for espeak_SetVoiceByName, which knows some voices only without their region
    phonemizer: str  # the same voice as phonemizer lists it (by language code)
    table: str  # phoneme table the voice reads: its "phonemes" line, else its language


_VOICES = {
    "en-US": _Voice("en-us", "en-us", "en-us"),
    "en-GB": _Voice("en", "en-gb", "en"),
    "de-DE": _Voice("de", "de", "de"),
    "fr-FR": _Voice("fr", "fr-fr", "fr"),
    "es-ES": _Voice("es", "es", "es"),
    "it-IT": _Voice("it", "it", "it"),
    "pt-BR": _Voice("pt-br", "pt-br", "pt"),
    "pt-PT": _Voice("pt", "pt", "pt-pt"),
    "ja-JP": _Voice("ja", "ja", "ja"),  # kana only: kanji need a kanji -> kana step first
    "nl-NL": _Voice("nl", "nl", "nl"),
    "pl-PL": _Voice("pl", "pl", "pl"),
    "sv-SE": _Voice("sv", "sv", "sv"),
}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(_VOICES)
# A bare primary subtag names its main market: en is en-US; pt is Portugal, as in espeak.
_BARE_TAGS = {t.split("-")[0]: t for t in SUPPORTED_LANGUAGES if t not in ("en-GB", "pt-BR")}

ESPEAK_RATE_WPM = 175  # espeak's default speaking rate: rate=1.0
_RATE_LIMITS_WPM = (80, 450)  # espeakRATE_MINIMUM, espeakRATE_MAXIMUM
_STRESS_MARKS = "ˈˌ"
_IGNORED_IN_IPA = "ˈˌːˑ.‿͜͡ "  # stress, length, syllable, linking and tie marks, spaces
_CUT = "\ufffd"  # appended to an IPA that filled espeak's 8-byte event field: maybe cut short
_LANGUAGE_SWITCH = re.compile(r"\([a-z]{2,3}(?:-[a-z0-9]+)*\)")  # "(en)" when espeak switches


def espeak_voice(lang: str) -> str:
    """The espeak-ng voice for a BCP-47 tag (``de-DE`` -> ``de``)."""
    return _voice(lang).name


def normalize_ipa(ipa: str) -> str:
    """IPA reduced to its segments (no stress, length, ties or spaces) for comparisons."""
    return "".join(ch for ch in _nfd(ipa) if ch not in _IGNORED_IN_IPA)


def _nfd(ipa: str) -> str:
    # One spelling per symbol: decomposed diacritics, and the IPA g (U+0261) espeak writes.
    return unicodedata.normalize("NFD", ipa).replace("g", "ɡ")


def _voice(lang: str) -> _Voice:
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
    tokens = [m.group() for m in WORD_PATTERN.finditer(text)]
    if not tokens:
        return ()
    separator = Separator(phone="", word=" ", syllable="")
    with _LOCK:
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
    if not rate > 0:
        raise PhonemeError(f"rate must be > 0 (1.0 = {ESPEAK_RATE_WPM} words/min), got {rate}")
    for label, value in (("pitch", pitch), ("pitch_range", pitch_range)):
        if not 0 <= value <= 100:
            raise PhonemeError(f"{label} must be within 0..100, got {value}")
    wpm = min(max(round(ESPEAK_RATE_WPM * rate), _RATE_LIMITS_WPM[0]), _RATE_LIMITS_WPM[1])
    name = voice.name if voice_variant is None else f"{voice.name}+{_variant(voice_variant)}"
    tokens = [m.group() for m in WORD_PATTERN.finditer(text)]

    def attempt(guard: set[int]) -> tuple[np.ndarray, _Timeline, dict[int, str]]:
        spoken, spans, expected = _spoken_text(text, lang, voice, lexicon, guard)
        samples, events = engine.speak(name, spoken, (wpm, pitch, pitch_range))
        events = [(kind, pos, at, _uncut(ipa, voice)) for kind, pos, at, ipa in events]
        return samples, _timeline(events, samples.size, engine.sample_rate, spans, tokens), expected

    with _LOCK:
        engine = _engine()
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
    text: str, lang: str, voice: _Voice, lexicon: Lexicon | None, guard: set[int]
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
    events: list[_Event], n_samples: int, sample_rate: int, spans: list, tokens: list[str]
) -> _Timeline:
    """Phonemes covering the audio from 0 to its end, and the words they belong to."""
    marks: list[tuple[int, str, int]] = []  # (start sample, ipa or "" for a pause, word)
    word = -1
    for kind, position, sample, ipa in events:
        if kind == _EVENT_WORD and spans:
            word = _word_at(position - 1, spans)  # espeak counts characters from 1
        elif kind == _EVENT_PHONEME and not _LANGUAGE_SWITCH.fullmatch(ipa):
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


def _verify(word: Word, ipa: str, lang: str, voice: _Voice, lexicon: Lexicon) -> None:
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


# --- IPA -> espeak phoneme mnemonics, for lexicon words --------------------------------------
# espeak reads no IPA, only its own mnemonics inline as [[...]]. A voice's mnemonics are read
# from its compiled phoneme tables and spoken in a few frames; the IPA events they produce are
# the voice's IPA -> mnemonic table, so a converted word is exact wherever the table is.
_FRAMES = ("{}", "'a|{}|a", "{}|'a", "'a|t|{}", "t|'{}|t|a")  # alone; unstressed; stressed
_SPOKEN_TYPES = range(2, 9)  # phVOWEL .. phNASAL; not pauses, stress or virtual phonemes
_VOWEL_TYPE = 2
_MNEMONIC_TABLES: dict[str, dict[str, tuple[str, bool]]] = {}  # table -> ipa -> (mnemonic, vowel)


def _to_mnemonics(ipa: str, voice: _Voice, word: str, lang: str, lexicon: Lexicon) -> str:
    """Greedy longest match of the IPA over the voice's table; ' or , before a stressed vowel."""
    table = _mnemonic_table(voice)
    longest = max(map(len, table))
    text = "".join(c for c in _nfd(ipa) if c not in ".‿͜͡ ")
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


def _mnemonic_table(voice: _Voice) -> dict[str, tuple[str, bool]]:
    """The voice's IPA -> (mnemonic, is vowel); the mnemonic saying an IPA in most frames wins."""
    if voice.table in _MNEMONIC_TABLES:
        return _MNEMONIC_TABLES[voice.table]
    engine = _engine()
    inventory = _inventory(engine.data_path / "phontab", voice.table)
    said: dict[tuple[str, str], int] = {}  # (ipa, mnemonic) -> frames in which it came out so
    for mnemonic, _ in inventory:
        heard: list[str] = []
        for frame in _FRAMES:
            slot = next(i for i, part in enumerate(frame.split("|")) if "{}" in part)
            _, events = engine.speak(voice.name, f"[[{frame.replace('{}', mnemonic)}]]")
            ipas = [ipa for kind, _, _, ipa in events if kind == _EVENT_PHONEME and ipa]
            if len(ipas) == frame.count("|") + 1:
                heard.append("".join(c for c in _nfd(ipas[slot]) if c not in _STRESS_MARKS))
        for ipa in heard:  # a stressed IPA may be cut where the unstressed one fits
            stem = ipa.removesuffix(_CUT)
            whole = (h.removesuffix(_CUT) for h in heard if h.startswith(stem))
            key = max(whole, key=len) if ipa.endswith(_CUT) else ipa
            if all(unicodedata.category(c)[0] in "LM" for c in key):  # not espeak's "r." etc.
                said[key, mnemonic] = said.get((key, mnemonic), 0) + 1
    order = {mnemonic: rank for rank, (mnemonic, _) in enumerate(inventory)}
    is_vowel = dict(inventory)
    table: dict[str, tuple[str, bool]] = {}
    for key, mnemonic in sorted(said, key=lambda km: (-said[km], order[km[1]])):
        table.setdefault(key, (mnemonic, is_vowel[mnemonic]))
    _MNEMONIC_TABLES[voice.table] = table
    return table


def _uncut(ipa: str, voice: _Voice) -> str:
    """An IPA espeak cut at 8 bytes, completed from the voice's table (ˈɐ̃ʊ -> ˈɐ̃ʊ̃)."""
    if not ipa.endswith(_CUT):
        return ipa
    stress = ipa[:1] if ipa[:1] in _STRESS_MARKS else ""
    stem = _nfd(ipa[len(stress) : -1])
    whole = sorted((key for key in _mnemonic_table(voice) if key.startswith(stem)), key=len)
    return stress + (whole[0] if whole else stem)


def _inventory(phontab: Path, name: str) -> list[tuple[str, bool]]:
    """Mnemonics (and whether each is a vowel) a phoneme table defines or inherits.

    espeak-ng's compiled phontab: a table count, then per table its phoneme count, the 1-based
    index of the table it includes, a 32-byte name and 16-byte PHONEME_TAB records (mnemonic:
    up to 4 chars, first in the low byte; phoneme type at byte 11).
    """
    data = phontab.read_bytes()
    tables: list[tuple[str, int, list[tuple[bytes, int]]]] = []
    pos = 4
    for _ in range(data[0]):
        count, parent, title = data[pos], data[pos + 1], data[pos + 4 : pos + 36]
        records = [struct.unpack_from("<4s7xB", data, pos + 36 + 16 * k) for k in range(count)]
        tables.append((title.split(b"\0")[0].decode("ascii"), parent, records))
        pos += 36 + 16 * count
    names = [title for title, _, _ in tables]
    if pos != len(data) or name not in names:
        raise PhonemeError(f"{phontab}: not the espeak-ng 1.52 phoneme table layout read here")
    found: dict[str, bool] = {}
    index = names.index(name)
    while True:  # the voice's own table first: its definitions shadow the included ones
        _, parent, records = tables[index]
        for raw, kind in records:
            mnemonic = raw.split(b"\0")[0].decode("latin-1")
            if kind in _SPOKEN_TYPES and mnemonic and not set(mnemonic) & set("[]|_'%, "):
                found.setdefault(mnemonic, kind == _VOWEL_TYPE)
        if parent == 0:
            return list(found.items())
        index = parent - 1


# --- libespeak-ng through ctypes --------------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_FLAGS = 0x0001 | 0x0002 | 0x8000  # PHONEME_EVENTS | PHONEME_IPA | DONT_EXIT
_POS_CHARACTER = 1
_SYNTH_FLAGS = 0x1 | 0x100  # espeakCHARS_UTF8 | espeakPHONEMES (reads [[...]] as phonemes)
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_EVENT_LIST_TERMINATED, _EVENT_WORD, _EVENT_PHONEME = 0, 1, 7
_Event = tuple[int, int, int, str]  # (event type, text position from 1, sample, ipa)


class _EventId(ctypes.Union):
    _fields_ = (("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8))


class _EspeakEvent(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms, truncated; "sample" is the exact position
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_LOCK = threading.RLock()  # libespeak-ng is one global state: every call goes through this
_captured: tuple[list[np.ndarray], list[_Event]] = ([], [])  # what one espeak_Synth hands over


def _collect(wav: ctypes._Pointer, n_samples: int, events: ctypes._Pointer) -> int:
    if n_samples > 0 and wav:
        _captured[0].append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
    i = 0
    while events[i].type != _EVENT_LIST_TERMINATED:
        event, ipa = events[i], ""
        if event.type == _EVENT_PHONEME:  # 8 bytes, NUL-terminated only when shorter
            raw = ctypes.string_at(ctypes.addressof(event.id), 8)
            ipa = raw.split(b"\0")[0].decode("utf-8", "replace").rstrip(_CUT)
            ipa += "" if b"\0" in raw else _CUT
        _captured[1].append((event.type, event.text_position, event.sample, ipa))
        i += 1
    return 0  # go on synthesizing


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)(_collect)  # module-level, so it lives as long as the library may call it


class _Engine:
    """libespeak-ng initialised for synchronous synthesis with IPA phoneme events."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.data_path = Path(espeakng_loader.get_data_path())
        self.lib = lib = ctypes.CDLL(espeakng_loader.get_library_path())
        c = ctypes
        lib.espeak_Initialize.argtypes = [c.c_int, c.c_int, c.c_char_p, c.c_int]
        lib.espeak_SetVoiceByName.argtypes = [c.c_char_p]
        lib.espeak_Synth.argtypes = [
            c.c_char_p,
            c.c_size_t,
            c.c_uint,
            c.c_int,
            c.c_uint,
            c.c_uint,
            c.c_void_p,
            c.c_void_p,
        ]
        path = str(self.data_path).encode()
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, path, _INIT_FLAGS)
        if self.sample_rate <= 0:
            raise PhonemeError(f"libespeak-ng failed to initialise with the data in {path!r}")
        lib.espeak_SetSynthCallback(_SYNTH_CALLBACK)

    def speak(
        self, voice: str, text: str, params: tuple[int, int, int] = (ESPEAK_RATE_WPM, 50, 50)
    ) -> tuple[np.ndarray, list[_Event]]:
        """int16 samples, shape (N,), and the events of one utterance; (rate, pitch, range)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise PhonemeError(f"espeak-ng has no voice {voice!r} in {self.data_path}")
        for param, value in zip((_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE), params, strict=True):
            self.lib.espeak_SetParameter(param, value, 0)
        _captured[0].clear()
        _captured[1].clear()
        data = text.encode() + b"\0"
        status = self.lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _SYNTH_FLAGS, 0, 0)
        if status != 0:
            raise PhonemeError(f"espeak-ng failed (status {status}) to speak {text!r}")
        samples = np.concatenate(_captured[0]) if _captured[0] else np.zeros(0, np.int16)
        return samples, list(_captured[1])


_ENGINE: list[_Engine] = []  # at most one, created on first use (and again in a forked child)


def _engine() -> _Engine:
    if not _ENGINE or _ENGINE[0].pid != os.getpid():
        _ENGINE[:] = [_Engine()]
    return _ENGINE[0]


_BACKENDS: dict[str, EspeakBackend] = {}  # phonemizer's own copies of libespeak-ng, per voice


def _phonemizer(voice: _Voice) -> EspeakBackend:
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


def _variant(name: str) -> str:
    known = sorted(p.name for p in Path(espeakng_loader.get_data_path(), "voices", "!v").iterdir())
    if name not in known:
        raise PhonemeError(
            f"voice variant {name!r} is not in espeak-ng; one of: {', '.join(known)}"
        )
    return name
