"""The analysis stage: per-clip MIA, dataset inference with the blind baseline, the
calibration of the DI procedures on null trials, the claim check, the headline numbers and
the verdict sentence."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from audio_di.blind import audio_statistics, blind_auc
from audio_di.corpus.manifest import corpus_audio
from audio_di.di import (
    DISettings,
    contamination_curve,
    dataset_inference,
    false_positive_rate,
    pvalue_vs_n,
    subset_pvalues,
    validation_null,
)
from audio_di.mia import membership_metrics, roc_points
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets
from audio_di.tables import (
    BLIND_STATISTICS,
    CALIBRATION,
    CONTAMINATION,
    NULL_PVALUES,
    PVALUE_VS_N,
    VERDICTS,
)

log = logging.getLogger(__name__)


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


# What model_dataset_inference returns, by key: the tables of results/di/models/<model>/.
DI_TABLES = {
    "verdicts": VERDICTS,
    "curves": PVALUE_VS_N,
    "null": NULL_PVALUES,
    "contamination": CONTAMINATION,
}


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
            suspect[list(BLIND_STATISTICS)].to_numpy(float),
            validation[list(BLIND_STATISTICS)].to_numpy(float),
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
        "verdicts": pd.DataFrame(tables["verdicts"], columns=list(VERDICTS.columns)),
        "curves": pd.concat(tables["curves"], ignore_index=True)[list(PVALUE_VS_N.columns)],
        "null": null,
        "contamination": _concat_or_empty(tables["contamination"], list(CONTAMINATION.columns)),
    }


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
    return pd.DataFrame(rows, columns=list(CALIBRATION.columns))


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
