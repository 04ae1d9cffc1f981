"""A user's catalogue: audio files plus a manifest, cut into clips for the study.

Every file listed either gives clips or a row in the rejected table with the reason; nothing
is dropped silently. Clips keep the file's channels (mono or stereo) and are stored as 16-bit
FLAC at one sample rate; adapters convert them to their own rate and channel count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from jsonschema import Draft202012Validator
from tqdm import tqdm

from audio_di.audio import audio_sha256, is_silent, read_audio, resample, segment, write_flac
from audio_di.tables import (
    AUDIT_MANIFEST_SCHEMA,
    CATALOGUE_MANIFEST,
    REJECTED,
    USER_MANIFEST,
    USER_MANIFEST_SCHEMA,
)

# Suffixes of the formats soundfile names (lower-cased): a file with one that it cannot decode
# is damaged; any other file it cannot decode is in a format it does not read. Whatever it
# decodes is taken, suffix or not (.opus, for one, is Ogg).
AUDIO_SUFFIXES = {f".{name.lower()}" for name in sf.available_formats()} | {".aif", ".oga"}


class Rejected(Exception):
    """A file or clip that gives no usable audio; the message is the reason reported."""


def read_manifest(
    csv: str | Path, root: str | Path | None = None, schema: dict = USER_MANIFEST_SCHEMA
) -> pd.DataFrame:
    """A user's manifest (tables.USER_MANIFEST): one row per audio file, with path (relative
    to `root`, by default the CSV's folder), artist, work_id, and optionally caption and role
    (train or heldout, where the user knows what went into training), checked against
    `schema` (an audit's, tables.AUDIT_MANIFEST_SCHEMA, lets the artist be blank or absent).
    Paths come back resolved against `root`, `name` keeps them as written (clip ids derive
    from it); a blank or absent artist, caption or role is an empty string."""
    csv = Path(csv)
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise ValueError(f"{csv}: cannot read the manifest: {err}") from err
    check_manifest(table, csv, schema)
    repeated = table.loc[table["path"].duplicated(), "path"].tolist()
    if repeated:
        raise ValueError(f"{csv}: path(s) listed more than once: {repeated[:5]}")
    table = table.assign(
        **{column: table.get(column, "") for column in ("artist", "caption", "role")}
    )
    root = csv.parent if root is None else Path(root)
    table["name"] = table["path"]
    table["path"] = [str(root / p) for p in table["path"]]
    return table[["path", "artist", "work_id", "name", "caption", "role"]]


def check_manifest(table: pd.DataFrame, csv: Path, schema: dict = USER_MANIFEST_SCHEMA) -> None:
    """Check a manifest read as text against `schema` (tables.USER_MANIFEST_SCHEMA, or an
    audit's): its columns, then every row; the error names the file, the column, the value
    and the lines."""
    required = schema["required"]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise ValueError(f"{csv}: missing column(s) {missing}; needs {required}")
    unknown = [c for c in table.columns if c not in USER_MANIFEST.columns]
    if unknown:
        raise ValueError(
            f"{csv}: unknown column(s) {unknown}; a manifest has {list(USER_MANIFEST.columns)}"
        )
    validator = Draft202012Validator(schema)
    lines: dict[str, list[int]] = {}  # problem -> CSV lines (the header is line 1)
    for line, row in enumerate(table.to_dict(orient="records"), start=2):
        for error in validator.iter_errors(row):
            column = error.path[0]
            problem = (
                f"column {column!r} is empty"
                if error.validator == "pattern"
                else f"column {column!r}: {error.message}"
            )
            lines.setdefault(problem, []).append(line)
    if lines:
        raise ValueError(
            f"{csv}: "
            + "; ".join(f"{problem} on line(s) {found[:10]}" for problem, found in lines.items())
        )


def folder_files(folder: str | Path, artist: str, role: str = "", prefix: str = "") -> pd.DataFrame:
    """Every file under `folder` (recursively), each one work of `artist`, as a manifest like
    read_manifest's, names and work ids relative to the folder after `prefix`. Nothing is
    filtered here: a file soundfile cannot decode is reported as rejected, with the reason."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise ValueError(f"{folder}: no files")
    names = [prefix + p.relative_to(folder).as_posix() for p in files]
    return pd.DataFrame(
        {
            "path": [str(p) for p in files],
            "artist": artist,
            "work_id": [str(Path(n).with_suffix("")) for n in names],
            "name": names,
            "caption": "",
            "role": role,
        }
    )


def catalogue_files(source: str | Path, artist: str, role: str, label: str) -> pd.DataFrame:
    """One set of a catalogue, every row with `role`: a folder of audio (each file one work
    of `artist`, named `label`/<file>, so that two sets' folders may hold equal names) or a
    manifest CSV (tables.AUDIT_MANIFEST_SCHEMA: a blank or absent artist asks for
    unconditional scoring), whose role column, where filled in, must agree."""
    source = Path(source)
    if source.is_dir():
        return folder_files(source, artist, role, prefix=f"{label}/")
    if not source.is_file():
        raise ValueError(f"{source}: no such folder or manifest CSV ({label} set)")
    table = read_manifest(source, schema=AUDIT_MANIFEST_SCHEMA)
    other = table["role"].ne("") & table["role"].ne(role)
    if other.any():
        raise ValueError(
            f"{source}: column 'role' says {table.loc[other, 'role'].iloc[0]!r} on line "
            f"{table.index[other][0] + 2}, but this manifest is given as the {label} set"
        )
    return table.assign(role=role)


def _slug_series(text: pd.Series) -> pd.Series:
    return text.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")


def file_clips(path: str | Path, clip_seconds: float, sample_rate: int) -> list[np.ndarray]:
    """The file's consecutive clips as (channels, samples) arrays at `sample_rate`; the
    tail shorter than a clip is left out. Raises Rejected with the reason for a file that
    cannot give one."""
    path = Path(path)
    if not path.is_file():
        raise Rejected("not found")
    if path.stat().st_size == 0:
        raise Rejected("empty: 0 bytes")
    try:
        audio, sr = read_audio(path)
    except ValueError as err:
        suffix = path.suffix.lower()
        if suffix in AUDIO_SUFFIXES:
            raise Rejected(f"unreadable: {err.__cause__ or err}") from err
        raise Rejected(f"unsupported format ({suffix or 'no suffix'})") from err
    if audio.size == 0:
        raise Rejected("empty: no samples")
    if not np.isfinite(audio).all():
        raise Rejected("NaN or infinite samples")
    seconds = audio.shape[1] / sr
    if seconds < clip_seconds:
        raise Rejected(f"shorter than a clip: {seconds:.2f} s < {clip_seconds:g} s")
    if is_silent(audio):
        raise Rejected("silent: RMS below -60 dBFS")
    audio = resample(audio, sr, sample_rate)
    return [clip.T for clip in segment(audio.T, sample_rate, clip_seconds)]


def ingest_catalogue(
    files: pd.DataFrame,
    out_dir: str | Path,
    clip_seconds: float,
    sample_rate: int,
    max_clips_per_file: int | None = None,
    role_names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cut the catalogue's files (a read_manifest table) into FLAC clips under
    out_dir/clips. Returns (manifest, rejected):

    - manifest: the CATALOGUE_MANIFEST table, paths relative to out_dir;
    - rejected: the REJECTED table, one row per file (clip empty) or clip that was left out.

    A clip whose audio equals an earlier one (same sha256) is rejected as a duplicate. The
    same file, or identical audio, under two explicit roles is an error, raised once every
    file is read so that it names every such pair; `role_names` gives the roles in the
    user's words (the audit's suspect and validation).
    """
    out_dir = Path(out_dir)
    names = role_names or {}
    # (file, role, file, role) -> what they share, for every pair across roles.
    across: dict[tuple[str, str, str, str], str] = {}
    listed: dict[Path, tuple[str, str]] = {}  # resolved path -> (path, role) of its first row
    once = np.ones(len(files), dtype=bool)
    for i, file in enumerate(files.itertuples(index=False)):
        path, role = listed.setdefault(Path(file.path).resolve(), (file.path, file.role))
        if role and file.role and role != file.role:
            across[(path, role, file.path, file.role)] = "the same file"
            once[i] = False  # read once, under its first role
    # The roles in the order the sets came, e.g. suspect before validation.
    roles = list(dict.fromkeys(files["role"]))
    files = files[once]
    stems = _slug_series(files["artist"]) + "__" + _slug_series(files["name"])
    clash = files.loc[stems.duplicated(keep=False), "path"].tolist()
    if clash:
        raise ValueError(
            f"files {clash[:4]} would get the same clip ids (same artist, and names alike "
            "but for case and punctuation); rename one"
        )
    rows, rejected = [], []
    owners: dict[str, dict] = {}  # sha256 -> manifest row of the first clip with that audio
    shared: dict[tuple[str, str, str, str], int] = {}  # pair across roles -> clips in common
    progress = tqdm(zip(stems, files.itertuples(index=False), strict=True), total=len(files),
                    desc="ingest", unit="file")  # fmt: skip
    for stem, file in progress:
        try:
            clips = file_clips(file.path, clip_seconds, sample_rate)
        except Rejected as why:
            rejected.append((file.path, file.artist, file.work_id, "", str(why)))
            continue
        kept = 0
        for index, clip in enumerate(clips):
            if max_clips_per_file is not None and kept == max_clips_per_file:
                break
            if is_silent(clip):
                rejected.append((file.path, file.artist, file.work_id, index, "silent clip"))
                continue
            clip_id = f"{stem}__{index:03d}"
            path = out_dir / "clips" / f"{clip_id}.flac"
            write_flac(path, clip.T, sample_rate)
            sha = audio_sha256(path)
            first = owners.get(sha)
            if first is not None:
                path.unlink()
                if first["role"] and file.role and first["role"] != file.role:
                    pair = (first["source"], first["role"], file.path, file.role)
                    shared[pair] = shared.get(pair, 0) + 1
                    continue
                rejected.append(
                    (file.path, file.artist, file.work_id, index,
                     f"duplicate audio: same as {first['clip_id']} ({first['source']})")
                )  # fmt: skip
                continue
            row = {
                "clip_id": clip_id,
                "artist": file.artist,
                "work_id": file.work_id,
                "path": f"clips/{clip_id}.flac",
                "seconds": clip.shape[-1] / sample_rate,
                "sample_rate": sample_rate,
                "sha256": sha,
                "caption": file.caption,
                "role": file.role,
                "source": file.path,
            }
            owners[sha] = row
            rows.append(row)
            kept += 1
    across |= {pair: f"identical audio in {n} clip(s)" for pair, n in shared.items()}
    if across:
        roles = [r for r in roles if any(r in pair[1::2] for pair in across)]
        lines = [
            f"  {names.get(ra, ra)} {a} and {names.get(rb, rb)} {b}: {what}"
            for (a, ra, b, rb), what in across.items()
        ]
        raise ValueError(
            f"{len(across)} file(s) in both the "
            + " and the ".join(names.get(r, r) for r in roles)
            + " set (the same file, or identical audio); take each out of one set:\n"
            + "\n".join(lines)
        )
    manifest = pd.DataFrame(rows, columns=list(CATALOGUE_MANIFEST.columns))
    return manifest, pd.DataFrame(rejected, columns=list(REJECTED.columns))
