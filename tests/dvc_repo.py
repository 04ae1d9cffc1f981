"""A git + DVC copy of the project whose params.yaml is the smoke study, reproduced once per
test session with `dvc repro` (what `make study` runs) and pushed to a local-folder remote.
Shared by test_dvc.py and test_report.py."""

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests/config/smoke.yaml"
# What a clone of the project holds that the study needs; results and data are not copied.
PROJECT_FILES = [
    "Snakefile", "dvc.yaml", ".dvcignore", ".gitignore", ".dvc/config", ".dvc/.gitignore",
    ".dvc/plots", "workflow", "profiles", "envs", "src/audio_di",
    "src/snakemake_logger_plugin_audio_di",
]  # fmt: skip


def environment(repo: Path) -> dict[str, str]:
    """The venv's snakemake and dvc, and the repository's own copy of the library, so that
    the code that runs is the code that dvc.yaml hashes."""
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(repo / "src"),
        "DVC_NO_ANALYTICS": "1",
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.org",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.org",
    }


def run(repo: Path, *command: str) -> str:
    out = subprocess.run(
        command, cwd=repo, env=environment(repo), capture_output=True, text=True, timeout=1200
    )
    assert out.returncode == 0, f"{command}\n{out.stdout[-4000:]}\n{out.stderr[-6000:]}"
    return out.stdout + out.stderr


def commit(repo: Path, message: str) -> None:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", message)


def clone(origin: Path, path: Path) -> Path:
    run(origin.parent, "git", "clone", "-q", str(origin), str(path))
    return path


def jobs_run(log: str) -> Counter:
    """Rule -> jobs run, summed over every Snakemake run in a log, from the console's
    `N jobs to run: rule n, ...` lines. The --touch passes are quiet and print none: they
    only mark existing files up to date."""
    jobs = Counter()
    for line in re.findall(r"^\d+ jobs to run: (.*)$", log, re.M):
        jobs.update({rule: int(n) for rule, n in (job.split() for job in line.split(", "))})
    return jobs


def study_repo(base: Path) -> Path:
    """`base/one`: the project with the smoke study as params.yaml, reproduced, committed and
    pushed to `base/remote`. Built on the first call of a session, reused after that."""
    repo, done = base / "one", base / "one.done"
    if done.exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    for name in PROJECT_FILES:
        source, target = ROOT / name, repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    shutil.copy2(SMOKE, repo / "params.yaml")
    run(repo, "git", "init", "-q")
    commit(repo, "project")
    run(repo, "dvc", "remote", "add", "-d", "store", str(base / "remote"))
    commit(repo, "remote")
    (base / "one.repro.log").write_text(run(repo, "dvc", "repro"))
    commit(repo, "study")
    run(repo, "dvc", "push")
    done.touch()
    return repo
