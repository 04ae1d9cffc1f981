import pandas as pd

from audio_di.io import log_to
from audio_di.plots import roc_figure

with log_to(snakemake.log[0]):
    roc_figure(
        pd.read_csv(snakemake.input.roc), pd.read_csv(snakemake.input.metrics), snakemake.output[0]
    )
