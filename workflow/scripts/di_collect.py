import pandas as pd

from audio_di.io import log_to, write_table
from audio_di.study import calibration

with log_to(snakemake.log[0]):
    for name in ("verdicts", "curves", "null", "contamination"):
        tables = [pd.read_csv(p) for p in snakemake.input[name]]
        write_table(pd.concat(tables, ignore_index=True), snakemake.output[name])
    null = pd.read_csv(snakemake.output.null)
    write_table(calibration(null, snakemake.params.alpha), snakemake.output.calibration)
