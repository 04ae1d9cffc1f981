from audio_di.io import log_to, read_table, write_table
from audio_di.shards import merge_shards
from audio_di.tables import FEATURES

with log_to(snakemake.log[0]):
    tables = [read_table(path, FEATURES) for path in snakemake.input]
    write_table(merge_shards(tables, list(snakemake.input)), snakemake.output[0], FEATURES)
