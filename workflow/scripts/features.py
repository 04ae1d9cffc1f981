from pathlib import Path

import pandas as pd
import torch

from audio_di.io import log_to, write_table
from audio_di.study import model_features

with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    models_dir = Path(snakemake.input.weights).parent.parent
    reference = None
    if params.reference:
        reference = {"kind": params.kind, "source": str(models_dir / params.reference)}
    features = model_features(
        {"kind": params.kind, "source": str(Path(snakemake.input.weights).parent)},
        snakemake.input.manifest,
        pd.read_csv(snakemake.input.splits),
        attacks=params.attacks,
        batch_size=params.batch_size,
        device=params.device,
        reference=reference,
        only=params.only,
    )
    write_table(features, snakemake.output[0])
