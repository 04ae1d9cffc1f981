import pandas as pd

from audio_di.io import log_to, write_table
from audio_di.study import model_dataset_inference

with log_to(snakemake.log[0]):
    di = snakemake.params.di
    verdicts, curves = model_dataset_inference(
        snakemake.wildcards.model,
        pd.read_parquet(snakemake.input.features),
        pd.read_csv(snakemake.input.splits),
        pd.read_parquet(snakemake.input.stats),
        methods=di["methods"],
        folds=di["folds"],
        alpha=di["alpha"],
        n_grid=di["n_grid"],
        resamples=di["resamples"],
        bootstrap=snakemake.params.bootstrap,
        seed=snakemake.params.seed,
    )
    write_table(verdicts, snakemake.output.verdicts)
    write_table(curves, snakemake.output.curves)
