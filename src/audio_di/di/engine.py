"""The exact engine of dataset inference: works from clips, their label-blind features, the
relabelling bank and the permutation p-values of each procedure.

The unit is the work. Clips of one work share key, tempo and texture, and the model's errors
on them are correlated, so each work enters as the mean of its clips' features, and folds,
subsets and permutations are drawn over works. Every feature arrives oriented: larger means
more member-like (each attack's registered member_sign).

The primary test, `oriented`, is one-sided: its p-value is small only when the suspect works
look more trained-on than the validation works. It is Pesarin's nonparametric combination
(Pesarin, "Multivariate Permutation Tests", Wiley 2001; Pesarin & Salmaso, "Permutation
Tests for Complex Data", Wiley 2010): per feature, the sum of the suspect works' standardised
values, its one-sided p-value among one shared bank of relabellings, and Fisher's combination
-sum log p of those p-values, referred to the same bank. A feature that moves the wrong way
adds nothing; one that moves the right way adds much.

The `weighted` test is one-sided too, and weighs the features: each work's score
is sum_j w_j z_j over its standardised oriented features, with weights w_j >= 0 fixed before
the test (di.weights: each feature's separation on a shadow model, which the auditor trained
on works of its own; Shokri et al., "Membership inference attacks against machine learning
models", IEEE S&P 2017). The statistic is the suspect works' summed score, referred to the
relabellings. Fisher's combination weighs every feature alike, so a few informative ones are
diluted by many correlated copies of the plain loss; fixed weights are not, and since
neither their signs nor their sizes come from the tested labels, the p-value stays exact.

The two-sided procedures, `crossfit` and `split`, are classifier two-sample tests (Kim,
Ramdas, Singh & Wasserman, "Classification accuracy as a proxy for two-sample testing",
arXiv 1602.02210; Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", arXiv
1610.06545). Works are dealt into folds without looking at their labels; a ridge scorer
fitted on the other folds scores each fold's works; the statistic is the sum, over suspect
works, of their score minus their fold's mean score. The scorer learns its direction from
the labels, so they find sets that differ either way; the verdict uses them as a diagnostic.
Their p-value counts how often a random relabelling of the works, with the scorer refitted,
scores as high (Valente et al., "Cross-validation and permutations in MVPA", NeuroImage
2021: the whole cross-validation is inside the permutation).

In every procedure nothing but the statistic looks at the labels, so the p-value is exact
for any features and any number of works. Refitting the ridge for every relabelling is cheap:
on features standardised without labels, a fold's centred out-of-fold ridge scores are a
fixed linear map of the training labels, so the statistic is a quadratic form y' G y in the
label vector, with G built once from the features and the folds. Averaging G over several
fold assignments keeps the statistic label-blind in its randomness, so the p-value stays
exact while the verdict stops depending on one draw.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from audio_di.seeding import stable_seed


@dataclass(frozen=True)
class DISettings:
    """How dataset inference is run (params.yaml `di`; the defaults are the study's).

    fold_draws: fold assignments averaged inside each verdict's statistic (100 keep a verdict
    from hanging on the draw); resample_fold_draws: the same for the thousands of resampled
    tests behind curves, nulls and the contamination ablation, where only rates matter.
    methods: the procedures run side by side; the first gives the verdict (`weighted` needs
    each collection's feature weights, which an audit without a shadow lacks).
    permutations: relabellings behind each verdict's p-value (Monte-Carlo error at most
    0.0022 near p = 0.05 with 9999); curve_permutations and null_permutations: those behind
    each resampled p-value of the curves and each null trial. smallest_effect: the work-level
    effect (difference of work means in their SD) that a negative verdict must have had 80%
    power to see; with fewer works a side the verdict is inconclusive. multiple: the
    correction over the artists of one model and method (di.verdict.CORRECTIONS).
    """

    methods: tuple[str, ...] = ("oriented", "crossfit", "split")
    folds: int = 5
    fold_draws: int = 100
    resample_fold_draws: int = 5
    ridge: float = 1.0
    alpha: float = 0.05
    multiple: str = "holm"
    permutations: int = 9999
    curve_permutations: int = 499
    null_permutations: int = 999
    smallest_effect: float = 1.0
    residualise: bool = True
    n_grid: tuple[int, ...] = (5, 10, 20, 50, 100)
    resamples: int = 100
    null_trials: int = 1000
    contamination: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0)
    seed: int = 0

    @classmethod
    def from_config(cls, di: dict, seed: int) -> DISettings:
        """From params.yaml's `di` section (lists become tuples) and the study seed."""
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in di.items()}
        return cls(**values, seed=seed)


@dataclass(frozen=True)
class Procedure:
    """A cross-fitted scorer: `folds` label-blind folds of works, of which the first `scored`
    are scored by a ridge fitted on all the others."""

    folds: int
    scored: int


def procedure(method: str, settings: DISettings) -> Procedure:
    """crossfit scores every fold from the rest; split fits on one half of the works and
    scores the other, the classical held-out two-sample test."""
    if method == "crossfit":
        return Procedure(settings.folds, settings.folds)
    if method == "split":
        return Procedure(2, 1)
    raise ValueError(f"unknown DI method {method!r}; known: {sorted(METHODS)}")


# A study's or an audit's verdict is its first method's. The one-sided tests: `weighted`
# needs feature weights, `oriented` does not.
WEIGHTED, ONE_SIDED = "weighted", "oriented"
METHODS = (WEIGHTED, ONE_SIDED, "crossfit", "split")


def one_sided(method: str) -> bool:
    """Whether `method` tests for suspect works more trained-on, not for any difference."""
    return method in (WEIGHTED, ONE_SIDED)


# The two-sided test whose rejection, where the one-sided test finds nothing, makes the
# one-sided verdict inconclusive (di.verdict).
DIAGNOSTIC = "crossfit"


@dataclass(frozen=True)
class Works:
    """Suspect and validation works: the mean feature vector of each work's clips.

    x: (W, d) with the suspect works first; NaN where none of a work's clips has a finite
    value. clips: clips per work. covariates: (W, c) audio statistics, or None. weights:
    the features' fixed weights (di.weights), which only the `weighted` test reads.
    """

    x: np.ndarray
    suspect_works: int
    clips: np.ndarray
    covariates: np.ndarray | None = None
    ids: tuple = field(default=())
    # (d,) non-negative weight of each feature for the `weighted` test, or None.
    weights: np.ndarray | None = None

    @property
    def validation_works(self) -> int:
        return len(self.x) - self.suspect_works


def _work_means(x: np.ndarray, works) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, ids = pd.factorize(np.asarray(works), sort=True)
    x = np.asarray(x, float).reshape(len(codes), -1)
    finite = np.isfinite(x)
    sums = np.zeros((len(ids), x.shape[1]))
    counts = np.zeros((len(ids), x.shape[1]))
    np.add.at(sums, codes, np.where(finite, x, 0.0))
    np.add.at(counts, codes, finite)
    with np.errstate(invalid="ignore"):
        means = sums / counts
    return means, np.bincount(codes, minlength=len(ids)), np.asarray(ids)


def works_of(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s,
    works_v,
    covariates_s: np.ndarray | None = None,
    covariates_v: np.ndarray | None = None,
    weights: np.ndarray | None = None,
) -> Works:
    """Works from per-clip features (n, d) and the work of every clip (any labels)."""
    xs, cs, ids_s = _work_means(suspect, works_s)
    xv, cv, ids_v = _work_means(validation, works_v)
    covariates = None
    if covariates_s is not None:
        covariates = np.r_[
            _work_means(covariates_s, works_s)[0], _work_means(covariates_v, works_v)[0]
        ]
    ids = tuple(("suspect", w) for w in ids_s) + tuple(("validation", w) for w in ids_v)
    if weights is not None:
        weights = np.asarray(weights, float)
        if weights.shape != (xs.shape[1],) or not (weights >= 0).all():
            raise ValueError(
                f"feature weights must be {xs.shape[1]} non-negative numbers, got {weights}"
            )
    return Works(np.r_[xs, xv], len(xs), np.r_[cs, cv], covariates, ids, weights)


def data_seed(settings: DISettings, works: Works, *purpose: object) -> int:
    """A seed from the study seed and the works themselves, never from a model's name: the
    same works get the same draws under any model, and any run order."""
    return stable_seed(settings.seed, *works.ids, *purpose)


def _standardise(x: np.ndarray) -> np.ndarray:
    """Columns to mean 0, SD 1 over each problem's works (label-blind), missing values to the
    mean, values clipped at 5 SD so that one wild work cannot steer a fit on a few dozen."""
    mean = np.nanmean(np.where(np.isfinite(x), x, np.nan), axis=-2, keepdims=True)
    mean = np.nan_to_num(mean)
    x = np.where(np.isfinite(x), x, mean)
    sd = x.std(axis=-2, keepdims=True)
    return np.where(sd > 1e-12, (x - mean) / np.where(sd > 1e-12, sd, 1.0), 0.0).clip(-5, 5)


def _residualise(z: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    """z with its least-squares fit on the covariates (and a constant) removed, per problem:
    what the audio statistics explain cannot become a detection."""
    c = np.concatenate([np.ones((*covariates.shape[:-1], 1)), _standardise(covariates)], axis=-1)
    gram = np.swapaxes(c, -1, -2) @ c + 1e-6 * np.eye(c.shape[-1])
    return z - c @ np.linalg.solve(gram, np.swapaxes(c, -1, -2) @ z)


def features_of(works: Works, index: np.ndarray, residualise: bool) -> np.ndarray:
    """(T, W', d) standardised features of the works that each row of `index` picks."""
    z = _standardise(works.x[index])
    if residualise and works.covariates is not None:
        z = _standardise(_residualise(z, works.covariates[index]))
    return z


def degenerate(works: Works) -> bool:
    """No feature varies over the works: nothing to test."""
    z = _standardise(works.x[None])
    return not np.abs(z).sum() > 0


def fold_assignments(n_works: int, folds: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """(draws, n_works) fold of each work: a random order dealt round-robin, so folds are
    balanced in size, and blind to the labels, which the test's exactness needs."""
    return _ranks(rng.random((draws, n_works))) % folds


def _ranks(keys: np.ndarray) -> np.ndarray:
    """Each row's ranks, keys.argsort(1).argsort(1) with one sort instead of two."""
    ranks = np.empty(keys.shape, int)
    order = keys.argsort(axis=1)
    np.put_along_axis(ranks, order, np.arange(keys.shape[1])[None], axis=1)
    return ranks


def _reach(values: np.ndarray) -> np.ndarray:
    """How many entries along the last axis reach (>=) each entry, ties sharing one count: one
    sort, where scipy's rankdata(method="min") sorts stably and costs twice as much."""
    n = values.shape[-1]
    order = values.argsort(axis=-1)
    ordered = np.take_along_axis(values, order, axis=-1)
    starts = np.ones(ordered.shape, bool)
    starts[..., 1:] = ordered[..., 1:] != ordered[..., :-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0), axis=-1)  # of each tie group
    reach = np.empty(values.shape, int)
    np.put_along_axis(reach, order, n - first, axis=-1)
    return reach


def score_map(z: np.ndarray, assign: np.ndarray, proc: Procedure, ridge: float) -> np.ndarray:
    """G (T, W, W) such that y' G y is the statistic for labels y, averaged over the fold
    assignments (T, R, W).

    For fold k with test works E and n training works R: ridge weights on the centred
    training features are A^-1 Zc' y_R with A = Zc' Zc + ridge n I, a test work's score is
    (z - m_R)' A^-1 Zc' y_R plus a constant, and centring the scores over E removes the
    constant and m_R. So the fold adds (z_i - mean_E z)' A^-1 (z_j - m_R) to G[i, j] for i in
    E and j in R. Zc' Zc is the moments of all works less those of E, less n m_R m_R'.
    """
    t, r, w = assign.shape
    d = z.shape[-1]
    total = z.sum(axis=1)[:, None]  # (t, 1, d)
    moments = (np.swapaxes(z, 1, 2) @ z)[:, None]  # (t, 1, d, d)
    zr = z[:, None]  # (t, 1, w, d)
    g = np.zeros((t, w, w))
    for k in range(proc.scored):
        test = (assign == k)[..., None]  # (t, r, w, 1)
        count = test.sum(-2)  # (t, r, 1)
        n_test, n_train = np.maximum(count, 1), np.maximum(w - count, 1)
        tested = test * zr
        test_sum = tested.sum(-2)  # (t, r, d)
        mean = (total - test_sum) / n_train
        gram = (
            moments
            - np.swapaxes(tested, -1, -2) @ zr
            - n_train[..., None] * mean[..., :, None] * mean[..., None, :]
            + (ridge * n_train[..., None] + 1e-9) * np.eye(d)
        )
        rows = (tested - test * (test_sum / n_test)[..., None, :]) @ np.linalg.inv(gram)
        columns = ~test * (zr - mean[..., None, :])
        # The draws are summed inside one matrix product (rows (w, r*d) against (r*d, w)),
        # never forming the (t, r, w, w) scores.
        rows = np.swapaxes(rows, 1, 2).reshape(t, w, r * d)
        g += rows @ np.swapaxes(columns, -1, -2).reshape(t, r * d, w) / r
    return g


def label_bank(suspect_works: int, n_works: int, permutations: int, rng) -> np.ndarray:
    """(permutations, W) random relabellings: suspect_works ones among W works."""
    keys = rng.random((permutations, n_works))
    return (_ranks(keys) < suspect_works).astype(float)


def _quadratic(labels: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(T, B) statistics y_b' G_t y_b for labellings (B, W) and maps (T, W, W): a matrix
    product, then a row sum, which runs several times faster than the einsum."""
    return ((labels @ g) * labels).sum(axis=-1)


# Besag & Clifford, "Sequential Monte Carlo p-values", Biometrika 1991: a row stops once this
# many relabellings reach its statistic; p = h / relabellings drawn is still a valid p-value.
SEQUENTIAL_H = 20


def permutation_pvalues(
    g: np.ndarray, suspect_works: int, bank: np.ndarray, sequential: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided p-values (1 + #{T_b >= T_0}) / (B + 1) for the stack G (T, W, W), with
    T_0 for the true labels (suspect works first), and the relabellings each row used.
    `sequential` stops a row at SEQUENTIAL_H exceedances (Besag-Clifford)."""
    y = np.r_[np.ones(suspect_works), np.zeros(g.shape[-1] - suspect_works)]
    observed = _quadratic(y[None], g)[:, 0]
    # Ties count as exceedances (conservative); the tolerance absorbs rounding.
    tol = 1e-9 * (np.abs(g).sum(axis=(1, 2)) + 1e-12)
    exceed = np.zeros(len(g), int)
    used = np.zeros(len(g), int)
    active = np.ones(len(g), bool)
    chunk = max(1, min(len(bank), 2**24 // max(g.shape[-1] * len(g), 1)))
    for start in range(0, len(bank), chunk):
        rows = np.flatnonzero(active)
        if not len(rows):
            break
        part = bank[start : start + chunk]
        values = _quadratic(part, g[rows])
        hits = values >= observed[rows, None] - tol[rows, None]
        if sequential:
            cum = exceed[rows, None] + hits.cumsum(axis=1)
            stop = (cum >= SEQUENTIAL_H).any(axis=1)
            taken = np.where(stop, (cum >= SEQUENTIAL_H).argmax(axis=1) + 1, len(part))
            exceed[rows] += np.take_along_axis(cum, taken[:, None] - 1, 1)[:, 0] - exceed[rows]
            used[rows] += taken
            active[rows[stop]] = False
        else:
            exceed[rows] += hits.sum(axis=1)
            used[rows] += len(part)
    stopped = ~active
    p = np.where(stopped, exceed / np.maximum(used, 1), (1 + exceed) / (used + 1))
    return p, used


def oriented_pvalues(
    z: np.ndarray, suspect_works: int, bank: np.ndarray, combine=np.sum
) -> np.ndarray:
    """One-sided p-values of the stack z (T, W, d) of oriented standardised features, by
    Fisher's combination of per-feature permutation tests on one bank (Pesarin's NPC).

    Row 0 of the relabellings is the true one (suspect works first). A feature's statistic
    is the sum of its values over the suspect works; its p-value under each relabelling is
    the share of relabellings, the true one included, that reach it; the combined statistic
    -sum log p is then ranked the same way. Ties count as reaching (conservative). `combine`
    (over the features' -log p) is Fisher's sum; benchmarks/di_candidates.py tries others."""
    y = np.r_[np.ones(suspect_works), np.zeros(z.shape[-2] - suspect_works)]
    labels = np.vstack([y, bank])
    # Rounded so that sums equal but for rounding tie, as they should. Sorted as (T, d, B),
    # each feature's relabellings side by side; summed over d as (T, B, d), the order that
    # sets the combination's last bits.
    sums = np.round(np.einsum("bw,twd->tbd", labels, z, optimize=True), 9)
    reach = _reach(np.ascontiguousarray(np.swapaxes(sums, 1, 2)))
    reach = np.ascontiguousarray(np.swapaxes(reach, 1, 2))
    combined = np.round(combine(-np.log(reach / len(labels)), axis=2), 9)
    return (combined >= combined[:, :1]).mean(axis=1)


def weighted_pvalues(score: np.ndarray, suspect_works: int, bank: np.ndarray) -> np.ndarray:
    """One-sided p-values (1 + #{T_b >= T_0}) / (B + 1) of the stack of work scores (T, W),
    T being the suspect works' summed score (the first suspect_works under the true labels).
    Ties count as exceedances (conservative), so all-zero weights give p = 1."""
    observed = score[:, :suspect_works].sum(axis=1)
    tol = 1e-9 * (np.abs(score).sum(axis=1) + 1e-12)
    exceed = (score @ bank.T >= (observed - tol)[:, None]).sum(axis=1)
    return (1 + exceed) / (len(bank) + 1)


def _chunks(total: int, w: int, draws: int) -> Iterator[slice]:
    size = max(1, 2**25 // (draws * w * w * 8))
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def exact_test(
    works: Works,
    index: np.ndarray,
    suspect_works: int,
    method: str,
    settings: DISettings,
    permutations: int,
    rng: np.random.Generator,
    sequential: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """p-values of the procedure on a stack of problems: row t of `index` (T, W') picks the
    works of problem t, its first suspect_works being the suspect ones. One relabelling bank
    serves every row, since all rows have the same sizes. The two-sided procedures average
    `fold_draws` fold assignments for a single problem, `resample_fold_draws` for a stack,
    and may stop early (`sequential`); the one-sided test is cheap enough to use every
    relabelling. Returns p and relabellings used."""
    index = np.atleast_2d(index)
    w = index.shape[1]
    bank = label_bank(suspect_works, w, permutations, rng)
    p, used = np.ones(len(index)), np.zeros(len(index), int)
    if method == WEIGHTED and works.weights is None:
        raise ValueError(
            "the weighted test needs feature weights (a shadow model's, di.weights); "
            "use the oriented test where there are none"
        )
    if one_sided(method):
        rows = max(1, 2**22 // ((permutations + 1) * works.x.shape[1]))
        for start in range(0, len(index), rows):
            part = slice(start, min(start + rows, len(index)))
            z = features_of(works, index[part], settings.residualise)
            if method == WEIGHTED:
                p[part] = weighted_pvalues(z @ works.weights, suspect_works, bank)
            else:
                p[part] = oriented_pvalues(z, suspect_works, bank)
        return p, np.full(len(index), permutations)
    proc = procedure(method, settings)
    draws = settings.fold_draws if len(index) == 1 else settings.resample_fold_draws
    for part in _chunks(len(index), w, draws):
        z = features_of(works, index[part], settings.residualise)
        count = (part.stop - part.start) * draws
        assign = fold_assignments(w, proc.folds, count, rng).reshape(-1, draws, w)
        g = score_map(z, assign, proc, settings.ridge)
        p[part], used[part] = permutation_pvalues(g, suspect_works, bank, sequential)
    return p, used


@dataclass(frozen=True)
class Result:
    """One p-value with what it rests on."""

    p: float
    permutations: int
    mc_error: float  # Monte-Carlo standard error of p from the finite relabellings


def dataset_inference(works: Works, method: str, settings: DISettings) -> Result:
    """Exact p-value of `method`: for the one-sided ones, that the suspect works look more
    trained-on than the validation works; for the two-sided ones, that they differ."""
    rng = np.random.default_rng(data_seed(settings, works, method, "verdict"))
    index = np.arange(len(works.x))[None]
    p, used = exact_test(
        works, index, works.suspect_works, method, settings, settings.permutations, rng
    )
    return Result(float(p[0]), int(used[0]), float(np.sqrt(p[0] * (1 - p[0]) / (used[0] + 1))))


def shift_test(audio: Works, settings: DISettings) -> Result:
    """Exact test that the suspect works differ from the validation works in their audio
    statistics (blind.corpus_statistics): the same machinery (crossfit, same alpha) on the
    statistics instead of the membership features. The scorer learns its direction from the
    labels, so a shift either way counts."""
    return dataset_inference(audio, "crossfit", replace(settings, residualise=False))
