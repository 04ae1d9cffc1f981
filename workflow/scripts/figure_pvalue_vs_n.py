import pandas as pd

from audio_di.io import log_to
from audio_di.plots import pvalue_vs_n_figure

with log_to(snakemake.log[0]):
    pvalue_vs_n_figure(pd.read_csv(snakemake.input[0]), snakemake.params.alpha, snakemake.output[0])
