"""The audit of one model against one catalogue (`audio-di audit`): the workflow's steps,
from ingesting the user's audio to dataset inference, on a suspect and a validation set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audio_di.config import MIN_WORKS
from audio_di.di import DISettings
from audio_di.tables import CATALOGUE_MANIFEST, REJECTED


@dataclass(frozen=True)
class Catalogue:
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


def audit_catalogue(
    spec: dict,
    name: str,
    suspect: str | Path,
    validation: str | Path,
    out_dir: str | Path,
    catalogue: Catalogue,
    scoring: Scoring,
    di: DISettings,
    attacks: dict[str, dict] | None = None,
) -> dict[str, pd.DataFrame]:
    """DI of one model against one catalogue: suspect and validation are each a folder of
    audio (each file one work of the artist "catalogue") or a manifest CSV.

    The steps are the workflow's: the folder corpus's ingestion (clips, manifest.csv and
    rejected.csv in out_dir), its split with the roles given, the model's features under
    `attacks` (settings by family, as in params.yaml features.attacks; default: every
    registered attack at its defaults), the blind statistics and `model_dataset_inference`
    under the model's `name`; the draws are seeded by the works and `di.seed`, so that a
    study of the same catalogue with the same settings gives the same p-values under any
    name. Returns the tables of `model_dataset_inference` plus manifest and rejected."""
    # Imported here, not above: the command line takes its defaults from this module's
    # settings, and `audio-di --help` should not wait seconds for torch and diffusers.
    from audio_di.attacks.registry import default_attacks
    from audio_di.corpus.folder import catalogue_files, ingest_catalogue
    from audio_di.io import write_table
    from audio_di.splits import check_set_sizes, make_splits
    from audio_di.steps.analysis import corpus_statistics, model_dataset_inference
    from audio_di.steps.features import model_features

    out_dir = Path(out_dir)
    files = pd.concat(
        [
            catalogue_files(suspect, "catalogue", "train", "suspect"),
            catalogue_files(validation, "catalogue", "heldout", "validation"),
        ],
        ignore_index=True,
    )
    listed = files.groupby("path")["role"].nunique()
    if (listed > 1).any():
        both = listed[listed > 1].index.tolist()
        raise ValueError(f"file(s) in both the suspect and the validation set: {both[:5]}")
    manifest, rejected = ingest_catalogue(
        files, out_dir, catalogue.clip_seconds, catalogue.sample_rate, catalogue.max_clips_per_file
    )
    manifest_path = out_dir / "manifest.csv"
    write_table(manifest, manifest_path, CATALOGUE_MANIFEST)
    write_table(rejected, out_dir / "rejected.csv", REJECTED)
    splits = make_splits(manifest, members=[], heldout_fraction=0.5, seed=di.seed)
    try:
        check_set_sizes(splits, MIN_WORKS)
    except ValueError as err:
        raise ValueError(
            f"{err} ({len(rejected)} rejected: see {out_dir / 'rejected.csv'})"
        ) from None
    features = model_features(
        spec,
        manifest_path,
        splits,
        attacks or default_attacks(),
        scoring.batch_size,
        scoring.device,
    )
    stats = corpus_statistics(manifest_path, splits, catalogue.sample_rate)
    tables = model_dataset_inference(name, features, splits, stats, di, known_nonmembers=False)
    return {**tables, "manifest": manifest, "rejected": rejected}
