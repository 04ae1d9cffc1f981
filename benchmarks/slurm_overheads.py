"""What going through Slurm costs, measured on a one-node cluster on this machine.

Starts the cluster that tests/test_slurm.py uses (root, with the Debian packages .ci/run
installs), then prints
  1. submission latency: the `sbatch` call, and submission to start of a trivial job
     (each job waits for the previous one, so no job queues behind another);
  2. per-job start-up under the executor plugin: for each feature and training job of the
     smoke study, Slurm's elapsed time minus the rule's own benchmark time (Snakemake
     starting inside the job, the job step, writing outputs);
  3. model load time per feature shard, from the feature logs;
  4. the smoke study's wall time through Slurm.
benchmarks/scaling.md quotes these numbers.

Usage: python benchmarks/slurm_overheads.py [--trivial-jobs 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from slurm_cluster import SNAKEMAKE_OPTIONS, cluster_jobs, local_cluster  # noqa: E402


def submission_latency(workdir: Path, jobs: int) -> pd.DataFrame:
    rows = []
    for i in range(jobs):
        stamp = workdir / f"start-{i}.txt"
        submitted = time.time()
        out = subprocess.run(
            ["sbatch", "--parsable", "--output=/dev/null", "--wrap", f"date +%s.%N > {stamp}"],
            capture_output=True,
            text=True,
            check=True,
        )
        called = time.time()
        while not stamp.exists() or not stamp.read_text().strip():
            time.sleep(0.01)
        started = float(stamp.read_text())
        rows.append({"job": out.stdout.strip(), "sbatch_s": called - submitted})
        rows[-1]["submit_to_start_s"] = started - submitted
    return pd.DataFrame(rows)


def seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def job_startup(workdir: Path) -> pd.DataFrame:
    """Slurm elapsed minus the rule's benchmark time, for jobs with one benchmark file each."""
    rows = []
    for job in cluster_jobs():
        match = re.fullmatch(r"rule_(features|train)_wildcards_(.*)", job.get("Comment", ""))
        if not match:
            continue
        # The plugin joins the wildcard values with "_": {model} for train, {model}_{shard}.
        rule, wildcards = match.groups()
        name = "/".join(wildcards.rsplit("_", 1)) if rule == "features" else wildcards
        bench = pd.read_csv(workdir / f"results/benchmarks/{rule}/{name}.tsv", sep="\t")
        elapsed = seconds(job["EndTime"]) - seconds(job["StartTime"])
        rows.append(
            {
                "job": f"{rule}/{name}",
                "queued_s": seconds(job["StartTime"]) - seconds(job["SubmitTime"]),
                "slurm_elapsed_s": elapsed,
                "rule_s": bench["s"].iloc[-1],
                "startup_s": elapsed - bench["s"].iloc[-1],
            }
        )
    return pd.DataFrame(rows)


def model_load(workdir: Path) -> pd.Series:
    times = {}
    for log in sorted((workdir / "results/logs/features").rglob("*.log")):
        found = re.search(r"models loaded on \S+ in ([\d.]+) s", log.read_text())
        if found:
            times[str(log.relative_to(workdir / "results/logs/features"))] = float(found[1])
    return pd.Series(times, name="load_s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trivial-jobs", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="work here and keep it (default: a temp dir)")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="slurm-overheads-"))
    base.mkdir(parents=True, exist_ok=True)
    with local_cluster(base / "cluster"):
        latency = submission_latency(base, args.trivial_jobs)
        print("1. trivial jobs, one at a time:")
        print(latency.describe().loc[["mean", "min", "max"]].to_string(float_format="%.3f"))
        study = base / "study"
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--snakefile",
                str(ROOT / "Snakefile"),
                "--directory",
                str(study),
                "--configfile",
                str(ROOT / "tests/config/smoke.yaml"),
                *SNAKEMAKE_OPTIONS,
                "--quiet",
            ],
            check=True,
        )
        wall = time.monotonic() - started
        startup = job_startup(study)
    print("\n2. per-job start-up of the smoke study's jobs (Slurm times have 1 s resolution):")
    print(startup.to_string(index=False, float_format="%.1f"))
    print(f"   mean start-up {startup['startup_s'].mean():.1f} s over {len(startup)} jobs")
    print("\n3. model load per feature shard:")
    print(model_load(study).to_string(float_format="%.2f"))
    print(f"\n4. smoke study through Slurm: {wall:.0f} s wall")


if __name__ == "__main__":
    main()
