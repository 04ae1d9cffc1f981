import pandas as pd

from audio_di.io import log_to
from audio_di.plots import null_qq_figure

with log_to(snakemake.log[0]):
    null_qq_figure(pd.read_csv(snakemake.input[0]), snakemake.params.alpha, snakemake.output[0])
