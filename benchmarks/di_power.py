"""Why dataset inference does or does not detect an artist: per model and artist, the best
per-clip feature's clip AUC, between-work share of variance (ICC), work-level effect, and the
works per side a test at p < 0.01 would need (80% power). Then per model, what detecting
every member artist would take: the most works a side any member needs, and the job-seconds
that would cost, scaled linearly from this study's own benchmark files (rendering the
members' works, training on the suspect half, scoring both halves).

    python benchmarks/di_power.py [--results results] [--params params.yaml]

Reads a finished study: results/mia/metrics.csv, results/features/*.parquet, results/splits/,
results/benchmarks/; params.yaml for the regimes' filler clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from audio_di.di.verdict import works_needed
from audio_di.io import read_table
from audio_di.mia import auc
from audio_di.splits import evaluation_sets
from audio_di.tables import FEATURES, MIA_METRICS, SPLITS


def work_power(
    suspect: np.ndarray,
    validation: np.ndarray,
    works_s: np.ndarray,
    works_v: np.ndarray,
    alpha: float = 0.01,
    power: float = 0.8,
) -> dict[str, float]:
    """Why a per-clip signal does or does not add up to a detection, for one feature oriented
    so that suspect clips score higher.

    clip_auc: the per-clip AUC of suspect over validation. icc: the share of clip variance
    that lies between works (one-way ANOVA estimate): clips of a work are nearly copies of one
    observation when it is high. work_effect: the standardised difference of work means, what
    a test on works sees. works_needed: works per side for a one-sided test at `alpha` to
    reach `power`.
    """
    works_s, works_v = np.asarray(works_s), np.asarray(works_v)
    means_s = pd.Series(suspect).groupby(works_s).mean()
    means_v = pd.Series(validation).groupby(works_v).mean()
    spread = np.sqrt((means_s.var() + means_v.var()) / 2)
    effect = (means_s.mean() - means_v.mean()) / spread if spread > 0 else 0.0
    values = np.r_[suspect, validation]
    works = np.r_[[f"s{w}" for w in works_s], [f"v{w}" for w in works_v]]
    sizes = pd.Series(values).groupby(works).size()
    within = pd.Series(values).groupby(works).var(ddof=1).fillna(0).mul(sizes - 1).sum()
    within /= max(len(values) - len(sizes), 1)
    between = pd.Series(values).groupby(works).mean().var(ddof=1)
    per_work = len(values) / len(sizes)
    between_component = max(between - within / per_work, 0.0)
    total = between_component + within
    return {
        "clip_auc": auc(suspect, validation),
        "icc": between_component / total if total > 0 else 0.0,
        "work_effect": float(effect),
        "works_per_side": float(min(len(means_s), len(means_v))),
        "works_needed": works_needed(effect, alpha, power),
    }


def evaluated_clips(results: Path) -> pd.DataFrame:
    paths = sorted((results / "splits").glob("*.csv"))
    return evaluation_sets(pd.concat(read_table(p, SPLITS) for p in paths))


def power_table(results: Path, clips: pd.DataFrame) -> pd.DataFrame:
    metrics = read_table(results / "mia/metrics.csv", MIA_METRICS)
    rows = []
    for model, group in metrics.groupby("model", sort=True):
        best = group.loc[group["auc"].idxmax()]
        features = read_table(results / f"features/{model}.parquet", FEATURES)
        # A model trained on some of the member works is evaluated on those (model splits).
        own = results / f"splits/models/{model}.csv"
        evaluated = evaluation_sets(read_table(own, SPLITS)) if own.exists() else clips
        table = evaluated.merge(features[["clip_id", best["feature"]]], on="clip_id")
        for artist, g in table.groupby("artist", sort=True):
            score = best["member_sign"] * g[best["feature"]].to_numpy(float)
            s, v = g["suspect"].to_numpy(), ~g["suspect"].to_numpy()
            found = work_power(score[s], score[v], g["work_id"][s], g["work_id"][v])
            rows.append(
                {
                    "model": model,
                    "feature": best["feature"],
                    "artist": artist,
                    "artist_status": g["artist_status"].iloc[0],
                    **found,
                }
            )
    return pd.DataFrame(rows)


def _seconds(path: Path) -> float:
    return float(pd.read_csv(path, sep="\t")["s"].mean())


def cost_table(
    results: Path, clips: pd.DataFrame, params: dict, power: pd.DataFrame
) -> pd.DataFrame:
    """Per model: the member artists' largest works-needed, and the job-seconds of one more
    member work a side (render two works, train on one, score both), times the works missing.

    Linear scaling is an estimate: training time grows with the model's training clips
    (member train clips plus filler), feature time with the evaluated clips."""
    members = clips[clips["artist_status"] == "member"]
    n_members = members["artist"].nunique()
    clips_per_work = len(members) / members["work_id"].nunique()
    bench = results / "benchmarks"
    render = sum(
        _seconds(path)
        for artist in members["artist"].unique()
        for path in bench.glob(f"render/*/{artist}.tsv")
    )
    render_per_work = render / members["work_id"].nunique()
    rows = []
    for model, group in power[power["artist_status"] == "member"].groupby("model", sort=True):
        spec = params["models"][model]
        regime = params["regimes"][spec["regime"]]
        trained = members["suspect"].sum() if regime.get("members", True) else 0
        train_per_clip = _seconds(bench / f"train/{model}.tsv") / (trained + regime["filler_clips"])
        features = sum(_seconds(p) for p in (bench / f"features/{model}").glob("*.tsv"))
        per_work = (
            render_per_work * 2 * n_members
            + train_per_clip * clips_per_work * n_members * bool(trained)
            + features / len(clips) * clips_per_work * 2 * n_members
        )
        needed = group["works_needed"].max()
        have = group["works_per_side"].min()
        rows.append(
            {
                "model": model,
                "member_work_effects": " to ".join(
                    f"{group['work_effect'].agg(f):.2f}" for f in ("min", "max")
                ),
                "works_per_side": int(have),
                "works_needed_median_member": group["works_needed"].median(),
                "works_needed_every_member": needed,
                "job_seconds_per_work_a_side": per_work,
                "extra_job_seconds": per_work * max(needed - have, 0),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    clips = evaluated_clips(args.results)
    table = power_table(args.results, clips)
    print(table.to_markdown(index=False, floatfmt=".3g"))
    print()
    costs = cost_table(args.results, clips, yaml.safe_load(args.params.read_text()), table)
    print(costs.to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
