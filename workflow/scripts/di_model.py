from audio_di.di.engine import DISettings
from audio_di.io import log_to, read_table, write_table
from audio_di.steps.analysis import DI_TABLES, model_dataset_inference
from audio_di.tables import AUDIO_STATISTICS, FEATURES, SHADOW_WEIGHTS, SPLITS

with log_to(snakemake.log[0], f"di {snakemake.wildcards.model}") as job:
    weights = snakemake.input.weights
    tables = model_dataset_inference(
        snakemake.wildcards.model,
        read_table(snakemake.input.features, FEATURES),
        read_table(snakemake.input.splits, SPLITS),
        read_table(snakemake.input.stats, AUDIO_STATISTICS),
        DISettings.from_config(snakemake.params.di, snakemake.params.seed),
        weights=read_table(weights[0], SHADOW_WEIGHTS) if weights else None,
    )
    for name, table in DI_TABLES.items():
        write_table(tables[name], snakemake.output[name], table)
    job.summary(
        f"{len(tables['verdicts'])} verdicts, {len(tables['null'])} null p-values, "
        f"{len(tables['curves'])} curve points"
    )
