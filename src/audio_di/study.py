"""Study-level steps that the workflow scripts call: each joins tables and runs the library."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audio_di.audio import load_clips
from audio_di.blind import STAT_COLUMNS, audio_statistics, blind_auc
from audio_di.di import PVALUE_VS_N_COLUMNS, dataset_inference, pvalue_vs_n
from audio_di.mia import membership_metrics, roc_points
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets, training_clips


@dataclass(frozen=True)
class DISettings:
    """How dataset inference is run (params.yaml `di`, plus the bootstrap draws and seed)."""

    methods: list[str]
    folds: int
    alpha: float
    n_grid: list[int]
    resamples: int
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


def corpus_audio(manifest_path: str | Path, clip_ids: pd.Series, sample_rate: int) -> np.ndarray:
    """(N, samples) audio of the given clips, in the given order."""
    manifest = pd.read_csv(manifest_path).set_index("clip_id")
    missing = sorted(set(clip_ids) - set(manifest.index))
    if missing:
        raise ValueError(f"{manifest_path}: no clips {missing[:10]}")
    root = Path(manifest_path).parent
    return load_clips([root / p for p in manifest.loc[clip_ids, "path"]], sample_rate)


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
) -> pd.DataFrame:
    """Membership features of every evaluated clip under the attacks of the model's family
    (or the subset `only` names); `reference` is the spec of the model that
    reference-calibrated attacks compare with."""
    from audio_di.attacks.registry import attacks_for, extract_features, family_of
    from audio_di.models import load_adapter

    adapter = load_adapter(spec, resolve_device(device))
    family = family_of(adapter)
    if not attacks.get(family):
        raise ValueError(f"features.attacks.{family}: no attack configured for {spec['kind']}")
    clip_ids = evaluation_sets(splits)["clip_id"]
    manifest = pd.read_csv(manifest_path).set_index("clip_id")
    meta = manifest.loc[clip_ids].reset_index()
    audio = corpus_audio(manifest_path, clip_ids, adapter.sample_rate)
    reference_adapter = load_adapter(reference, adapter.device) if reference else None
    configured = attacks[family]
    unknown = sorted(set(only or []) - set(configured))
    if unknown:
        raise ValueError(
            f"model attacks {unknown} are not configured under features.attacks.{family}"
        )
    if only is not None:
        configured = {name: configured[name] for name in only}
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per artist: DI verdicts (suspect = train works, validation = held-out works) with the
    blind baseline's shift flag, and the p-value-vs-n curves."""
    feature_columns = [c for c in features.columns if c != "clip_id"]
    clips = evaluation_sets(splits)
    missing = sorted(set(clips["clip_id"]) - set(features["clip_id"]))
    if missing:
        raise ValueError(f"model {model}: features lack evaluated clips {missing[:10]}")
    clips = clips.merge(features, on="clip_id", validate="1:1").merge(
        stats, on="clip_id", validate="1:1"
    )
    verdicts, curves = [], []
    for artist, group in clips.groupby("artist", sort=True):
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
        status = group["artist_status"].iloc[0]
        xs = suspect[feature_columns].to_numpy(float)
        xv = validation[feature_columns].to_numpy(float)
        # Clips with a missing feature stay in; the procedure imputes the value.
        missing = int((~np.isfinite(np.r_[xs, xv])).any(axis=1).sum())
        for method in di.methods:
            p = dataset_inference(xs, xv, works_s, works_v, method, di.folds, artist_seed)
            verdicts.append(
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
                    missing,
                )
            )
            curve = pvalue_vs_n(
                xs, xv, works_s, works_v, method, di.n_grid, di.resamples, di.folds, di.alpha,
                artist_seed,
            )  # fmt: skip
            curves.append(
                curve.assign(model=model, artist=artist, method=method, artist_status=status)
            )
    curve_table = pd.concat(curves, ignore_index=True)
    return (
        pd.DataFrame(verdicts, columns=VERDICT_COLUMNS),
        curve_table[PVALUE_VS_N_COLUMNS + ["artist_status"]],
    )


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


def headline(mia: pd.DataFrame, verdicts: pd.DataFrame, curves: pd.DataFrame) -> dict:
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
            }
        models[model] = {
            "best_feature": best["feature"],
            "best_auc": round(float(best["auc"]), 4),
            "best_tpr_at_1pct_fpr": round(float(group["tpr_at_1pct_fpr"].max()), 4),
            "dataset_inference": di,
        }
    return {"models": models, "n_for_95pct_detection": smallest_detecting_n(curves)}


CATALOGUE_COLUMNS = ["path", "artist", "work_id", "set"]


def read_catalogue(path: str | Path) -> pd.DataFrame:
    """A rights holder's catalogue: one row per clip with path (relative to the CSV), artist,
    work_id and set (suspect: offered to training; validation: known not to be)."""
    path = Path(path)
    table = pd.read_csv(path)
    missing = [c for c in CATALOGUE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; needs {CATALOGUE_COLUMNS}")
    bad = sorted(set(table["set"]) - {"suspect", "validation"})
    if bad:
        raise ValueError(f"{path}: column 'set' has {bad}; use 'suspect' or 'validation'")
    files = [path.parent / p for p in table["path"]]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise ValueError(f"{path}: {len(absent)} audio file(s) not found, e.g. {absent[:3]}")
    shared = set(table.loc[table["set"] == "suspect", "work_id"]) & set(
        table.loc[table["set"] == "validation", "work_id"]
    )
    if shared:
        raise ValueError(f"{path}: work(s) {sorted(shared)[:5]} are in both sets")
    table["path"] = [str(f) for f in files]
    if "clip_id" not in table.columns:
        table["clip_id"] = table["path"]
    return table


def audit_catalogue(
    spec: dict, catalogue: pd.DataFrame, device: str, batch_size: int, di: DISettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DI of one model against one catalogue, per artist: verdicts and p-value-vs-n curves.

    The attacks are the registered defaults of the model's family."""
    from audio_di.attacks.registry import ATTACKS, attacks_for, extract_features, family_of
    from audio_di.models import load_adapter

    adapter = load_adapter(spec, resolve_device(device))
    family = family_of(adapter)
    family_attacks = {name: {} for name, attack in ATTACKS.items() if attack.family == family}
    attacks = attacks_for(adapter, family_attacks, has_reference=False)
    audio = load_clips(list(catalogue["path"]), adapter.sample_rate)
    features = extract_features(adapter, audio, catalogue, attacks, batch_size)
    stats = audio_statistics(audio, adapter.sample_rate).assign(
        clip_id=catalogue["clip_id"].to_numpy()
    )
    splits = catalogue.assign(
        artist_status="audited",
        role=np.where(catalogue["set"] == "suspect", "train", "heldout"),
        filler=False,
    )
    return model_dataset_inference(spec["source"], features, splits, stats, di)
