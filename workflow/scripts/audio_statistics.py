from audio_di.blind import corpus_statistics
from audio_di.io import log_to, read_table, write_table
from audio_di.tables import AUDIO_STATISTICS, SPLITS

with log_to(snakemake.log[0]):
    stats = corpus_statistics(
        snakemake.input.manifest,
        read_table(snakemake.input.splits, SPLITS),
        snakemake.params.sample_rate,
    )
    write_table(stats, snakemake.output[0], AUDIO_STATISTICS)
