"""The set-up a newcomer relies on: pins in step and a clean workflow lint."""

import subprocess
import sys
import tomllib

import yaml
from conftest import ROOT


def test_conda_env_mirrors_pyproject_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "envs/audio-di.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert sorted(pip) == sorted(deps)
    assert "torch==2.11.0" in deps and "torchaudio==2.11.0" in deps


def test_snakemake_lint_is_clean():
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Congratulations" in out.stdout + out.stderr, out.stdout + out.stderr
