"""Do the study's verdicts hang on a seed or a model's name? Features held fixed.

Reruns every verdict of a finished study (results/features, splits/models, blind statistics
and, for a model with a shadow, its weights; the models whose DI the study ran)
under `--seeds` values of the DI seed, and under as many made-up model names, and counts the
verdicts (model x artist x method) whose outcome never changes. The DI seed moves the fold
assignments and the relabellings; the name should move nothing, since no draw is seeded by it.

`--null` instead redraws the calibration's null trials under the study's DI seed and
`--seeds` others, and prints each model and method's null false-positive rate per seed: a
rate off alpha under the study's seed only points at the draw, not the procedure.

Usage: python benchmarks/di_stability.py [--results results] [--params params.yaml] [--seeds 20]
       [--null]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import yaml
from di_models import evaluated_models, model_inputs

from audio_di.di.engine import DISettings
from audio_di.steps.analysis import calibration, collections, family_verdicts, null_trials
from audio_di.tables import VERDICTS


def outcomes(found: dict, settings: DISettings, name=lambda model: model) -> pd.Series:
    frames = []
    for model, cols in found.items():
        rows = pd.DataFrame(family_verdicts(name(model), cols, settings), columns=VERDICTS.columns)
        frames.append(rows.assign(model=model))
    table = pd.concat(frames).rename(columns={"artist_status": "status", "p_value": "p"})
    return table.set_index(["model", "artist", "status", "method"])[["verdict", "p"]]


def null_rates(found: dict, settings: DISettings, seeds: int) -> None:
    """Null false-positive rate at alpha per model and method (rows) and DI seed (columns:
    the study's first, then `seeds` more past it), as the study's calibration reports it,
    and how often a redrawn rate falls outside its interval."""
    rates, within = {}, {}
    for seed in [settings.seed] + [settings.seed + 1 + s for s in range(seeds)]:
        null = pd.concat(
            [null_trials(m, c, replace(settings, seed=seed)) for m, c in found.items()]
        )
        table = calibration(null, settings.alpha).set_index(["model", "method"])
        rates[seed], within[seed] = table["false_positive_rate"], table["within_bound"]
    rates, within = pd.DataFrame(rates), pd.DataFrame(within).astype(bool)
    print(f"null false-positive rate at alpha {settings.alpha} per DI seed (study seed first):")
    print(rates.round(4).to_string())
    redrawn, outside = rates.iloc[:, 1:].to_numpy(), ~within.iloc[:, 1:].to_numpy()
    print(
        f"redrawn: {redrawn.size} rates, {redrawn.min():.4f}-{redrawn.max():.4f}, mean "
        f"{redrawn.mean():.4f}, {outside.sum()} outside their 95% interval "
        f"({0.05 * redrawn.size:.1f} expected)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--null", action="store_true", help="null false-positive rates")
    args = parser.parse_args()
    params = yaml.safe_load(args.params.read_text())
    settings = DISettings.from_config(params["di"], params["seed"])
    found = {}
    for model in evaluated_models(params, args.results):
        inputs = model_inputs(params, args.results, model)
        found[model] = collections(
            model, inputs["features"], inputs["splits"], inputs["stats"], weights=inputs["weights"]
        )
    if args.null:
        null_rates(found, settings, args.seeds)
        return
    started = time.perf_counter()
    by_seed = pd.concat(
        {seed: outcomes(found, replace(settings, seed=seed)) for seed in range(args.seeds)}, axis=1
    )
    by_name = pd.concat(
        {
            i: outcomes(found, settings, lambda m, i=i: f"{m}_renamed_{i}")
            for i in range(args.seeds)
        },
        axis=1,
    )
    elapsed = time.perf_counter() - started
    for label, table in (("DI seeds", by_seed), ("model names", by_name)):
        verdicts = table.xs("verdict", axis=1, level=1)
        stable = verdicts.nunique(axis=1) == 1
        print(
            f"{label}: {stable.mean():.1%} of {len(stable)} verdicts unchanged over "
            f"{args.seeds} values"
        )
        if not stable.all():
            changed = verdicts[~stable].apply(lambda r: r.value_counts().to_dict(), axis=1)
            p = table.xs("p", axis=1, level=1)[~stable]
            for key, counts in changed.items():
                low, high = p.loc[key].min(), p.loc[key].max()
                print(f"  {'/'.join(key)}: {counts}, p {low:.4f}-{high:.4f}")
    print(f"({elapsed:.0f} s for {2 * args.seeds} reruns of every verdict)")


if __name__ == "__main__":
    main()
