import pandas as pd

from audio_di.io import log_to, write_table
from audio_di.shards import merge_shards

with log_to(snakemake.log[0]):
    tables = [pd.read_parquet(path) for path in snakemake.input]
    write_table(merge_shards(tables, list(snakemake.input)), snakemake.output[0])
