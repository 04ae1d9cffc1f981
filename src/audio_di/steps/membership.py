"""The analysis stage's per-clip membership inference: pooled metrics, ROC points and the
per-artist AUC of every model, each feature oriented by the member sign its features table
carries."""

from __future__ import annotations

import pandas as pd

from audio_di.mia import bootstrap_auc, membership_metrics, roc_points
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets
from audio_di.tables import ARTIST_AUC, MEMBER_SIGNS, MIA_METRICS, ROC


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


def artist_membership(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    metrics: pd.DataFrame,
    signs: dict[str, int],
    bootstrap: int,
    seed: int,
) -> pd.DataFrame:
    """Per-clip AUC within each evaluated artist, train clips against held-out clips, on the
    feature with the model's best pooled AUC (`metrics`, from model_membership), with a
    bootstrap interval over works: what per-clip MIA says about the artist that dataset
    inference tests."""
    feature = metrics.loc[metrics["auc"].idxmax(), "feature"]
    clips = evaluation_sets(splits).merge(features[["clip_id", feature]], on="clip_id")
    clips = clips.assign(score=signs[feature] * clips[feature]).dropna(subset="score")
    rows = []
    for artist, group in clips.groupby("artist", sort=True):
        suspect, validation = group[group["suspect"]], group[~group["suspect"]]
        value, lo, hi = bootstrap_auc(
            suspect["score"].to_numpy(float),
            validation["score"].to_numpy(float),
            bootstrap,
            stable_seed(seed, model, artist),
            suspect["work_id"].to_numpy(),
            validation["work_id"].to_numpy(),
        )
        status = group["artist_status"].iloc[0]
        rows.append((model, artist, status, feature, value, lo, hi, len(suspect), len(validation)))
    return pd.DataFrame(rows, columns=list(ARTIST_AUC.columns))


# What membership returns, by key: the tables of results/mia/.
MIA_TABLES = {"metrics": MIA_METRICS, "roc": ROC, "artists": ARTIST_AUC}


def membership(
    models: dict[str, tuple[pd.DataFrame, pd.DataFrame]], bootstrap: int, seed: int
) -> dict[str, pd.DataFrame]:
    """Per-clip MIA of every model, from its (features, splits): the pooled metrics, the ROC
    points and the per-artist AUC, each feature oriented by the member sign that its features
    table carries."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in MIA_TABLES}
    for model, (features, splits) in models.items():
        signs = features.attrs[MEMBER_SIGNS]
        metrics, roc = model_membership(model, features, splits, signs, bootstrap, seed)
        parts["metrics"].append(metrics)
        parts["roc"].append(roc)
        parts["artists"].append(
            artist_membership(model, features, splits, metrics, signs, bootstrap, seed)
        )
    return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
