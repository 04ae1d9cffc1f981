"""Which one-sided test should weigh the features? Candidates on collections shaped like the
study's features, beside the verdict's test today (Fisher's combination, `oriented`) and the
two-sided diagnostic (`crossfit`).

    python benchmarks/di_candidates.py --features results/features/diffusion_at_scale.parquet
        [--signal pia reference_loss] [--reversed secmi] [--clip-auc 0.56]
        [--alternatives 400] [--nulls 2000] [--jobs 2]

Real-shaped collections (synthetic.Scenario with `correlation` and `clip_aucs`): the
correlation of the oriented, work-averaged features of the file (all its works), which come in
a few highly correlated groups; a member effect on the factors of the `--signal` attacks
(per-clip AUC `--clip-auc` on each one's first feature, the rest of its group moving with it
by their correlation), and the `--reversed` attack's factor moving the other way; ICC 0.4,
4 clips a work, 24 and 48 works a side.

Candidates, each exact (only the statistic sees the labels) and one-sided:
- fisher: Pesarin's combination, -sum log p of the per-feature permutation p-values (today);
- tippett: the same with the largest -log p (Tippett's minimum p), robust to dilution;
- shadow: the engine's `weighted` test, a weighted sum of the standardised features,
  sum_j w_j sum_suspect z_j, with fixed weights w_j = max(0, AUC_j - 0.5) measured
  beforehand on a shadow collection (synthetic.shadow_weights: an independent draw of the
  forward shape, `--shadow-works` a side, as a shadow model trained by the auditor on works
  it owns gives them), so no weight or sign is learnt from the tested labels.

The chosen one, `weighted`, is measured with the others in benchmarks/di_calibration.py.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
from di_calibration import bound, real_correlation, shaped

from audio_di.di.engine import (
    DISettings,
    Works,
    dataset_inference,
    features_of,
    label_bank,
    oriented_pvalues,
)
from audio_di.synthetic import Scenario, collection, shadow_weights

CANDIDATES = ("fisher", "tippett", "shadow", "crossfit")


def tippett_pvalue(works: Works, settings: DISettings, rng) -> float:
    """As `oriented`, the per-feature p-values combined by their minimum."""
    z = features_of(works, np.arange(len(works.x))[None], settings.residualise)
    bank = label_bank(works.suspect_works, len(works.x), settings.permutations, rng)
    return float(oriented_pvalues(z, works.suspect_works, bank, combine=np.max)[0])


def pvalues(task) -> dict[str, list[float]]:
    scenario, shadow, count, first, settings = task
    out: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    for i in range(first, first + count):
        rng = np.random.default_rng([i, 20261205])
        works = collection(scenario, rng, shadow_weights(shadow, rng))
        seeded = replace(settings, seed=i)
        out["fisher"].append(dataset_inference(works, "oriented", seeded).p)
        out["crossfit"].append(dataset_inference(works, "crossfit", seeded).p)
        out["tippett"].append(tippett_pvalue(works, seeded, rng))
        out["shadow"].append(dataset_inference(works, "weighted", seeded).p)
    return out


def run(
    scenario: Scenario, shadow: Scenario, count: int, settings: DISettings, jobs: int
) -> pd.DataFrame:
    """p-values of every candidate on `count` collections of `scenario`, the shadow weights
    of each from its own draw of `shadow` (a shadow model's members are trained on)."""
    parts = [(scenario, shadow, len(part), int(part[0]), settings)
             for part in np.array_split(np.arange(count), jobs * 4) if len(part)]  # fmt: skip
    with ProcessPoolExecutor(jobs) as pool:
        done = list(pool.map(pvalues, parts))
    return pd.DataFrame({c: np.concatenate([d[c] for d in done]) for c in CANDIDATES})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", required=True)
    parser.add_argument("--signal", nargs="+", default=["pia", "reference_loss"])
    parser.add_argument("--reversed", nargs="*", default=["secmi"])
    parser.add_argument("--clip-auc", type=float, default=0.56)
    parser.add_argument("--shadow-works", type=int, default=100, help="a side, per shadow")
    parser.add_argument("--alternatives", type=int, default=400)
    parser.add_argument("--nulls", type=int, default=2000)
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--fold-draws", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    settings = DISettings(permutations=args.permutations, fold_draws=args.fold_draws)
    correlation, names = real_correlation(args.features)
    print(f"{len(names)} features from {args.features}; signal {args.signal}, reversed "
          f"{args.reversed}, clip AUC {args.clip_auc}; B = {args.permutations}")  # fmt: skip
    print("\n| case | works a side | " + " | ".join(CANDIDATES) + " |")
    print("|---|---|" + "---|" * len(CANDIDATES))

    def shape(works: int, clip_auc: float) -> Scenario:
        return shaped(names, correlation, works, clip_auc, args.signal, args.reversed)

    for case, clip_auc in (("forward", args.clip_auc), ("reversed", 1 - args.clip_auc)):
        for works in (24, 48):
            shadow = replace(shape(works, args.clip_auc), works_s=args.shadow_works,
                             works_v=args.shadow_works)  # fmt: skip
            p = run(shape(works, clip_auc), shadow, args.alternatives, settings, args.jobs)
            rates = " | ".join(f"{(p[c] < 0.05).mean():.3f}" for c in CANDIDATES)
            print(f"| {case} | {works} | {rates} |", flush=True)
    if args.nulls:
        shadow = replace(shape(24, args.clip_auc), works_s=args.shadow_works,
                         works_v=args.shadow_works)  # fmt: skip
        p = run(shape(24, 0.5), shadow, args.nulls, settings, args.jobs)
        print(f"\ncalibration: {args.nulls} real-shaped null collections, 24 works a side")
        for alpha in (0.05, 0.01):
            lo, hi = bound(args.nulls, alpha)
            rates = ", ".join(f"{c} {(p[c] < alpha).mean():.4f}" for c in CANDIDATES)
            print(f"alpha {alpha}: {rates} (95% range {lo:.4f}-{hi:.4f})")


if __name__ == "__main__":
    main()
