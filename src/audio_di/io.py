"""Atomic table writes and log redirection shared by the workflow scripts and the CLI."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def _atomic_target(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.tmp")


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write CSV or parquet (by suffix) via a temporary file, so readers never see half a table."""
    path = Path(path)
    tmp = _atomic_target(path)
    if path.suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    elif path.suffix == ".csv":
        frame.to_csv(tmp, index=False)
    else:
        raise ValueError(f"{path}: tables are .csv or .parquet")
    os.replace(tmp, path)


def write_json(data: dict, path: str | Path) -> None:
    path = Path(path)
    tmp = _atomic_target(path)
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_table(path: str | Path) -> pd.DataFrame:
    path = Path(path)
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path)


class JobLog:
    """A job's one console line: what it made and how long it took, e.g.
    `features ar_overfit: 448 clips x 33 features in 41 s`."""

    def __init__(self, job: str):
        self.job = job
        self.started = time.monotonic()

    def summary(self, what: str) -> None:
        line = f"{self.job}: {what} in {time.monotonic() - self.started:.0f} s"
        logging.info(line)
        # stdout is not redirected: Snakemake shows it on the console, next to the job.
        print(line, flush=True)


@contextlib.contextmanager
def log_to(path: str | Path, job: str = "") -> Iterator[JobLog]:
    """Send stderr (tqdm progress, warnings) and logging records to a job's log file; the
    JobLog it yields prints the job's summary line on the console."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as log, contextlib.redirect_stderr(log):
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            yield JobLog(job or Path(path).stem)
        except BaseException:
            logging.exception("job failed")
            raise
        finally:
            root.removeHandler(handler)
            sys.stderr.flush()
