"""The weighted test's feature weights, learnt on a shadow model and never on the target.

A shadow model is trained the way the target was, by the auditor, on works it owns: some of
them (its members), not others. Each feature's work-level AUC between the two, with the
feature oriented by its registered member sign, says how well it separates trained from
held-out works on a model of this kind; w = max(0, AUC - 0.5) then weighs it in the target's
one-sided test (engine.WEIGHTED). A feature that is uninformative or reversed on the shadow
weighs 0, so no sign is ever learnt, and no weight sees the target's labels (Shokri et al.,
"Membership inference attacks against machine learning models", IEEE S&P 2017, for shadow
models; Carlini et al., "Membership inference attacks from first principles", arXiv
2112.03570, for calibrating per-feature scores on shadows offline).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from audio_di.mia import auc
from audio_di.splits import evaluation_sets
from audio_di.tables import MEMBER_SIGNS, SHADOW_WEIGHTS

log = logging.getLogger(__name__)


def shadow_weights(model: str, features: pd.DataFrame, splits: pd.DataFrame) -> pd.DataFrame:
    """SHADOW_WEIGHTS rows from the shadow `model`'s features on its own splits, where its
    trained works are the suspect ones (splits.model_view)."""
    means, trained = work_means(model, features, splits)
    aucs, weights = separation(means[trained].to_numpy(), means[~trained].to_numpy())
    return pd.DataFrame(
        {
            "feature": list(means.columns),
            "auc": aucs,
            "weight": weights,
            "works_trained": int(trained.sum()),
            "works_heldout": int((~trained).sum()),
        }
    )[list(SHADOW_WEIGHTS.columns)]


def work_means(
    model: str, features: pd.DataFrame, splits: pd.DataFrame
) -> tuple[pd.DataFrame, np.ndarray]:
    """The shadow's work means of each feature, oriented by its member sign (larger: more
    member-like), and whether each work was trained on."""
    names = [c for c in features.columns if c != "clip_id"]
    signs = features.attrs.get(MEMBER_SIGNS, {})
    unsigned = [n for n in names if n not in signs]
    if unsigned:
        raise ValueError(f"shadow model {model}: features {unsigned[:5]} have no member sign")
    clips = evaluation_sets(splits).merge(features, on="clip_id", validate="1:1")
    if clips.empty:
        raise ValueError(f"shadow model {model}: its splits evaluate no clip of its features")
    means = clips.groupby("work_id")[[*names, "suspect"]].mean()
    trained = means.pop("suspect").to_numpy() == 1
    if trained.all() or not trained.any():
        raise ValueError(
            f"shadow model {model}: weights need trained and held-out works; it has "
            f"{trained.sum()} trained and {(~trained).sum()} held out"
        )
    return means.astype(float) * np.array([signs[n] for n in names]), trained


def separation(trained: np.ndarray, heldout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per feature (columns of the oriented work means), the AUC of trained against held-out
    works, and the weight max(0, AUC - 0.5); a missing value is the feature's mean."""
    x = np.r_[trained, heldout]
    mean = np.nan_to_num(np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=0))
    x = np.where(np.isfinite(x), x, mean)
    aucs = np.array([auc(col[: len(trained)], col[len(trained) :]) for col in x.T])
    return aucs, np.maximum(aucs - 0.5, 0.0)


def feature_weights(table: pd.DataFrame, columns: list[str], model: str) -> np.ndarray:
    """The weight of each of a target's feature columns; a feature the shadow lacks weighs 0
    (the shadow may have no reference model where the target has one, say). Where none
    weighs above 0, the weighted verdicts say inconclusive (di.verdict)."""
    weight = dict(zip(table["feature"], table["weight"].astype(float), strict=True))
    bad = {k: v for k, v in weight.items() if not v >= 0}
    if bad:
        raise ValueError(f"model {model}: shadow weights must be >= 0, got {bad}")
    weights = np.array([weight.get(c, 0.0) for c in columns])
    if not (weights > 0).any():
        log.warning("model %s: no feature of %s weighs above 0 on its shadow", model, columns)
    return weights
