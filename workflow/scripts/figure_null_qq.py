from audio_di.io import log_to, read_table
from audio_di.plots import null_qq_figure
from audio_di.tables import NULL_PVALUES

with log_to(snakemake.log[0]):
    null_qq_figure(
        read_table(snakemake.input[0], NULL_PVALUES), snakemake.params.alpha, snakemake.output[0]
    )
