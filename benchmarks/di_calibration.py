"""Calibration and power of the DI procedures on independent synthetic collections.

Calibration: `--nulls` collections per procedure with no member effect, each drawn with its
own shape (works as clusters with ICC 0.1-0.6, 2-6 clips a work, 8-60 works a side, unequal
sides, 3-30 features; Gaussian, heavy-tailed and 5%-missing noise in turn), each tested once
with the study's settings. An exact test rejects at most alpha of them, up to sampling error.

Forward and reversed effects, at 24 and 48 works a side, ICC 0.4, 4 clips a work:
- today's scenario: per-clip AUC 0.6 (forward: power) or 0.4 (reversed: a one-sided test
  must reject at most alpha) on 3 of 10 independent oriented features;
- the real-shaped scenario (with `--features`, a study's features file): the features'
  correlation is that file's, the signal sits in the attacks `--signal` (each group moves
  with its first feature, at per-clip AUC `--clip-auc`) and `--reversed` moves the other way,
  as SecMI does on the study's diffusion models; reversed swaps every shift's sign.

The weighted test takes its weights from a shadow (synthetic.shadow_weights): an independent
collection of the forward shape with `--shadow-works` a side, as a shadow model trained by
the auditor gives them; for a null collection, its shape with the forward effect of today's
scenario. The tested labels never reach the weights.

Usage: python benchmarks/di_calibration.py [--nulls 5000 (0: effects only)] [--alternatives 1000]
       [--fold-draws 100] [--jobs 2] [--methods weighted oriented crossfit split]
       [--features results/features/diffusion_at_scale.parquet [--nulls-shaped 5000]]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
from scipy import stats

from audio_di.di.engine import METHODS, WEIGHTED, DISettings, dataset_inference
from audio_di.io import read_table
from audio_di.synthetic import Scenario, collection, null_scenarios, shadow_weights
from audio_di.tables import FEATURES, MEMBER_SIGNS

Task = tuple[list[Scenario], list[Scenario], str, DISettings, int]


def pvalues(task: Task) -> np.ndarray:
    """p-values of `method` on one collection of each scenario, with weights (for the
    weighted test) from an independent draw of the matching shadow scenario."""
    scenarios, shadows, method, settings, first = task
    out = []
    for i, (scenario, shadow) in enumerate(zip(scenarios, shadows, strict=True), first):
        rng = np.random.default_rng([i, 20261128])
        weights = shadow_weights(shadow, rng) if method == WEIGHTED else None
        works = collection(scenario, rng, weights)
        out.append(dataset_inference(works, method, replace(settings, seed=i)).p)
    return np.array(out)


def run(
    scenarios: list[Scenario],
    shadows: list[Scenario],
    method: str,
    settings: DISettings,
    jobs: int,
) -> np.ndarray:
    parts = np.array_split(np.arange(len(scenarios)), jobs * 4)
    tasks = [
        ([scenarios[i] for i in part], [shadows[i] for i in part], method, settings, int(part[0]))
        for part in parts
        if len(part)
    ]
    with ProcessPoolExecutor(jobs) as pool:
        return np.concatenate(list(pool.map(pvalues, tasks)))


def bound(count: int, alpha: float) -> tuple[float, float]:
    """Central 95% range of the rejection rate of `count` tests at level alpha."""
    dist = stats.binom(count, alpha)
    return dist.ppf(0.025) / count, dist.ppf(0.975) / count


def real_correlation(path: str) -> tuple[np.ndarray, list[str]]:
    """The correlation of a features file's oriented work means, and the feature names."""
    features = read_table(path, FEATURES)
    names = [c for c in features.columns if c != "clip_id"]
    signs = np.array([features.attrs[MEMBER_SIGNS][n] for n in names], float)
    works = features["clip_id"].str.rsplit("__", n=1).str[0]
    means = features[names].mul(signs).groupby(works.to_numpy()).mean()
    correlation = means.corr().fillna(0.0).to_numpy(copy=True)
    np.fill_diagonal(correlation, 1.0)
    # Nearest positive definite by eigenvalue floor: some features are exact copies.
    values, vectors = np.linalg.eigh(correlation)
    correlation = vectors @ np.diag(np.maximum(values, 1e-3)) @ vectors.T
    scale = np.sqrt(np.diag(correlation))
    return correlation / np.outer(scale, scale), names


def shaped(names, correlation, works, clip_auc, signal, reversed_) -> Scenario:
    """A member effect as a shift of latent factors: each `signal` attack's factor (its first
    feature) moves by the shift that gives that feature per-clip AUC `clip_auc`, the
    `reversed_` attack's the other way, and every feature moves by its correlation with the
    factors, as the features of one group move together in the study."""
    attack = [name.split("__")[0] for name in names]
    d = np.sqrt(2) * stats.norm.ppf(clip_auc)
    shift = np.zeros(len(names))
    for group, sign in [(a, 1.0) for a in signal] + [(a, -1.0) for a in reversed_]:
        shift += sign * d * correlation[:, attack.index(group)]
    aucs = tuple(float(a) for a in stats.norm.cdf(shift / np.sqrt(2)))
    return Scenario(works, works, len(names), 0.4, (4, 4), correlation=correlation, clip_aucs=aucs)


def null_shadow(scenario: Scenario, works: int) -> Scenario:
    """A null scenario's shadow: its shape, `works` a side, with today's forward effect."""
    signal = max(1, scenario.features // 3)
    return replace(scenario, works_s=works, works_v=works, clip_auc=0.6, signal_features=signal)


def calibration(nulls, shadows, methods, settings, jobs) -> None:
    print("method    alpha  rejected  95% bound for an exact test  inside")
    for method in methods:
        started = time.perf_counter()
        p = run(nulls, shadows, method, settings, jobs)
        for alpha in (0.05, 0.01):
            rate = float((p < alpha).mean())
            lo, hi = bound(len(p), alpha)
            inside = "yes" if lo <= rate <= hi else "NO"
            print(f"{method:9} {alpha:<6} {rate:.4f}    {lo:.4f}-{hi:.4f}                 {inside}")
        print(f"          ({time.perf_counter() - started:.0f} s)", flush=True)


def effects(shape, shadow, count, methods, settings, jobs) -> None:
    """Rejections at 0.05 of `count` collections of shape(works, forward) per cell."""
    print("| case | works a side | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for case, forward in (("forward", True), ("reversed", False)):
        for works in (24, 48):
            scenarios, shadows = [shape(works, forward)] * count, [shadow] * count
            rates = [(run(scenarios, shadows, m, settings, jobs) < 0.05).mean() for m in methods]
            print(f"| {case} | {works} | " + " | ".join(f"{r:.3f}" for r in rates) + " |",
                  flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nulls", type=int, default=5000)
    parser.add_argument("--alternatives", type=int, default=1000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument(
        "--fold-draws", type=int, default=DISettings().fold_draws, help="as di.fold_draws"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--shadow-works", type=int, default=100, help="a side, per shadow")
    parser.add_argument("--features", help="a study's features file: the real-shaped rows")
    parser.add_argument("--signal", nargs="+", default=["pia", "reference_loss"])
    parser.add_argument("--reversed", nargs="*", default=["secmi"])
    parser.add_argument("--clip-auc", type=float, default=0.56)
    parser.add_argument("--nulls-shaped", type=int, default=5000)
    args = parser.parse_args()
    settings = DISettings(permutations=args.permutations, fold_draws=args.fold_draws)
    wide = {"works_s": args.shadow_works, "works_v": args.shadow_works}

    if args.nulls:
        nulls = null_scenarios(args.nulls, np.random.default_rng(0))
        print(f"calibration: {args.nulls} null collections per procedure, "
              f"B = {args.permutations}, {args.fold_draws} fold draws")  # fmt: skip
        shadows = [null_shadow(s, args.shadow_works) for s in nulls]
        calibration(nulls, shadows, args.methods, settings, args.jobs)

    print(f"\ntoday's scenario: rejections at 0.05, {args.alternatives} collections per cell, "
          "3 of 10 features at clip AUC 0.6 (reversed: 0.4), ICC 0.4")  # fmt: skip

    def today(works: int, forward: bool) -> Scenario:
        auc = 0.6 if forward else 0.4
        return Scenario(works, works, 10, 0.4, (4, 4), clip_auc=auc, signal_features=3)

    effects(today, replace(today(24, True), **wide), args.alternatives, args.methods, settings,
            args.jobs)  # fmt: skip
    if not args.features:
        return
    correlation, names = real_correlation(args.features)
    print(f"\nreal-shaped scenario: {len(names)} features correlated as in {args.features}; "
          f"signal {args.signal}, reversed {args.reversed}, clip AUC {args.clip_auc}")  # fmt: skip

    def real(works: int, forward: bool) -> Scenario:
        auc = args.clip_auc if forward else 1 - args.clip_auc
        return shaped(names, correlation, works, auc, args.signal, args.reversed)

    shadow = replace(real(24, True), **wide)
    effects(real, shadow, args.alternatives, args.methods, settings, args.jobs)
    if args.nulls_shaped:
        print(f"\ncalibration: {args.nulls_shaped} real-shaped null collections, 24 works a side")
        null = real(24, True)
        null = replace(null, clip_aucs=(0.5,) * len(names))
        calibration([null] * args.nulls_shaped, [shadow] * args.nulls_shaped, args.methods,
                    settings, args.jobs)  # fmt: skip


if __name__ == "__main__":
    main()
