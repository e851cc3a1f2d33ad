"""Source script ↔ dialogue audio: word and phoneme timings of every line, with a confidence.

No pretrained aligner is available, so each line is spoken by espeak-ng (whose phoneme timings
are known) and that rendition is warped onto the actor's audio by dynamic time warping (DTW) on
MFCCs normalised per stretch of audio, so that another voice in another room still matches;
espeak's phoneme boundaries are carried through the warping path. Pauses between lines and
words may last any time. Lines with a given ``start``/``end`` are searched in that window ± a
margin; runs of lines without times together, between their timed neighbours. Boundaries are
then re-placed on the actor's own audio by phone models learnt from the clip (align_hmm.py).

Confidence: a line's DTW cost against the cost of its own phonemes in a shuffled order warped
onto the same stretch. The right text gains a lot over its shuffle; a wrong text about nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from localize.align_hmm import (
    EPS,
    FRAME_S,
    PAUSE,
    DtwSteps,
    RefineOptions,
    Segment,
    distances,
    dtw,
    features,
    join_renditions,
    normalise,
    refine,
    resample,
    search_windows,
    shuffled_phonemes,
)
from localize.errors import LocalizeError
from localize.lexicon import Lexicon
from localize.phonemes import Speech, normalize_ipa, synthesize

__all__ = [
    "AlignOptions",
    "Alignment",
    "AlignmentError",
    "DtwSteps",
    "LineAlignment",
    "RefineOptions",
    "ScriptLine",
    "TimedUnit",
    "align",
]

QUIET_DB = 10.0  # frames within this of the noise floor are silence, not a line's edge
NULL_SLACK = 10  # frames either side of a found line that its null rendition may use
N_NULLS = 3  # shuffles averaged for the null cost; one alone is noisy


class AlignmentError(LocalizeError):
    """The script could not be aligned to the audio; the message names the lines and times."""


@dataclass(frozen=True)
class ScriptLine:
    """One line of the script to align; ``start`` and ``end`` (seconds), when both are given,
    narrow the search to that slot ± AlignOptions.margin."""

    id: str
    text: str
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class TimedUnit:
    """A word or phoneme on the clip timeline (seconds)."""

    label: str
    start: float
    end: float


@dataclass(frozen=True)
class LineAlignment:
    """One aligned line: its span, words and spoken phonemes (pauses left out), a confidence."""

    id: str
    start: float
    end: float
    words: tuple[TimedUnit, ...]
    phonemes: tuple[TimedUnit, ...]
    # 0: the text fits no better than its own phonemes shuffled; 1: far better (see AlignOptions)
    confidence: float


@dataclass(frozen=True)
class Alignment:
    """Every line of the script timed on the audio, in script order."""

    lines: tuple[LineAlignment, ...]
    min_confidence: float = 0.0  # lines below it are doubtful (see ``doubtful``)

    @property
    def doubtful(self) -> tuple[LineAlignment, ...]:
        """Lines whose audio may not be their text: a finding for QA, each with id and times."""
        return tuple(x for x in self.lines if x.confidence < self.min_confidence)


@dataclass(frozen=True)
class AlignOptions:
    """How align() searches; the defaults were tuned on bench/eval_align.py."""

    margin: float = 0.5  # seconds searched either side of a line's given start/end (slot slop)
    gap: float = 0.15  # silence put between lines of a run found together, where actors breathe
    # How far the actor's pace may differ from espeak's.
    steps: DtwSteps = field(default_factory=DtwSteps)
    # Price per frame of speech outside the script's lines, as a quantile of all distances
    # between espeak's frames and the actor's: above what a matching phoneme costs.
    filler_quantile: float = 20.0
    silence_db: float = -50.0  # frames quieter than this (dBFS) are not speech
    # Lines below it are doubtful (Alignment.doubtful); when most lines are, the script does
    # not match the audio and align raises. Measured: right lines 0.33-1.0, wrong ones mostly
    # under 0.15 but a few up to 0.5 on real speech, so a pass is no proof.
    min_confidence: float = 0.25
    # Saving in squared DTW cost over the shuffled-phoneme null that counts as full confidence.
    full_confidence_gain: float = 0.3
    # Boundary refinement on the actor's audio; n_iter=0 keeps the DTW's boundaries.
    refine: RefineOptions = field(default_factory=RefineOptions)
    espeak_rate: float = 1.0  # espeak's speaking rate for the reference rendition


def align(
    lines: Sequence[ScriptLine],
    audio: np.ndarray,
    sample_rate: int,
    lang: str,
    lexicon: Lexicon | None = None,
    opts: AlignOptions = AlignOptions(),
) -> Alignment:
    """Time every line's words and phonemes in ``audio`` (N,) mono at ``sample_rate``.

    Float samples in [-1, 1] are expected. A run of lines without times is assumed to be all that
    is said in its stretch of audio (between its timed neighbours, or the audio's ends); extra
    speech there (lines missing from the script) can misplace them: give such lines start/end.

    Raises AlignmentError when the audio is silent where a line should be (naming the lines),
    when a line has no speakable text or an impossible window, or when most lines' confidence
    is below ``opts.min_confidence`` (the wrong clip or script; each such line is named with
    where it was found). Fewer such lines are returned, listed in ``Alignment.doubtful``.
    """
    _check_input(lines, audio, sample_rate)
    x = resample(np.asarray(audio, dtype=np.float32), sample_rate)
    feats, level = features(x)  # (T, N_CEPS), (T,)
    loud = level > opts.silence_db
    n_frames = len(feats)
    speeches = [_speak(line, lang, lexicon, opts) for line in lines]
    drafts: list[_Draft] = []
    problems: list[str] = []
    slots = [(line.start, line.end) for line in lines]
    for group, (lo, hi) in search_windows(slots, n_frames, opts.margin):
        group_lines = [lines[k] for k in group]
        if not loud[lo:hi].any():
            ids = ", ".join(line.id for line in group_lines)
            problems.append(
                f"{ids}: no speech in the audio between {lo * FRAME_S:.2f} s and "
                f"{hi * FRAME_S:.2f} s (all quieter than {opts.silence_db:g} dBFS)"
            )
            continue
        drafts.extend(
            _align_group(group_lines, [speeches[k] for k in group], feats, level, lo, hi, opts)
        )
    if problems:
        raise AlignmentError("silent audio where lines should be:\n" + "\n".join(problems))
    if opts.refine.n_iter:
        drafts = _refined(drafts, normalise(feats, level), opts)
    aligned = [_finish(d) for d in drafts]
    result = Alignment(tuple(aligned), opts.min_confidence)
    if 2 * len(result.doubtful) > len(aligned):
        found = "\n".join(
            f"{a.id}: confidence {a.confidence:.2f} at {a.start:.2f}-{a.end:.2f} s"
            for a in result.doubtful
        )
        raise AlignmentError(
            f"the script does not match the audio: {len(result.doubtful)} of {len(aligned)} "
            f"lines have confidence below {opts.min_confidence:g} (wrong clip or wrong "
            f"script?):\n{found}"
        )
    return result


def _check_input(lines: Sequence[ScriptLine], audio: np.ndarray, sample_rate: int) -> None:
    if not lines:
        raise AlignmentError("no script lines to align")
    if np.ndim(audio) != 1:
        raise AlignmentError(f"audio must be mono with shape (N,), got shape {np.shape(audio)}")
    if sample_rate <= 0:
        raise AlignmentError(f"sample_rate must be > 0, got {sample_rate}")
    if not np.isfinite(audio).all():
        raise AlignmentError("audio contains NaN or infinite samples")
    duration = len(audio) / sample_rate
    if duration < 0.1:
        raise AlignmentError(f"audio is {duration:.3f} s long: too short to align any line")
    for line in lines:
        if not line.text.strip():
            raise AlignmentError(f"line {line.id}: empty text")
        if line.start is not None and line.end is not None and line.end <= line.start:
            raise AlignmentError(
                f"line {line.id}: end {line.end} s is not after start {line.start} s"
            )
        if line.start is not None and line.start >= duration:
            raise AlignmentError(
                f"line {line.id}: start {line.start} s is past the audio's end ({duration:.2f} s)"
            )


def _speak(line: ScriptLine, lang: str, lexicon: Lexicon | None, opts: AlignOptions) -> Speech:
    try:
        speech = synthesize(line.text, lang, lexicon, rate=opts.espeak_rate).trimmed()
    except LocalizeError as exc:
        raise AlignmentError(f"line {line.id}: cannot speak its text: {exc}") from exc
    if not any(not p.is_pause for p in speech.phonemes.phonemes):
        raise AlignmentError(f"line {line.id}: no phonemes in {line.text!r}")
    return speech


def _align_group(
    group: list[ScriptLine],
    speeches: list[Speech],
    feats: np.ndarray,
    level: np.ndarray,
    lo: int,
    hi: int,
    opts: AlignOptions,
) -> list[_Draft]:
    """Warp the lines' espeak renditions (joined by short silences) onto frames lo..hi."""
    ref_audio, offsets, loops = join_renditions(speeches, opts.gap)
    ref = normalise(*features(ref_audio))  # (S, D)
    loops = loops[: len(ref)]
    window = normalise(feats[lo:hi], level[lo:hi])  # (W, D)
    # An optional pause between words: one silence row (from the leading gap) that the path may
    # hold for any length or pass by, since actors pause where espeak does not.
    at = np.array(
        [
            (offset + w.start) / FRAME_S
            for speech, offset in zip(speeches, offsets, strict=True)
            for w in speech.phonemes.words[1:]
            if w.end > w.start
        ]
    )  # (K,) positions in espeak frames
    where = np.ceil(at).astype(int)
    rows = np.insert(np.arange(len(ref), dtype=np.float64), where, at)  # espeak frame of each row
    pause = np.insert(np.zeros(len(ref), dtype=bool), where, True)
    # The silence before the first line and after the last also stands for any other speech in
    # the window (a neighbour's tail, lines not in the script) at a fixed price per frame.
    end = (offsets[-1] + speeches[-1].duration) / FRAME_S
    filler = (rows < offsets[0] / FRAME_S) | (rows > end)
    price = np.percentile(distances(ref, window), opts.filler_quantile)
    first, last, costs = dtw(
        np.insert(ref, where, ref[0], axis=0),
        window,
        np.insert(loops, where, True),
        pause,
        opts.steps,
        cap=np.where(filler, price, np.inf),
    )
    used = first >= 0  # rows not passed by
    # A row spans first..last (only held rows span more than one frame). Just before a held pause
    # row is where the word before it ends, just after it where the next one starts.
    tiny = 1e-3
    xp = np.stack([rows - tiny, rows + tiny], axis=1)[used].ravel()
    fp = np.stack([first - 0.5 * pause, last + 0.5 * pause], axis=1)[used].ravel()

    def warp(t: np.ndarray) -> np.ndarray:
        """espeak time (s, in the joined rendition) -> clip time (s)."""
        return (lo + np.interp(t / FRAME_S, xp, fp)) * FRAME_S

    out = []
    for line, speech, offset in zip(group, speeches, offsets, strict=True):
        a, b = round(offset / FRAME_S), min(round((offset + speech.duration) / FRAME_S), len(ref))
        mine = (rows >= a) & (rows < b) & used & ~pause
        # The null: this line's phonemes shuffled, warped onto the stretch the line was found in.
        span = window[max(0, first[mine][0] - NULL_SLACK) : last[mine][-1] + NULL_SLACK]
        null = [
            _match_cost(ref, loops, shuffled_phonemes(speech, offset, a, b, seed), span, opts)
            for seed in range(N_NULLS)
        ]
        gain = 1.0 - float((costs[mine] ** 2).mean()) / max(float(np.mean(null)), EPS)
        confidence = float(np.clip(gain / opts.full_confidence_gain, 0.0, 1.0))
        draft = _draft(line, speech, offset, warp, confidence)
        out.append(_off_silence(draft, level, opts.silence_db))
    return out


def _match_cost(
    ref: np.ndarray, loops: np.ndarray, order: np.ndarray, span: np.ndarray, opts: AlignOptions
) -> float:
    """Mean squared distance of ref rows ``order`` warped onto a stretch of ``span``."""
    none = np.zeros(len(order), dtype=bool)
    _, _, costs = dtw(ref[order], span, loops[order], none, opts.steps, free_ends=True)
    return float((costs**2).mean())


def _off_silence(d: _Draft, level: np.ndarray, silence_db: float) -> _Draft:
    """The line's first start and last end moved off frames (T,) at the noise floor.

    DTW has no reason to prefer silence over the quiet onset of espeak's first phoneme, so a
    line's edges can creep into the silence around it.
    """
    starts, ends = d.starts.copy(), d.ends.copy()
    floor = max(float(np.percentile(level, 5)), silence_db) + QUIET_DB
    f = round(starts[0] / FRAME_S)
    while f < len(level) and level[f] < floor and (f + 1) * FRAME_S < ends[0]:
        f += 1
    starts[0] = max(starts[0], (f - 0.5) * FRAME_S)
    f = round(ends[-1] / FRAME_S)
    while f > 0 and level[min(f, len(level) - 1)] < floor and (f - 1) * FRAME_S > starts[-1]:
        f -= 1
    ends[-1] = min(ends[-1], (f + 0.5) * FRAME_S)
    return replace(d, starts=starts, ends=ends)


@dataclass(frozen=True)
class _Draft:
    """A line on its way to a LineAlignment: phoneme times still to be refined."""

    line: ScriptLine
    labels: tuple[str, ...]  # spoken phonemes, espeak's IPA
    word_of: tuple[int, ...]  # index into ``words`` per phoneme
    words: tuple[str, ...]
    starts: np.ndarray  # (P,) seconds on the clip
    ends: np.ndarray  # (P,)
    confidence: float


def _draft(line: ScriptLine, speech: Speech, offset: float, warp, confidence: float) -> _Draft:
    spoken = [p for p in speech.phonemes.phonemes if not p.is_pause]
    # Just after a phoneme's start and just before its end, so a pause held between two words
    # goes to neither (see the warp's sample points in _align_group).
    nudge = 1e-3 * FRAME_S
    starts = warp(offset + np.array([p.start for p in spoken]) + nudge)
    ends = warp(offset + np.array([p.start + p.duration for p in spoken]) - nudge)
    words = tuple(w.text for w in speech.phonemes.words)
    labels = tuple(p.ipa for p in spoken)
    return _Draft(line, labels, tuple(p.word for p in spoken), words, starts, ends, confidence)


def _refined(drafts: list[_Draft], feats: np.ndarray, opts: AlignOptions) -> list[_Draft]:
    """Phoneme boundaries re-placed on the actor's audio by phone models learnt from the clip."""
    edge = 2 * opts.refine.radius  # frames of silence either side of a line
    lines = []
    for d in drafts:
        # Boundary at time t is the edge between frames b - 1 and b: t = (b - 0.5) * FRAME_S.
        b_start = np.round(d.starts / FRAME_S + 0.5).astype(int)
        b_end = np.round(d.ends / FRAME_S + 0.5).astype(int)
        segs = [Segment(PAUSE, max(0, b_start[0] - edge), b_start[0])]
        for k, label in enumerate(d.labels):
            start = max(b_start[k], segs[-1].end)
            if start > segs[-1].end:
                segs.append(Segment(PAUSE, segs[-1].end, start))
            segs.append(Segment(normalize_ipa(label), start, max(b_end[k], start)))
        segs.append(Segment(PAUSE, segs[-1].end, min(len(feats), segs[-1].end + edge)))
        lines.append(segs)
    out = []
    for d, before, after in zip(drafts, lines, refine(feats, lines, opts.refine), strict=True):
        old = [s for s, kept in zip(before, _spoken_mask(before), strict=True) if kept]
        new = [s for s, kept in zip(after, _spoken_mask(after), strict=True) if kept]

        def moved(a: list[int], b: list[int], times: np.ndarray) -> np.ndarray:
            """Times of boundaries the refinement moved; the DTW's finer ones where it did not."""
            a_, b_ = np.array(a), np.array(b)
            return np.where(a_ == b_, times, (b_ - 0.5) * FRAME_S)

        starts = moved([s.start for s in old], [s.start for s in new], d.starts)
        ends = moved([s.end for s in old], [s.end for s in new], d.ends)
        out.append(replace(d, starts=starts, ends=ends))
    return out


def _spoken_mask(segs: list[Segment]) -> list[bool]:
    """Which of a line's segments are its phonemes: all but the pauses _refined put in."""
    return [0 < k < len(segs) - 1 and s.label != PAUSE for k, s in enumerate(segs)]


def _finish(d: _Draft) -> LineAlignment:
    phonemes = tuple(
        TimedUnit(label, float(s), float(e))
        for label, s, e in zip(d.labels, d.starts, d.ends, strict=True)
    )
    words = []
    end = phonemes[0].start
    for index, text in enumerate(d.words):
        mine = [u for w, u in zip(d.word_of, phonemes, strict=True) if w == index]
        # espeak may voice a word within its neighbour ("of the"): it gets no time of its own.
        start, end = (mine[0].start, mine[-1].end) if mine else (end, end)
        words.append(TimedUnit(text, start, end))
    return LineAlignment(
        d.line.id, phonemes[0].start, phonemes[-1].end, tuple(words), phonemes, d.confidence
    )
