from audio_di.io import log_to, read_table
from audio_di.plots import auc_heatmap
from audio_di.tables import MIA_METRICS

with log_to(snakemake.log[0]):
    auc_heatmap(read_table(snakemake.input[0], MIA_METRICS), snakemake.output[0])
