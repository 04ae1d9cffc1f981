from audio_di.io import log_to, read_table, write_table
from audio_di.splits import check_set_sizes, trained_works
from audio_di.tables import SPLITS

with log_to(snakemake.log[0]):
    params = snakemake.params
    splits = trained_works(read_table(snakemake.input[0], SPLITS), params.member_works, params.seed)
    check_set_sizes(splits, params.min_works)
    write_table(splits, snakemake.output[0], SPLITS)
