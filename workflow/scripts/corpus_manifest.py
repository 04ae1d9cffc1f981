from audio_di.io import log_to, write_table
from audio_di.study import merge_corpus

with log_to(snakemake.log[0], f"corpus {snakemake.wildcards.corpus}") as job:
    manifest, failures = merge_corpus(snakemake.input.manifests, snakemake.input.failures, "clips")
    write_table(failures, snakemake.output.failures)
    write_table(manifest, snakemake.output.manifest)
    job.summary(f"{len(manifest)} clips; {len(failures)} works skipped (see failures.csv)")
