from pathlib import Path

import torch

from audio_di.config import TORCH_THREADS
from audio_di.io import log_to, read_table, write_table
from audio_di.steps.features import train_embedded
from audio_di.tables import SPLITS, TRAIN_CLIPS

with log_to(snakemake.log[0], f"train {snakemake.wildcards.model}") as job:
    # The study's fixed count, not the job's: the numbers must not depend on the cores.
    torch.set_num_threads(TORCH_THREADS)
    params = snakemake.params
    clips = train_embedded(
        params.kind,
        snakemake.input.manifest,
        read_table(snakemake.input.splits, SPLITS),
        regime=params.regime,
        architecture=params.architecture,
        artists=params.artists,
        sample_rate=params.sample_rate,
        seed=params.seed,
        out_dir=Path(snakemake.output.weights).parent,
        device=params.device,
        base=params.base,
    )
    write_table(clips, snakemake.output.clips, TRAIN_CLIPS)
    start = f"fine-tuned from {params.base}, " if params.base else ""
    regime = params.regime
    job.summary(
        f"{start}{regime['epochs']} epochs ({regime['schedule']} learning rate) "
        f"on {len(clips)} clips"
    )
