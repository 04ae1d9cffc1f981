"""Job logs: progress and warnings go to the log file, one summary line to the console."""

import logging
import re
import sys

from tqdm import tqdm

from audio_di.io import log_to


def test_progress_goes_to_the_log_and_one_summary_line_to_the_console(tmp_path, capsys):
    log = tmp_path / "logs/features.log"
    with log_to(log, "features ar_overfit") as job:
        for _ in tqdm(range(3), desc="features", file=sys.stderr):
            pass
        logging.getLogger("audio_di").warning("clip x failed")
        job.summary("448 clips x 33 features")
    console = capsys.readouterr()
    assert re.fullmatch(r"features ar_overfit: 448 clips x 33 features in \d+ s\n", console.out)
    assert console.err == ""
    text = log.read_text()
    assert "features: 100%" in text and "clip x failed" in text
    assert "features ar_overfit: 448 clips x 33 features in" in text


def test_a_job_without_a_name_is_named_after_its_log(tmp_path, capsys):
    with log_to(tmp_path / "mia.log") as job:
        job.summary("done")
    assert capsys.readouterr().out.startswith("mia: done in ")
