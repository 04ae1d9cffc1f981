"""Dataset inference: aggregate weak per-clip features over a collection and test it.

Clips of one work are not independent: they share key, tempo, texture, and the model's
errors on them are correlated. So the work is the unit twice over. Cross-fitting folds are
made of whole works, so that the classifier never scores a clip of a work it was fitted on;
and the test compares per-work mean scores, so that six clips of one work do not count as
six independent observations.

Every procedure works on a stack of B problems at once, (B, n, d) arrays, so that the
thousands of resampled subsets behind a p-value-vs-n curve cost a few batched solves
instead of thousands of scikit-learn fits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from audio_di.mia import auc
from audio_di.tables import CONTAMINATION_CURVE, PVALUE_CURVE


@dataclass(frozen=True)
class DISettings:
    """How dataset inference is run: params.yaml `di`, plus mia.bootstrap and seed. The
    defaults are params.yaml's, and the audit command's (tests/test_settings.py checks both)."""

    # Procedures of METHODS, reported side by side.
    methods: tuple[str, ...] = ("crossfit", "split")
    # Cross-fitting folds, each of whole works.
    folds: int = 5
    # A p-value below alpha is a detection.
    alpha: float = 0.05
    # Set sizes (clips per set) of the p-value-vs-n curve, capped at what each artist has.
    n_grid: tuple[int, ...] = (5, 10, 20, 50, 100, 200)
    # Random subsets per point of the p-value-vs-n and contamination curves.
    resamples: int = 1000
    # Null trials per model and method for the false-positive calibration.
    null_trials: int = 1000
    # Fractions of a member artist's suspect set replaced by non-member clips.
    contamination: tuple[float, ...] = (0, 0.1, 0.3, 0.5, 0.8, 1.0)
    # Bootstrap draws of the blind baseline's AUC interval.
    bootstrap: int = 1000
    # Seeds every draw, together with the model's and the artist's names.
    seed: int = 0


def fit_logistic(
    x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, l2: float = 1.0, iters: int = 30
) -> np.ndarray:
    """L2-penalised logistic regression for a stack of problems, by Newton's method.

    x: (B, m, d), y: (B, m) in {0, 1}, weight: (B, m) row weights (0 leaves a row out).
    Returns (B, d + 1) weights, intercept last and not penalised. With unit weights the
    objective is scikit-learn's LogisticRegression(C=1 / l2).
    """
    batch, m, d = x.shape
    weight = np.ones((batch, m)) if weight is None else weight
    xa = np.concatenate([x, np.ones((batch, m, 1))], axis=2)
    w = np.zeros((batch, d + 1))
    penalty = np.full(d + 1, l2)
    penalty[-1] = 1e-8  # keeps the Hessian invertible without shrinking the intercept
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.einsum("bmd,bd->bm", xa, w)))
        grad = np.einsum("bmd,bm->bd", xa, weight * (p - y)) + penalty * w
        hess = np.einsum("bmd,bm,bme->bde", xa, weight * p * (1 - p), xa) + np.diag(penalty)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def work_folds(works: np.ndarray, folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of every clip, (B, n), dealing the works present in each row round-robin in a
    random order, so that every fold gets whole works and the folds stay balanced."""
    batch, n_works = works.shape[0], works.max(initial=-1) + 1
    present = np.zeros((batch, n_works), bool)
    np.put_along_axis(present, works, True, axis=1)
    keys = np.where(present, rng.random((batch, n_works)), np.inf)
    rank = keys.argsort(axis=1).argsort(axis=1)
    return np.take_along_axis(rank % folds, works, axis=1)


# Standardised feature values are clipped here: one wild clip (a failed denoising step, a
# near-silent clip) must not dominate a logistic fit on a few dozen clips.
CLIP_Z = 5.0


def crossfit_scores(
    suspect: np.ndarray,
    validation: np.ndarray,
    fold_s: np.ndarray,
    fold_v: np.ndarray,
    score_folds: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold logistic scores for every clip of both sets (suspect = 1, validation = 0).

    fold_s, fold_v: (B, n) fold of each clip. Each fold's model, and its standardisation
    statistics, come from the other folds only. A missing (non-finite) feature value is
    imputed with its training-fold mean, i.e. 0 after standardisation. Only the folds in
    `score_folds` (default: all) are scored; the others keep score 0.
    """
    x = np.concatenate([suspect, validation], axis=1)
    y = np.concatenate([np.ones(suspect.shape[:2]), np.zeros(validation.shape[:2])], axis=1)
    fold = np.concatenate([fold_s, fold_v], axis=1)
    finite = np.isfinite(x)
    x = np.where(finite, x, 0.0)
    scores = np.zeros(y.shape)
    for k in np.unique(fold) if score_folds is None else score_folds:
        train = (fold != k).astype(float)
        observed = train[..., None] * finite
        count = np.maximum(observed.sum(axis=1, keepdims=True), 1)
        mean = (observed * x).sum(axis=1, keepdims=True) / count
        var = (observed * (x - mean) ** 2).sum(axis=1, keepdims=True) / count
        z = np.where(finite, (x - mean) / (np.sqrt(var) + 1e-12), 0.0).clip(-CLIP_Z, CLIP_Z)
        w = fit_logistic(z, y, train)
        score = np.einsum("bmd,bd->bm", z, w[:, :-1]) + w[:, -1:]
        scores = np.where(fold == k, score, scores)
    ns = suspect.shape[1]
    return scores[:, :ns], scores[:, ns:]


def welch_greater(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One-sided Welch t-test p-values that mean(a) > mean(b), along the last axis."""
    return stats.ttest_ind(a, b, axis=-1, equal_var=False, alternative="greater").pvalue


def _work_means(
    scores: np.ndarray, works: np.ndarray, keep: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row mean score of each work over the kept clips, and which works are present."""
    one_hot = works[..., None] == np.arange(works.max(initial=-1) + 1)
    if keep is not None:
        one_hot &= keep[..., None]
    counts = one_hot.sum(axis=1)
    sums = np.einsum("bn,bnw->bw", scores, one_hot)
    return sums / np.maximum(counts, 1), counts > 0


def _masked_moments(values: np.ndarray, mask: np.ndarray):
    k = mask.sum(axis=1)
    mean = (values * mask).sum(axis=1) / np.maximum(k, 1)
    var = (((values - mean[:, None]) * mask) ** 2).sum(axis=1) / np.maximum(k - 1, 1)
    return mean, var, k


def welch_greater_by_work(
    score_s: np.ndarray,
    score_v: np.ndarray,
    works_s: np.ndarray,
    works_v: np.ndarray,
    keep_s: np.ndarray | None = None,
    keep_v: np.ndarray | None = None,
) -> np.ndarray:
    """One-sided Welch test on per-work mean scores of the kept clips (default: all). Rows
    with fewer than two works on a side cannot be tested and get p = 1 (never a detection)."""
    ms, vs, ks = _masked_moments(*_work_means(score_s, works_s, keep_s))
    mv, vv, kv = _masked_moments(*_work_means(score_v, works_v, keep_v))
    se2 = vs / np.maximum(ks, 1) + vv / np.maximum(kv, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (ms - mv) / np.sqrt(se2)
        df = se2**2 / (
            (vs / np.maximum(ks, 1)) ** 2 / np.maximum(ks - 1, 1)
            + (vv / np.maximum(kv, 1)) ** 2 / np.maximum(kv - 1, 1)
        )
        p = stats.t.sf(t, df)
    return np.where((ks >= 2) & (kv >= 2) & np.isfinite(p), p, 1.0)


def crossfit_test(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s: np.ndarray,
    works_v: np.ndarray,
    folds: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Cross-fitted logistic regression on work-grouped folds, then a one-sided Welch test
    that the suspect works' mean out-of-fold scores exceed the validation works'."""
    fold_s, fold_v = work_folds(works_s, folds, rng), work_folds(works_v, folds, rng)
    score_s, score_v = crossfit_scores(suspect, validation, fold_s, fold_v)
    return welch_greater_by_work(score_s, score_v, works_s, works_v)


def split_test(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s: np.ndarray,
    works_v: np.ndarray,
    folds: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Fit the linear scorer on half of each set's works (part A), then test on the other
    half (part B) only: half the data for the test, but no cross-fitting dependence."""
    fold_s, fold_v = work_folds(works_s, 2, rng), work_folds(works_v, 2, rng)
    score_s, score_v = crossfit_scores(suspect, validation, fold_s, fold_v, score_folds=[1])
    return welch_greater_by_work(score_s, score_v, works_s, works_v, fold_s == 1, fold_v == 1)


# A procedure maps stacks of suspect (B, ns, d) and validation (B, nv, d) features, with the
# work index of every clip, (B, ns) and (B, nv), to B p-values.
METHODS: dict[str, Callable[..., np.ndarray]] = {
    "crossfit": crossfit_test,
    "split": split_test,
}


def _method(name: str) -> Callable[..., np.ndarray]:
    if name not in METHODS:
        raise ValueError(f"unknown DI method {name!r}; known: {sorted(METHODS)}")
    return METHODS[name]


def _codes(works) -> np.ndarray:
    return pd.factorize(np.asarray(works), sort=True)[0]


def dataset_inference(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s,
    works_v,
    method: str,
    folds: int,
    seed: int,
) -> float:
    """p-value that the suspect clips (n, d) look more trained-on than the validation clips.

    works_s, works_v: the work of every clip (any labels)."""
    rng = np.random.default_rng(seed)
    test = _method(method)
    return float(
        test(
            suspect[None],
            validation[None],
            _codes(works_s)[None],
            _codes(works_v)[None],
            folds,
            rng,
        )[0]
    )


def subset_pvalues(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s,
    works_v,
    method: str,
    n: int,
    resamples: int,
    folds: int,
    seed: int,
) -> np.ndarray:
    """p-values of the procedure on `resamples` random subsets of n clips of each set."""
    rng = np.random.default_rng(seed)
    codes_s, codes_v = _codes(works_s), _codes(works_v)
    pick_s = _pick(np.ones((resamples, len(suspect)), bool), n, rng)
    pick_v = _pick(np.ones((resamples, len(validation)), bool), n, rng)
    return _method(method)(
        suspect[pick_s], validation[pick_v], codes_s[pick_s], codes_v[pick_v], folds, rng
    )


def pvalue_vs_n(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s,
    works_v,
    method: str,
    n_grid: list[int],
    resamples: int,
    folds: int,
    alpha: float,
    seed: int,
) -> pd.DataFrame:
    """Run the procedure on `resamples` random subsets of n clips of each set, for every n
    in the grid that both sets can supply and for the largest n they can; report p quartiles
    and the detection rate."""
    largest = min(len(suspect), len(validation))
    rows = []
    for n in sorted({n for n in n_grid if 2 <= n <= largest} | {largest}):
        p = subset_pvalues(
            suspect, validation, works_s, works_v, method, n, resamples, folds, seed + n
        )
        q25, median, q75 = np.quantile(p, [0.25, 0.5, 0.75])
        rows.append((n, median, q25, q75, float((p < alpha).mean())))
    return pd.DataFrame(rows, columns=list(PVALUE_CURVE))


def _split_works(codes: np.ndarray, trials: int, rng: np.random.Generator) -> np.ndarray:
    """(trials, clips) True where the clip's work fell in side A of a random half split."""
    n_works = codes.max() + 1
    side_a = rng.random((trials, n_works)).argsort(axis=1) < n_works // 2
    return side_a[:, codes]


def _pick(mask: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n random clip indices per row among those where mask is True."""
    keys = np.where(mask, rng.random(mask.shape), np.inf)
    return keys.argsort(axis=1)[:, :n]


def validation_null(
    validation: np.ndarray, works_v, method: str, trials: int, n_max: int, folds: int, seed: int
) -> np.ndarray:
    """p-values of the procedure where both sets come from the validation pool: its works
    are split in random halves, and n clips are drawn from each (n as large as every split
    allows, at most n_max). Needs four works; returns no p-values with fewer."""
    rng = np.random.default_rng(seed)
    codes = _codes(works_v)
    if codes.max() + 1 < 4:
        return np.empty(0)
    side_a = _split_works(codes, trials, rng)
    n = int(min(side_a.sum(axis=1).min(), (~side_a).sum(axis=1).min(), n_max))
    pick_a, pick_b = _pick(side_a, n, rng), _pick(~side_a, n, rng)
    return _method(method)(
        validation[pick_a], validation[pick_b], codes[pick_a], codes[pick_b], folds, rng
    )


def contamination_curve(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s,
    works_v,
    method: str,
    fractions: list[float],
    trials: int,
    folds: int,
    alpha: float,
    seed: int,
) -> pd.DataFrame:
    """Detection rate when a fraction of the suspect set is replaced by non-member clips.

    The validation pool's works are split in random halves: one half supplies the
    non-member clips mixed into the suspect set, the other is the validation set, so that
    no clip is on both sides. n is as large as every split allows."""
    rng = np.random.default_rng(seed)
    codes_s, codes_v = _codes(works_s), _codes(works_v)
    if codes_v.max() + 1 < 4:
        return pd.DataFrame(columns=list(CONTAMINATION_CURVE))
    side_a = _split_works(codes_v, trials, rng)
    n = int(min(len(suspect), side_a.sum(axis=1).min(), (~side_a).sum(axis=1).min()))
    test = _method(method)
    rows = []
    for fraction in fractions:
        mixed = int(round(fraction * n))
        pick_s = _pick(np.ones((trials, len(suspect)), bool), n - mixed, rng)
        pick_mix, pick_v = _pick(side_a, mixed, rng), _pick(~side_a, n, rng)
        x_s = np.concatenate([suspect[pick_s], validation[pick_mix]], axis=1)
        # Works of the mixed-in clips get codes of their own, after the suspect works.
        w_s = np.concatenate([codes_s[pick_s], codes_s.max() + 1 + codes_v[pick_mix]], axis=1)
        p = test(x_s, validation[pick_v], w_s, codes_v[pick_v], folds, rng)
        rows.append((fraction, n, float(np.median(p)), float((p < alpha).mean())))
    return pd.DataFrame(rows, columns=list(CONTAMINATION_CURVE))


def false_positive_rate(p: np.ndarray, alpha: float) -> tuple[float, float, float]:
    """Rate of p < alpha over null trials with its 95% Clopper-Pearson interval."""
    hits = int((p < alpha).sum())
    ci = stats.binomtest(hits, len(p), alpha).proportion_ci(0.95)
    return hits / len(p), float(ci.low), float(ci.high)


WORK_POWER_COLUMNS = ["clip_auc", "icc", "work_effect", "works_per_side", "works_needed"]


def work_power(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s: np.ndarray,
    works_v: np.ndarray,
    alpha: float = 0.01,
    power: float = 0.8,
) -> dict[str, float]:
    """Why a per-clip signal does or does not add up to a detection, for one feature oriented
    so that suspect clips score higher.

    clip_auc: the per-clip AUC of suspect over validation. icc: the share of clip variance
    that lies between works (one-way ANOVA estimate): clips of a work are nearly copies of one
    observation when it is high. work_effect: the standardised difference of work means, what
    the Welch test on work means sees. works_needed: works per side for a one-sided test at
    `alpha` to reach `power` (normal approximation, 2 (z_alpha + z_power)^2 / effect^2).
    """
    works_s, works_v = np.asarray(works_s), np.asarray(works_v)
    means_s = pd.Series(suspect).groupby(works_s).mean()
    means_v = pd.Series(validation).groupby(works_v).mean()
    spread = np.sqrt((means_s.var() + means_v.var()) / 2)
    effect = (means_s.mean() - means_v.mean()) / spread if spread > 0 else 0.0
    values = np.r_[suspect, validation]
    works = np.r_[[f"s{w}" for w in works_s], [f"v{w}" for w in works_v]]
    sizes = pd.Series(values).groupby(works).size()
    within = pd.Series(values).groupby(works).var(ddof=1).fillna(0).mul(sizes - 1).sum()
    within /= max(len(values) - len(sizes), 1)
    between = pd.Series(values).groupby(works).mean().var(ddof=1)
    per_work = len(values) / len(sizes)
    between_component = max(between - within / per_work, 0.0)
    total = between_component + within
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return {
        "clip_auc": auc(suspect, validation),
        "icc": between_component / total if total > 0 else 0.0,
        "work_effect": float(effect),
        "works_per_side": float(min(len(means_s), len(means_v))),
        "works_needed": float(np.ceil(2 * (z / effect) ** 2)) if effect > 0 else np.inf,
    }
