import pandas as pd

from audio_di.attacks.registry import feature_sign
from audio_di.io import log_to, write_table
from audio_di.study import model_membership

with log_to(snakemake.log[0], "mia") as job:
    metrics, roc = [], []
    for model, features_path, splits_path in zip(
        snakemake.params.models, snakemake.input.features, snakemake.input.splits, strict=True
    ):
        features = pd.read_parquet(features_path)
        signs = {c: feature_sign(c) for c in features.columns if c != "clip_id"}
        m, r = model_membership(
            model,
            features,
            pd.read_csv(splits_path),
            signs,
            snakemake.params.bootstrap,
            snakemake.params.seed,
        )
        metrics.append(m)
        roc.append(r)
    write_table(pd.concat(metrics, ignore_index=True), snakemake.output.metrics)
    write_table(pd.concat(roc, ignore_index=True), snakemake.output.roc)
    job.summary(f"{sum(map(len, metrics))} model x feature rows")
