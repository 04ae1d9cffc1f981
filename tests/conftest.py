"""What several test modules share: tiny embedded-model configs and clips, the tiny trained
models and random published checkpoints, user audio with bad files, running Snakemake on a
study config, and the smoke study reproduced once by DVC in a git copy of the project.

Test modules import the helpers from here (`from conftest import clips`), never from one
another. The expensive ones are session fixtures, built on first use.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from filelock import FileLock
from snakemake.utils import update_config

from audio_di.models import PRETRAINED, train_model
from audio_di.testing import save_random_checkpoint

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "tests/config/smoke.yaml"
SHADOW = ROOT / "benchmarks/headline/shadow.yaml"

# Snakemake's Slurm executor plugin asks the Slurm controller for its MinJobAge when it is
# imported, at every Snakemake start. Where Slurm's client is installed and no controller
# answers (CI installs it for test_slurm), scontrol waits 10 s for it. Tests run without a
# cluster (slurm_cluster.local_cluster sets its own): an empty config, which scontrol refuses
# at once.
os.environ["SLURM_CONF"] = os.devnull


def pytest_collection_modifyitems(items):
    """pytest-xdist (pyproject.toml's `-n`, `--dist loadfile`) deals whole modules to its
    workers in this order, taking more as few tests are left. The modules that use the smoke
    study: the one with the fewest tests first, so that one worker builds the study and then
    takes more modules soon; the others last, when the study is built (`smoke_study`)."""
    smoke = Counter(item.path for item in items if "smoke_study" in item.fixturenames)
    if smoke:
        first = min(smoke, key=smoke.get)
        items.sort(key=lambda item: 0 if item.path == first else 1 + (item.path in smoke))


# -- tiny embedded models -----------------------------------------------------------------------

SAMPLE_RATE = 8000
SAMPLES = 8000
FRONTEND = {"n_fft": 256, "hop_length": 500, "n_mels": 16, "frames": 16}
COMMON = {"frontend": FRONTEND, "sample_rate": SAMPLE_RATE, "batch_size": 8, "cond_dropout": 0.1}
TINY = {
    "embedded_diffusion": {
        **COMMON,
        "block_out_channels": [8, 16],
        "layers_per_block": 1,
        "prediction_type": "epsilon",
        "learning_rate": 1e-3,
    },
    "embedded_ar": {
        **COMMON,
        "codebook_size": 16,
        "n_layer": 1,
        "n_head": 2,
        "n_embd": 16,
        "learning_rate": 1e-3,
    },
}
KINDS = sorted(TINY)


def clips(n: int, seed: int = 0, artists: int = 3) -> tuple[np.ndarray, pd.DataFrame]:
    """Sine mixtures plus a little noise; the artist sets the pitch range."""
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLES) / SAMPLE_RATE
    labels = np.arange(n) % artists
    freqs = 200 * (1 + labels[:, None]) * rng.uniform(1, 2, (n, 3))
    audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
    audio += 0.01 * rng.standard_normal((n, SAMPLES))
    meta = pd.DataFrame(
        {
            "clip_id": [f"s{seed}_{i}" for i in range(n)],
            "artist": [f"artist{a}" for a in labels],
            "caption": "",
        }
    )
    return audio.astype(np.float32), meta


def train_tiny(kind: str, out_dir, seed: int = 0, epochs: int = 2, n: int = 24) -> pd.DataFrame:
    audio, meta = clips(n)
    return train_model(kind, audio, meta, TINY[kind], epochs, seed, out_dir)


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory) -> Callable[..., Path]:
    """(kind, seed=0) -> folder of a tiny model trained with train_tiny's defaults, trained on
    the first call. Tests that change a model copy its folder first."""
    root = tmp_path_factory.mktemp("trained")

    @functools.cache
    def folder(kind: str, seed: int = 0) -> Path:
        train_tiny(kind, root / f"{kind}_{seed}", seed=seed)
        return root / f"{kind}_{seed}"

    return folder


# -- tiny random published checkpoints ----------------------------------------------------------


@pytest.fixture(scope="session")
def pretrained_folders(tmp_path_factory) -> dict[str, Path]:
    """kind -> folder of a tiny random checkpoint, for every kind in PRETRAINED."""
    root = tmp_path_factory.mktemp("checkpoints")
    for kind in PRETRAINED:
        save_random_checkpoint(kind, root / kind)
    return {kind: root / kind for kind in PRETRAINED}


# -- a user's audio ---------------------------------------------------------------------------


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    """(samples, channels) sine, the layout soundfile writes."""
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    return np.stack([wave * (1 - 0.2 * c) for c in range(channels)], axis=1)


def write_audio(path: Path, audio: np.ndarray, rate: int, **kwargs) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), audio, rate, **kwargs)
    return path.name


def bad_files(folder: Path) -> dict[str, str]:
    """One file of each kind that must be rejected: file name -> expected reason."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garbage.wav").write_bytes(b"RIFF not really a wave file")
    # An AAC file's header, a format soundfile does not read, and a file that is not audio.
    (folder / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42" * 4)
    (folder / "notes.txt").write_text("lyrics, not audio\n")
    (folder / "zero.wav").write_bytes(b"")
    write_audio(folder / "empty.wav", np.zeros((0, 1)), 16000)
    write_audio(folder / "short.flac", tone(0.2, 16000), 16000)
    write_audio(folder / "silence.wav", np.zeros((32000, 1)), 16000)
    nan = tone(2.0, 16000)
    nan[100] = np.nan
    write_audio(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    return {
        "garbage.wav": "unreadable",
        "song.m4a": "unsupported format (.m4a)",
        "notes.txt": "unsupported format (.txt)",
        "zero.wav": "empty: 0 bytes",
        "empty.wav": "empty: no samples",
        "short.flac": "shorter than a clip",
        "silence.wav": "silent",
        "nan.wav": "NaN",
    }


# -- Snakemake on a study config ---------------------------------------------------------------


def params() -> dict:
    """The default study (params.yaml)."""
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def shadow_params() -> dict:
    """The default study with the shadow models and the weighted test of the development
    overlay (benchmarks/headline/shadow.yaml), merged as --configfile merges it."""
    config = params()
    update_config(config, yaml.safe_load(SHADOW.read_text()))
    return config


def dry_run(config: dict, tmp_path: Path) -> tuple[int, str]:
    """A dry run of the whole study `config` in tmp_path: exit status and log."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"standalone": True, **config}))
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(path), "--dry-run"],
        capture_output=True, text=True,
    )  # fmt: skip
    return out.returncode, out.stdout + out.stderr


def snakemake_command(workdir: Path, config: Path | None, *args: str) -> list[str]:
    """Snakemake on the project's Snakefile in workdir, with `config` (None: the workdir's
    params.yaml alone)."""
    configfile = ["--configfile", str(config)] if config else []
    return [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(workdir), *configfile, "--cores", "2", *args,
    ]  # fmt: skip


def snakemake(workdir: Path, *args: str, config: Path | None = SMOKE) -> str:
    """Run Snakemake on `config` in workdir; a failure shows the end of its log."""
    out = subprocess.run(
        snakemake_command(workdir, config, *args), capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    return out.stdout + out.stderr


def copy_outputs(study: Path, workdir: Path) -> Path:
    """The study's data/ and results/ in workdir with their modification times, where
    Snakemake finds every job up to date: a test reruns only the jobs it deletes or forces."""
    for name in ("data", "results"):
        shutil.copytree(study / name, workdir / name)
    return workdir


def planned_jobs(log: str) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    if "Nothing to be done" in log:
        return {}
    table = log.split("Job stats:", 1)[1].split("total", 1)[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}


# -- the smoke study, reproduced by DVC ---------------------------------------------------------

# What a clone of the project holds that the study needs; results and data are not copied.
PROJECT_FILES = [
    "Snakefile", "dvc.yaml", ".dvcignore", ".gitignore", ".dvc/config", ".dvc/.gitignore",
    ".dvc/plots", "workflow", "profiles", "envs", "src/audio_di",
    "src/snakemake_logger_plugin_audio_di", "benchmarks/headline",
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


@pytest.fixture(scope="session")
def smoke_study(tmp_path_factory) -> Path:
    """The project with the smoke study as params.yaml, reproduced with `dvc repro` (what
    `make study` runs), committed and pushed to a local-folder remote next to it. The one
    complete run of the smoke study: tests that read its results, rerun it dry or compare
    another run with it share this one, on every xdist worker. Tests that change the
    repository restore it, and change nothing that a test elsewhere reads meanwhile."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, which holds each worker's own
    base /= "smoke_study"
    # The first worker to get here builds it; the others wait, then use it.
    with FileLock(f"{base}.lock"):
        done = base / "done"
        if not done.exists():
            shutil.rmtree(base, ignore_errors=True)  # a build that failed on another worker
            build_smoke_study(base)
            done.touch()
    return base / "one"


def build_smoke_study(base: Path) -> None:
    repo = base / "one"
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
    (base / "repro.log").write_text(run(repo, "dvc", "repro"))
    commit(repo, "study")
    run(repo, "dvc", "push")
