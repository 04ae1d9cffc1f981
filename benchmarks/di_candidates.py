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
- shadow: a weighted sum of the standardised features, sum_j w_j sum_suspect z_j, with fixed
  weights w_j = max(0, AUC_j - 0.5) measured beforehand on a shadow collection (an
  independent draw of the forward shape, `--shadow-works` a side: what a shadow model,
  trained by the auditor on works it owns, gives), so no weight or sign is learnt from the
  tested labels.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd
from di_calibration import bound
from scipy import stats

from audio_di.di.engine import (
    DISettings,
    Works,
    dataset_inference,
    features_of,
    label_bank,
    oriented_pvalues,
)
from audio_di.io import read_table
from audio_di.mia import auc
from audio_di.synthetic import Scenario, collection
from audio_di.tables import FEATURES, MEMBER_SIGNS

CANDIDATES = ("fisher", "tippett", "shadow", "crossfit")


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


def tippett_pvalue(works: Works, settings: DISettings, rng) -> float:
    """As `oriented`, the per-feature p-values combined by their minimum."""
    z = features_of(works, np.arange(len(works.x))[None], settings.residualise)
    bank = label_bank(works.suspect_works, len(works.x), settings.permutations, rng)
    return float(oriented_pvalues(z, works.suspect_works, bank, combine=np.max)[0])


def shadow_weights(scenario: Scenario, rng) -> np.ndarray:
    """w_j = max(0, per-clip AUC_j - 0.5) on an independent draw of the scenario's shape."""
    shadow = collection(scenario, rng)
    members = np.arange(len(shadow.x)) < shadow.suspect_works
    return np.array([max(0.0, auc(x[members], x[~members]) - 0.5) for x in shadow.x.T])


def shadow_pvalue(works: Works, weights: np.ndarray, settings: DISettings, rng) -> float:
    z = features_of(works, np.arange(len(works.x))[None], settings.residualise)[0]
    if not weights.any():
        return 1.0
    score = z @ weights
    bank = label_bank(works.suspect_works, len(works.x), settings.permutations, rng)
    observed = score[: works.suspect_works].sum()
    return float((1 + (bank @ score >= observed - 1e-9 * np.abs(score).sum()).sum()) /
                 (len(bank) + 1))  # fmt: skip


def pvalues(task) -> dict[str, list[float]]:
    scenario, shadow, count, first, settings = task
    out: dict[str, list[float]] = {c: [] for c in CANDIDATES}
    for i in range(first, first + count):
        rng = np.random.default_rng([i, 20261205])
        weights = shadow_weights(shadow, rng)
        works = collection(scenario, rng)
        seeded = replace(settings, seed=i)
        out["fisher"].append(dataset_inference(works, "oriented", seeded).p)
        out["crossfit"].append(dataset_inference(works, "crossfit", seeded).p)
        out["tippett"].append(tippett_pvalue(works, seeded, rng))
        out["shadow"].append(shadow_pvalue(works, weights, seeded, rng))
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
