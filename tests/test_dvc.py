"""DVC on the smoke study: a second clone pulls the models stage (the GPU part and each
model's DI) and regenerates the rest without a single feature or training job; stages are
dirtied only by what they depend on."""

import json
import re

import pandas as pd
import pytest
import yaml
from conftest import ROOT, clone, commit, jobs_run, planned_jobs, run

pytestmark = pytest.mark.slow

# Jobs of the corpus and models stages that a machine without a GPU must never run.
GPU_PART = {
    "render_artist", "corpus_manifest", "folder_corpus", "split", "train", "features",
    "merge_features",
}  # fmt: skip
FIGURES = ["roc", "auc_heatmap", "pvalue_vs_n", "null_qq", "contamination", "headline"]


@pytest.fixture(scope="module")
def two(smoke_study, tmp_path_factory):
    """Another machine following docs/running.md: pull the corpus and the models stage, then
    `dvc repro`."""
    repo = clone(smoke_study, tmp_path_factory.mktemp("second") / "two")
    run(repo, "dvc", "pull", "--with-deps", "models")
    status = json.loads(run(repo, "dvc", "status", "--json"))
    return repo, status, run(repo, "dvc", "repro")


def test_the_docs_give_the_commands_this_test_runs():
    text = (ROOT / "docs/running.md").read_text()
    for command in ["dvc pull --with-deps models", "dvc status", "make study"]:
        assert command in text


def test_second_clone_regenerates_the_figures_without_feature_jobs(two):
    repo, status, log = two
    # Before the run only the analysis stage is out of date: its outputs were not pulled.
    assert set(status) == {"analysis"}
    assert re.search(r"Stage 'models' didn't change, skipping", log)
    jobs = jobs_run(log)
    assert jobs and not GPU_PART & set(jobs), jobs
    assert {"mia", "figure_roc", "headline_metrics"} <= set(jobs)
    assert "di_model" not in jobs  # pulled with the models stage
    # Nothing of the GPU part ran: it would have written its log (the touch leaves it
    # empty) and its benchmark.
    for step in ("render", "train", "features"):
        assert not any(f.stat().st_size for f in (repo / "results/logs" / step).rglob("*.log"))
        assert not (repo / "results/benchmarks" / step).exists()
    for figure in FIGURES:
        assert (repo / f"results/figures/{figure}.png").read_bytes()[:4] == b"\x89PNG"
    assert (repo / "results/report.html").stat().st_size > 0
    # The same numbers as the first machine (metrics.json is committed), and dvc.lock only
    # records the new report, whose page carries its creation time.
    assert run(repo, "git", "status", "--porcelain") == " M dvc.lock\n"
    before = yaml.safe_load(run(repo, "git", "show", "HEAD:dvc.lock"))
    after = yaml.safe_load((repo / "dvc.lock").read_text())
    for lock in (before, after):
        outs = lock["stages"]["analysis"]["outs"]
        outs[:] = [out for out in outs if out["path"] != "results/report.html"]
    assert before == after
    assert run(repo, "dvc", "status").strip() == "Data and pipelines are up to date."


def test_di_change_reruns_the_di_and_no_gpu_job(two):
    """A DI setting dirties the models stage, which holds each model's DI, and the analysis;
    in the models stage Snakemake redoes only the DI jobs."""
    repo = two[0]
    commit(repo, "second machine")
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["di"]["alpha"] = 0.1
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert set(json.loads(run(repo, "dvc", "status", "--json"))) == {"models", "analysis"}
    jobs = jobs_run(run(repo, "dvc", "repro"))
    assert "di_model" in jobs and not GPU_PART & set(jobs), jobs
    assert "mia" not in jobs  # its inputs and params did not change
    commit(repo, "more resamples")
    # metrics.json and the curves compare across commits.
    diff = json.loads(run(repo, "dvc", "metrics", "diff", "HEAD~1", "HEAD", "--json"))
    assert diff["results/metrics.json"]
    plots = json.loads(run(repo, "dvc", "plots", "diff", "HEAD~1", "HEAD", "--json"))
    curve = plots["data"]["results/di/pvalue_vs_n.csv"][0]
    assert set(curve["revisions"]) == {"HEAD~1", "HEAD"}


def test_a_library_change_reruns_the_jobs_that_run_it_and_no_other(two):
    """DVC reruns the models and analysis stages when the DI library changes; Snakemake then
    redoes the jobs whose scripts import it (each rule's `code` param), not the MIA, the
    shadow weights or any job of the GPU part, whose code did not change."""
    repo = two[0]
    path = repo / "src/audio_di/di/verdict.py"
    original = path.read_text()
    try:
        path.write_text(original + "# a change to the verdict's code\n")
        assert set(json.loads(run(repo, "dvc", "status", "--json"))) == {"models", "analysis"}
        planned = planned_jobs(run(repo, "snakemake", "--cores", "1", "--dry-run"))
        assert {"di_model", "di_collect", "headline_metrics", "figure_roc"} <= set(planned)
        assert not {"mia", "shadow_weights"} & set(planned) and not GPU_PART & set(planned)
    finally:
        path.write_text(original)


# What each of dvc.yaml's plots draws one line of (and one per revision).
SERIES = {
    "results/di/pvalue_vs_n.csv": ["model", "artist", "method"],
    "results/di/contamination.csv": ["model", "artist", "method"],
    "results/mia/roc.csv": ["model", "feature"],
}


def test_dvc_plots_draw_one_line_per_series(smoke_study):
    plots = json.loads(run(smoke_study, "dvc", "plots", "show", "--json"))["data"]
    assert set(plots) == set(SERIES)
    for path, series in SERIES.items():
        spec = plots[path][0]["content"]
        encoding = spec["spec"]["encoding"]
        # A line mark draws one line per value of its facet and of every discrete channel.
        grouped = [spec["facet"]["field"]] + [
            encoding[channel]["field"]
            for channel in ("color", "strokeDash", "shape", "detail")
            if channel in encoding
        ]
        assert sorted(grouped) == sorted([*series, "rev"]), path
        drawn = pd.DataFrame(spec["data"]["values"])
        table = pd.read_csv(smoke_study / path)
        assert drawn.groupby(series).ngroups == table.groupby(series).ngroups > 1
        if path != "results/mia/roc.csv":  # an ROC curve may rise at one false-positive rate
            assert not drawn.duplicated([*series, "rev", encoding["x"]["field"]]).any(), path


@pytest.fixture(scope="module")
def three(smoke_study, tmp_path_factory):
    """A fresh clone that pulls everything."""
    repo = clone(smoke_study, tmp_path_factory.mktemp("third") / "three")
    run(repo, "dvc", "pull")
    return repo


def test_fresh_clone_after_the_study_is_up_to_date(three):
    log = run(three, "dvc", "repro")
    assert "Data and pipelines are up to date." in log
    assert "Running stage" not in log


@pytest.mark.parametrize(
    ("section", "key", "stages"),
    [("di", "alpha", {"models", "analysis"}), ("mia", "bootstrap", {"analysis"}),
     ("features", "batch_size", {"models"}), ("regimes", "overfit", {"models"}),
     ("corpora", "smoke", {"corpus"})],
)  # fmt: skip
def test_a_params_section_dirties_only_its_stages(three, section, key, stages):
    path = three / "params.yaml"
    original = path.read_text()
    params = yaml.safe_load(original)
    params[section][key] = "changed"
    try:
        path.write_text(yaml.safe_dump(params, sort_keys=False))
        assert set(json.loads(run(three, "dvc", "status", "--json"))) == stages
    finally:
        path.write_text(original)
