from audio_di.io import log_to, read_table
from audio_di.plots import roc_figure
from audio_di.tables import MIA_METRICS, ROC

with log_to(snakemake.log[0]):
    roc_figure(
        read_table(snakemake.input.roc, ROC),
        read_table(snakemake.input.metrics, MIA_METRICS),
        snakemake.output[0],
    )
