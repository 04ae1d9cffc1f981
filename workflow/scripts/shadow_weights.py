from audio_di.di.weights import shadow_weights
from audio_di.io import log_to, read_table, write_table
from audio_di.tables import FEATURES, SHADOW_WEIGHTS, SPLITS

with log_to(snakemake.log[0], f"shadow weights {snakemake.wildcards.model}") as job:
    table = shadow_weights(
        snakemake.wildcards.model,
        read_table(snakemake.input.features, FEATURES),
        read_table(snakemake.input.splits, SPLITS),
    )
    write_table(table, snakemake.output[0], SHADOW_WEIGHTS)
    job.summary(f"{(table['weight'] > 0).sum()} of {len(table)} features weigh more than 0")
