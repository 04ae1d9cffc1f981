"""Dataset inference, per model in the models stage: the verdicts with the blind shift test
on the audio statistics (blind.corpus_statistics), and the calibration of
the DI procedures on null trials (steps.membership holds the per-clip MIA; steps.reporting
words and sums them up)."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from audio_di.di.designs import (
    collection_auc,
    collection_auc_interval,
    contamination_curve,
    curve_points,
    curve_table,
    false_positive_rate,
    null_pvalues,
    pool_null,
    pooled_collections,
)
from audio_di.di.engine import (
    DIAGNOSTIC,
    DISettings,
    Result,
    Works,
    dataset_inference,
    one_sided,
    shift_test,
    works_of,
)
from audio_di.di.verdict import DETECTED, INCONCLUSIVE, adjust, unresolved, verdict
from audio_di.di.weights import feature_weights
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets
from audio_di.tables import (
    BLIND_STATISTICS,
    CALIBRATION,
    COLLECTION_AUC,
    CONTAMINATION,
    MEMBER_SIGNS,
    NULL_PVALUES,
    PVALUE_VS_N,
    SHIFT_STATISTICS,
    VERDICTS,
)

log = logging.getLogger(__name__)
# Artist resamples behind the collection AUC's interval.
COLLECTION_AUC_DRAWS = 2000

# What model_dataset_inference returns, by key: the tables of results/di/models/<model>/.
DI_TABLES = {
    "verdicts": VERDICTS,
    "curves": PVALUE_VS_N,
    "null": NULL_PVALUES,
    "contamination": CONTAMINATION,
    "collection_auc": COLLECTION_AUC,
}


@dataclass(frozen=True)
class Collection:
    """One artist's suspect and validation works, as dataset inference sees them."""

    artist: str
    status: str
    works: Works  # membership features, with tables.BLIND_STATISTICS as covariates
    audio: Works  # the shift test's statistics alone
    clips: tuple[int, int]  # suspect, validation
    n_missing: int  # clips with a missing feature: kept, the value imputed


def collections(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    stats: pd.DataFrame,
    shift_statistics: tuple[str, ...] = SHIFT_STATISTICS,
    weights: pd.DataFrame | None = None,
) -> list[Collection]:
    """Every evaluated artist's collection under one model's features, each feature oriented
    by the member sign its table carries (larger: more member-like), as the one-sided tests
    need, with its weight from `weights` (di.weights; a feature it lacks weighs 0); the
    shift test sees the columns `shift_statistics` of `stats` (benchmarks/shift_guard.py
    compares views)."""
    feature_columns = [c for c in features.columns if c != "clip_id"]
    signs = features.attrs.get(MEMBER_SIGNS, {})
    unsigned = [c for c in feature_columns if c not in signs]
    if unsigned:
        raise ValueError(f"model {model}: features {unsigned[:5]} have no member sign")
    orientation = np.array([signs[c] for c in feature_columns], float)
    weighed = None if weights is None else feature_weights(weights, feature_columns, model)
    clips = evaluation_sets(splits)
    missing = sorted(set(clips["clip_id"]) - set(features["clip_id"]))
    if missing:
        raise ValueError(f"model {model}: features lack evaluated clips {missing[:10]}")
    clips = clips.merge(features, on="clip_id", validate="1:1").merge(
        stats, on="clip_id", validate="1:1"
    )
    out = []
    for artist, group in clips.groupby("artist", sort=True):
        suspect, validation = group[group["suspect"]], group[~group["suspect"]]
        works_s, works_v = suspect["work_id"].to_numpy(), validation["work_id"].to_numpy()
        x_s, x_v = (
            side[feature_columns].to_numpy(float) * orientation for side in (suspect, validation)
        )
        a_s, a_v = (side[list(BLIND_STATISTICS)].to_numpy(float) for side in (suspect, validation))
        b_s, b_v = (side[list(shift_statistics)].to_numpy(float) for side in (suspect, validation))
        out.append(
            Collection(
                artist,
                group["artist_status"].iloc[0],
                works_of(x_s, x_v, works_s, works_v, a_s, a_v, weighed),
                works_of(b_s, b_v, works_s, works_v),
                (len(suspect), len(validation)),
                int((~np.isfinite(np.r_[x_s, x_v])).any(axis=1).sum()),
            )
        )
    return out


@dataclass(frozen=True)
class VerdictRow:
    """A row of the verdicts table (tables.VERDICTS): one collection under one method."""

    model: str
    artist: str
    artist_status: str
    method: str
    works_suspect: int
    works_validation: int
    clips_suspect: int
    clips_validation: int
    p_value: float
    p_adjusted: float
    correction: str
    p_two_sided: float  # the diagnostic's, for the one-sided test; NaN for the others
    p_mc_error: float
    permutations: int
    fold_draws: int
    verdict: str
    reason: str
    detected: bool
    shift_p: float
    n_missing: int


def family_verdicts(model: str, found: list[Collection], settings: DISettings) -> list[VerdictRow]:
    """The verdicts, one per collection and method. The collections of one method are one
    family: detection is judged on p-values adjusted over it by `settings.multiple`
    (di.verdict.adjust), Holm's bounding the chance that any artist of the model is detected
    falsely, Benjamini-Hochberg's the expected share of false detections. A collection that
    the family's relabellings cannot resolve (di.verdict.unresolved) is inconclusive before
    any test runs, and left out of the adjustment. The one-sided test's verdicts carry the
    two-sided diagnostic's p-value (engine.DIAGNOSTIC, run for it if it is not among the
    methods), adjusted the same way."""
    short = [unresolved(c.works, len(found), settings) for c in found]
    tested = [c for c, why in zip(found, short, strict=True) if why is None]
    shifts = [shift_test(c.audio, settings) for c in tested]
    results = {
        method: [dataset_inference(c.works, method, settings) for c in tested]
        for method in dict.fromkeys([*settings.methods, DIAGNOSTIC])
    }
    adjusted = {m: adjust([r.p for r in rs], settings.multiple) for m, rs in results.items()}
    untested = Result(np.nan, 0, np.nan)
    rows = []
    for method in settings.methods:
        directed = one_sided(method)
        order = iter(range(len(tested)))
        for c, why in zip(found, short, strict=True):
            if why:
                result, shift, p_adjusted, two = untested, untested, np.nan, untested
                outcome, reason = INCONCLUSIVE, why
            else:
                k = next(order)
                result, shift, p_adjusted = results[method][k], shifts[k], adjusted[method][k]
                two = results[DIAGNOSTIC][k]
                family = (p_adjusted, len(tested))
                two_adjusted = adjusted[DIAGNOSTIC][k] if directed else None
                outcome, reason = verdict(
                    c.works, result, shift, settings, family, two_adjusted, method
                )
            rows.append(
                VerdictRow(
                    model=model,
                    artist=c.artist,
                    artist_status=c.status,
                    method=method,
                    works_suspect=c.works.suspect_works,
                    works_validation=c.works.validation_works,
                    clips_suspect=c.clips[0],
                    clips_validation=c.clips[1],
                    p_value=result.p,
                    p_adjusted=p_adjusted,
                    correction=settings.multiple,
                    p_two_sided=two.p if directed else np.nan,
                    p_mc_error=result.mc_error,
                    permutations=result.permutations,
                    fold_draws=0 if directed else settings.fold_draws,
                    verdict=outcome,
                    reason=reason,
                    detected=outcome == DETECTED,
                    shift_p=shift.p,
                    n_missing=c.n_missing,
                )
            )
    return rows


def model_dataset_inference(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    stats: pd.DataFrame,
    settings: DISettings,
    known_nonmembers: bool = True,
    weights: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Per artist and method: the DI verdict (suspect = train works, validation = held-out
    works) with the blind shift test, p-value-vs-n curves, null p-values for the
    calibration, and the contamination ablation (member artists).

    Null trials come from cutting each artist's validation works in halves, and from
    re-splitting the non-member artists' works at the verdict's sizes, at least
    `null_trials` in all. An audit, whose suspect works may be members, passes
    `known_nonmembers=False` and draws its nulls from the validation works alone. Every draw
    is seeded by the study seed and the works, so the model's name changes nothing.
    `weights` (di.weights.SHADOW_WEIGHTS rows) are the `weighted` test's."""
    found = collections(model, features, splits, stats, weights=weights)
    tables: dict[str, list] = {"curves": [], "contamination": []}
    resampled: dict[tuple, list[np.ndarray]] = {}  # (method, n) -> member collections' p
    for c in tqdm(found, desc=f"di {model}", unit="artist", file=sys.stderr):
        labels = {"model": model, "artist": c.artist, "artist_status": c.status}
        for method in settings.methods:
            points = curve_points(c.works, method, settings)
            tables["curves"].append(curve_table(points).assign(**labels, method=method))
            if c.status == "member":
                for point in points:
                    resampled.setdefault((method, point.n), []).append(point.p)
                curve = contamination_curve(c.works, method, settings)
                tables["contamination"].append(curve.assign(**labels, method=method))
    verdicts = family_verdicts(model, found, settings)
    return {
        "verdicts": pd.DataFrame(verdicts, columns=list(VERDICTS.columns)),
        "curves": pd.concat(tables["curves"], ignore_index=True)[list(PVALUE_VS_N.columns)],
        "null": null_trials(model, found, settings, known_nonmembers),
        "contamination": _concat_or_empty(tables["contamination"], list(CONTAMINATION.columns)),
        "collection_auc": collection_aucs(model, found, resampled, settings, known_nonmembers),
    }


def collection_aucs(
    model: str,
    found: list[Collection],
    resampled: dict[tuple, list],  # (method, n) -> member collections' p-values
    settings: DISettings,
    known_nonmembers: bool = True,
) -> pd.DataFrame:
    """The paper's DI AUC: member collections against non-member collections of the same n
    works a side, scored by their DI p-value, at every n of the grid that every evaluated
    artist can supply. A member collection is one resample of the p-value-vs-n curve: n
    suspect and n validation works drawn from one member artist. A non-member collection is
    n and n works drawn from all of a non-member artist's works (pooled_collections), so that
    every artist gives `resamples` collections, not one, at its largest n. The interval
    resamples artists (di.designs.collection_auc_interval)."""
    largest = min(min(c.works.suspect_works, c.works.validation_works) for c in found)
    nonmembers = [c for c in found if c.status == "nonmember"] if known_nonmembers else []
    rows = []
    for method in settings.methods:
        for n in sorted(n for n in settings.n_grid if n <= largest):
            member = resampled.get((method, n), [])
            nonmember = [pooled_collections(c.works, n, method, settings) for c in nonmembers]
            if member and nonmember:
                rng = np.random.default_rng(stable_seed(settings.seed, "collection auc", n))
                lo, hi = collection_auc_interval(member, nonmember, COLLECTION_AUC_DRAWS, rng)
                member, nonmember = np.concatenate(member), np.concatenate(nonmember)
                auc = collection_auc(member, nonmember)
                rows.append((model, method, n, auc, lo, hi, len(member), len(nonmember)))
    return pd.DataFrame(rows, columns=list(COLLECTION_AUC.columns))


def null_trials(
    model: str, found: list[Collection], settings: DISettings, known_nonmembers: bool = True
) -> pd.DataFrame:
    """The calibration's null p-values (see model_dataset_inference): `null_trials` in all,
    shared evenly among the sources (each artist's validation halves, and each non-member
    artist's re-split works where `known_nonmembers`)."""
    pooled = [c.status == "nonmember" and known_nonmembers for c in found]
    per_source = -(-settings.null_trials // (len(found) + sum(pooled)))  # ceiling division
    frames = []
    for c, pool in zip(found, pooled, strict=True):
        labels = {"model": model, "artist": c.artist, "artist_status": c.status}
        for method in settings.methods:
            draws = [null_pvalues(c.works, method, per_source, settings)]
            if pool:
                draws.append(pool_null(c.works, method, per_source, settings))
            frames += [values.assign(**labels, method=method) for values in draws]
    null = pd.concat(frames, ignore_index=True)[list(NULL_PVALUES.columns)]
    short = null.groupby("method").size()
    if (short < settings.null_trials).any():
        log.warning(
            "model %s: only %s null trials (asked %d): artists need four held-out works for "
            "validation splits",
            model,
            short.to_dict(),
            settings.null_trials,
        )
    return null


def _concat_or_empty(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def calibration(null: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per model and method: the empirical false-positive rate at alpha over the null trials,
    with its 95% binomial (Clopper-Pearson) interval and whether alpha lies inside it."""
    rows = []
    for (model, method), group in null.groupby(["model", "method"], sort=True):
        rate, lo, hi = false_positive_rate(group["p"].to_numpy(), alpha)
        rows.append((model, method, alpha, len(group), rate, hi, lo, lo <= alpha <= hi))
    return pd.DataFrame(rows, columns=list(CALIBRATION.columns))
