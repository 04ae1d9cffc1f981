"""The audit of one model against one catalogue (`audio-di audit`): the workflow's steps,
from ingesting the user's audio to dataset inference, on a suspect and a validation set."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from audio_di.config import MIN_WORKS
from audio_di.di.engine import DISettings
from audio_di.tables import CATALOGUE_MANIFEST, FEATURES, REJECTED, UNCONDITIONAL

if TYPE_CHECKING:
    from audio_di.models import Adapter

log = logging.getLogger(__name__)

# The split's roles in the audit's words.
SETS = {"train": "suspect", "heldout": "validation"}
# Kept in the audit's folder, so that a rerun with other DI settings reuses them.
FEATURES_FILE = "features.parquet"
# What the kept features were computed from: model, attacks and clips.
FEATURES_KEY = "features.json"


@dataclass(frozen=True)
class Clipping:
    """How a user's audio becomes clips (params.yaml corpora.<name> of kind folder)."""

    # Length of a clip; a file's tail shorter than one is left out.
    clip_seconds: float = 10.0
    # Rate the clips are kept at; each model resamples them to its own.
    sample_rate: int = 44100
    # At most this many clips of one file (None: all of them).
    max_clips_per_file: int | None = None


@dataclass(frozen=True)
class Scoring:
    """Where and in what batches the model scores clips (params.yaml features.batch_size and
    models.<name>.device)."""

    batch_size: int = 16
    # "auto": CUDA where there is one.
    device: str = "auto"


@dataclass(frozen=True)
class Audit:
    """What an audit found, and from what: the tables of `model_dataset_inference`, the
    catalogue's clips and what was left out, the model as loaded (`model_record`), the attacks
    run with every setting, and where the features came from (a line for the console)."""

    tables: dict[str, pd.DataFrame]
    manifest: pd.DataFrame
    rejected: pd.DataFrame
    model: dict
    attacks: dict[str, dict]
    features: str


@contextlib.contextmanager
def audit_log(path: str | Path) -> Iterator[None]:
    """Send logging records and warnings, the libraries' included (diffusers'
    FutureWarnings, transformers' tokenizer notices), to the log file `path` rather than the
    console, where the progress bars and the verdict stay."""
    # Imported here: the command line's --help should not wait for them.
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    handler = logging.FileHandler(path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    # Both libraries print through a console handler of their own, not the root logger's.
    for library in (diffusers_logging, transformers_logging):
        library.disable_default_handler()
        library.enable_propagation()
    try:
        yield
    finally:
        for library in (diffusers_logging, transformers_logging):
            library.disable_propagation()
            library.enable_default_handler()
        logging.captureWarnings(False)
        root.setLevel(level)
        root.removeHandler(handler)
        handler.close()


def load_model(spec: dict, device: str) -> Adapter:
    """The model of a load_adapter spec, on `device`. Whatever stops it loading is a problem
    with the --model given: a ValueError of one line, the traceback in the log."""
    from audio_di.models import load_adapter, resolve_device

    try:
        return load_adapter(spec, resolve_device(device))
    except Exception as err:
        log.exception("cannot load the model %s", spec)
        why = " ".join(str(err).split()) or type(err).__name__
        raise ValueError(
            f"--model {spec['kind']}:{spec['source']}: cannot load it: {why}"
        ) from None


def model_record(spec: dict, adapter: Adapter) -> dict:
    """The model as loaded, for verdict.json: kind, source, the revision asked for, the
    revision read (a hub commit, or "local folder") and the weights' dtype."""
    from audio_di.models.pretrained import hub_commit

    source = spec["source"]
    if Path(source).expanduser().exists():
        resolved = "local folder"
    else:
        resolved = hub_commit(source, spec.get("revision")) or "unknown: not in the hub cache"
    return {
        "kind": spec["kind"],
        "source": source,
        "revision": spec.get("revision"),
        "resolved_revision": resolved,
        "dtype": str(adapter.dtype).removeprefix("torch."),
    }


def audit_catalogue(
    spec: dict,
    name: str,
    suspect: str | Path,
    validation: str | Path,
    out_dir: str | Path,
    clipping: Clipping,
    scoring: Scoring,
    settings: DISettings,
    attacks: dict[str, dict] | None = None,
    keep_clips: bool = False,
    artist: str | None = None,
    weights: pd.DataFrame | None = None,
) -> Audit:
    """DI of one model against one catalogue: suspect and validation are each a folder of
    audio (each file one work of `artist`, by default "catalogue", under which a model
    conditioned on artists scores it) or a manifest CSV with any number of artists, one
    verdict each; its clips without an artist are scored unconditionally and make one
    collection, tables.UNCONDITIONAL.

    The model is loaded, and its attacks checked, before any audio is read. Then the steps
    are the workflow's: the folder corpus's ingestion (manifest.csv and rejected.csv in
    out_dir; the clips in a temporary folder, or in out_dir/clips with `keep_clips`), its
    split with the roles given, the model's features under `attacks` (settings by family, as
    in params.yaml features.attacks; default: the study's, attacks.registry.STUDY_ATTACKS), kept
    in out_dir and reused by a rerun on the same model, attacks and clips, the blind
    statistics and `model_dataset_inference` under the model's `name`. The draws are seeded
    by the works and `settings.seed`, so that a study of the same catalogue with the same settings
    gives the same p-values under any name. `weights` (tables.SHADOW_WEIGHTS, a shadow
    model's) are the weighted test's."""
    # Imported here, not above: the command line takes its defaults from this module's
    # settings, and `audio-di --help` should not wait seconds for torch and diffusers.
    from audio_di.attacks.registry import STUDY_ATTACKS
    from audio_di.blind import corpus_statistics
    from audio_di.corpus.folder import catalogue_files, ingest_catalogue
    from audio_di.io import write_json, write_table
    from audio_di.splits import check_set_sizes, evaluation_sets, make_splits
    from audio_di.steps.analysis import model_dataset_inference
    from audio_di.steps.features import family_attacks, score_clips

    out_dir = Path(out_dir)
    artist = folder_artist(artist, suspect, validation)
    adapter = load_model(spec, scoring.device)
    model = model_record(spec, adapter)
    chosen = family_attacks(adapter, attacks or STUDY_ATTACKS, has_reference=False)
    files = pd.concat(
        [
            catalogue_files(suspect, artist, "train", SETS["train"]),
            catalogue_files(validation, artist, "heldout", SETS["heldout"]),
        ],
        ignore_index=True,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".clips-", dir=out_dir) as scratch:
        clips_dir = out_dir if keep_clips else Path(scratch)
        manifest, rejected = ingest_catalogue(
            files,
            clips_dir,
            clipping.clip_seconds,
            clipping.sample_rate,
            clipping.max_clips_per_file,
            role_names=SETS,
        )
        # The record in out_dir, and the one the steps read beside the clips.
        for folder in {out_dir, clips_dir}:
            write_table(manifest, folder / "manifest.csv", CATALOGUE_MANIFEST)
        write_table(rejected, out_dir / "rejected.csv", REJECTED)
        # The clips keep a blank artist, which the model reads as unconditional; the splits
        # and verdicts name their collection.
        named = manifest.assign(artist=manifest["artist"].replace("", UNCONDITIONAL))
        splits = make_splits(named, members=[], heldout_fraction=0.5, seed=settings.seed)
        try:
            check_set_sizes(splits, MIN_WORKS)
        except ValueError as err:
            raise ValueError(
                f"{err} ({len(rejected)} rejected: see {out_dir / 'rejected.csv'})"
            ) from None
        evaluated = manifest.set_index("clip_id").loc[evaluation_sets(splits)["clip_id"]]
        key = {
            "model": {**model, "files": _folder_state(spec["source"])},
            "attacks": chosen,
            "clips": _clips_digest(evaluated),
        }
        features, note = _kept_features(out_dir, key, evaluated.index)
        if features is None:
            clip_ids = evaluated.index.to_series()
            features = score_clips(
                adapter, clips_dir / "manifest.csv", clip_ids, chosen, scoring.batch_size
            )
            write_table(features, out_dir / FEATURES_FILE, FEATURES)
            write_json(json.loads(json.dumps(key)), out_dir / FEATURES_KEY)
        stats = corpus_statistics(clips_dir / "manifest.csv", splits, clipping.sample_rate)
    tables = model_dataset_inference(
        name, features, splits, stats, settings, known_nonmembers=False, weights=weights
    )
    return Audit(tables, manifest, rejected, model, chosen, note)


def folder_artist(artist: str | None, suspect: str | Path, validation: str | Path) -> str:
    """The artist of a folder set: `artist` (--artist), by default "catalogue"; an empty
    name, or a name where no set is a folder, is an error."""
    if artist is None:
        return "catalogue"
    if not artist.strip():
        raise ValueError(
            f"--artist {artist!r}: give a name, or leave --artist out (a folder's works are "
            "then the artist 'catalogue'); to score works unconditionally, list them in a "
            "manifest with a blank or no artist column"
        )
    if all(Path(s).is_file() for s in (suspect, validation)):
        raise ValueError(
            f"--artist {artist!r} names the artist of a folder set, but both sets are "
            "manifests, whose artist column names each work's artist"
        )
    return artist


def _folder_state(source: str) -> str | None:
    """For a local model folder, a digest of its files' names, sizes and modification times,
    so that a model trained again in place is not taken for the one kept features came from;
    None for a hub id, whose commit says which it is."""
    folder = Path(source).expanduser()
    if not folder.exists():
        return None
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _clips_digest(evaluated: pd.DataFrame) -> str:
    """A digest of the evaluated clips, in order: their ids, their audio (sha256) and what
    conditions the model on them (artist, caption)."""
    rows = evaluated.reset_index()[["clip_id", "artist", "caption", "sha256"]].to_numpy()
    return hashlib.sha256(json.dumps(rows.tolist()).encode()).hexdigest()


# How kept features differ from what this run would compute.
OTHER = {"model": "another model", "attacks": "other attacks", "clips": "other clips"}


def _kept_features(out_dir: Path, key: dict, clip_ids: pd.Index) -> tuple[pd.DataFrame | None, str]:
    """The features kept in out_dir if they were computed from `key` (model, attacks, clips),
    else None; and the line that says which, or why they are computed again."""
    from audio_di.io import read_table

    path = out_dir / FEATURES_FILE
    try:
        kept = json.loads((out_dir / FEATURES_KEY).read_text())
        features = read_table(path, FEATURES)
    except FileNotFoundError:
        return None, f"features: computed, kept in {path}"
    except (OSError, ValueError) as err:
        return None, f"features: computed again, kept in {path} (the kept ones: {err})"
    # As JSON has it: tuples as lists.
    key = json.loads(json.dumps(key))
    changed = [part for part in OTHER if kept.get(part) != key[part]]
    if not changed and features["clip_id"].tolist() != clip_ids.tolist():
        changed = ["clips"]
    if changed:
        why = " and ".join(OTHER[part] for part in changed)
        return None, f"features: computed again, kept in {path} (the kept ones were of {why})"
    return features, f"features: reused {path} (same model, attacks and clips)"
