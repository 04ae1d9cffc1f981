"""Wall time and peak memory of each study stage, from Snakemake's benchmark files.

Usage: python benchmarks/study_time.py [results/benchmarks]
Stages are the folders under results/benchmarks (one per rule); jobs of a stage may have run
side by side, so the sum of a stage is job-seconds, not elapsed time.
"""

import argparse
from pathlib import Path

import pandas as pd


def stage_times(root: Path) -> pd.DataFrame:
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        bench = pd.read_csv(tsv, sep="\t")
        job = tsv.relative_to(root)
        rows.append(
            {
                # A rule without wildcards writes one file at the top: its stage is the rule.
                "stage": job.parts[0] if len(job.parts) > 1 else job.stem,
                "job": str(job.with_suffix("")),
                "seconds": bench["s"].mean(),
                "max_rss_mb": pd.to_numeric(bench["max_rss"], errors="coerce").max(),
            }
        )
    if not rows:
        raise SystemExit(f"no benchmark files under {root}; run the study first")
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", type=Path, default=Path("results/benchmarks"))
    jobs = stage_times(parser.parse_args().root)
    summary = jobs.groupby("stage").agg(
        jobs=("job", "size"),
        seconds=("seconds", "sum"),
        max_job_seconds=("seconds", "max"),
        max_rss_mb=("max_rss_mb", "max"),
    )
    print(jobs.to_string(index=False, float_format="%.1f"))
    print()
    print(summary.to_string(float_format="%.1f"))
    print(f"\ntotal job-seconds: {jobs['seconds'].sum():.1f}")


if __name__ == "__main__":
    main()
