from audio_di.io import log_to, read_table, write_table
from audio_di.splits import check_set_sizes, model_view, trained_works
from audio_di.tables import SPLITS

with log_to(snakemake.log[0]):
    params = snakemake.params
    splits = model_view(
        read_table(snakemake.input[0], SPLITS), params.shadow_artists, params.shadow
    )
    splits = trained_works(splits, params.member_works, params.seed)
    check_set_sizes(splits, params.min_works)
    write_table(splits, snakemake.output[0], SPLITS)
