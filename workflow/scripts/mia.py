import pandas as pd

from audio_di.attacks.registry import feature_sign
from audio_di.io import log_to, read_table, write_table
from audio_di.steps.analysis import artist_membership, model_membership
from audio_di.tables import ARTIST_AUC, FEATURES, MIA_METRICS, ROC, SPLITS

with log_to(snakemake.log[0], "mia") as job:
    metrics, roc, artists = [], [], []
    for model, features_path, splits_path in zip(
        snakemake.params.models, snakemake.input.features, snakemake.input.splits, strict=True
    ):
        features = read_table(features_path, FEATURES)
        splits = read_table(splits_path, SPLITS)
        signs = {c: feature_sign(c) for c in features.columns if c != "clip_id"}
        bootstrap, seed = snakemake.params.bootstrap, snakemake.params.seed
        m, r = model_membership(model, features, splits, signs, bootstrap, seed)
        metrics.append(m)
        roc.append(r)
        artists.append(artist_membership(model, features, splits, m, signs, bootstrap, seed))
    write_table(pd.concat(metrics, ignore_index=True), snakemake.output.metrics, MIA_METRICS)
    write_table(pd.concat(roc, ignore_index=True), snakemake.output.roc, ROC)
    write_table(pd.concat(artists, ignore_index=True), snakemake.output.artists, ARTIST_AUC)
    job.summary(f"{sum(map(len, metrics))} model x feature rows")
