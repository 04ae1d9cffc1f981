"""The study's console (`logger: [audio-di]` in profiles/default): one line per finished job with
its progress k/N and the summary its script wrote (`io.JobLog.summary`), a heartbeat while jobs
run for more than a minute, and Snakemake's own messages only where they say something.

Dry runs, --verbose and --debug-dag print as Snakemake does by default. Errors and warnings
print in full; `--quiet rules progress` (the `--touch` passes of dvc.yaml) leaves errors only.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field

from snakemake.logging import DefaultFilter, DefaultFormatter, get_event
from snakemake.settings.enums import Quietness
from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

from audio_di.io import job_summary

# Snakemake's messages that a finished study does not need on the console (the run's log
# under .snakemake/log/ keeps them).
CHATTER = (
    "Building DAG of jobs",
    "Using shell:",
    "Conda environments:",
    "Singularity containers:",
    "Group jobs:",
    "Select jobs to execute",
    "Assuming unrestricted shared filesystem",
    "Complete log",
    "Creating report",
    "Loading script code",
    "Downloading resources",
    "Removing temporary output",
    "Adding ",  # a file to the report
)
# A job running longer than this gets a heartbeat line; while nothing else prints, the gap
# between heartbeats doubles, so a long job costs a few lines, not one a minute.
HEARTBEAT_S = 60.0


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


@dataclass
class Job:
    label: str
    logs: list[str]
    makes_files: bool
    started: float = field(default_factory=time.monotonic)


class LogHandler(LogHandlerBase):
    def __post_init__(self) -> None:
        settings = self.common_settings
        quiet = set(settings.quiet or ())
        self.plain = settings.dryrun or settings.verbose or settings.debug_dag
        self.silent = bool(quiet & {Quietness.ALL, Quietness.RULES, Quietness.PROGRESS})
        self.default_format = DefaultFormatter(settings.quiet, settings.show_failed_logs)
        self.default_filter = DefaultFilter(
            settings.quiet, settings.debug_dag, settings.verbose, settings.dryrun,
            settings.printshellcmds,
        )  # fmt: skip
        self.stream = sys.stdout if settings.stdout else sys.stderr
        self.output = threading.Lock()
        self.running: dict[int, Job] = {}
        self.finished: list[Job] = []
        self.progress = (0, 0)
        self.started = self.quiet_since = time.monotonic()
        self.gap = HEARTBEAT_S
        if not (self.plain or self.silent):
            threading.Thread(target=self.heartbeat, daemon=True).start()

    @property
    def writes_to_stream(self) -> bool:
        return True

    @property
    def writes_to_file(self) -> bool:
        return False

    @property
    def has_filter(self) -> bool:
        return True

    @property
    def has_formatter(self) -> bool:
        return True

    @property
    def needs_rulegraph(self) -> bool:
        return False

    def write(self, line: str) -> None:
        with self.output:
            self.stream.write(line + "\n")
            self.stream.flush()
            self.quiet_since, self.gap = time.monotonic(), HEARTBEAT_S

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if get_event(record) == LogEvent.JOB_ERROR:
                self.running.pop(record.__dict__["jobid"], None)
            if self.plain:
                if self.default_filter.filter(record):
                    self.print_default(record)
            elif record.levelno >= (logging.ERROR if self.silent else logging.WARNING):
                self.print_default(record)
            elif not self.silent:
                self.on_event(record)
        except Exception:
            self.handleError(record)

    def print_default(self, record: logging.LogRecord) -> None:
        text = self.default_format.format(record)
        if text:
            self.write(text)

    def on_event(self, record: logging.LogRecord) -> None:
        event, data = get_event(record), record.__dict__
        if event == LogEvent.RUN_INFO and "stats" in data:
            counts = dict(data["stats"])
            total = counts.pop("total")
            self.write(f"{total} jobs to run: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        elif event == LogEvent.JOB_INFO:
            wildcards = "/".join(map(str, data["wildcards"].values()))
            label = f"{data['rule_name']} {wildcards}".strip()
            self.running[data["jobid"]] = Job(label, list(data["log"]), bool(data["output"]))
        elif event == LogEvent.JOB_FINISHED:
            job = self.running.pop(data["job_id"], None)
            if job is not None:
                self.finished.append(job)
        elif event == LogEvent.PROGRESS:
            self.progress = (data["done"], data["total"])
            for job in self.finished:
                # A target rule (`all`) makes nothing: its line would say nothing either.
                if job.makes_files:
                    self.job_line(job)
            self.finished.clear()
        elif event == LogEvent.SHELLCMD:
            if self.common_settings.printshellcmds and data.get("shellcmd"):
                self.write(data["shellcmd"])
        elif event is None:
            self.message(record.getMessage())

    def job_line(self, job: Job) -> None:
        done, total = self.progress
        summary = next(filter(None, map(job_summary, job.logs)), None)
        took = duration(time.monotonic() - job.started)
        line = summary or f"{job.label}: done in {took}"
        self.write(f"[{done:>{len(str(total))}}/{total}] {line}")

    def message(self, text: str) -> None:
        if text.startswith(CHATTER):
            return
        if text.startswith("Elapsed time"):
            done, total = self.progress
            if total:
                took = duration(time.monotonic() - self.started)
                self.write(f"{done} of {total} jobs finished in {took}")
            return
        self.write(text)

    def heartbeat(self) -> None:
        while True:
            time.sleep(5)
            self.beat(time.monotonic())

    def beat(self, now: float) -> None:
        """One line naming the jobs that have run for a minute or more, once the console has
        been quiet for the current gap."""
        long = [j for j in list(self.running.values()) if now - j.started >= HEARTBEAT_S]
        if long and now - self.quiet_since >= self.gap:
            gap = self.gap
            running = ", ".join(f"{j.label} ({duration(now - j.started)})" for j in long)
            self.write(f"  ... running: {running}")
            self.gap = 2 * gap
