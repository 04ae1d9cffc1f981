from audio_di.io import log_to, write_table
from audio_di.steps.seeds import seed_runs, seed_spread
from audio_di.tables import SEED_SPREAD

with log_to(snakemake.log[0], "seed spread") as job:
    runs = seed_runs(snakemake.input)
    write_table(seed_spread(runs), snakemake.output[0], SEED_SPREAD)
    job.summary(f"{snakemake.output[0]} (seeds {', '.join(map(str, sorted(runs)))})")
