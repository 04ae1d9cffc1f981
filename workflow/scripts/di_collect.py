import pandas as pd

from audio_di.io import log_to, read_table, write_table
from audio_di.steps.analysis import DI_TABLES, calibration
from audio_di.tables import CALIBRATION, NULL_PVALUES

with log_to(snakemake.log[0]):
    for name, table in DI_TABLES.items():
        parts = [read_table(path, table) for path in snakemake.input[name]]
        write_table(pd.concat(parts, ignore_index=True), snakemake.output[name], table)
    null = read_table(snakemake.output.null, NULL_PVALUES)
    write_table(
        calibration(null, snakemake.params.alpha), snakemake.output.calibration, CALIBRATION
    )
