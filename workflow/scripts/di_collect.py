import pandas as pd

from audio_di.io import log_to, write_table

with log_to(snakemake.log[0]):
    for name in ("verdicts", "curves"):
        tables = [pd.read_csv(p) for p in snakemake.input[name]]
        write_table(pd.concat(tables, ignore_index=True), snakemake.output[name])
