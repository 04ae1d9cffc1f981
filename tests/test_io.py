"""Job logs: progress, warnings and the job's one summary line go to its log file, where the
console finds the summary; tables as web pages."""

import logging
import re
import sys

import pandas as pd
import pytest
from tqdm import tqdm

from audio_di.io import job_summary, log_to, write_html
from audio_di.tables import CALIBRATION


def test_progress_and_the_summary_go_to_the_log(tmp_path, capsys):
    log = tmp_path / "logs/features.log"
    with log_to(log, "features ar_overfit") as job:
        for _ in tqdm(range(3), desc="features", file=sys.stderr):
            pass
        logging.getLogger("audio_di").warning("clip x failed")
        job.summary("448 clips x 33 features")
    console = capsys.readouterr()
    assert console.out == console.err == ""
    text = log.read_text()
    assert "features: 100%" in text and "clip x failed" in text
    assert re.fullmatch(r"features ar_overfit: 448 clips x 33 features in \d+ s", job_summary(log))


def test_a_job_without_a_name_is_named_after_its_log(tmp_path):
    with log_to(tmp_path / "mia.log") as job:
        job.summary("done")
    assert job_summary(tmp_path / "mia.log").startswith("mia: done in ")


def test_a_log_without_a_summary_has_none(tmp_path):
    with log_to(tmp_path / "figure.log"):
        logging.getLogger("audio_di").info("summary: in a message is not a summary line")
    assert job_summary(tmp_path / "figure.log") is None
    assert job_summary(tmp_path / "missing.log") is None


def test_a_table_as_a_web_page(tmp_path):
    row = ("m", "crossfit", 0.05, 30, 0.0333333, 0.17, 0.0008, True)
    frame = pd.DataFrame([row], columns=list(CALIBRATION.columns))
    write_html(frame, tmp_path / "calibration.html", CALIBRATION)
    page = (tmp_path / "calibration.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<th>false_positive_rate</th>" in page
    assert "<td>0.0333</td>" in page and "one row per model x method" in page
    with pytest.raises(ValueError, match="calibration table has columns"):
        write_html(frame.drop(columns="alpha"), tmp_path / "bad.html", CALIBRATION)
