import pandas as pd

from audio_di.io import log_to, write_table
from audio_di.study import corpus_statistics

with log_to(snakemake.log[0]):
    stats = corpus_statistics(
        snakemake.input.manifest, pd.read_csv(snakemake.input.splits), snakemake.params.sample_rate
    )
    write_table(stats, snakemake.output[0])
