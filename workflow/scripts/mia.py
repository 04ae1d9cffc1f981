from audio_di.io import log_to, read_table, write_table
from audio_di.steps.membership import MIA_TABLES, membership
from audio_di.tables import FEATURES, SPLITS

with log_to(snakemake.log[0], "mia") as job:
    params = snakemake.params
    inputs = zip(params.models, snakemake.input.features, snakemake.input.splits, strict=True)
    tables = membership(
        {model: (read_table(f, FEATURES), read_table(s, SPLITS)) for model, f, s in inputs},
        params.bootstrap,
        params.seed,
    )
    for name, table in MIA_TABLES.items():
        write_table(tables[name], snakemake.output[name], table)
    job.summary(f"{len(tables['metrics'])} model x feature rows")
