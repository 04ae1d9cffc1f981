"""The GitHub workflows: valid YAML, the triggers the docs name, and only commands that the
Makefile, the docs or a script of the repository define."""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

WORKFLOWS = ROOT / ".github/workflows"
DOCS = "".join(page.read_text() for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
MAKE_TARGETS = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M))


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def commands(workflow: dict) -> list[str]:
    """Each run line as the command it calls, without sudo, env settings, the venv prefix or
    options and arguments: `.venv/bin/dvc metrics diff --md "$BASE"` -> `dvc metrics diff`."""
    found = []
    for step in steps(workflow):
        for line in step.get("run", "").splitlines():
            words = shlex.split(line.split(">>")[0])
            while words[0] in ("sudo", "env") or "=" in words[0]:
                words.pop(0)
            words[0] = words[0].removeprefix(".venv/bin/")
            found.append(" ".join(re.split(r" [-$]", " ".join(words), maxsplit=1)[0].split()))
    return found


@pytest.mark.parametrize("name", ["test.yml", "reproduce.yml"])
def test_workflow_commands_exist_in_the_makefile_the_docs_or_the_repository(name):
    workflow = load(name)
    assert workflow["jobs"] and commands(workflow)
    for command in commands(workflow):
        if command.startswith("make "):
            assert command.split()[1] in MAKE_TARGETS, command
        elif (ROOT / command).is_file():
            assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
        else:
            assert f"`{command}" in DOCS, command


def test_test_workflow_runs_the_readme_test_command():
    workflow = load("test.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    # .ci/run ends in the README's test command, `make test` (tests/test_docs.py checks that
    # the README gives it).
    assert commands(workflow) == [".ci/run"]
    assert (ROOT / ".ci/run").read_text().rstrip().splitlines()[-1] == "make test"


def test_reproduce_workflow_triggers_pulls_reproduces_and_reports():
    workflow = load("reproduce.yml")
    paths = ["data/**.dvc", "params.yaml", "dvc.lock", "workflow/**"]
    assert workflow["on"]["push"]["paths"] == paths
    assert workflow["on"]["pull_request"]["paths"] == paths
    runs = commands(workflow)
    assert runs.index(".ci/pull") < runs.index("make study") < runs.index("dvc metrics diff")
    summary = next(s["run"] for s in steps(workflow) if "metrics diff" in s.get("run", ""))
    assert summary.endswith('>> "$GITHUB_STEP_SUMMARY"')
    uploads = [s["with"]["path"] for s in steps(workflow) if "upload-artifact" in s.get("uses", "")]
    assert uploads == ["results/", "results/report.html"]
    # dvc metrics diff needs the base commit, which a shallow checkout lacks.
    checkout = next(s for s in steps(workflow) if "checkout" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0


def pull(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(repo / ".ci/pull")], cwd=repo, capture_output=True, text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )  # fmt: skip


def test_pull_without_a_remote_says_so_and_with_one_pulls(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy2(ROOT / ".ci/pull", repo / ".ci/pull")
    (repo / ".venv").symlink_to(Path(sys.executable).parents[1])
    dvc = str(repo / ".venv/bin/dvc")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([dvc, "init", "-q"], cwd=repo, check=True)
    out = pull(repo)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("::notice title=No DVC remote::")
    assert "dvc remote add" in out.stdout
    subprocess.run([dvc, "remote", "add", "-d", "store", str(tmp_path / "remote")], cwd=repo)
    out = pull(repo)
    assert out.returncode == 0 and "::notice" not in out.stdout, out.stdout + out.stderr
    assert "Everything is up to date." in out.stdout + out.stderr
