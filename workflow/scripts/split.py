from audio_di.io import log_to, read_table, write_table
from audio_di.splits import check_set_sizes, make_splits
from audio_di.tables import CORPUS_MANIFEST, SPLITS

with log_to(snakemake.log[0]):
    splits = make_splits(
        read_table(snakemake.input.manifest, CORPUS_MANIFEST),
        members=snakemake.params.members,
        heldout_fraction=snakemake.params.heldout_fraction,
        seed=snakemake.params.seed,
        filler_artists=snakemake.params.filler_artists,
    )
    check_set_sizes(splits, snakemake.params.min_works)
    write_table(splits, snakemake.output[0], SPLITS)
