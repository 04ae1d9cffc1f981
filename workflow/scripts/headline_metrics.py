import pandas as pd

from audio_di.io import log_to, write_json
from audio_di.study import headline

with log_to(snakemake.log[0]):
    write_json(
        headline(
            pd.read_csv(snakemake.input.mia),
            pd.read_csv(snakemake.input.verdicts),
            pd.read_csv(snakemake.input.curves),
            pd.read_csv(snakemake.input.calibration),
        ),
        snakemake.output[0],
    )
