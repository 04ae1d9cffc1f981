"""The GPU part of the models stage: train the embedded models, and score every evaluated
clip with the membership attacks of each model's family."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from audio_di.attacks.extraction import attacks_for, extract_features, family_of
from audio_di.attacks.registry import attack_settings
from audio_di.corpus.manifest import corpus_audio
from audio_di.io import read_table
from audio_di.models import Adapter, load_adapter, resolve_device, train_model
from audio_di.shards import shard_clips
from audio_di.splits import evaluation_sets, training_clips
from audio_di.tables import CORPUS_MANIFEST, MEMBER_SIGNS

log = logging.getLogger(__name__)


def train_embedded(
    kind: str,
    manifest_path: str | Path,
    splits: pd.DataFrame,
    regime: dict,
    architecture: dict,
    sample_rate: int,
    seed: int,
    out_dir: str | Path,
    device: str,
    artists: list[str],
    base: str | Path | None = None,
) -> pd.DataFrame:
    """Train one embedded model on its regime's clips; returns the clips it was trained on.

    regime: filler_clips, members (whether member artists' train works are included), epochs,
    schedule (of the learning rate: constant or cosine).
    splits: the model's own (splits.trained_works), so member_works is already applied.
    architecture: params.yaml's embedded.<kind>, front end included.
    base: the folder of a model to fine-tune instead of training from scratch.

    The model's artist labels are the whole corpus's `artists`, so that every evaluated clip, of
    a member artist or not, is scored under its own artist's condition.
    """
    clips = training_clips(splits, regime["filler_clips"], seed, regime["members"])
    manifest = read_table(manifest_path, CORPUS_MANIFEST).set_index("clip_id")
    meta = manifest.loc[clips["clip_id"]].reset_index()
    audio = corpus_audio(manifest_path, clips["clip_id"], sample_rate)
    config = {
        **architecture,
        "sample_rate": sample_rate,
        "artists": sorted(artists),
    }
    train_model(
        kind,
        audio,
        meta,
        config,
        regime["epochs"],
        seed,
        Path(out_dir),
        resolve_device(device),
        Path(base) if base else None,
        regime["schedule"],
    )
    return clips


def model_features(
    spec: dict,
    manifest_path: str | Path,
    splits: pd.DataFrame,
    attacks: dict[str, dict],
    batch_size: int,
    device: str,
    reference: dict | None = None,
    only: list[str] | None = None,
    shard: tuple[int, int] = (0, 1),
) -> pd.DataFrame:
    """Membership features of the evaluated clips under the attacks of the model's family
    (or the subset `only` names); `reference` is the spec of the model that
    reference-calibrated attacks compare with. `shard` = (k, shards) scores only shard k's
    clips (see audio_di.shards); a shard without clips loads no model."""
    clip_ids = evaluation_sets(splits)["clip_id"]
    clip_ids = clip_ids.iloc[shard_clips(len(clip_ids), batch_size, shard[1], shard[0])]
    if clip_ids.empty:
        empty = pd.DataFrame({"clip_id": clip_ids.to_numpy()})
        empty.attrs[MEMBER_SIGNS] = {}
        return empty
    started = time.perf_counter()
    adapter, reference_adapter, chosen = load_scorer(spec, attacks, device, reference, only)
    # benchmarks/scaling.md weighs this per-shard cost against the scoring time.
    log.info("models loaded on %s in %.2f s", adapter.device, time.perf_counter() - started)
    return score_clips(adapter, manifest_path, clip_ids, chosen, batch_size, reference_adapter)


def load_scorer(
    spec: dict,
    attacks: dict[str, dict],
    device: str,
    reference: dict | None = None,
    only: list[str] | None = None,
) -> tuple[Adapter, Adapter | None, dict[str, dict]]:
    """The model of `spec` on `device`, the model of `reference` beside it, and the attacks
    of the model's family that it runs (family_attacks)."""
    adapter = load_adapter(spec, resolve_device(device))
    reference_adapter = load_adapter(reference, adapter.device) if reference else None
    return (
        adapter,
        reference_adapter,
        family_attacks(adapter, attacks, reference_adapter is not None, only),
    )


def family_attacks(
    adapter: Adapter,
    attacks: dict[str, dict],
    has_reference: bool,
    only: list[str] | None = None,
) -> dict[str, dict]:
    """The attacks configured for the adapter's family (features.attacks.<family>, or the
    subset `only` names) that it runs, each with every setting: a model without a reference
    skips the attacks that need one."""
    family = family_of(adapter)
    configured = attacks.get(family)
    if not configured:
        kind = type(adapter).__name__
        raise ValueError(f"features.attacks.{family}: no attack configured for {kind}")
    unknown = sorted(set(only or []) - set(configured))
    if unknown:
        raise ValueError(
            f"model attacks {unknown} are not configured under features.attacks.{family}"
        )
    if only is not None:
        configured = {name: configured[name] for name in only}
    chosen = attacks_for(adapter, configured, has_reference)
    return {name: attack_settings(name, settings) for name, settings in chosen.items()}


def score_clips(
    adapter: Adapter,
    manifest_path: str | Path,
    clip_ids: pd.Series,
    attacks: dict[str, dict],
    batch_size: int,
    reference: Adapter | None = None,
) -> pd.DataFrame:
    """Features of the given clips of a corpus manifest under `attacks` (name -> settings)."""
    manifest = read_table(manifest_path, CORPUS_MANIFEST).set_index("clip_id")
    meta = manifest.loc[clip_ids].reset_index()
    audio = corpus_audio(manifest_path, clip_ids, adapter.sample_rate, adapter.channels)
    return extract_features(adapter, audio, meta, attacks, batch_size, reference=reference)
