"""A corpus's manifest: one table from the per-artist ones, and the audio of listed clips."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from audio_di.audio import load_clips
from audio_di.io import read_table
from audio_di.tables import CORPUS_MANIFEST, FAILURES


def merge_corpus(
    manifests: list[str | Path], failures: list[str | Path], clips_folder: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One manifest for the corpus, paths made relative to the corpus folder, and one table
    of the works that failed to render."""
    manifest = pd.concat([read_table(p, CORPUS_MANIFEST) for p in manifests], ignore_index=True)
    manifest["path"] = clips_folder + "/" + manifest["path"]
    if manifest["clip_id"].duplicated().any():
        dup = manifest.loc[manifest["clip_id"].duplicated(), "clip_id"].tolist()[:10]
        raise ValueError(f"duplicate clip_id across artists: {dup}")
    failed = pd.concat([read_table(p, FAILURES) for p in failures], ignore_index=True)
    return manifest.sort_values("clip_id", ignore_index=True), failed


def _clip_paths(manifest_path: str | Path, clip_ids: pd.Series) -> list[Path]:
    """The files of the given clips, in the given order."""
    manifest = read_table(manifest_path, CORPUS_MANIFEST).set_index("clip_id")
    missing = sorted(set(clip_ids) - set(manifest.index))
    if missing:
        raise ValueError(f"{manifest_path}: no clips {missing[:10]}")
    root = Path(manifest_path).parent
    return [root / p for p in manifest.loc[clip_ids, "path"]]


def corpus_audio(
    manifest_path: str | Path, clip_ids: pd.Series, sample_rate: int, channels: int = 1
) -> np.ndarray:
    """Audio of the given clips, in the given order, resampled to `sample_rate`: (N, samples)
    mixed to mono, or (N, channels, samples) for a model that takes more channels."""
    return load_clips(_clip_paths(manifest_path, clip_ids), sample_rate, channels)


def corpus_batches(
    manifest_path: str | Path, clip_ids: pd.Series, sample_rate: int, batch_samples: int
) -> Iterator[np.ndarray]:
    """corpus_audio (mono) in consecutive batches of as many clips as fit in `batch_samples`
    samples (at least one), so that a pass over a corpus holds one batch at a time. The
    first batch is one clip, whose length sets the others'."""
    paths = _clip_paths(manifest_path, clip_ids)
    size, length, start = 1, None, 0
    while start < len(paths):
        batch = load_clips(paths[start : start + size], sample_rate)
        if length is None:
            length = batch.shape[-1]
            size = max(1, batch_samples // max(1, length))
        elif batch.shape[-1] != length:
            # As load_clips refuses within a batch.
            raise ValueError(
                f"clips differ in length ({length} and {batch.shape[-1]} samples): "
                f"{paths[0]}, {paths[start]}"
            )
        yield batch
        start += len(batch)
