"""Phoneme inventory of the joint model: IPA symbols, their articulatory features and visemes."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

# The 24 feature columns. Binary unless marked graded; a consonant is neither SILENCE nor VOWEL.
SILENCE = 0  # pause "_"
VOWEL = 1  # syllabic vowel (diphthongs included)
VOICED = 2  # vocal folds vibrating
NASAL = 3  # velum lowered: nasal stops and nasalised vowels
BILABIAL = 4  # both lips: p b m ɸ β, and w's lip part
LABIODENTAL = 5  # lower lip to upper teeth: f v ʋ pf
DENTAL = 6  # tongue tip at the teeth: θ ð
ALVEOLAR = 7  # tongue tip at the ridge: t d n s z l ɾ r ɹ ts dz
POSTALVEOLAR = 8  # behind the ridge: ʃ ʒ tʃ dʒ, retroflex and alveolo-palatal (ɕ ʑ also PALATAL)
PALATAL = 9  # tongue body at the hard palate: j ç ɲ ʎ c ɟ
DORSAL = 10  # tongue back at the velum or uvula: k ɡ ŋ x ɣ w, uvulars too
POSTVELAR = 11  # behind the velum: uvulars (with DORSAL) ʁ χ ɴ q ʀ, and glottals h ʔ alone
STOP = 12  # oral closure, nasal stops included (m = b + NASAL)
FRICATIVE = 13  # turbulent narrowing
AFFRICATE = 14  # stop released into a fricative: ts dz tʃ dʒ tɕ dʑ pf
APPROXIMANT = 15  # open narrowing: glides and liquids (j w ɹ l), a vowel's r/l off-glide
TAP_TRILL = 16  # ɾ r ɽ ʀ
LATERAL = 17  # air around the tongue's sides: l ʎ ɬ ɮ
HEIGHT = 18  # graded, vowels: 1 close (i u), 4/6 close-mid (e o), 2/6 open-mid (ɛ ɔ), 0 open (a)
BACKNESS = 19  # graded, vowels: 0 front (i), 0.5 central (ə), 1 back (u)
ROUNDED = 20  # lip rounding: rounded vowels, w ɥ; 0.5 for compressed lips (Japanese ɯᵝ)
LONG = 21  # length mark ː (half-long ˑ too), or a doubled consonant (Italian ss)
DIPHTHONG = 22  # a vowel gliding to another vowel or to an r/l (aɪ, ɐ̃ʊ̃, ɛɹ, əl)
STRESSED = 23  # graded: 1 primary stress ˈ, 0.5 secondary ˌ
N_ARTICULATORY = 24  # columns above; equals JointConfig.n_articulatory

PAUSE = "_"
UNKNOWN = "<unk>"
MAX_SYMBOLS = 126  # JointConfig.n_phonemes 128 keeps 2 ids spare for the model's own tokens

_PRIMARY, _SECONDARY = "ˈ", "ˌ"
_LENGTH = "ːˑ"
# Marks that carry no segment: syllable break, linking, ties, espeak's "-" on unstressed
# French clitics (sə-), and syllabicity (n̩ is an n carrying its syllable).
_DROPPED = ".‿͜͡- \u0329\u030d"
_ALIASES = {"ʲ": "j", "ɫ": "l"}  # espeak's lone palatalisation (Japanese kya); dark l

# Consonant letters: place(s) and manner(s) as feature columns, voiced.
_LAB, _LD, _DEN, _ALV, _PA = BILABIAL, LABIODENTAL, DENTAL, ALVEOLAR, POSTALVEOLAR
_PAL, _DOR, _PV = PALATAL, DORSAL, POSTVELAR
_STOP, _FRIC, _APPR, _TAP, _LAT = STOP, FRICATIVE, APPROXIMANT, TAP_TRILL, LATERAL
_CONSONANTS: dict[str, tuple[tuple[int, ...], tuple[int, ...], bool]] = {
    "p": ((_LAB,), (_STOP,), False), "b": ((_LAB,), (_STOP,), True),
    "t": ((_ALV,), (_STOP,), False), "d": ((_ALV,), (_STOP,), True),
    "ʈ": ((_PA,), (_STOP,), False), "ɖ": ((_PA,), (_STOP,), True),
    "c": ((_PAL,), (_STOP,), False), "ɟ": ((_PAL,), (_STOP,), True),
    "k": ((_DOR,), (_STOP,), False), "ɡ": ((_DOR,), (_STOP,), True),
    "q": ((_DOR, _PV), (_STOP,), False), "ɢ": ((_DOR, _PV), (_STOP,), True),
    "ʔ": ((_PV,), (_STOP,), False),
    "m": ((_LAB,), (_STOP, NASAL), True), "ɱ": ((_LD,), (_STOP, NASAL), True),
    "n": ((_ALV,), (_STOP, NASAL), True), "ɳ": ((_PA,), (_STOP, NASAL), True),
    "ɲ": ((_PAL,), (_STOP, NASAL), True), "ŋ": ((_DOR,), (_STOP, NASAL), True),
    "ɴ": ((_DOR, _PV), (_STOP, NASAL), True),
    "ɸ": ((_LAB,), (_FRIC,), False), "β": ((_LAB,), (_FRIC,), True),
    "f": ((_LD,), (_FRIC,), False), "v": ((_LD,), (_FRIC,), True),
    "θ": ((_DEN,), (_FRIC,), False), "ð": ((_DEN,), (_FRIC,), True),
    "s": ((_ALV,), (_FRIC,), False), "z": ((_ALV,), (_FRIC,), True),
    "ʃ": ((_PA,), (_FRIC,), False), "ʒ": ((_PA,), (_FRIC,), True),
    "ʂ": ((_PA,), (_FRIC,), False), "ʐ": ((_PA,), (_FRIC,), True),
    "ɕ": ((_PA, _PAL), (_FRIC,), False), "ʑ": ((_PA, _PAL), (_FRIC,), True),
    "ç": ((_PAL,), (_FRIC,), False), "ʝ": ((_PAL,), (_FRIC,), True),
    "x": ((_DOR,), (_FRIC,), False), "ɣ": ((_DOR,), (_FRIC,), True),
    "χ": ((_DOR, _PV), (_FRIC,), False), "ʁ": ((_DOR, _PV), (_FRIC,), True),
    "ħ": ((_PV,), (_FRIC,), False), "ʕ": ((_PV,), (_FRIC,), True),
    "h": ((_PV,), (_FRIC,), False), "ɦ": ((_PV,), (_FRIC,), True),
    "ɬ": ((_ALV,), (_FRIC, _LAT), False), "ɮ": ((_ALV,), (_FRIC, _LAT), True),
    "ʋ": ((_LD,), (_APPR,), True), "ɹ": ((_ALV,), (_APPR,), True),
    "ɻ": ((_PA,), (_APPR,), True), "j": ((_PAL,), (_APPR,), True),
    "ɰ": ((_DOR,), (_APPR,), True), "l": ((_ALV,), (_APPR, _LAT), True),
    "ɭ": ((_PA,), (_APPR, _LAT), True), "ʎ": ((_PAL,), (_APPR, _LAT), True),
    "ʟ": ((_DOR,), (_APPR, _LAT), True), "ɾ": ((_ALV,), (_TAP,), True),
    "r": ((_ALV,), (_TAP,), True), "ɽ": ((_PA,), (_TAP,), True),
    "ʀ": ((_DOR, _PV), (_TAP,), True), "ɺ": ((_ALV,), (_TAP, _LAT), True),
    "w": ((_LAB, _DOR), (_APPR,), True), "ʍ": ((_LAB, _DOR), (_FRIC,), False),
    "ɥ": ((_LAB, _PAL), (_APPR,), True),
}  # fmt: skip
_ROUNDED_CONSONANTS = "wʍɥ"
# Retroflexes curl the tongue tip up behind the ridge: half ALVEOLAR keeps each retroflex
# nearer its alveolar (ɳ ~ n, ɭ ~ l) than any other place, and ʂ nearest ʃ.
_RETROFLEX = "ʈɖɳʂʐɻɭɽ"

# Vowel letters: (height, backness, rounded) on the IPA chart's grid.
_VOWELS: dict[str, tuple[float, float, float]] = {
    "i": (1, 0, 0), "y": (1, 0, 1), "ɨ": (1, 0.5, 0), "ʉ": (1, 0.5, 1),
    "ɯ": (1, 1, 0), "u": (1, 1, 1),
    "ɪ": (5 / 6, 0.25, 0), "ʏ": (5 / 6, 0.25, 1), "ᵻ": (5 / 6, 0.5, 0), "ʊ": (5 / 6, 0.75, 1),
    "e": (4 / 6, 0, 0), "ø": (4 / 6, 0, 1), "ɘ": (4 / 6, 0.5, 0), "ɵ": (4 / 6, 0.5, 1),
    "ɤ": (4 / 6, 1, 0), "o": (4 / 6, 1, 1),
    "ə": (3 / 6, 0.5, 0), "ɚ": (3 / 6, 0.5, 0),
    "ɛ": (2 / 6, 0, 0), "œ": (2 / 6, 0, 1), "ɜ": (2 / 6, 0.5, 0), "ɞ": (2 / 6, 0.5, 1),
    "ʌ": (2 / 6, 1, 0), "ɔ": (2 / 6, 1, 1),
    "æ": (1 / 6, 0, 0), "ɐ": (1 / 6, 0.5, 0),
    "a": (0, 0, 0), "ɶ": (0, 0, 1), "ɑ": (0, 1, 0), "ɒ": (0, 1, 1),
}  # fmt: skip
_R_COLOURED = "ɚ"  # ə with an r off-glide built in
_HEIGHT_STEP = 1 / 6  # one row of the vowel chart, for raised/lowered diacritics


class _Segment(NamedTuple):
    """One letter with its diacritics: (24,) features without stress or length."""

    features: np.ndarray
    is_vowel: bool
    letter: str


def normalize(ipa: str) -> tuple[str, bool, bool]:
    """(base symbol without stress or length marks, stressed, long) of one espeak phoneme."""
    text = unicodedata.normalize("NFD", ipa).replace("g", "ɡ")  # espeak writes ASCII g too
    stressed = _PRIMARY in text or _SECONDARY in text
    long = any(mark in text for mark in _LENGTH)
    base = "".join(c for c in text if c not in _DROPPED + _LENGTH + _PRIMARY + _SECONDARY)
    half = len(base) // 2
    if len(base) == 2 * half > 0 and base[:half] == base[half:] and base[0] in _CONSONANTS:
        base, long = base[:half], True  # a geminate (Italian ss) is a long consonant
    return _ALIASES.get(base, base), stressed, long


def _segments(base: str) -> list[_Segment]:
    """Letters of a base symbol with their diacritics folded in; unknown letters are skipped."""
    segments: list[_Segment] = []
    for char in base:
        if char in _CONSONANTS or char in _VOWELS:
            segments.append(_letter(char))
        elif segments:
            segments[-1] = _diacritic(segments[-1], char)
    return segments


def _letter(char: str) -> _Segment:
    row = np.zeros(N_ARTICULATORY, dtype=np.float32)
    if char in _VOWELS:
        height, backness, rounded = _VOWELS[char]
        row[[VOWEL, VOICED]] = 1.0
        row[[HEIGHT, BACKNESS, ROUNDED]] = height, backness, rounded
        if char in _R_COLOURED:
            row[[APPROXIMANT, DIPHTHONG]] = 1.0
        return _Segment(row, True, char)
    places, manners, voiced = _CONSONANTS[char]
    row[list(places) + list(manners)] = 1.0
    row[VOICED] = float(voiced)
    row[ROUNDED] = float(char in _ROUNDED_CONSONANTS)
    if char in _RETROFLEX:
        row[ALVEOLAR] = 0.5
    return _Segment(row, False, char)


def _diacritic(segment: _Segment, mark: str) -> _Segment:
    """A diacritic or modifier letter applied to the segment before it; others ignored."""
    row = segment.features.copy()
    if mark == "\u0303":  # tilde: nasalised
        row[NASAL] = 1.0
    elif mark in "\u031e\u031d" and segment.is_vowel:  # lowered / raised by one chart row
        step = -_HEIGHT_STEP if mark == "\u031e" else _HEIGHT_STEP
        row[HEIGHT] = np.clip(row[HEIGHT] + step, 0.0, 1.0)
    elif mark == "\u0308" and segment.is_vowel:  # diaeresis: centralised (Japanese ä)
        row[BACKNESS] = 0.5
    elif mark == "ᵝ":  # compressed lips, not protruded: half rounding
        row[ROUNDED] = max(row[ROUNDED], 0.5)
    elif mark == "ʷ":
        row[ROUNDED] = 1.0
    elif mark == "ʲ":
        row[PALATAL] = 1.0
    elif mark in "\u0325\u030a":  # ring: voiceless
        row[VOICED] = 0.0
    elif mark == "\u032c":
        row[VOICED] = 1.0
    elif mark == "\u032a" and not segment.is_vowel:  # bridge: dental
        row[[DENTAL, ALVEOLAR]] = 1.0, 0.0
    elif mark == "˞":  # rhotic hook: an r-coloured vowel
        row[[APPROXIMANT, DIPHTHONG]] = 1.0
    return _Segment(row, segment.is_vowel, segment.letter)


def _combine(segments: list[_Segment]) -> np.ndarray:
    """(24,) features of a segment sequence: affricates, diphthongs and r/l off-glides."""
    if len(segments) == 1:
        return segments[0].features.copy()
    vowels = [s for s in segments if s.is_vowel]
    if vowels:
        # A diphthong keeps its first vowel's position (where the mouth starts); the rest
        # adds only nasality and an off-glide's manner (ɛɹ approximant, əl lateral).
        row = vowels[0].features.copy()
        for other in segments[1:]:
            if other.is_vowel:
                row[NASAL] = max(row[NASAL], other.features[NASAL])
            else:
                row[[APPROXIMANT, LATERAL]] = np.maximum(
                    row[[APPROXIMANT, LATERAL]], other.features[[APPROXIMANT, LATERAL]]
                )
        row[DIPHTHONG] = 1.0
        return row
    first, last = segments[0].features, segments[-1].features
    if len(segments) == 2 and first[STOP] and not first[NASAL] and last[FRICATIVE]:
        # An affricate sounds at its fricative's place, voiced like its stop (dʒ, pf).
        row = last.copy()
        row[[STOP, FRICATIVE, AFFRICATE, VOICED]] = 0.0, 0.0, 1.0, first[VOICED]
        return row
    return segments[-1].features.copy()  # espeak's odd clusters (ʰχ): the last letter sounds


def _base_features(base: str) -> np.ndarray | None:
    """(24,) features of a base symbol without stress or length; None if no letter is known."""
    if base == PAUSE:
        row = np.zeros(N_ARTICULATORY, dtype=np.float32)
        row[SILENCE] = 1.0
        return row
    segments = _segments(base)
    return _combine(segments) if segments else None


# Symbols espeak-ng produces for en-us, de, fr-fr, es, it, pt-br and ja (from their phoneme
# tables and spoken sentences, stress and length removed), plus a few close relatives.
_SYMBOLS = (
    PAUSE, UNKNOWN,
    # stops, affricates, nasals
    "p", "b", "t", "d", "k", "ɡ", "q", "c", "ɟ", "ʔ",
    "ts", "dz", "tʃ", "dʒ", "tɕ", "dʑ", "pf",
    "m", "n", "ŋ", "ɲ", "ɴ",
    # fricatives
    "f", "v", "θ", "ð", "s", "z", "ʃ", "ʒ", "ɕ", "ʑ", "ç", "ʝ", "x", "ɣ", "χ", "ʁ", "h",
    "ɸ", "β",
    # approximants, taps and trills
    "j", "w", "ʍ", "ɥ", "ɹ", "l", "ʎ", "ʋ", "r", "ɾ", "ɽ", "ʀ",
    # vowels
    "i", "y", "ɪ", "ʏ", "e", "e̞", "ø", "ɛ", "œ", "æ", "a", "ä", "ɐ", "ə", "ɜ", "ɚ",
    "ᵻ", "ɨ", "ʉ", "ɯ", "ɯᵝ", "u", "ʊ", "o", "o̞", "ɔ", "ɑ", "ɒ", "ʌ", "ɵ",
    "ɑ̃", "ɔ̃", "ɛ̃", "œ̃", "ɐ̃", "ẽ", "ĩ", "õ", "ũ",
    # diphthongs
    "aɪ", "aʊ", "eɪ", "oʊ", "ɔɪ", "əʊ", "eʊ", "ɛɪ", "ɛʊ", "iʊ", "uɪ", "oɪ", "ɔø",
    "iɐ", "ʊɐ", "iə", "aɪə", "aɪɚ", "ɐ̃ʊ̃", "õɪ̃",
    # vowels with an r or l off-glide (American English, Portuguese)
    "ɑɹ", "ɔɹ", "ɛɹ", "ɪɹ", "ʊɹ", "əɹ", "ʌɹ", "aɪʊɹ", "əl", "il",
)  # fmt: skip

# Viseme classes: mouth shapes a viewer tells apart; the video head pools phonemes into these.
VISEMES = (
    "silence",  # 0: pause, mouth at rest
    "bilabial",  # 1: lips closed: p b m ɸ β
    "labiodental",  # 2: lower lip under the teeth: f v ʋ pf
    "dental",  # 3: tongue between the teeth: θ ð
    "alveolar",  # 4: tongue tip up, teeth near: t d n s z l ts dz ʎ
    "postalveolar",  # 5: lips pushed out: ʃ ʒ tʃ dʒ ɕ ʑ
    "back",  # 6: lips neutral, tongue back: k ɡ ŋ x ʁ h ʔ ç ɲ
    "r",  # 7: r-like: ɹ r ɾ ɽ ʀ
    "open",  # 8: jaw open: a ɑ æ ɐ
    "mid",  # 9: half open, lips spread: e ɛ ə ɜ ʌ
    "close_spread",  # 10: i ɪ ɯ, and j
    "close_rounded",  # 11: u ʊ y ʏ ɯᵝ, and w ɥ
    "mid_rounded",  # 12: o ɔ ø œ ɒ
)
N_VISEMES = len(VISEMES)
_CLOSE = 0.75  # height from which a vowel counts as close (near-close ɪ ʊ at 5/6 included)
_MID = 0.3  # height from which it counts as mid (open-mid ɛ ɔ at 2/6 included)


def _viseme(row: np.ndarray) -> int:
    """Viseme class of (24,) features (the first vowel decides for a diphthong)."""
    if row[SILENCE]:
        return 0
    rounded = row[ROUNDED] >= 0.5
    if row[VOWEL]:
        if rounded:
            return 11 if row[HEIGHT] >= _CLOSE else 12
        return 10 if row[HEIGHT] >= _CLOSE else 9 if row[HEIGHT] >= _MID else 8
    glide = row[APPROXIMANT] and not row[LATERAL]
    if glide and rounded:
        return 11
    if row[BILABIAL]:
        return 1
    if row[LABIODENTAL]:
        return 2
    if row[DENTAL]:
        return 3
    if row[TAP_TRILL] or (glide and (row[ALVEOLAR] or row[POSTALVEOLAR]) and not row[PALATAL]):
        return 7
    if row[LATERAL]:
        return 4
    if row[POSTALVEOLAR]:
        return 5
    if row[ALVEOLAR]:
        return 4
    return 10 if glide and row[PALATAL] else 6


# Nearest-neighbour weights: the major class (silence, vowel) outweighs any place or manner
# difference, and stress and length are properties of the token, not of the symbol.
_WEIGHTS = np.ones(N_ARTICULATORY, dtype=np.float32)
_WEIGHTS[[SILENCE, VOWEL]] = 4.0
_WEIGHTS[[LONG, STRESSED]] = 0.0


@dataclass(frozen=True)
class PhonemeInventory:
    """Base IPA symbols with ids; index 0 is the pause, 1 the unknown symbol."""

    symbols: tuple[str, ...]  # NFD, stress and length removed; symbols[0] = "_", [1] = "<unk>"
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)
    _table: np.ndarray = field(init=False, repr=False, compare=False)  # (S, 24)

    def __post_init__(self) -> None:
        symbols = tuple(unicodedata.normalize("NFD", s) for s in self.symbols)
        if symbols[:2] != (PAUSE, UNKNOWN) or len(set(symbols)) != len(symbols):
            raise ValueError("symbols must start with '_' and '<unk>' and hold no duplicates")
        if len(symbols) > MAX_SYMBOLS:
            raise ValueError(f"{len(symbols)} symbols exceed the model's {MAX_SYMBOLS}")
        rows = [_base_features(s) if s != UNKNOWN else np.zeros(N_ARTICULATORY, np.float32)
                for s in symbols]  # fmt: skip
        missing = [s for s, row in zip(symbols, rows, strict=True) if row is None]
        if missing:
            raise ValueError(f"symbols without a known IPA letter: {', '.join(missing)}")
        object.__setattr__(self, "symbols", symbols)
        object.__setattr__(self, "_ids", {s: i for i, s in enumerate(symbols)})
        object.__setattr__(self, "_table", np.stack(rows))  # type: ignore[arg-type]

    def lookup(self, ipa: str) -> int | None:
        """The id of a phoneme whose base symbol is in the inventory, else None."""
        return self._ids.get(normalize(ipa)[0])

    def index(self, ipa: str) -> int:
        """The id of a phoneme; an unseen one gets its nearest symbol by features, else 1."""
        base = normalize(ipa)[0]
        if base in self._ids:
            return self._ids[base]
        row = _base_features(base)
        if row is None:
            return 1
        distance = (np.abs(self._table - row) * _WEIGHTS).sum(axis=1)  # (S,)
        distance[1] = np.inf  # "<unk>" is no neighbour
        return int(np.argmin(distance))  # ties: the earlier, commoner symbol

    def features(self, ipa: str) -> np.ndarray:
        """(24,) float32 features of a phoneme, stress and length included; unknown: zeros."""
        base, _, long = normalize(ipa)
        row = self._table[self._ids[base]].copy() if base in self._ids else _base_features(base)
        if row is None:
            return np.zeros(N_ARTICULATORY, dtype=np.float32)
        row[LONG] = float(long)
        row[STRESSED] = 1.0 if _PRIMARY in ipa else 0.5 if _SECONDARY in ipa else 0.0
        return row

    def viseme(self, ipa: str) -> int:
        """Viseme class id (see VISEMES) of a phoneme; unknown symbols count as "back"."""
        base = normalize(ipa)[0]
        row = self._table[self._ids[base]] if base in self._ids else _base_features(base)
        return 6 if row is None else _viseme(row)

    @property
    def n_visemes(self) -> int:
        return N_VISEMES

    def split(self, ipa: str) -> tuple[str, ...]:
        """A word's IPA cut into phonemes: longest inventory match, stress kept on its phoneme."""
        text = unicodedata.normalize("NFD", ipa).replace("g", "ɡ")
        text = "".join(c for c in text if c not in ".‿͜͡- ")
        longest = max(map(len, self._ids))
        out: list[str] = []
        stress = ""
        i = 0
        while i < len(text):
            if text[i] in _PRIMARY + _SECONDARY:
                stress, i = text[i], i + 1
                continue
            attached = text[i] in _LENGTH or _is_mark(text[i])
            if out and attached and normalize(text[i])[0] not in self._ids:
                out[-1] += text[i]  # a length mark or diacritic; espeak's lone ʲ stands alone
                i += 1
                continue
            size = next(
                (n for n in range(longest, 1, -1) if _strip_length(text[i : i + n]) in self._ids),
                1,
            )
            out.append(stress + text[i : i + size])
            stress, i = "", i + size
        return tuple(out)


def _is_mark(char: str) -> bool:
    return unicodedata.combining(char) > 0 or unicodedata.category(char) == "Lm"


def _strip_length(chunk: str) -> str:
    """A chunk without length marks inside (ɔːɹ matches ɔɹ), unless it ends with one."""
    return "" if chunk[-1:] in _LENGTH else "".join(c for c in chunk if c not in _LENGTH)


INVENTORY = PhonemeInventory(_SYMBOLS)
