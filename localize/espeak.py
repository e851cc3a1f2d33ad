"""libespeak-ng through ctypes: synthesis with phoneme events, voices, phoneme tables."""

from __future__ import annotations

import ctypes
import os
import struct
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import espeakng_loader
import numpy as np

from localize.errors import PhonemeError

RATE_WPM = 175  # espeakRATE_NORMAL: espeak's default speaking rate
RATE_LIMITS_WPM = (80, 450)  # espeakRATE_MINIMUM, espeakRATE_MAXIMUM
_STRESS_MARKS = "ˈˌ"
_CUT = "\ufffd"  # appended to an IPA that filled espeak's 8-byte event field: maybe cut short


@dataclass(frozen=True)
class Voice:
    name: str  # for espeak_SetVoiceByName, which knows some voices only without their region
    phonemizer: str  # the same voice as phonemizer lists it (by language code)
    table: str  # phoneme table the voice reads: its "phonemes" line, else its language


def nfd(ipa: str) -> str:
    # One spelling per symbol: decomposed diacritics, and the IPA g (U+0261) espeak writes.
    return unicodedata.normalize("NFD", ipa).replace("g", "ɡ")


def variant(name: str) -> str:
    known = sorted(p.name for p in Path(espeakng_loader.get_data_path(), "voices", "!v").iterdir())
    if name not in known:
        raise PhonemeError(
            f"voice variant {name!r} is not in espeak-ng; one of: {', '.join(known)}"
        )
    return name


# --- libespeak-ng through ctypes --------------------------------------------------------------
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_FLAGS = 0x0001 | 0x0002 | 0x8000  # PHONEME_EVENTS | PHONEME_IPA | DONT_EXIT
_POS_CHARACTER = 1
_SYNTH_FLAGS = 0x1 | 0x100  # espeakCHARS_UTF8 | espeakPHONEMES (reads [[...]] as phonemes)
_PARAM_RATE, _PARAM_PITCH, _PARAM_RANGE = 1, 3, 4
_EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_PHONEME = 0, 1, 7
Event = tuple[int, int, int, str]  # (event type, text position from 1, sample, ipa)


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


LOCK = threading.RLock()  # libespeak-ng is one global state: every call goes through this
_captured: tuple[list[np.ndarray], list[Event]] = ([], [])  # what one espeak_Synth hands over


def _collect(wav: ctypes._Pointer, n_samples: int, events: ctypes._Pointer) -> int:
    if n_samples > 0 and wav:
        _captured[0].append(np.ctypeslib.as_array(wav, shape=(n_samples,)).copy())
    i = 0
    while events[i].type != _EVENT_LIST_TERMINATED:
        event, ipa = events[i], ""
        if event.type == EVENT_PHONEME:  # 8 bytes, NUL-terminated only when shorter
            raw = ctypes.string_at(ctypes.addressof(event.id), 8)
            ipa = raw.split(b"\0")[0].decode("utf-8", "replace").rstrip(_CUT)
            ipa += "" if b"\0" in raw else _CUT
        _captured[1].append((event.type, event.text_position, event.sample, ipa))
        i += 1
    return 0  # go on synthesizing


_SYNTH_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_EspeakEvent)
)(_collect)  # module-level, so it lives as long as the library may call it


class Engine:
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
        self, voice: str, text: str, params: tuple[int, int, int] = (RATE_WPM, 50, 50)
    ) -> tuple[np.ndarray, list[Event]]:
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


_ENGINE: list[Engine] = []  # at most one, created on first use (and again in a forked child)


def engine() -> Engine:
    if not _ENGINE or _ENGINE[0].pid != os.getpid():
        _ENGINE[:] = [Engine()]
    return _ENGINE[0]


# --- a voice's IPA -> espeak phoneme mnemonics ------------------------------------------------
# espeak reads no IPA, only its own mnemonics inline as [[...]]. A voice's mnemonics are read
# from its compiled phoneme tables and spoken in a few frames; the IPA events they produce are
# the voice's IPA -> mnemonic table, so a converted word is exact wherever the table is.
_FRAMES = ("{}", "'a|{}|a", "{}|'a", "'a|t|{}", "t|'{}|t|a")  # alone; unstressed; stressed
_SPOKEN_TYPES = range(2, 9)  # phVOWEL .. phNASAL; not pauses, stress or virtual phonemes
_VOWEL_TYPE = 2
_MNEMONIC_TABLES: dict[str, dict[str, tuple[str, bool]]] = {}  # table -> ipa -> (mnemonic, vowel)


def mnemonic_table(voice: Voice) -> dict[str, tuple[str, bool]]:
    """The voice's IPA -> (mnemonic, is vowel); the mnemonic saying an IPA in most frames wins."""
    if voice.table in _MNEMONIC_TABLES:
        return _MNEMONIC_TABLES[voice.table]
    speaker = engine()
    defined = inventory(speaker.data_path / "phontab", voice.table)
    said: dict[tuple[str, str], int] = {}  # (ipa, mnemonic) -> frames in which it came out so
    for mnemonic, _ in defined:
        heard: list[str] = []
        for frame in _FRAMES:
            slot = next(i for i, part in enumerate(frame.split("|")) if "{}" in part)
            _, events = speaker.speak(voice.name, f"[[{frame.replace('{}', mnemonic)}]]")
            ipas = [ipa for kind, _, _, ipa in events if kind == EVENT_PHONEME and ipa]
            if len(ipas) == frame.count("|") + 1:
                heard.append("".join(c for c in nfd(ipas[slot]) if c not in _STRESS_MARKS))
        for ipa in heard:  # a stressed IPA may be cut where the unstressed one fits
            stem = ipa.removesuffix(_CUT)
            whole = (h.removesuffix(_CUT) for h in heard if h.startswith(stem))
            key = max(whole, key=len) if ipa.endswith(_CUT) else ipa
            if all(unicodedata.category(c)[0] in "LM" for c in key):  # not espeak's "r." etc.
                said[key, mnemonic] = said.get((key, mnemonic), 0) + 1
    order = {mnemonic: rank for rank, (mnemonic, _) in enumerate(defined)}
    is_vowel = dict(defined)
    table: dict[str, tuple[str, bool]] = {}
    for key, mnemonic in sorted(said, key=lambda km: (-said[km], order[km[1]])):
        table.setdefault(key, (mnemonic, is_vowel[mnemonic]))
    _MNEMONIC_TABLES[voice.table] = table
    return table


def uncut(ipa: str, voice: Voice) -> str:
    """An IPA espeak cut at 8 bytes, completed from the voice's table (ˈɐ̃ʊ -> ˈɐ̃ʊ̃)."""
    if not ipa.endswith(_CUT):
        return ipa
    stress = ipa[:1] if ipa[:1] in _STRESS_MARKS else ""
    stem = nfd(ipa[len(stress) : -1])
    whole = sorted((key for key in mnemonic_table(voice) if key.startswith(stem)), key=len)
    return stress + (whole[0] if whole else stem)


def inventory(phontab: Path, name: str) -> list[tuple[str, bool]]:
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
