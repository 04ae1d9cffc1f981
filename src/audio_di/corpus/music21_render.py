"""Real music from the music21 corpus, rendered offline to audio clips with a GM SoundFont.

An artist is a composer or a tune collection in the corpus that ships inside the music21 wheel.
A work is one score file, or one tune (one `X:` block) of an ABC collection file. Every part of
every work of an artist is played on the artist's General-MIDI program(s), so that the timbre is
consistent within an artist and differs between artists.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import midirenderer
import music21
import numpy as np
import pandas as pd
import soundfile as sf
from music21 import converter, harmony, instrument, key, meter, midi, repeat, stream, tempo
from tqdm import tqdm

from audio_di.audio import audio_sha256, is_silent, resample, segment, to_mono, write_flac
from audio_di.corpus.artists import Artist, get_artist
from audio_di.seeding import named_rng
from audio_di.tables import CORPUS_MANIFEST, FAILURES

log = logging.getLogger(__name__)

CORPUS_ROOT = Path(music21.__file__).parent / "corpus"

PEAK = 0.9


@dataclass(frozen=True)
class Work:
    artist: str
    work_id: str  # "<artist>/<file stem>" or "<artist>/<file stem>#<X number>"
    slug: str  # filesystem-safe form of the part after "<artist>/", free of "__"
    source: str  # file path relative to the corpus root
    number: int | None  # the tune's X: number in an ABC collection file
    title: str


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")


_INFO_FIELD = re.compile(r"^[A-Za-z]:")
_MUSIC_FIELD = re.compile(r"^[KLMQV]:")


def _abc_music(text: str) -> str:
    """The lines of a tune that shape its sound: no title, remark, source or comment lines."""
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(
        line
        for line in lines
        if line
        and not line.startswith("%")
        and (_MUSIC_FIELD.match(line) or not _INFO_FIELD.match(line))
    )


def _abc_field(text: str, field: str) -> str | None:
    match = re.search(rf"^{field}:(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


@cache
def _abc_tunes(source: str) -> dict[int, str]:
    """X: number -> tune text, from one scan of the file (no music21 parsing)."""
    lines = (CORPUS_ROOT / source).read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.lstrip().startswith("X:")]
    tunes: dict[int, str] = {}
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        # The first of two tunes with one number wins, as in music21's own lookup.
        tunes.setdefault(int(lines[start].lstrip()[2:]), "".join(lines[start:end]))
    return tunes


def _book_number(text: str, number: int) -> int:
    book = _abc_field(text, "B") or ""
    match = re.search(r"(\d+)\D*$", book)
    return int(match.group(1)) if match else number


@cache
def _works_of(key: str) -> tuple[Work, ...]:
    artist = get_artist(key)
    works: list[Work] = []
    seen: set[str] = set()  # work ids, ABC music hashes and book numbers already listed

    def add(work: Work, *identities: str) -> None:
        if seen.isdisjoint((work.work_id, *identities)):
            seen.update((work.work_id, *identities))
            works.append(work)

    for pattern in artist.sources:
        for path in sorted(CORPUS_ROOT.glob(pattern)):
            if any(path.match(skip) for skip in artist.exclude):
                continue
            source = path.relative_to(CORPUS_ROOT).as_posix()
            if artist.collection:
                for number, text in _abc_tunes(source).items():
                    name = f"{path.stem}#{number}"
                    identities = [hashlib.sha1(_abc_music(text).encode()).hexdigest()]
                    if artist.book_numbers:
                        identities.append(f"book:{_book_number(text, number)}")
                    title = _abc_field(text, "T") or name
                    work = Work(key, f"{key}/{name}", _slug(name), source, number, title)
                    add(work, *identities)
            elif path.suffix == ".abc":
                text = path.read_text(encoding="utf-8")
                title = _abc_field(text, "T") or path.stem
                work = Work(key, f"{key}/{path.stem}", _slug(path.stem), source, None, title)
                add(work, hashlib.sha1(_abc_music(text).encode()).hexdigest())
            else:
                add(Work(key, f"{key}/{path.stem}", _slug(path.stem), source, None, path.stem))
    slugs = [w.slug for w in works]
    if len(set(slugs)) != len(slugs):
        raise RuntimeError(f"{key}: two works share a slug")
    return tuple(works)


def list_works(artist: str) -> list[Work]:
    """Every distinct work of an artist, in corpus order (sorted files, then tune order)."""
    return list(_works_of(artist))


@cache
def _soundfont() -> bytes:
    # Located without importing pretty_midi, whose import pulls in its fluidsynth bindings.
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pretty_midi is not installed; its TimGM6mb.sf2 is the SoundFont")
    return (Path(spec.submodule_search_locations[0]) / "TimGM6mb.sf2").read_bytes()


# How many measures of a Humdrum file are parsed first (opening_midi): 32 s or more at
# Palestrina's 120 bpm in its shortest meter (2/2); where they end sooner, the whole file is.
HEAD_MEASURES = 16
# Lines after the opening that could change how it sounds: tempo, section expansions, spine
# splits, joins and exchanges, and repeat barlines.
_HUMDRUM_CONTEXT = re.compile(r"(?:^|\t)\*(?:MM|>|\^|v|x|\+)|^=.*:", re.MULTILINE)


def humdrum_head(text: str, measures: int) -> str | None:
    """The first `measures` measures of a Humdrum file as a file of its own, its reference
    records kept; None where the file is no longer, or holds a line that may change how
    the opening sounds (_HUMDRUM_CONTEXT). Humdrum lists a score's events in time order, so
    the opening parses alone into the same notes as in the whole file."""
    lines = text.splitlines()
    barlines = [i for i, line in enumerate(lines) if line.startswith("=")]
    if len(barlines) <= measures or _HUMDRUM_CONTEXT.search(text):
        return None
    cut = barlines[measures]
    end = "\t".join(["*-"] * (lines[cut].count("\t") + 1))
    records = [line for line in lines[cut:] if line.startswith("!!!")]
    return "\n".join([*lines[:cut], end, *records]) + "\n"


def parse_work(work: Work) -> stream.Score:
    """The work's score as music21 parses it (one tune only for ABC collections)."""
    if work.number is not None:
        return converter.parseData(_abc_tunes(work.source)[work.number], format="abc")
    score = converter.parse(CORPUS_ROOT / work.source, forceSource=True)
    # Josquin's ABC files hold one voice per X: block: the tunes are the parts of one work.
    return score.mergeScores() if isinstance(score, stream.Opus) else score


def _quarter_offset_at(parts: list[stream.Stream], seconds: float) -> float:
    """Score offset (in quarter notes) reached after `seconds` of playback."""
    marks: dict[float, tempo.MetronomeMark] = {}
    for part in parts:
        for mark in part.getElementsByClass(tempo.MetronomeMark):
            marks.setdefault(float(mark.offset), mark)  # as MIDI export: first mark per offset
    end = max(part.highestTime for part in parts)
    changes = sorted(marks.items())
    left = seconds
    for (start, mark), stop in zip(changes, [c[0] for c in changes[1:]] + [end], strict=True):
        span = mark.durationToSeconds(stop - start)
        if span >= left:
            return start + mark.secondsToDuration(left).quarterLength
        left -= span
    return end


class ShortOpening(Exception):
    """A score's opening that ends before the seconds asked of it."""


def score_to_midi(
    score: stream.Score, artist: Artist, seconds: float, opening: bool = False
) -> bytes:
    """MIDI of the first `seconds` of the score (repeats expanded), on the artist's programs.
    Where the score is only the `opening` of a work, raises ShortOpening if it ends first."""
    # Time and key signatures do not sound (notes carry their accidentals), and music21's ABC
    # reader can share one TimeSignature between two measures, which breaks MIDI export.
    for inner in list(score.recurse(streamsOnly=True, includeSelf=True)):
        inner.removeByClass([meter.TimeSignature, key.KeySignature])
    if score[repeat.RepeatMark]:  # expanding copies the whole score: only when needed
        score = score.expandRepeats()
    parts = [part.flatten() for part in (score.parts or [score])]
    for i, part in enumerate(parts):
        # Chord symbols would sound as block chords in some tunes only; a tempo mark without
        # a number does not sound and would hide the default tempo.
        part.removeByClass([instrument.Instrument, harmony.ChordSymbol])
        part.remove([mark for mark in part[tempo.MetronomeMark] if mark.number is None])
        voice = instrument.Instrument()
        voice.midiProgram = artist.programs[min(i, len(artist.programs) - 1)]
        part.insert(0, voice)
    if not any(part[tempo.MetronomeMark] for part in parts):
        parts[0].insert(0, tempo.MetronomeMark(number=artist.default_bpm))
    end = max(part.highestTime for part in parts)
    limit = _quarter_offset_at(parts, seconds)
    if opening and limit >= end:
        raise ShortOpening(f"the opening ends at {end} quarter notes, before {seconds} s")
    cut = stream.Score()
    for part in parts:
        cut.insert(0, part.getElementsByOffset(0, limit, includeEndBoundary=False).stream())
    return midi.translate.streamToMidiFile(cut).writestr()


def render_midi(midi_bytes: bytes, sample_rate: int) -> np.ndarray:
    """Mono float32 audio at `sample_rate`, peak-normalised to PEAK."""
    wav = midirenderer.render_wave_from(_soundfont(), midi_bytes)
    audio, rendered_sr = sf.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    audio = resample(to_mono(np.ascontiguousarray(audio.T)), int(rendered_sr), sample_rate)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return audio * np.float32(PEAK / peak) if peak > 0 else audio


def opening_midi(work: Work, artist: Artist, seconds: float) -> bytes:
    """score_to_midi of the work's first `seconds`. A Humdrum file is parsed in its first
    HEAD_MEASURES measures where humdrum_head allows it and they last long enough, and whole
    otherwise: the parse of a Palestrina movement took half of its render."""
    if work.number is None and work.source.endswith(".krn"):
        # Decoded as music21 decodes a Humdrum file.
        text = (CORPUS_ROOT / work.source).read_text(encoding="latin-1")
        head = humdrum_head(text, HEAD_MEASURES)
        if head is not None:
            try:
                return score_to_midi(
                    converter.parseData(head, format="humdrum"), artist, seconds, opening=True
                )
            except ShortOpening:
                pass
    return score_to_midi(parse_work(work), artist, seconds)


class WorkFailed(Exception):
    """A work that gives no usable clip; the message is the reason reported in failures."""


def work_clips(
    work: Work, artist: Artist, clip_seconds: float, sample_rate: int, max_clips: int
) -> list[np.ndarray]:
    """The work's clips at `sample_rate` that are not silent, in order: the candidates for
    its first `max_clips` clips (a candidate that repeats an earlier one may still be
    dropped). Raises WorkFailed when there is none."""
    # One spare clip of music beyond what is kept, in case a clip is dropped as silent.
    midi_bytes = opening_midi(work, artist, (max_clips + 1) * clip_seconds)
    audio = render_midi(midi_bytes, sample_rate)
    clips = segment(audio, sample_rate, clip_seconds)
    if not clips:
        raise WorkFailed(
            f"too short: {len(audio) / sample_rate:.1f} s of audio, less than one "
            f"{clip_seconds:g} s clip"
        )
    # Measured after peak normalisation, so silence is relative to the work's loudest note.
    loud = [clip for clip in clips if not is_silent(clip)]
    if len(loud) < len(clips):
        log.info("%s: dropped %d silent clip(s)", work.work_id, len(clips) - len(loud))
    if not loud:
        raise WorkFailed("silent: no clip above the RMS floor")
    return loud


def _render_work(
    work: Work,
    artist: Artist,
    clip_seconds: float,
    sample_rate: int,
    max_clips: int,
    out_dir: Path,
    owners: dict[str, str],
) -> list[dict]:
    """Write the work's clips and return their manifest rows.

    `owners` maps the sha256 of every clip kept so far for the artist to its work_id.
    """
    rows: list[dict] = []
    for clip in work_clips(work, artist, clip_seconds, sample_rate, max_clips):
        if len(rows) == max_clips:
            break
        clip_id = f"{artist.key}__{work.slug}__{len(rows):03d}"
        path = out_dir / artist.key / f"{clip_id}.flac"
        write_flac(path, clip, sample_rate)
        sha = audio_sha256(path)
        owner = owners.get(sha)
        if owner is not None:
            path.unlink()
            if owner == work.work_id:  # a repeat that sounds exactly alike: keep one copy
                continue
            for row in rows:
                (out_dir / row["path"]).unlink()
                del owners[row["sha256"]]
            raise WorkFailed(f"duplicate audio: a clip equals one of {owner}")
        owners[sha] = work.work_id
        rows.append(
            {
                "clip_id": clip_id,
                "artist": artist.key,
                "work_id": work.work_id,
                "path": f"{artist.key}/{clip_id}.flac",
                "seconds": len(clip) / sample_rate,
                "sample_rate": sample_rate,
                "sha256": sha,
                "caption": artist.caption,
            }
        )
    return rows


def selection_order(artist: str, seed: int) -> list[Work]:
    """The artist's works in the seeded order in which render_artist tries them."""
    works = list_works(artist)
    # The artist enters the seed so that artists of as many works are not drawn alike.
    rng = named_rng(seed, artist)
    return [works[i] for i in rng.permutation(len(works))]


def render_artist(
    artist: str,
    works: int,
    clip_seconds: float,
    sample_rate: int,
    max_clips_per_work: int,
    seed: int,
    out_dir: Path,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Render `works` works of an artist to clips under out_dir/<artist>/.

    Works are tried in `selection_order`; one that fails is reported in the failures frame and
    replaced by the next. Returns (manifest, failures): the CORPUS_MANIFEST and FAILURES tables.
    Raises ValueError when the artist has fewer than `works` works, and RuntimeError when fewer
    than `works` of them could be rendered.
    """
    spec = get_artist(artist)
    if works < 1 or max_clips_per_work < 1 or clip_seconds <= 0:
        raise ValueError("works, max_clips_per_work and clip_seconds must be positive")
    out_dir = Path(out_dir)
    order = selection_order(artist, seed)
    if works > len(order):
        raise ValueError(f"{artist}: {works} works asked, but the corpus holds only {len(order)}")
    rows: list[dict] = []
    failures: list[dict] = []
    owners: dict[str, str] = {}
    done = 0
    with tqdm(total=works, desc=artist, unit="work") as progress:
        for work in order:
            if done == works:
                break
            try:
                rows += _render_work(
                    work, spec, clip_seconds, sample_rate, max_clips_per_work, out_dir, owners
                )
            except Exception as err:  # any parse or render error: report the work, try the next
                reason = str(err) if isinstance(err, WorkFailed) else f"{type(err).__name__}: {err}"
                log.warning("%s failed: %s", work.work_id, reason)
                failures.append({"artist": artist, "work_id": work.work_id, "reason": reason})
                progress.set_postfix(failed=len(failures))
                continue
            done += 1
            progress.update()
    if done < works:
        first = f"; first failure: {failures[0]['reason']}" if failures else ""
        raise RuntimeError(
            f"{artist}: {works} works asked, but only {done} of the {len(order)} available "
            f"could be rendered ({len(failures)} failed{first})"
        )
    return (
        pd.DataFrame(rows, columns=list(CORPUS_MANIFEST.columns)),
        pd.DataFrame(failures, columns=list(FAILURES.columns)),
    )
