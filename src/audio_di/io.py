"""Atomic writes, table I/O under the contracts of audio_di.tables, and job logs."""

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

from audio_di.tables import Table


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; it replaces `path` when the block ends
    without error, so that a killed job leaves no half-written file for a reader to take."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


def write_table(frame: pd.DataFrame, path: str | Path, table: Table) -> None:
    """Write `table` as CSV or parquet (by suffix), atomically; a frame whose columns are not
    the table's is an error, so that every writer keeps the contract in audio_di.tables."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: tables are .csv or .parquet")
    table.check_columns(frame.columns, path)
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


def write_json(data: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_table(path: str | Path, table: Table) -> pd.DataFrame:
    """Read `table` from CSV or parquet; a file without the table's columns is an error
    naming the file and what it lacks."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = table.missing(frame.columns)
    if missing:
        raise ValueError(f"{path}: not a {table.name} table, it lacks column(s) {missing}")
    return frame


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
