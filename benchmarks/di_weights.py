"""How should the one-sided test weigh the features? On a study's folder, every model that
names a shadow (or those of `--models`): its member artists' one-sided p-values, and the
collection AUC at `--n` works a side, under candidate weightings, beside the oriented test
(Fisher's combination, equal weights) and the two-sided crossfit diagnostic.

    python benchmarks/di_weights.py --study results/seeds/shadow/seed10 [--n 20]
        [--models ar_at_scale diffusion_at_scale] [--overlay benchmarks/headline/shadow.yaml]
    python benchmarks/di_weights.py --study results/seeds/seed10 --overlay none
        --models ar_at_scale diffusion_at_scale

Candidate fixed by the feature names alone, for every model:
- grouped: Fisher's combination over attacks instead of feature columns. Each attack's
  columns (`<attack>__<setting>`) are standardised over the collection's works and averaged,
  so that an attack with five near-copies of one score counts once, as one with one column.

Candidates, each fixed by the shadow before the target is tested (so each test stays exact):
- auc: w_j = max(0, AUC_j - 0.5), each feature's separation of the shadow's trained from its
  held-out works (di.weights.separation, the study's);
- nnls: non-negative least squares of the shadow's labels (+1 trained, -1 held out) on its
  standardised oriented work means, which shares the weight among correlated copies of one
  feature instead of adding them up (the positive linear weights of post-hoc dataset
  inference, fitted on the shadow instead of inside the test).

A ceiling per member artist follows each model: the oriented work-level effect (suspect
minus validation means, in pooled within-set SD) of its best single feature, and of the best
non-negative combination of all of them, chosen on the very labels under test. No test may
choose so (its p-value would not be valid); where even that effect is small, no weighting of
these features can detect the artist, and the lever is the model's signal. Beside each, the
works a side at which a one-sided z-test at 0.01 would reach that effect, 2 (z_0.99 / d)^2:
a size, not a p-value, since the weights saw the labels.

Reads params.yaml (with `--overlay` merged over it, as the study ran; `none` for the study's
own), results/features, results/splits/models and results/blind of the folder; writes
nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy.optimize import minimize, nnls
from snakemake.utils import update_config

from audio_di.di.designs import collection_auc, curve_points, pooled_collections
from audio_di.di.engine import WEIGHTED, DISettings, Works, dataset_inference, features_of
from audio_di.di.verdict import works_needed
from audio_di.di.weights import separation, work_means
from audio_di.io import read_table
from audio_di.steps.analysis import collections
from audio_di.tables import AUDIO_STATISTICS, FEATURES, SPLITS

ROOT = Path(__file__).resolve().parents[1]


def shadow_means(study: Path, shadow: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The shadow's oriented work means, and which works it trained on (di.weights)."""
    features = read_table(study / f"results/features/{shadow}.parquet", FEATURES)
    splits = read_table(study / f"results/splits/models/{shadow}.csv", SPLITS)
    return work_means(shadow, features, splits)


def candidates(
    means: pd.DataFrame, trained: np.ndarray, columns: list[str]
) -> dict[str, np.ndarray]:
    """Each candidate's weights for a target's feature columns (0 where the shadow lacks one)."""
    names = list(means.columns)
    x = means.to_numpy(float)
    x = np.where(np.isfinite(x), x, np.nanmean(x, axis=0))
    sd = x.std(axis=0)
    z = np.where(sd > 0, (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
    y = np.where(trained, 1.0, -1.0)
    found = {
        "auc": separation(x[trained], x[~trained])[1],
        "nnls": nnls(z, y - y.mean())[0],
    }
    return {k: np.array([dict(zip(names, w, strict=True)).get(c, 0.0) for c in columns])
            for k, w in found.items()}  # fmt: skip


def grouped(works: Works, columns: list[str]) -> Works:
    """The works with each attack's columns standardised over the works as the tests do
    (label-blind, missing values to the mean) and averaged: one column per attack, in the
    order of first appearance."""
    z = features_of(works, np.arange(len(works.x))[None], residualise=False)[0]
    attacks = list(dict.fromkeys(c.split("__")[0] for c in columns))
    means = [z[:, [c.split("__")[0] == a for c in columns]].mean(axis=1) for a in attacks]
    return replace(works, x=np.stack(means, axis=1))


def ceiling(x: np.ndarray, suspect_works: int, names: list[str]) -> dict:
    """Effects (pooled within-set SD) of the best single feature and of the best non-negative
    combination, max over w >= 0 of w'mu / sqrt(w' S w), with the works a side each would
    need for a z-test at 0.01, from a collection's member-oriented work means x (suspect
    works first)."""
    x = np.where(np.isfinite(x), x, np.nanmean(x, axis=0))
    s, v = x[:suspect_works], x[suspect_works:]
    mu = s.mean(axis=0) - v.mean(axis=0)
    cov = (np.cov(s, rowvar=False) * (len(s) - 1) + np.cov(v, rowvar=False) * (len(v) - 1)) / (
        len(x) - 2
    )
    # In SD units, so that the search sees one scale (the effects do not depend on it).
    sd = np.sqrt(np.diag(cov))
    scale = np.where(sd > 0, sd, 1.0)
    mu, cov = mu / scale, cov / np.outer(scale, scale)
    single = np.where(sd > 0, mu, 0.0)
    cov = cov + 1e-9 * np.eye(len(mu))

    def effect(w):
        return w @ mu / np.sqrt(w @ cov @ w + 1e-300)

    start = np.maximum(single, 0) + 1e-3
    best = minimize(lambda w: -effect(w), start, bounds=[(0, None)] * len(mu), method="L-BFGS-B")
    combined = max(effect(best.x), single.max())
    # 2 (z_0.99 / d)^2: the verdict's sample size at power 1/2.
    return {
        "works a side": min(len(s), len(v)),
        "feature": names[int(single.argmax())],
        "best feature": single.max(),
        "works needed (feature)": works_needed(single.max(), 0.01, power=0.5),
        "best combination": combined,
        "works needed (combination)": works_needed(combined, 0.01, power=0.5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, required=True)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--overlay", default=str(ROOT / "benchmarks/headline/shadow.yaml"))
    args = parser.parse_args()
    params = yaml.safe_load((args.study / "params.yaml").read_text())
    if args.overlay != "none":
        update_config(params, yaml.safe_load(Path(args.overlay).read_text()))
    settings = DISettings.from_config(params["di"], params["seed"])
    models = args.models or [m for m, s in params["models"].items() if "shadow" in s]
    for model in models:
        spec = params["models"][model]
        features = read_table(args.study / f"results/features/{model}.parquet", FEATURES)
        splits = read_table(args.study / f"results/splits/models/{model}.csv", SPLITS)
        stats = read_table(args.study / f"results/blind/{spec['corpus']}_stats.parquet",
                           AUDIO_STATISTICS)  # fmt: skip
        found = collections(model, features, splits, stats)
        columns = [c for c in features.columns if c != "clip_id"]
        print(f"\n{model} (seed {params['seed']}, shadow {spec.get('shadow')})")
        tests = []
        if "shadow" in spec:
            weights = candidates(*shadow_means(args.study, spec["shadow"]), columns)
            print(pd.DataFrame(weights, index=columns).round(3).T.to_string())
            tests += [(name, WEIGHTED, partial(replace, weights=w)) for name, w in weights.items()]
        tests += [("grouped", "oriented", partial(grouped, columns=columns)),
                  ("oriented", "oriented", None), ("crossfit", "crossfit", None)]  # fmt: skip
        rows = {}
        for name, method, view in tests:
            row, member_p, nonmember_p = {}, [], []
            for c in found:
                works = view(c.works) if view is not None else c.works
                if c.status == "member":
                    row[c.artist] = dataset_inference(works, method, settings).p
                    points = {p.n: p for p in curve_points(works, method, settings)}
                    if args.n not in points:
                        raise SystemExit(
                            f"--n {args.n}: {model}'s curve for {c.artist} has collections of "
                            f"{sorted(points)} works a side"
                        )
                    member_p.append(points[args.n].p)
                else:
                    nonmember_p.append(pooled_collections(works, args.n, method, settings))
            row[f"AUC@{args.n}"] = collection_auc(np.concatenate(member_p),
                                                  np.concatenate(nonmember_p))  # fmt: skip
            rows[name] = row
        print(pd.DataFrame(rows).T.round(4).to_string(), flush=True)
        tops = {c.artist: ceiling(c.works.x, c.works.suspect_works, columns)
                for c in found if c.status == "member"}  # fmt: skip
        print("ceiling (effects in SD, labels seen):")
        print(pd.DataFrame(tops).T.round(4).to_string(), flush=True)


if __name__ == "__main__":
    main()
