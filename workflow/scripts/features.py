import pandas as pd
import torch

from audio_di.io import log_to, write_table
from audio_di.study import model_features

job_name = f"features {snakemake.wildcards.model} shard {snakemake.wildcards.shard}"
with log_to(snakemake.log[0], job_name) as job:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    features = model_features(
        params.spec,
        snakemake.input.manifest,
        pd.read_csv(snakemake.input.splits),
        attacks=params.attacks,
        batch_size=params.batch_size,
        device=params.device,
        reference=params.reference,
        only=params.only,
        shard=tuple(params.shard),
    )
    write_table(features, snakemake.output[0])
    job.summary(f"{len(features)} clips x {features.shape[1] - 1} features")
