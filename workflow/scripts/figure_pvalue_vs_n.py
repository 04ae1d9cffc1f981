from audio_di.io import log_to, read_table
from audio_di.plots import pvalue_vs_n_figure
from audio_di.tables import PVALUE_VS_N

with log_to(snakemake.log[0]):
    pvalue_vs_n_figure(
        read_table(snakemake.input[0], PVALUE_VS_N), snakemake.params.alpha, snakemake.output[0]
    )
