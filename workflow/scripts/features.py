import torch

from audio_di.config import TORCH_THREADS
from audio_di.io import log_to, read_table, write_table
from audio_di.steps.features import model_features
from audio_di.tables import FEATURES, SPLITS

job_name = f"features {snakemake.wildcards.model} shard {snakemake.wildcards.shard}"
with log_to(snakemake.log[0], job_name) as job:
    # The study's fixed count, not the job's: the numbers must not depend on the cores.
    torch.set_num_threads(TORCH_THREADS)
    params = snakemake.params
    features = model_features(
        params.spec,
        snakemake.input.manifest,
        read_table(snakemake.input.splits, SPLITS),
        attacks=params.attacks,
        batch_size=params.batch_size,
        device=params.device,
        reference=params.reference,
        only=params.only,
        shard=tuple(params.shard),
    )
    write_table(features, snakemake.output[0], FEATURES)
    job.summary(f"{len(features)} clips x {features.shape[1] - 1} features")
