"""A model of the smoke study retrained through `--executor slurm` on a one-node cluster, with
every job downstream of it, gives the local results (conftest's smoke_study).

The cluster comes from Debian packages that .ci/run installs; if its daemons cannot start,
the test fails with their logs rather than skipping.
"""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, SMOKE, copy_outputs
from slurm_cluster import SNAKEMAKE_OPTIONS, ClusterError, cluster_jobs, local_cluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        with local_cluster(tmp_path_factory.mktemp("slurm")) as root:
            yield root
    except ClusterError as err:
        pytest.fail(f"the local SLURM cluster did not start:\n{err}")


def run_smoke(workdir: Path, *options: str) -> None:
    command = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(ROOT / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(SMOKE),
        *options,
    ]
    out = subprocess.run(command, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-10000:]


def test_a_model_rerun_on_slurm_matches_the_local_run(smoke_study, cluster, tmp_path):
    # The costly rules' jobs of one model go through the queue: those of the others would
    # only repeat them. Up to the tables compared below: the figures would add nothing.
    workdir = copy_outputs(smoke_study, tmp_path / "slurm")
    tables = ["results/mia/metrics.csv", "results/di/calibration.csv"]
    run_smoke(workdir, *SNAKEMAKE_OPTIONS, "--forcerun", "results/models/ar_tiny/config.json",
              "--", *tables)  # fmt: skip
    # The plugin names each job's rule in its comment: costly rules went through the queue
    # and succeeded there, light ones (localrules) did not.
    jobs = cluster_jobs()
    rules = {job["Comment"].split("_wildcards_")[0] for job in jobs}
    assert {"rule_train", "rule_features", "rule_di_model", "rule_mia"} <= rules
    assert "rule_merge_features" not in rules and "rule_di_collect" not in rules
    assert {job["JobState"] for job in jobs} == {"COMPLETED"}
    for model in ("diffusion_ref", "diffusion_tiny", "ar_tiny", "ar_ref"):
        path = f"results/features/{model}.parquet"
        pd.testing.assert_frame_equal(
            pd.read_parquet(workdir / path), pd.read_parquet(smoke_study / path)
        )
    for table in [
        "results/mia/metrics.csv",
        "results/di/verdicts.csv",
        "results/di/pvalue_vs_n.csv",
        "results/di/calibration.csv",
    ]:
        pd.testing.assert_frame_equal(
            pd.read_csv(workdir / table), pd.read_csv(smoke_study / table)
        )
