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
    the table's, or that lacks the attrs the table keeps, is an error, so that every writer
    keeps the contract in audio_di.tables. Parquet keeps the frame's attrs (pandas writes
    them into the file's metadata)."""
    path = Path(path)
    if path.suffix not in (".csv", ".parquet"):
        raise ValueError(f"{path}: tables are .csv or .parquet")
    table.check_columns(frame.columns, path)
    if table.attrs and path.suffix != ".parquet":
        raise ValueError(f"{path}: the {table.name} table keeps {list(table.attrs)}: parquet only")
    missing = [key for key in table.attrs if key not in frame.attrs]
    if missing:
        raise ValueError(f"{path}: the {table.name} table needs {missing} in the frame's attrs")
    with atomic_path(path) as tmp:
        if path.suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)


# A table as a web page: what the HTML report shows rendered (it offers a CSV as a download).
HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body {{ font-family: sans-serif; font-size: 13px; margin: 1em; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left; }}
tr:nth-child(even) {{ background: #f4f4f4; }}
</style></head><body><h3>{title}: one row per {row}</h3>
{table}
</body></html>
"""


def write_html(frame: pd.DataFrame, path: str | Path, table: Table) -> None:
    """Write `table` as a web page, atomically, after the same column check as write_table;
    numbers show three significant digits."""
    table.check_columns(frame.columns, path)
    body = frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)
    with atomic_path(path) as tmp:
        tmp.write_text(HTML_PAGE.format(title=table.name, row=table.row, table=body))


def write_json(data: dict, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_table(path: str | Path, table: Table) -> pd.DataFrame:
    """Read `table` from CSV or parquet; a file without the table's columns or attrs is an
    error naming the file and what it lacks."""
    path = Path(path)
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    missing = table.missing(frame.columns) + [k for k in table.attrs if k not in frame.attrs]
    if missing:
        raise ValueError(f"{path}: not a {table.name} table, it lacks {missing}")
    return frame


# Marks a job's summary line in its log, where the study's console finds it (job_summary).
SUMMARY = "job summary: "


class JobLog:
    """A job's one summary line: what it made and how long it took, e.g.
    `features ar_overfit: 448 clips x 33 features in 41 s`."""

    def __init__(self, job: str):
        self.job = job
        self.started = time.monotonic()

    def summary(self, what: str) -> None:
        logging.info(f"{SUMMARY}{self.job}: {what} in {time.monotonic() - self.started:.0f} s")


def job_summary(log: str | Path) -> str | None:
    """The summary line that a job wrote to its log with JobLog.summary, if any: the study's
    console (snakemake_logger_plugin_audio_di) prints it when the job finishes."""
    try:
        lines = Path(log).read_text(errors="replace").splitlines()
    except OSError:
        return None
    found = [line.split(SUMMARY, 1)[1] for line in lines if f" INFO {SUMMARY}" in line]
    return found[-1] if found else None


@contextlib.contextmanager
def log_to(path: str | Path, job: str = "") -> Iterator[JobLog]:
    """Send stderr (tqdm progress, warnings) and logging records to a job's log file; the
    JobLog it yields writes the job's summary line there, for the console to print."""
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
