"""Calibration and power of the DI procedures on independent synthetic collections.

Calibration: `--nulls` collections per procedure with no member effect, each drawn with its
own shape (works as clusters with ICC 0.1-0.6, 2-6 clips a work, 8-60 works a side, unequal
sides, 3-30 features; Gaussian, heavy-tailed and 5%-missing noise in turn), each tested once
with the study's settings. An exact test rejects at most alpha of them, up to sampling error.

Forward and reversed effects: collections whose suspect clips have per-clip AUC 0.6 (more
member-like: power) or 0.4 (less member-like: a one-sided test must reject at most alpha of
them) on 3 of 10 oriented features, ICC 0.4, 4 clips a work, 24 and 48 works a side.

Usage: python benchmarks/di_calibration.py [--nulls 5000 (0: effects only)] [--alternatives 1000]
       [--fold-draws 100] [--jobs 2] [--methods oriented crossfit split]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
from scipy import stats

from audio_di.di.engine import METHODS, DISettings, dataset_inference
from audio_di.synthetic import Scenario, collection, null_scenarios


def pvalues(task: tuple[list[Scenario], str, DISettings, int]) -> np.ndarray:
    scenarios, method, settings, first = task
    out = []
    for i, scenario in enumerate(scenarios, first):
        rng = np.random.default_rng([i, 20261128])
        works = collection(scenario, rng)
        out.append(dataset_inference(works, method, replace(settings, seed=i)).p)
    return np.array(out)


def run(scenarios: list[Scenario], method: str, settings: DISettings, jobs: int) -> np.ndarray:
    parts = np.array_split(np.arange(len(scenarios)), jobs * 4)
    tasks = [([scenarios[i] for i in part], method, settings, int(part[0])) for part in parts]
    with ProcessPoolExecutor(jobs) as pool:
        return np.concatenate(list(pool.map(pvalues, tasks)))


def bound(count: int, alpha: float) -> tuple[float, float]:
    """Central 95% range of the rejection rate of `count` tests at level alpha."""
    dist = stats.binom(count, alpha)
    return dist.ppf(0.025) / count, dist.ppf(0.975) / count


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
    args = parser.parse_args()
    settings = DISettings(permutations=args.permutations, fold_draws=args.fold_draws)

    nulls = null_scenarios(args.nulls, np.random.default_rng(0))
    print(
        f"calibration: {args.nulls} null collections per procedure, B = {args.permutations}, "
        f"{args.fold_draws} fold draws"
    )
    print("method    alpha  rejected  95% bound for an exact test  inside")
    # --nulls 0 measures the effects alone.
    for method in args.methods if nulls else []:
        started = time.perf_counter()
        p = run(nulls, method, settings, args.jobs)
        for alpha in (0.05, 0.01):
            rate = float((p < alpha).mean())
            lo, hi = bound(len(p), alpha)
            inside = "yes" if lo <= rate <= hi else "NO"
            print(f"{method:9} {alpha:<6} {rate:.4f}    {lo:.4f}-{hi:.4f}                 {inside}")
        print(f"          ({time.perf_counter() - started:.0f} s)")

    print(
        f"\nrejections at 0.05: {args.alternatives} collections per cell, 3 of 10 features "
        "shifted, ICC 0.4 (clip AUC 0.6: forward, power; 0.4: reversed, at most alpha for a "
        "one-sided test)"
    )
    print("clip AUC  works a side  " + "  ".join(f"{m:>9}" for m in args.methods))
    for auc in (0.6, 0.4):
        for works in (24, 48):
            alternative = Scenario(works, works, 10, 0.4, (4, 4), clip_auc=auc, signal_features=3)
            rates = [
                (run([alternative] * args.alternatives, method, settings, args.jobs) < 0.05).mean()
                for method in args.methods
            ]
            print(f"{auc:8}  {works:12}  " + "  ".join(f"{r:9.3f}" for r in rates), flush=True)


if __name__ == "__main__":
    main()
