"""Time of dataset inference on one study-shaped artist, three ways, in one run:

- the exact engine (src/audio_di/di/engine.py): closed-form cross-fitted ridge, all relabellings as
  quadratic forms, with the study's settings;
- the previous path: vectorised logistic regression on work-grouped folds, then a Welch test
  on work means (approximate, anti-conservative), at its settings (1000 resamples a grid
  point); re-implemented here as it was, since the library no longer has it;
- a scikit-learn loop computing the exact test the obvious way, refitting Ridge for every
  relabelling, fold and fold draw; it runs on a few relabellings and is scaled to B.

Usage: python benchmarks/di.py [--works 20] [--clips 4] [--features 30] [--loop-relabellings 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
from sklearn.linear_model import Ridge

from audio_di.di.designs import contamination_curve, null_pvalues, pvalue_vs_n
from audio_di.di.engine import (
    DISettings,
    dataset_inference,
    features_of,
    fold_assignments,
    procedure,
)
from audio_di.synthetic import Scenario, collection


def logistic(x, y, train, iters=30):
    """Newton's method for a stack of L2 logistic regressions (C = 1), rows outside `train`
    left out; the previous path's scorer."""
    batch, m, d = x.shape
    xa = np.concatenate([x, np.ones((batch, m, 1))], axis=2)
    w = np.zeros((batch, d + 1))
    penalty = np.r_[np.ones(d), 1e-8]
    for _ in range(iters):
        p = 1 / (1 + np.exp(-np.einsum("bmd,bd->bm", xa, w)))
        grad = np.einsum("bmd,bm->bd", xa, train * (p - y)) + penalty * w
        hess = np.einsum("bmd,bm,bme->bde", xa, train * p * (1 - p), xa) + np.diag(penalty)
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return w


def previous_pvalues(x, y, works, folds, rng):
    """Cross-fitted logistic scores on clips, Welch test on work means: (B, n) stacks."""
    n_works = works.max() + 1
    fold = (rng.random((len(x), n_works)).argsort(1).argsort(1) % folds)[
        np.arange(len(x))[:, None], works
    ]
    mean, sd = x.mean(1, keepdims=True), x.std(1, keepdims=True) + 1e-12
    z = ((x - mean) / sd).clip(-5, 5)
    scores = np.zeros(y.shape)
    for k in range(folds):
        w = logistic(z, y, (fold != k).astype(float))
        scores = np.where(fold == k, np.einsum("bmd,bd->bm", z, w[:, :-1]) + w[:, -1:], scores)
    one_hot = works[..., None] == np.arange(n_works)
    means = np.einsum("bn,bnw->bw", scores, one_hot) / one_hot.sum(1)
    side = np.einsum("bn,bnw->bw", y, one_hot) / one_hot.sum(1) > 0.5
    a = np.where(side, means, np.nan)
    b = np.where(~side, means, np.nan)
    return stats.ttest_ind(a, b, axis=1, equal_var=False, nan_policy="omit").pvalue


def previous_workload(works, clips, d, rng, resamples=1000, grid=(5, 10, 20, 50, 100)):
    """The previous path's per-artist DI at its settings: the clip grid (plus the full set)
    at 1000 resamples, 125 null trials on halves of the validation works, and six
    contamination fractions at 1000 resamples."""
    largest = works * clips
    stacks = [(n, resamples) for n in grid if n < largest] + [(largest, resamples)]
    stacks += [(largest // 2, 125)] + [(largest // 2, resamples)] * 6
    for n, batch in stacks:
        per = max(n // clips, 2)
        x = rng.normal(size=(batch, 2 * per * clips, d))
        y = np.repeat(np.r_[np.ones(per), np.zeros(per)], clips)[None].repeat(batch, 0)
        work = np.repeat(np.arange(2 * per), clips)[None].repeat(batch, 0)
        previous_pvalues(x, y, work, 5, rng)


def loop_statistic(z, y, assign, proc, ridge):
    total = 0.0
    for folds in assign:
        for k in range(proc.scored):
            test, train = folds == k, folds != k
            scores = Ridge(alpha=ridge * train.sum()).fit(z[train], y[train]).predict(z[test])
            total += (y[test] * (scores - scores.mean())).sum()
    return total / len(assign)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=20)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--loop-relabellings", type=int, default=20)
    args = parser.parse_args()
    settings = DISettings()
    rng = np.random.default_rng(0)
    shape = Scenario(args.works, args.works, args.features, 0.4, (args.clips, args.clips))
    works = collection(shape, rng)
    print(
        f"one artist: {args.works} works a side, {args.clips} clips a work, "
        f"{args.features} features; study settings (B = {settings.permutations}, "
        f"{settings.fold_draws} fold draws)"
    )

    started = time.perf_counter()
    dataset_inference(works, "crossfit", settings)
    verdict = time.perf_counter() - started
    pvalue_vs_n(works, "crossfit", settings)
    null_pvalues(works, "crossfit", 125, settings)
    contamination_curve(works, "crossfit", settings)
    engine = time.perf_counter() - started

    started = time.perf_counter()
    previous_workload(args.works, args.clips, args.features, rng)
    previous = time.perf_counter() - started

    z = features_of(works, np.arange(len(works.x))[None], settings.residualise)[0]
    proc = procedure("crossfit", settings)
    assign = fold_assignments(len(works.x), proc.folds, settings.fold_draws, rng)
    y = np.r_[np.ones(works.suspect_works), np.zeros(works.validation_works)]
    started = time.perf_counter()
    for _ in range(args.loop_relabellings):
        loop_statistic(z, rng.permutation(y), assign, proc, settings.ridge)
    loop = (time.perf_counter() - started) * (settings.permutations + 1) / args.loop_relabellings

    print("per artist and method, verdict + curves + null + contamination:")
    print(f"  exact engine:               {engine:8.2f} s")
    print(f"  previous logistic + Welch:  {previous:8.2f} s  ({previous / engine:.1f}x the engine)")
    print("one exact verdict:")
    print(f"  exact engine:               {verdict:8.3f} s")
    print(
        f"  scikit-learn refit loop:    {loop:8.1f} s  ({loop / verdict:.0f}x the engine; "
        f"scaled from {args.loop_relabellings} relabellings)"
    )


if __name__ == "__main__":
    main()
