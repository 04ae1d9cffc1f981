"""A one-node SLURM cluster on localhost, from Debian's slurmctld, slurmd and munge packages.

Used by tests/test_slurm.py and benchmarks/slurm_overheads.py; needs root (.ci/run installs
the packages). The executor plugin strips every SLURM_* variable from the jobs, so the config
must sit where Slurm looks by default, /etc/slurm/slurm.conf; an existing one is put back
afterwards.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from conftest import ROOT

SLURM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_KEY = Path("/etc/munge/munge.key")
MUNGE_RUN = Path("/run/munge")
PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol"]
# Snakemake options that run a study on this one-node cluster: the SLURM profile, with memory
# requests a node of this machine's size can grant (a feature job's 16 GB would not fit).
SNAKEMAKE_OPTIONS = [
    "--workflow-profile",
    str(ROOT / "profiles/slurm"),
    "--set-resources",
    "features:mem_mb=2000",
    "train:mem_mb=2000",
    "--default-resources",
    "mem_mb=1000",
    "runtime=30",
    # The test's jobs take 10-20 s: the checks come 5, 20 and 45 s after a submission (the
    # plugin waits 10 s longer each time nothing has finished), against the profile's 10, 30
    # and 60.
    "--slurm-init-seconds-before-status-checks",
    "5",
]


class ClusterError(RuntimeError):
    """The cluster could not be started; the message holds the daemons' logs."""


def slurm_conf(root: Path) -> str:
    """One node, `localhost`, with this machine's cores and most of its memory; no
    accounting, no cgroups (containers often lack them)."""
    memory_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 * 9 // 10
    return f"""\
ClusterName=audiodi
SlurmctldHost={socket.gethostname()}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
# squeue, the plugin's status command without accounting, forgets jobs MinJobAge s after
# they end; the plugin wants at least 3x its first status-check delay.
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={memory_mb}
PartitionName=main Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def cluster_jobs() -> list[dict[str, str]]:
    """Every job slurmctld still remembers (MinJobAge), as `scontrol show job` fields."""
    out = subprocess.run(
        ["scontrol", "--oneliner", "show", "job"], capture_output=True, text=True, check=True
    )
    return [
        dict(re.findall(r"(\S+?)=(\S*)", line))
        for line in out.stdout.splitlines()
        if line.startswith("JobId=")
    ]


def _logs(root: Path) -> str:
    parts = []
    for log in sorted(root.glob("*.log")):
        text = log.read_text(errors="replace").splitlines()[-40:]
        parts.append(f"--- {log} ---\n" + "\n".join(text))
    return "\n".join(parts)


def _wait_for_idle_node(root: Path, daemons: dict[str, subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        for name, proc in daemons.items():
            if proc.poll() is not None:
                raise ClusterError(f"{name} exited with {proc.returncode}\n{_logs(root)}")
        out = subprocess.run(
            ["sinfo", "--noheader", "--nodes=localhost", "--format=%T"],
            capture_output=True,
            text=True,
        )
        state = out.stdout.strip()
        if out.returncode == 0 and state.rstrip("*") == "idle":
            return
        time.sleep(0.5)
    raise ClusterError(f"node not idle after {timeout:.0f} s (state {state!r})\n{_logs(root)}")


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def local_cluster(root: Path, timeout: float = 60) -> Iterator[Path]:
    """Start munged, slurmctld and slurmd (logs and state under `root`), wait until the
    node takes jobs, and stop the three by their PIDs on the way out."""
    missing = [p for p in PROGRAMS if shutil.which(p) is None]
    if missing:
        raise ClusterError(f"{missing} not found: install slurmctld slurmd munge slurm-client")
    for folder in ("state", "spool"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    previous = SLURM_CONF.read_bytes() if SLURM_CONF.exists() else None
    SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SLURM_CONF.write_text(slurm_conf(root))
    # conftest points every other test at no cluster.
    no_cluster = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(SLURM_CONF)
    MUNGE_RUN.mkdir(exist_ok=True)
    shutil.chown(MUNGE_RUN, "munge", "munge")
    if not MUNGE_KEY.exists():
        subprocess.run(["mungekey", "--create", f"--keyfile={MUNGE_KEY}"], check=True)
        shutil.chown(MUNGE_KEY, "munge", "munge")
    procs: list[subprocess.Popen] = []
    try:
        # munged refuses to run as root; it logs to stderr in the foreground.
        with open(root / "munged.log", "w") as log:
            procs.append(
                subprocess.Popen(
                    ["munged", "--foreground"],
                    user="munge",
                    group="munge",
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        daemons = {"munged": procs[0]}
        # slurmd names itself `localhost`, whatever this machine's hostname is.
        for name, command in [
            ("slurmctld", ["slurmctld", "-D"]),
            ("slurmd", ["slurmd", "-D", "-N", "localhost"]),
        ]:
            with open(root / f"{name}.out.log", "w") as log:
                procs.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
            daemons[name] = procs[-1]
        _wait_for_idle_node(root, daemons, timeout)
        yield root
    finally:
        _stop(procs)
        if no_cluster is None:
            os.environ.pop("SLURM_CONF")
        else:
            os.environ["SLURM_CONF"] = no_cluster
        if previous is None:
            SLURM_CONF.unlink()
        else:
            SLURM_CONF.write_bytes(previous)
