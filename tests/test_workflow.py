"""The smoke study end to end (conftest's smoke_study): contracts, nothing to redo, DI-only
reruns, and a run killed in training and interrupted in feature extraction resuming to the
same models and features."""

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import (
    SMOKE,
    copy_outputs,
    jobs_run,
    planned_jobs,
    snakemake,
    snakemake_command,
)
from di_models import evaluated_models, model_inputs

from audio_di import tables
from audio_di.di.engine import DISettings
from audio_di.io import read_table
from audio_di.steps.analysis import model_dataset_inference

pytestmark = pytest.mark.slow


# The tables a music21 study writes (folder corpora and the audit write the others).
STUDY_TABLES = [
    tables.CORPUS_MANIFEST, tables.FAILURES, tables.SPLITS, tables.TRAIN_CLIPS,
    tables.TRAINING_LOSS, tables.FEATURES, tables.AUDIO_STATISTICS, tables.MIA_METRICS,
    tables.ROC, tables.ARTIST_AUC, tables.VERDICTS, tables.PVALUE_VS_N, tables.NULL_PVALUES,
    tables.CALIBRATION, tables.CONTAMINATION, tables.HEADLINE,
]  # fmt: skip


def header(path: Path) -> list[str]:
    if path.suffix == ".parquet":
        return pq.read_schema(path).names
    return list(pd.read_csv(path, nrows=0).columns)


@pytest.mark.parametrize("table", STUDY_TABLES, ids=lambda t: t.name)
def test_every_table_follows_its_contract(smoke_study, table):
    found = [
        p for pattern in table.paths for p in smoke_study.glob(re.sub(r"<[^>]+>", "*", pattern))
    ]
    assert found, table.paths
    for path in found:
        table.check_columns(header(path), path)


def test_outputs_hold_what_the_study_asked_for(smoke_study):
    manifest = pd.read_csv(smoke_study / "data/corpus/smoke/manifest.csv")
    assert all((smoke_study / "data/corpus/smoke" / p).exists() for p in manifest["path"])
    for model in ("diffusion_tiny", "ar_tiny"):
        features = pd.read_parquet(smoke_study / f"results/features/{model}.parquet")
        assert all("__" in c for c in features.columns[1:])
        assert features.drop(columns="clip_id").notna().all().all()
        assert (smoke_study / f"results/models/{model}/model.safetensors").exists()
    config = yaml.safe_load(SMOKE.read_text())["features"]["attacks"]
    for model, family in [("diffusion_tiny", "diffusion"), ("ar_tiny", "autoregressive")]:
        columns = pd.read_parquet(smoke_study / f"results/features/{model}.parquet").columns[1:]
        assert {c.split("__")[0] for c in columns} == set(config[family])
    # The reference model runs only the attacks its spec names.
    reference = pd.read_parquet(smoke_study / "results/features/ar_ref.parquet")
    assert {c.split("__")[0] for c in reference.columns[1:]} == {"nll", "zlib"}
    # diffusion_tiny is fine-tuned from diffusion_ref on 2 of each member's train works, and
    # is evaluated on those: its own splits drop the other train works.
    tuned = json.loads((smoke_study / "results/models/diffusion_tiny/config.json").read_text())
    assert tuned["fine_tuned_from"] == "results/models/diffusion_ref"
    own = pd.read_csv(smoke_study / "results/splits/models/diffusion_tiny.csv")
    offered = own[(own["artist_status"] == "member") & (own["role"] == "train") & ~own["filler"]]
    assert offered.groupby("artist")["work_id"].nunique().tolist() == [2, 2]
    trained = pd.read_csv(smoke_study / "results/models/diffusion_tiny/train_clips.csv")
    assert set(trained["clip_id"]) == set(offered["clip_id"])
    verdicts = pd.read_csv(smoke_study / "results/di/verdicts.csv")
    assert set(verdicts["verdict"]) <= {"detected", "not detected", "inconclusive"}
    # Analysed models (not the shadows) x evaluated artists (no filler, no shadow artist) x
    # methods.
    assert len(verdicts) == 4 * 3 * 3
    assert set(verdicts["model"]) == {"diffusion_tiny", "diffusion_ref", "ar_tiny", "ar_ref"}
    assert "essen_erk" not in set(verdicts["artist"])
    # Each shadow trained on the shadow artist's train works (and filler), and weighs the
    # features of its family.
    for shadow in ("diffusion_shadow", "ar_shadow"):
        trained = pd.read_csv(smoke_study / f"results/models/{shadow}/train_clips.csv")
        assert set(trained["artist"]) - {"essen_han"} == {"essen_erk"}
        weights = pd.read_csv(smoke_study / f"results/di/weights/{shadow}.csv")
        assert (weights["weight"] >= 0).all() and (weights["works_heldout"] == 4).all()
    tiny = verdicts[verdicts["model"] == "diffusion_tiny"]
    assert set(tiny.loc[tiny["artist_status"] == "member", "works_suspect"]) == {2}
    # 2 trained works a side cannot resolve a family of 3 at alpha 0.05: inconclusive, and
    # no test run for them; every other collection has its p-value.
    untested = verdicts["p_value"].isna()
    assert set(verdicts.loc[untested, "verdict"]) == {"inconclusive"}
    assert verdicts.loc[untested, "reason"].str.contains("distinct labellings").all()
    assert verdicts.loc[~untested, "p_value"].between(0, 1).all()
    assert (verdicts.loc[untested, "model"] == "diffusion_tiny").all()
    calibration = pd.read_csv(smoke_study / "results/di/calibration.csv")
    assert (calibration["null_trials"] >= 30).all() and len(calibration) == 4 * 3
    collection = pd.read_csv(smoke_study / "results/di/collection_auc.csv")
    assert collection["auc"].between(0, 1).all() and set(collection["n"]) <= {2, 4}
    for figure in ("roc", "auc_heatmap", "pvalue_vs_n", "null_qq", "contamination", "headline"):
        assert (smoke_study / f"results/figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"
    headline = (smoke_study / "results/metrics.json").read_text()
    assert "diffusion_tiny" in headline and "ar_tiny" in headline


def test_the_benchmarks_rerun_a_models_di_on_what_its_job_read(smoke_study):
    """benchmarks/di_models.py and di_stability.py rebuild each model's DI inputs from a
    finished study: for the overfit model with a shadow (its own splits, the shadow's
    weights) they give its job's verdicts."""
    params = yaml.safe_load((smoke_study / "params.yaml").read_text())
    results = smoke_study / "results"
    assert evaluated_models(params, results) == [
        "ar_ref", "ar_tiny", "diffusion_ref", "diffusion_tiny"
    ]  # fmt: skip
    inputs = model_inputs(params, results, "diffusion_tiny")
    verdicts = model_dataset_inference(
        "diffusion_tiny",
        inputs["features"],
        inputs["splits"],
        inputs["stats"],
        DISettings.from_config(params["di"], params["seed"]),
        weights=inputs["weights"],
    )["verdicts"]
    job = read_table(results / "di/models/diffusion_tiny/verdicts.csv", tables.VERDICTS)
    pd.testing.assert_frame_equal(verdicts.reset_index(drop=True), job)


def test_second_run_has_nothing_to_do(smoke_study):
    assert planned_jobs(snakemake(smoke_study, "--dry-run")) == {}


@pytest.fixture
def params_yaml(smoke_study):
    """The smoke study as the workdir's params.yaml, which overrides merge over (not a
    standalone study, as the repository's is)."""
    path = smoke_study / "params.yaml"
    original = path.read_text()
    path.write_text(SMOKE.read_text().replace("standalone: true", ""))
    yield path
    path.write_text(original)


# The jobs a DI setting reruns: never training or features.
DI_JOBS = {
    "di_model", "di_collect", "figure_pvalue_vs_n", "figure_null_qq", "figure_contamination",
    "figure_headline", "headline_metrics", "summary", "all",
}  # fmt: skip


def test_a_partial_configfile_overrides_params_yaml(smoke_study, params_yaml, tmp_path):
    override = tmp_path / "override.yaml"
    override.write_text("di: {resamples: 30}\n")
    assert set(planned_jobs(snakemake(smoke_study, "--dry-run", config=override))) == DI_JOBS
    assert planned_jobs(snakemake(smoke_study, "--dry-run", config=None)) == {}


def test_a_config_value_overrides_params_yaml(smoke_study, params_yaml):
    jobs = planned_jobs(snakemake(smoke_study, "--dry-run", "--config", "seed=1", config=None))
    # Every seeded job: the corpus, the splits, training, features, MIA and DI.
    assert {"render_artist", "split", "train", "features", "mia", "di_model"} <= set(jobs)


def test_an_override_is_validated_after_merging(smoke_study, params_yaml):
    out = subprocess.run(
        snakemake_command(smoke_study, None, "--dry-run", "--config", "seed=-1"),
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode != 0
    assert "-1 is less than the minimum of 0" in out.stdout + out.stderr


def job_pids(workdir: Path, script: str) -> list[int]:
    """PIDs of running job processes of `script` for this working directory."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if str(workdir) in cmdline and f".{script}" in cmdline:
            pids.append(int(proc.name))
    return pids


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(workdir: Path, target: str) -> subprocess.Popen:
    # Its own process group, so that a Ctrl-C reaches snakemake and its jobs alike. SIGINT is
    # set back to its default: a shell that starts the tests in the background (`cmd &`)
    # ignores it, and children inherit that.
    return subprocess.Popen(
        snakemake_command(workdir, SMOKE, target),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


def wait_for(condition, timeout: float = 600) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.1)


def interrupt(proc: subprocess.Popen) -> int:
    """Ctrl-C to the run's process group, once a second until it stops: Snakemake drops a
    SIGINT that lands while it writes a log line (snakemake/logging.py), and then runs on to
    the end of the study."""
    deadline = time.time() + 600
    while proc.poll() is None:
        assert time.time() < deadline, "snakemake ignored SIGINT for 10 minutes"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
    return proc.returncode


def test_interrupted_runs_resume_to_identical_results(smoke_study, tmp_path):
    """Up to the features: the interruptions land in training and feature extraction, and
    what follows the features is a function of them (test_dvc regenerates it). The run starts
    from the smoke study's outputs less one model, fine-tuned from another and scored against
    it: what a run resumes is that model's jobs, whichever kind."""
    workdir = copy_outputs(smoke_study, tmp_path / "interrupted")
    model = "diffusion_tiny"
    shutil.rmtree(workdir / f"results/models/{model}")
    target = f"results/features/{model}.parquet"
    features = workdir / target
    features.unlink()
    # The training job is SIGKILLed: snakemake fails that job and removes its outputs.
    proc = start(workdir, target)
    wait_for(lambda: job_pids(workdir, "train.py"))
    time.sleep(0.5)
    for pid in job_pids(workdir, "train.py"):
        os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=600) != 0
    # Then Ctrl-C during feature extraction.
    proc = start(workdir, target)
    wait_for(lambda: job_pids(workdir, "features.py"))
    time.sleep(0.5)
    assert interrupt(proc) != 0
    assert not features.exists()

    # The training finished before the Ctrl-C: the resumed run only scores and merges.
    rerun = jobs_run(snakemake(workdir, target))
    assert set(rerun) == {"features", "merge_features"}, rerun
    assert list(workdir.rglob("*.tmp")) == []
    for table in (f"results/models/{model}/loss.csv", f"results/features/{model}.parquet"):
        read = pd.read_parquet if table.endswith(".parquet") else pd.read_csv
        pd.testing.assert_frame_equal(read(workdir / table), read(smoke_study / table))
    shutil.rmtree(workdir)


def test_a_model_and_its_features_do_not_depend_on_the_threads_its_jobs_get(smoke_study, tmp_path):
    """Snakemake scales a rule's threads to the cores it is given; the jobs run torch on the
    study's fixed count instead (config.TORCH_THREADS), so a model trained and scored with
    two threads a job is the smoke study's, byte for byte."""
    workdir = copy_outputs(smoke_study, tmp_path / "threads")
    model = "ar_tiny"
    targets = [f"results/models/{model}/model.safetensors", f"results/features/{model}.parquet"]
    shutil.rmtree(workdir / f"results/models/{model}")
    (workdir / targets[1]).unlink()
    # Targets first: --set-threads takes every word after it.
    rerun = jobs_run(snakemake(workdir, *targets, "--set-threads", "train=2", "features=2"))
    assert set(rerun) == {"train", "features", "merge_features"}, rerun
    for target in targets:
        assert (workdir / target).read_bytes() == (smoke_study / target).read_bytes(), target
    shutil.rmtree(workdir)
