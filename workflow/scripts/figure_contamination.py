import pandas as pd

from audio_di.io import log_to
from audio_di.plots import contamination_figure

with log_to(snakemake.log[0]):
    contamination_figure(pd.read_csv(snakemake.input[0]), snakemake.output[0])
