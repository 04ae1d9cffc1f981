"""Study-level steps that the workflow scripts call: each joins tables and runs the library."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio_di.audio import load_clips
from audio_di.blind import STAT_COLUMNS, audio_statistics, blind_auc
from audio_di.di import (
    CONTAMINATION_COLUMNS,
    PVALUE_VS_N_COLUMNS,
    contamination_curve,
    dataset_inference,
    false_positive_rate,
    pvalue_vs_n,
    subset_pvalues,
    validation_null,
)
from audio_di.mia import membership_metrics, roc_points
from audio_di.seeding import stable_seed
from audio_di.shards import shard_clips
from audio_di.splits import evaluation_sets, training_clips

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DISettings:
    """How dataset inference is run (params.yaml `di`, plus the bootstrap draws and seed)."""

    methods: list[str]
    folds: int
    alpha: float
    n_grid: list[int]
    resamples: int
    null_trials: int
    contamination: list[float]
    bootstrap: int
    seed: int


VERDICT_COLUMNS = [  # the contract's columns, then n_missing
    "model",
    "artist",
    "artist_status",
    "method",
    "n_suspect",
    "n_validation",
    "p_value",
    "detected",
    "blind_auc",
    "shift_flag",
    "n_missing",
]


def merge_corpus(
    manifests: list[str | Path], failures: list[str | Path], clips_folder: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One manifest for the corpus; paths become relative to the corpus folder."""
    manifest = pd.concat([pd.read_csv(p) for p in manifests], ignore_index=True)
    manifest["path"] = clips_folder + "/" + manifest["path"]
    if manifest["clip_id"].duplicated().any():
        dup = manifest.loc[manifest["clip_id"].duplicated(), "clip_id"].tolist()[:10]
        raise ValueError(f"duplicate clip_id across artists: {dup}")
    failed = pd.concat([pd.read_csv(p) for p in failures], ignore_index=True)
    return manifest.sort_values("clip_id", ignore_index=True), failed


def corpus_audio(
    manifest_path: str | Path, clip_ids: pd.Series, sample_rate: int, channels: int = 1
) -> np.ndarray:
    """Audio of the given clips, in the given order, resampled to `sample_rate`: (N, samples)
    mixed to mono, or (N, channels, samples) for a model that takes more channels."""
    manifest = pd.read_csv(manifest_path).set_index("clip_id")
    missing = sorted(set(clip_ids) - set(manifest.index))
    if missing:
        raise ValueError(f"{manifest_path}: no clips {missing[:10]}")
    root = Path(manifest_path).parent
    return load_clips([root / p for p in manifest.loc[clip_ids, "path"]], sample_rate, channels)


def resolve_device(device: str) -> str:
    """`auto` means CUDA where there is one."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def train_embedded(
    kind: str,
    manifest_path: str | Path,
    splits: pd.DataFrame,
    regime: dict,
    architecture: dict,
    frontend: dict,
    sample_rate: int,
    seed: int,
    out_dir: str | Path,
    device: str,
) -> pd.DataFrame:
    """Train one embedded model on its regime's clips; returns the clips it was trained on.

    regime: filler_clips, members (whether member artists' train works are included), epochs.

    The model's artist labels cover the whole corpus, so that every evaluated clip, of a member
    artist or not, is scored under its own artist's condition.
    """
    # Model code imports diffusers and transformers (seconds); analysis jobs never need it.
    from audio_di.models import train_model

    clips = training_clips(splits, regime["filler_clips"], seed, regime["members"])
    manifest = pd.read_csv(manifest_path).set_index("clip_id")
    meta = manifest.loc[clips["clip_id"]].reset_index()
    audio = corpus_audio(manifest_path, clips["clip_id"], sample_rate)
    config = {
        **architecture,
        "frontend": frontend,
        "sample_rate": sample_rate,
        "artists": sorted(splits["artist"].unique()),
    }
    train_model(
        kind, audio, meta, config, regime["epochs"], seed, Path(out_dir), resolve_device(device)
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
    from audio_di.attacks.registry import attacks_for, extract_features, family_of
    from audio_di.models import load_adapter

    clip_ids = evaluation_sets(splits)["clip_id"]
    clip_ids = clip_ids.iloc[shard_clips(len(clip_ids), batch_size, shard[1], shard[0])]
    if clip_ids.empty:
        return pd.DataFrame({"clip_id": clip_ids.to_numpy()})
    started = time.perf_counter()
    adapter = load_adapter(spec, resolve_device(device))
    reference_adapter = load_adapter(reference, adapter.device) if reference else None
    # benchmarks/scaling.md weighs this per-shard cost against the scoring time.
    log.info("models loaded on %s in %.2f s", adapter.device, time.perf_counter() - started)
    family = family_of(adapter)
    configured = attacks.get(family)
    if not configured:
        raise ValueError(f"features.attacks.{family}: no attack configured for {spec['kind']}")
    unknown = sorted(set(only or []) - set(configured))
    if unknown:
        raise ValueError(
            f"model attacks {unknown} are not configured under features.attacks.{family}"
        )
    if only is not None:
        configured = {name: configured[name] for name in only}
    manifest = pd.read_csv(manifest_path).set_index("clip_id")
    meta = manifest.loc[clip_ids].reset_index()
    audio = corpus_audio(manifest_path, clip_ids, adapter.sample_rate, adapter.channels)
    chosen = attacks_for(adapter, configured, reference_adapter is not None)
    return extract_features(adapter, audio, meta, chosen, batch_size, reference=reference_adapter)


def corpus_statistics(
    manifest_path: str | Path, splits: pd.DataFrame, sample_rate: int
) -> pd.DataFrame:
    """Audio statistics of every evaluated clip, for the blind baseline."""
    clip_ids = evaluation_sets(splits)["clip_id"]
    stats = audio_statistics(corpus_audio(manifest_path, clip_ids, sample_rate), sample_rate)
    return pd.concat([clip_ids.reset_index(drop=True), stats], axis=1)


def model_membership(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    signs: dict[str, int],
    bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-clip MIA: members are member artists' train clips, non-members their held-out clips."""
    clips = evaluation_sets(splits)
    clips = clips[clips["artist_status"] == "member"].merge(features, on="clip_id", validate="1:1")
    is_member = clips["suspect"]
    return (
        membership_metrics(
            model, clips, is_member, signs, bootstrap, stable_seed(seed, model), clips["work_id"]
        ),
        roc_points(model, clips, is_member, signs),
    )


def model_dataset_inference(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    stats: pd.DataFrame,
    di: DISettings,
) -> dict[str, pd.DataFrame]:
    """Per artist and method: DI verdicts (suspect = train works, validation = held-out
    works) with the blind baseline's shift flag, p-value-vs-n curves, null p-values for the
    calibration, and the contamination ablation (member artists).

    Null trials come from splitting each artist's validation works in halves, and from the
    non-member artists' own suspect and validation sets, at least `null_trials` in all."""
    feature_columns = [c for c in features.columns if c != "clip_id"]
    clips = evaluation_sets(splits)
    missing = sorted(set(clips["clip_id"]) - set(features["clip_id"]))
    if missing:
        raise ValueError(f"model {model}: features lack evaluated clips {missing[:10]}")
    clips = clips.merge(features, on="clip_id", validate="1:1").merge(
        stats, on="clip_id", validate="1:1"
    )
    statuses = clips.groupby("artist")["artist_status"].first()
    sources = len(statuses) + int((statuses == "nonmember").sum())
    per_source = -(-di.null_trials // sources)  # ceiling division
    tables: dict[str, list] = {"verdicts": [], "curves": [], "null": [], "contamination": []}
    artists = clips.groupby("artist", sort=True)
    for artist, group in tqdm(artists, desc=f"di {model}", unit="artist", file=sys.stderr):
        suspect, validation = group[group["suspect"]], group[~group["suspect"]]
        artist_seed = stable_seed(di.seed, model, artist)
        works_s, works_v = suspect["work_id"].to_numpy(), validation["work_id"].to_numpy()
        auc, lo, _ = blind_auc(
            suspect[STAT_COLUMNS].to_numpy(float),
            validation[STAT_COLUMNS].to_numpy(float),
            works_s,
            works_v,
            di.folds,
            di.bootstrap,
            artist_seed,
        )
        # Only an interval above 0.5 means the sets differ; cross-fitted AUCs below 0.5 are
        # a known artefact of fitting on the complement of each fold.
        shift = lo > 0.5
        status = statuses[artist]
        xs = suspect[feature_columns].to_numpy(float)
        xv = validation[feature_columns].to_numpy(float)
        # Clips with a missing feature stay in; the procedure imputes the value.
        n_missing = int((~np.isfinite(np.r_[xs, xv])).any(axis=1).sum())
        largest = min(len(xs), len(xv))
        labels = {"model": model, "artist": artist, "artist_status": status}
        for method in di.methods:
            seed = stable_seed(artist_seed, method)
            p = dataset_inference(xs, xv, works_s, works_v, method, di.folds, seed)
            tables["verdicts"].append(
                (
                    model,
                    artist,
                    status,
                    method,
                    len(xs),
                    len(xv),
                    p,
                    p < di.alpha,
                    auc,
                    shift,
                    n_missing,
                )
            )
            curve = pvalue_vs_n(
                xs, xv, works_s, works_v, method, di.n_grid, di.resamples, di.folds, di.alpha,
                seed,
            )  # fmt: skip
            tables["curves"].append(curve.assign(**labels, method=method))
            null = {
                "validation_split": validation_null(
                    xv, works_v, method, per_source, largest, di.folds, seed + 1
                )
            }
            if status == "nonmember":
                null["nonmember_artist"] = subset_pvalues(
                    xs, xv, works_s, works_v, method, largest, per_source, di.folds, seed + 2
                )
            for source, values in null.items():
                tables["null"].append(
                    pd.DataFrame({**labels, "method": method, "source": source, "p": values})
                )
            if status == "member":
                curve = contamination_curve(
                    xs, xv, works_s, works_v, method, di.contamination, di.resamples,
                    di.folds, di.alpha, seed + 3,
                )  # fmt: skip
                tables["contamination"].append(curve.assign(**labels, method=method))
    null = pd.concat(tables["null"], ignore_index=True)
    short = null.groupby("method").size()
    if (short < di.null_trials).any():
        log.warning(
            "model %s: only %s null trials (asked %d): artists need four held-out works for "
            "validation splits", model, short.to_dict(), di.null_trials,
        )  # fmt: skip
    return {
        "verdicts": pd.DataFrame(tables["verdicts"], columns=VERDICT_COLUMNS),
        "curves": pd.concat(tables["curves"], ignore_index=True)[
            PVALUE_VS_N_COLUMNS + ["artist_status"]
        ],
        "null": null,
        "contamination": _concat_or_empty(tables["contamination"], CONTAMINATION_TABLE),
    }


CONTAMINATION_TABLE = ["model", "artist", "artist_status", "method", *CONTAMINATION_COLUMNS]
CALIBRATION_COLUMNS = [
    "model",
    "method",
    "alpha",
    "null_trials",
    "false_positive_rate",
    "fpr_ci_high",
    "fpr_ci_low",
]


def _concat_or_empty(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def calibration(null: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per model and method: the empirical false-positive rate at alpha over the null trials,
    with its 95% binomial (Clopper-Pearson) interval."""
    rows = []
    for (model, method), group in null.groupby(["model", "method"], sort=True):
        rate, lo, hi = false_positive_rate(group["p"].to_numpy(), alpha)
        rows.append((model, method, alpha, len(group), rate, hi, lo))
    return pd.DataFrame(rows, columns=CALIBRATION_COLUMNS)


def smallest_detecting_n(curves: pd.DataFrame, rate: float = 0.95) -> dict[str, int | None]:
    """Per model/method: the smallest n at which every member artist is detected at `rate`."""
    members = curves[curves["artist_status"] == "member"]
    out = {}
    for (model, method), group in members.groupby(["model", "method"], sort=True):
        by_n = group.groupby("n")["detect_rate"].agg(["min", "count"])
        n_artists = group["artist"].nunique()
        ok = by_n[(by_n["min"] >= rate) & (by_n["count"] == n_artists)].index
        out[f"{model}/{method}"] = int(ok.min()) if len(ok) else None
    return out


# The claim that DI is built to show, for a model trained "at scale": per-clip membership
# inference is weak (no feature above this AUC), yet every member artist is detected at this
# p-value and no non-member artist is detected at alpha.
CLAIM_MAX_AUC = 0.65
CLAIM_MEMBER_P = 0.01


def claim_check(best_auc: float, member: pd.DataFrame, nonmember: pd.DataFrame) -> dict:
    """Whether one model's verdicts (of one method) show the claim, criterion by criterion."""
    weak = best_auc <= CLAIM_MAX_AUC
    members = bool(len(member)) and bool((member["p_value"] < CLAIM_MEMBER_P).all())
    clean = not nonmember["detected"].any()
    return {
        "weak_per_clip_mia": weak,
        "all_members_at_p_0.01": members,
        "no_nonmember_detected": clean,
        "holds": weak and members and clean,
    }


def headline(
    mia: pd.DataFrame, verdicts: pd.DataFrame, curves: pd.DataFrame, calibrated: pd.DataFrame
) -> dict:
    """The study's headline numbers for results/metrics.json (read by `dvc metrics`)."""
    models = {}
    for model, group in mia.groupby("model", sort=True):
        best = group.loc[group["auc"].idxmax()]
        di = {}
        for method, v in verdicts[verdicts["model"] == model].groupby("method", sort=True):
            member = v[v["artist_status"] == "member"]
            nonmember = v[v["artist_status"] == "nonmember"]
            di[method] = {
                "member_artists_detected": int(member["detected"].sum()),
                "member_artists": int(len(member)),
                "nonmember_artists_detected": int(nonmember["detected"].sum()),
                "nonmember_artists": int(len(nonmember)),
                "max_member_p_value": float(member["p_value"].max()) if len(member) else None,
                "shift_flags": int(v["shift_flag"].sum()),
                "claim": claim_check(float(best["auc"]), member, nonmember),
            }
        models[model] = {
            "best_feature": best["feature"],
            "best_auc": round(float(best["auc"]), 4),
            "best_tpr_at_1pct_fpr": round(float(group["tpr_at_1pct_fpr"].max()), 4),
            "dataset_inference": di,
        }
    # A procedure whose null false-positive rate exceeds alpha beyond sampling error gives
    # verdicts that cannot be trusted at face value: say so at the top.
    inflated = calibrated[calibrated["fpr_ci_low"] > calibrated["alpha"]]
    return {
        "calibration_warning": [
            f"{r.model}/{r.method}: null false-positive rate {r.false_positive_rate:.3f} "
            f"exceeds alpha {r.alpha} (95% interval {r.fpr_ci_low:.3f}-{r.fpr_ci_high:.3f})"
            for r in inflated.itertuples()
        ],
        "null_false_positive_rate": {
            f"{r.model}/{r.method}": round(r.false_positive_rate, 4)
            for r in calibrated.itertuples()
        },
        "models": models,
        "n_for_95pct_detection": smallest_detecting_n(curves),
    }


def default_attacks() -> dict[str, dict[str, dict]]:
    """Every registered attack with its default settings, by family (the audit's attacks;
    the workflow reads them from features.attacks)."""
    from audio_di.attacks.registry import ATTACKS

    attacks: dict[str, dict[str, dict]] = {}
    for name, attack in ATTACKS.items():
        attacks.setdefault(attack.family, {})[name] = {}
    return attacks


@dataclass(frozen=True)
class Catalogue:
    """How a user's audio becomes clips (params.yaml corpora.<name> of kind folder)."""

    clip_seconds: float
    sample_rate: int
    max_clips_per_file: int | None = None


def audit_catalogue(
    spec: dict,
    name: str,
    suspect: str | Path,
    validation: str | Path,
    out_dir: str | Path,
    catalogue: Catalogue,
    device: str,
    batch_size: int,
    di: DISettings,
    attacks: dict[str, dict] | None = None,
) -> dict[str, pd.DataFrame]:
    """DI of one model against one catalogue: suspect and validation are each a folder of
    audio (each file one work of the artist "catalogue") or a manifest CSV.

    The steps are the workflow's: the folder corpus's ingestion (clips, manifest.csv and
    rejected.csv in out_dir), its split with the roles given, the model's features under
    `attacks` (settings by family, as in params.yaml features.attacks; default: every
    registered attack at its defaults), the blind baseline and `model_dataset_inference`
    under the model's `name` (which seeds the draws), so that a study of the same catalogue
    and model with the same settings gives the same p-values. Returns the tables of
    `model_dataset_inference` plus manifest and rejected."""
    from audio_di.corpus.folder import catalogue_files, ingest_catalogue
    from audio_di.di import MIN_WORKS
    from audio_di.io import write_table
    from audio_di.splits import check_set_sizes, make_splits

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
    write_table(manifest, out_dir / "manifest.csv")
    write_table(rejected, out_dir / "rejected.csv")
    splits = make_splits(manifest, members=[], heldout_fraction=0.5, seed=di.seed)
    try:
        check_set_sizes(splits, max(MIN_WORKS[m] for m in di.methods))
    except ValueError as err:
        raise ValueError(
            f"{err} ({len(rejected)} rejected: see {out_dir / 'rejected.csv'})"
        ) from None
    manifest_path = out_dir / "manifest.csv"
    features = model_features(
        spec, manifest_path, splits, attacks or default_attacks(), batch_size, device
    )
    stats = corpus_statistics(manifest_path, splits, catalogue.sample_rate)
    tables = model_dataset_inference(name, features, splits, stats, di)
    return {**tables, "manifest": manifest, "rejected": rejected}


def verdict_sentence(verdicts: pd.DataFrame, model: str, alpha: float) -> str:
    """One sentence per artist: detected or not, by which method at what p, on how many
    clips, and whether the blind baseline flagged a distribution shift."""
    sentences = []
    for artist, group in verdicts.groupby("artist", sort=True):
        who = "The catalogue" if artist == "catalogue" else f"The catalogue of {artist}"
        found = group.loc[group["detected"].astype(bool), "method"].tolist()
        head = (
            f"was detected in {model} by {' and '.join(found)}"
            if found
            else (f"was not detected in {model}")
        )
        pvalues = ", ".join(f"{r.method} p = {r.p_value:.3g}" for r in group.itertuples())
        first = group.iloc[0]
        shift = "flagged" if first["shift_flag"] else "did not flag"
        sentences.append(
            f"{who} {head} ({pvalues}; alpha {alpha}) with {first['n_suspect']} suspect and "
            f"{first['n_validation']} validation clips; the blind baseline {shift} a "
            f"distribution shift between the sets (AUC {first['blind_auc']:.2f})."
        )
    return "\n".join(sentences)
