"""Resampling designs around the exact test: p-value against works a side, null p-values for
the calibration, and the contamination ablation. Each draws many problems of equal sizes and
runs them through the engine as one stack."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from audio_di.config import MIN_WORKS
from audio_di.di.engine import DISettings, Works, data_seed, exact_test
from audio_di.tables import CONTAMINATION_CURVE, PVALUE_CURVE


@dataclass(frozen=True)
class CurvePoint:
    """The p-values of `resamples` random subsets of n works a side."""

    n: int
    clips: float  # clips those works held, a side (mean over resamples)
    p_median: float
    p_q25: float
    p_q75: float
    detect_rate: float
    p: np.ndarray  # one per resample, for the collection-level AUC (not a table column)


@dataclass(frozen=True)
class ContaminationPoint:
    """Detection when a fraction of the n suspect works is replaced by non-member works."""

    fraction: float
    n: int
    p_median: float
    detect_rate: float


def _pick(pool: np.ndarray, n: int, trials: int, rng) -> np.ndarray:
    """(trials, n) random draws without replacement from pool."""
    return pool[rng.random((trials, len(pool))).argsort(axis=1)[:, :n]]


def pvalue_vs_n(works: Works, method: str, settings: DISettings) -> pd.DataFrame:
    """p-value quartiles and detection rate over `resamples` random subsets of n works a
    side, for every n in the grid that both sets can supply and the largest they can."""
    return curve_table(curve_points(works, method, settings))


def curve_table(points: list[CurvePoint]) -> pd.DataFrame:
    return pd.DataFrame(
        [[getattr(point, column) for column in PVALUE_CURVE] for point in points],
        columns=list(PVALUE_CURVE),
    )


def curve_points(works: Works, method: str, settings: DISettings) -> list[CurvePoint]:
    """The points of pvalue_vs_n, each with its resamples' p-values."""
    suspect = np.arange(works.suspect_works)
    validation = np.arange(works.suspect_works, len(works.x))
    largest = min(len(suspect), len(validation))
    rows = []
    for n in sorted({n for n in settings.n_grid if MIN_WORKS <= n <= largest} | {largest}):
        rng = np.random.default_rng(data_seed(settings, works, method, "curve", n))
        trials = 1 if n == largest == len(suspect) == len(validation) else settings.resamples
        index = np.c_[_pick(suspect, n, trials, rng), _pick(validation, n, trials, rng)]
        p, _ = exact_test(
            works, index, n, method, settings, settings.curve_permutations, rng, sequential=True
        )
        q25, median, q75 = np.quantile(p, [0.25, 0.5, 0.75])
        rows.append(
            CurvePoint(
                n=n,
                clips=works.clips[index].sum(axis=1).mean() / 2,
                p_median=median,
                p_q25=q25,
                p_q75=q75,
                detect_rate=float((p < settings.alpha).mean()),
                p=p,
            )
        )
    return rows


def _wins(member_p: np.ndarray, nonmember_p: np.ndarray) -> float:
    """Pairs (member, non-member) where the member has the smaller p, ties counting half: a
    half-integer, exact in float64, so sums of wins do not depend on their order."""
    ordered = np.sort(np.asarray(nonmember_p))
    member = np.asarray(member_p)
    below = np.searchsorted(ordered, member, side="left")
    above = len(ordered) - np.searchsorted(ordered, member, side="right")
    return float(above.sum() + (len(ordered) - below - above).sum() / 2)


def collection_auc(member_p: np.ndarray, nonmember_p: np.ndarray) -> float:
    """AUC of collections scored by their DI p-value (smaller: member): the chance that a
    member collection has the smaller p than a non-member one, ties counting half."""
    return _wins(member_p, nonmember_p) / (len(member_p) * len(nonmember_p))


def pooled_collections(works: Works, n: int, method: str, settings: DISettings) -> np.ndarray:
    """p-values of `resamples` collections of n suspect and n validation works drawn from all
    of an artist's works. For an artist known not to be a member its suspect/validation labels
    are arbitrary, so every re-split is a non-member collection of that size: 40 works give
    many collections of 20 a side, where its own labels give one."""
    rng = np.random.default_rng(data_seed(settings, works, method, "pooled collections", n))
    index = _pick(np.arange(len(works.x)), 2 * n, settings.resamples, rng)
    p, _ = exact_test(
        works, index, n, method, settings, settings.curve_permutations, rng, sequential=True
    )
    return p


def collection_auc_interval(
    member: list[np.ndarray], nonmember: list[np.ndarray], draws: int, rng
) -> tuple[float, float]:
    """95% interval of the collection AUC by resampling artists, each with all its
    collections: an artist's collections share its works, so the artist is the unit that
    varies from one study to the next (member and non-member artists resampled apart)."""
    # An AUC over resampled artists adds up the wins of each (member, non-member) artist
    # pair, counted once here, and its exact sums give the AUC of the pooled p-values.
    wins = np.array([[_wins(a, b) for b in nonmember] for a in member])
    member_sizes = np.array([len(a) for a in member])
    nonmember_sizes = np.array([len(b) for b in nonmember])
    aucs = []
    for _ in range(draws):
        m = np.bincount(rng.integers(len(member), size=len(member)), minlength=len(member))
        k = np.bincount(rng.integers(len(nonmember), size=len(nonmember)), minlength=len(nonmember))
        aucs.append(m @ wins @ k / ((m @ member_sizes) * (k @ nonmember_sizes)))
    lo, hi = np.quantile(aucs, [0.025, 0.975])
    return float(lo), float(hi)


def null_pvalues(works: Works, method: str, trials: int, settings: DISettings) -> pd.DataFrame:
    """p-values where neither side was trained on, at the verdict's operating point where the
    data allow: `pool` draws both sides from all the works (for an artist known not to be
    a member), `validation_split` from the validation works cut in halves (any artist).

    The relabellings make these exactly uniform given the works, so this checks the code, not
    the theory; benchmarks/di_calibration.py checks the theory on independent data sets."""
    rng = np.random.default_rng(data_seed(settings, works, method, "null", trials))
    validation = np.arange(works.suspect_works, len(works.x))
    half = len(validation) // 2
    if half < MIN_WORKS:
        return pd.DataFrame({"source": [], "n_works": [], "p": []})
    index = validation[rng.random((trials, len(validation))).argsort(axis=1)][:, : 2 * half]
    p, _ = exact_test(works, index, half, method, settings, settings.null_permutations, rng)
    return pd.DataFrame({"source": "validation_split", "n_works": 2 * half, "p": p})


def pool_null(works: Works, method: str, trials: int, settings: DISettings) -> pd.DataFrame:
    """Null p-values from random re-splits of all the works into sides of the verdict's
    sizes: the verdict's operating point, for an artist whose works are all non-members."""
    rng = np.random.default_rng(data_seed(settings, works, method, "pool null", trials))
    index = rng.random((trials, len(works.x))).argsort(axis=1)
    p, _ = exact_test(
        works, index, works.suspect_works, method, settings, settings.null_permutations, rng
    )
    return pd.DataFrame({"source": "nonmember_pool", "n_works": len(works.x), "p": p})


def contamination_curve(works: Works, method: str, settings: DISettings) -> pd.DataFrame:
    """Detection rate when a fraction of the suspect works is replaced by non-member works.

    Each trial cuts the validation works in random halves: one half supplies the non-member
    works mixed into the suspect side, the other is the validation side, so no work is on
    both sides. n works a side, as many as every cut allows."""
    suspect = np.arange(works.suspect_works)
    validation = np.arange(works.suspect_works, len(works.x))
    n = min(len(suspect), len(validation) // 2)
    if n < MIN_WORKS:
        return pd.DataFrame(columns=list(CONTAMINATION_CURVE))
    rows = []
    for fraction in settings.contamination:
        rng = np.random.default_rng(data_seed(settings, works, method, "contamination", fraction))
        mixed = int(round(fraction * n))
        cut = validation[rng.random((settings.resamples, len(validation))).argsort(axis=1)]
        index = np.c_[
            _pick(suspect, n - mixed, settings.resamples, rng), cut[:, :mixed], cut[:, -n:]
        ]
        p, _ = exact_test(
            works, index, n, method, settings, settings.curve_permutations, rng, sequential=True
        )
        rows.append(
            ContaminationPoint(
                fraction=fraction,
                n=n,
                p_median=float(np.median(p)),
                detect_rate=float((p < settings.alpha).mean()),
            )
        )
    return pd.DataFrame(rows, columns=list(CONTAMINATION_CURVE))


def false_positive_rate(p: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Rate of p < alpha over null trials with its 95% Clopper-Pearson interval."""
    hits = int((p < alpha).sum())
    ci = stats.binomtest(hits, len(p), alpha).proportion_ci(0.95)
    return hits / len(p), float(ci.low), float(ci.high)
