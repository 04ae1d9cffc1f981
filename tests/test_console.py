"""The study's console (snakemake_logger_plugin_audio_di), fed the records Snakemake 9 logs:
one line per finished job with k/N and its summary, a heartbeat for long jobs whose gap
doubles, Snakemake's chatter left out, warnings and errors in full, quiet passes silent."""

import io
import logging
import time
from types import SimpleNamespace

import pytest
from snakemake.settings.enums import Quietness
from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

from audio_di.io import log_to
from snakemake_logger_plugin_audio_di import HEARTBEAT_S, LogHandler


def handler(**settings) -> tuple[LogHandler, io.StringIO]:
    common = {
        "dryrun": False, "verbose": False, "debug_dag": False, "quiet": None,
        "printshellcmds": False, "show_failed_logs": False, "stdout": True, "nocolor": True,
    }  # fmt: skip
    console = io.StringIO()
    log = LogHandler(SimpleNamespace(**common | settings), None)
    log.stream = console
    return log, console


def record(message=None, level=logging.INFO, **extra) -> logging.LogRecord:
    out = logging.LogRecord("snakemake", level, __file__, 0, message, None, None)
    out.__dict__.update(extra)
    return out


def job_info(jobid: int, rule: str, log: list[str], output=("out",), **wildcards):
    return record(
        event=LogEvent.JOB_INFO, jobid=jobid, rule_name=rule, wildcards=wildcards, log=log,
        output=list(output),
    )  # fmt: skip


def finish(handler: LogHandler, jobid: int, done: int, total: int) -> None:
    handler.emit(record(event=LogEvent.JOB_FINISHED, job_id=jobid))
    handler.emit(record(event=LogEvent.PROGRESS, done=done, total=total))


def test_the_plugin_is_found_by_snakemake():
    assert "audio-di" in LoggerPluginRegistry().plugins


def test_one_line_per_finished_job_with_its_summary(tmp_path):
    with log_to(tmp_path / "train.log", "train ar_overfit") as job:
        job.summary("50 epochs on 320 clips")
    log, console = handler()
    log.emit(record("Job stats: ...", event=LogEvent.RUN_INFO,
                    stats={"train": 1, "figure_roc": 1, "all": 1, "total": 3}))  # fmt: skip
    for message in ("Building DAG of jobs...", "Select jobs to execute...", "Using shell: bash"):
        log.emit(record(message))
    log.emit(job_info(1, "train", [str(tmp_path / "train.log")], model="ar_overfit"))
    log.emit(job_info(2, "figure_roc", [str(tmp_path / "roc.log")]))
    log.emit(job_info(3, "all", [], output=()))
    log.emit(record("Shell command: None", event=LogEvent.SHELLCMD, shellcmd=None))
    finish(log, 2, 1, 3)
    finish(log, 1, 2, 3)
    finish(log, 3, 3, 3)
    log.emit(record("Elapsed time: 0:00:03.2"))
    lines = console.getvalue().splitlines()
    assert lines[0] == "3 jobs to run: train 1, figure_roc 1, all 1"
    assert lines[1].startswith("[1/3] figure_roc: done in ")
    assert lines[2].startswith("[2/3] train ar_overfit: 50 epochs on 320 clips in ")
    assert lines[3].startswith("3 of 3 jobs finished in ") and len(lines) == 4


def test_warnings_and_errors_print_in_full_and_quiet_passes_only_errors():
    log, console = handler()
    log.emit(record("Output files not touched", level=logging.WARNING))
    log.emit(record("Nothing to be done (all requested files are present and up to date)."))
    assert console.getvalue().splitlines() == [
        "Output files not touched",
        "Nothing to be done (all requested files are present and up to date).",
    ]
    quiet, console = handler(quiet={Quietness.RULES, Quietness.PROGRESS})
    quiet.emit(record(event=LogEvent.RUN_INFO, stats={"render_artist": 2, "total": 2}))
    quiet.emit(job_info(1, "render_artist", []))
    finish(quiet, 1, 1, 1)
    quiet.emit(record("Output files not touched", level=logging.WARNING))
    quiet.emit(record("MissingInputException: x", level=logging.ERROR))
    assert console.getvalue() == "MissingInputException: x\n"


@pytest.mark.parametrize("settings", [{"dryrun": True}, {"verbose": True}])
def test_dry_runs_print_as_snakemake_does(settings):
    log, console = handler(**settings)
    log.emit(record("Job stats:\njob  count", event=LogEvent.RUN_INFO, stats={"total": 0}))
    log.emit(record("Building DAG of jobs..."))
    assert console.getvalue() == "Job stats:\njob  count\nBuilding DAG of jobs...\n"


def test_heartbeat_names_long_jobs_and_its_gap_doubles():
    log, console = handler()
    log.emit(job_info(1, "di_model", [], model="ar_at_scale"))
    now = time.monotonic()
    log.running[1].started = log.quiet_since = now - HEARTBEAT_S
    log.beat(now)
    log.beat(now + HEARTBEAT_S)  # within the doubled gap: silent
    log.beat(now + 2 * HEARTBEAT_S + 1)
    finish(log, 1, 1, 1)
    log.beat(time.monotonic())  # a line has just printed, and no job runs
    assert console.getvalue().splitlines() == [
        "  ... running: di_model ar_at_scale (60 s)",
        "  ... running: di_model ar_at_scale (3 min)",
        "[1/1] di_model ar_at_scale: done in 60 s",
    ]
    assert log.gap == HEARTBEAT_S
