from audio_di.io import log_to, read_table
from audio_di.plots import headline_figure
from audio_di.tables import ARTIST_AUC, VERDICTS

with log_to(snakemake.log[0]):
    headline_figure(
        read_table(snakemake.input.artists, ARTIST_AUC),
        read_table(snakemake.input.verdicts, VERDICTS),
        snakemake.params.alpha,
        snakemake.output[0],
    )
