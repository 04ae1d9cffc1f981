"""The GitHub workflows: valid YAML, the triggers the README names, and only commands that
the Makefile, the README or a script of the repository define."""

import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github/workflows"
README = (ROOT / "README.md").read_text()
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
def test_workflow_commands_exist_in_the_makefile_the_readme_or_the_repository(name):
    workflow = load(name)
    assert workflow["jobs"] and commands(workflow)
    for command in commands(workflow):
        if command.startswith("make "):
            assert command.split()[1] in MAKE_TARGETS, command
        elif (ROOT / command).is_file():
            assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"
        else:
            assert f"`{command}" in README, command


def test_test_workflow_runs_the_readme_test_command():
    readme_blocks = re.findall(r"```(?:sh|bash)?\n(.*?)```", README, re.S)
    assert readme_blocks[1].strip() == "make test"
    workflow = load("test.yml")
    assert {"push", "pull_request"} <= set(workflow["on"])
    # .ci/run ends in the README's test command (tests/test_packaging.py checks it calls it).
    assert commands(workflow) == [".ci/run"]
    assert (ROOT / ".ci/run").read_text().rstrip().splitlines()[-1] == "make test"


def test_reproduce_workflow_triggers_pulls_reproduces_and_reports():
    workflow = load("reproduce.yml")
    paths = ["data/**.dvc", "params.yaml", "dvc.lock", "workflow/**"]
    assert workflow["on"]["push"]["paths"] == paths
    assert workflow["on"]["pull_request"]["paths"] == paths
    runs = commands(workflow)
    assert runs.index("dvc pull") < runs.index("make study") < runs.index("dvc metrics diff")
    summary = next(s["run"] for s in steps(workflow) if "metrics diff" in s.get("run", ""))
    assert summary.endswith('>> "$GITHUB_STEP_SUMMARY"')
    uploads = [s["with"]["path"] for s in steps(workflow) if "upload-artifact" in s.get("uses", "")]
    assert uploads == ["results/", "results/report.html"]
    # dvc metrics diff needs the base commit, which a shallow checkout lacks.
    checkout = next(s for s in steps(workflow) if "checkout" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0
