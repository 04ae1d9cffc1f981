from audio_di.io import log_to, read_table
from audio_di.plots import contamination_figure
from audio_di.tables import CONTAMINATION

with log_to(snakemake.log[0]):
    contamination_figure(read_table(snakemake.input[0], CONTAMINATION), snakemake.output[0])
