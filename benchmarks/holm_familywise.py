"""Family-wise error of Holm's adjustment (audio_di.di.verdict.adjust) on independent nulls.

Each of `--families` families holds `--tests` tests whose nulls are all true (uniform
p-values), as the artists tested on one model and procedure. Without adjustment a family
flags something far more often than alpha (1 - 0.95^8 = 0.34 for eight tests at 0.05);
after Holm's it must stay at or below alpha, up to sampling error (three standard errors).

Usage: python benchmarks/holm_familywise.py [--families 20000] [--tests 8] [--alpha 0.05] [--seed 0]
"""

from __future__ import annotations

import argparse

import numpy as np

from audio_di.di.verdict import adjust


def familywise(p: np.ndarray, alpha: float) -> tuple[float, float]:
    """Share of families (rows of p) with any p < alpha: raw, and after Holm's adjustment."""
    raw = (p < alpha).any(axis=1).mean()
    adjusted = (np.apply_along_axis(adjust, 1, p, "holm") < alpha).any(axis=1).mean()
    return float(raw), float(adjusted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=20000)
    parser.add_argument("--tests", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    p = np.random.default_rng(args.seed).uniform(size=(args.families, args.tests))
    raw, adjusted = familywise(p, args.alpha)
    bound = args.alpha + 3 * np.sqrt(args.alpha * (1 - args.alpha) / args.families)
    inside = "yes" if adjusted <= bound else "NO"
    print(f"{args.families} families of {args.tests} true nulls at alpha {args.alpha}")
    expected = 1 - (1 - args.alpha) ** args.tests
    print(f"any p < alpha, unadjusted: {raw:.4f}  (1 - (1 - alpha)^tests = {expected:.4f})")
    print(f"any p < alpha, after Holm: {adjusted:.4f}  (at most {bound:.4f}: {inside})")


if __name__ == "__main__":
    main()
