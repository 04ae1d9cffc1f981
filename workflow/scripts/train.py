from pathlib import Path

import pandas as pd
import torch

from audio_di.io import log_to, write_table
from audio_di.study import train_embedded

with log_to(snakemake.log[0], f"train {snakemake.wildcards.model}") as job:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    clips = train_embedded(
        params.kind,
        snakemake.input.manifest,
        pd.read_csv(snakemake.input.splits),
        regime=params.regime,
        architecture=params.architecture,
        frontend=params.frontend,
        sample_rate=params.sample_rate,
        seed=params.seed,
        out_dir=Path(snakemake.output.weights).parent,
        device=params.device,
    )
    write_table(clips, snakemake.output.clips)
    job.summary(f"{params.regime['epochs']} epochs on {len(clips)} clips")
