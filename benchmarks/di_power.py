"""Why dataset inference does or does not detect an artist: per model and artist, the best
per-clip feature's clip AUC, between-work share of variance (ICC), work-level effect, and the
works per side a test at p < 0.01 would need (80% power).

    python benchmarks/di_power.py [--results results]

Reads a finished study: results/mia/metrics.csv, results/features/*.parquet, results/splits/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from audio_di.di import work_power
from audio_di.io import read_table
from audio_di.splits import evaluation_sets
from audio_di.tables import FEATURES, MIA_METRICS, SPLITS


def power_table(results: Path) -> pd.DataFrame:
    paths = sorted((results / "splits").glob("*.csv"))
    splits = pd.concat(read_table(p, SPLITS) for p in paths)
    clips = evaluation_sets(splits)
    metrics = read_table(results / "mia/metrics.csv", MIA_METRICS)
    rows = []
    for model, group in metrics.groupby("model", sort=True):
        best = group.loc[group["auc"].idxmax()]
        features = read_table(results / f"features/{model}.parquet", FEATURES)
        table = clips.merge(features[["clip_id", best["feature"]]], on="clip_id")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    table = power_table(parser.parse_args().results)
    print(table.to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
