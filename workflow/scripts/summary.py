import json
from pathlib import Path

from audio_di.io import atomic_path, log_to, read_table, write_html, write_table
from audio_di.steps.reporting import headline_table, headline_text
from audio_di.tables import CALIBRATION, HEADLINE, VERDICTS

with log_to(snakemake.log[0], "headline") as job:
    metrics = json.loads(Path(snakemake.input.metrics).read_text())
    write_table(headline_table(metrics), snakemake.output.headline, HEADLINE)
    with atomic_path(snakemake.output.text) as tmp:
        tmp.write_text(headline_text(metrics) + "\n")
    for name, table in [("verdicts", VERDICTS), ("calibration", CALIBRATION)]:
        write_html(read_table(snakemake.input[name], table), snakemake.output[name], table)
    job.summary(f"{snakemake.output.text} ({len(metrics['models'])} models)")
