import pandas as pd

from audio_di.di import DISettings
from audio_di.io import log_to, write_table
from audio_di.study import model_dataset_inference

with log_to(snakemake.log[0], f"di {snakemake.wildcards.model}") as job:
    tables = model_dataset_inference(
        snakemake.wildcards.model,
        pd.read_parquet(snakemake.input.features),
        pd.read_csv(snakemake.input.splits),
        pd.read_parquet(snakemake.input.stats),
        DISettings.from_config(snakemake.params.di, snakemake.params.seed),
    )
    for name, table in tables.items():
        write_table(table, snakemake.output[name])
    job.summary(
        f"{len(tables['verdicts'])} verdicts, {len(tables['null'])} null p-values, "
        f"{len(tables['curves'])} curve points"
    )
