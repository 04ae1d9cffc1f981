"""Time of the p-value-vs-n grid: the vectorised procedure against a naive loop.

The naive loop is what one would write first: for every resample, scikit-learn's
LogisticRegression on work-grouped folds (GroupKFold), then a Welch test on work means.
Both run in the same process on the same synthetic study-shaped data; the naive loop runs on
a subset of the resamples, and its time is scaled to the full count.

Usage: python benchmarks/di.py [--artists 8] [--resamples 1000] [--features 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import StandardScaler

from audio_di.di import pvalue_vs_n

GRID = [5, 10, 20, 50, 100]


def study_shaped(rng, works: int, clips: int, d: int, shift: float):
    """One artist: suspect and validation sets of `works` works of `clips` clips each."""

    def one(offset):
        x = rng.normal(0, 1, (works, 1, d)) + rng.normal(size=(works, clips, d)) + offset
        return x.reshape(-1, d), np.repeat(np.arange(works), clips)

    return (*one(shift), *one(0.0))


def naive_pvalue(xs, xv, ws, wv, folds: int) -> float:
    x = np.r_[xs, xv]
    y = np.r_[np.ones(len(xs)), np.zeros(len(xv))]
    groups = np.r_[ws, wv + ws.max() + 1]
    scores = np.empty(len(x))
    splitter = GroupKFold(n_splits=min(folds, len(np.unique(ws)), len(np.unique(wv))))
    for train, test in splitter.split(x, y, groups):
        scaler = StandardScaler().fit(x[train])
        model = LogisticRegression(C=1.0).fit(scaler.transform(x[train]), y[train])
        scores[test] = model.decision_function(scaler.transform(x[test]))
    mean_s = [scores[: len(xs)][ws == w].mean() for w in np.unique(ws)]
    mean_v = [scores[len(xs) :][wv == w].mean() for w in np.unique(wv)]
    return stats.ttest_ind(mean_s, mean_v, equal_var=False, alternative="greater").pvalue


def naive_grid(xs, xv, ws, wv, resamples: int, rng) -> None:
    for n in [n for n in GRID if n <= min(len(xs), len(xv))] + [min(len(xs), len(xv))]:
        for _ in range(resamples):
            ps, pv = rng.permutation(len(xs))[:n], rng.permutation(len(xv))[:n]
            naive_pvalue(xs[ps], xv[pv], ws[ps], wv[pv], 5)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--artists", type=int, default=8)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--naive-resamples", type=int, default=20)
    parser.add_argument("--features", type=int, default=20)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    data = [study_shaped(rng, 7, 6, args.features, 0.3) for _ in range(args.artists)]

    start = time.perf_counter()
    for xs, ws, xv, wv in data:
        pvalue_vs_n(xs, xv, ws, wv, "crossfit", GRID, args.resamples, 5, 0.05, seed=0)
    vectorised = time.perf_counter() - start

    start = time.perf_counter()
    for xs, ws, xv, wv in data:
        naive_grid(xs, xv, ws, wv, args.naive_resamples, rng)
    naive = (time.perf_counter() - start) * args.resamples / args.naive_resamples

    print(
        f"p-value vs n grid {GRID} (+ full set), {args.resamples} resamples, "
        f"{args.artists} artists, {args.features} features, 42 clips (7 works) a side"
    )
    print(f"  vectorised: {vectorised:8.1f} s")
    print(f"  naive loop: {naive:8.1f} s (scaled from {args.naive_resamples} resamples)")
    print(f"  ratio:      {naive / vectorised:8.1f}x")


if __name__ == "__main__":
    main()
