import pandas as pd

from audio_di.io import log_to, write_table
from audio_di.splits import check_set_sizes, make_splits

with log_to(snakemake.log[0]):
    splits = make_splits(
        pd.read_csv(snakemake.input.manifest),
        members=snakemake.params.members,
        heldout_fraction=snakemake.params.heldout_fraction,
        seed=snakemake.params.seed,
        filler_artists=snakemake.params.filler_artists,
    )
    check_set_sizes(splits, snakemake.params.min_works)
    write_table(splits, snakemake.output[0])
