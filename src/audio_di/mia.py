"""Per-clip membership metrics: AUC with bootstrap intervals, TPR at low FPR, ROC points."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve
from tqdm import tqdm

from audio_di.tables import MIA_METRICS

log = logging.getLogger(__name__)


def weighted_auc(
    positive: np.ndarray, negative: np.ndarray, w_pos: np.ndarray, w_neg: np.ndarray
) -> np.ndarray:
    """AUC, P(score of a positive > score of a negative) with ties counting half, where clips
    carry weights: (D, n_pos) and (D, n_neg) weights give D AUCs from one sort."""
    order = np.sort(negative)
    cum = np.concatenate(
        [np.zeros((len(w_neg), 1)), np.cumsum(w_neg[:, np.argsort(negative)], 1)], 1
    )
    below = cum[:, np.searchsorted(order, positive, "left")]
    up_to = cum[:, np.searchsorted(order, positive, "right")]
    wins = (w_pos * (below + up_to) / 2).sum(axis=1)
    return wins / (w_pos.sum(axis=1) * w_neg.sum(axis=1))


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    return float(
        weighted_auc(positive, negative, np.ones((1, len(positive))), np.ones((1, len(negative))))[
            0
        ]
    )


def _cluster_weights(groups: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, n) weights of a bootstrap that resamples whole groups with replacement."""
    codes = np.unique(groups, return_inverse=True)[1]
    n_groups = codes.max() + 1
    picks = rng.integers(0, n_groups, (draws, n_groups))
    counts = np.zeros((draws, n_groups))
    np.add.at(counts, (np.arange(draws)[:, None], picks), 1)
    return counts[:, codes]


def bootstrap_auc(
    positive: np.ndarray,
    negative: np.ndarray,
    draws: int,
    seed: int,
    groups_pos: np.ndarray | None = None,
    groups_neg: np.ndarray | None = None,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """AUC and a percentile interval from a bootstrap stratified by class.

    With groups (e.g. the work of each clip) whole groups are resampled, because clips of one
    work are correlated and resampling them one by one gives intervals that are too narrow.
    """
    rng = np.random.default_rng(seed)
    groups_pos = np.arange(len(positive)) if groups_pos is None else np.asarray(groups_pos)
    groups_neg = np.arange(len(negative)) if groups_neg is None else np.asarray(groups_neg)
    values = weighted_auc(
        positive,
        negative,
        _cluster_weights(groups_pos, draws, rng),
        _cluster_weights(groups_neg, draws, rng),
    )
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return auc(positive, negative), float(lo), float(hi)


def tpr_at_fpr(positive: np.ndarray, negative: np.ndarray, max_fpr: float) -> float:
    """Highest true-positive rate whose false-positive rate does not exceed `max_fpr`.

    NaN when the sample cannot resolve that rate: with n negatives the smallest non-zero
    false-positive rate is 1/n, and a TPR quoted below it would be a guess.
    """
    if max_fpr < 1 / len(negative):
        return float("nan")
    # Every threshold, not only the corners: where scores tie, collinear points dropped by
    # drop_intermediate can be the last one below max_fpr.
    fpr, tpr, _ = roc_curve(
        np.r_[np.ones(len(positive)), np.zeros(len(negative))],
        np.r_[positive, negative],
        drop_intermediate=False,
    )
    return float(tpr[fpr <= max_fpr].max())


def membership_metrics(
    model: str,
    features: pd.DataFrame,
    is_member: pd.Series,
    signs: dict[str, int],
    bootstrap: int,
    seed: int,
    groups: pd.Series | None = None,
) -> pd.DataFrame:
    """One row per feature. `signs[feature]` is -1 where lower values mean member; `groups`
    (the work of each clip) makes the bootstrap resample whole works."""
    rows = []
    members = is_member.to_numpy(bool)
    groups = np.arange(len(members)) if groups is None else groups.to_numpy()
    for column, sign in tqdm(signs.items(), desc=f"mia {model}", unit="feature", file=sys.stderr):
        score = sign * features[column].to_numpy(float)
        # Missing values (failed or non-finite scores) are left out and counted, per feature.
        ok = np.isfinite(score)
        if not ok.all():
            log.warning("model %s: %s is missing for %d clip(s)", model, column, (~ok).sum())
        pos, neg = score[members & ok], score[~members & ok]
        if len(pos) == 0 or len(neg) == 0:
            raise ValueError(f"model {model}: feature {column} has no finite value for a class")
        value, lo, hi = bootstrap_auc(
            pos, neg, bootstrap, seed, groups[members & ok], groups[~members & ok]
        )
        rows.append(
            (model, column, value, lo, hi, tpr_at_fpr(pos, neg, 0.01), tpr_at_fpr(pos, neg, 0.001),
             len(pos), len(neg), int((~ok).sum()), sign)
        )  # fmt: skip
    return pd.DataFrame(rows, columns=list(MIA_METRICS.columns))


def roc_points(
    model: str, features: pd.DataFrame, is_member: pd.Series, signs: dict[str, int]
) -> pd.DataFrame:
    """ROC curve points for every feature (the ROC table)."""
    labels = is_member.to_numpy(bool)
    frames = []
    for column, sign in signs.items():
        score = sign * features[column].to_numpy(float)
        ok = np.isfinite(score)
        fpr, tpr, _ = roc_curve(labels[ok], score[ok])
        frames.append(pd.DataFrame({"model": model, "feature": column, "fpr": fpr, "tpr": tpr}))
    return pd.concat(frames, ignore_index=True)
