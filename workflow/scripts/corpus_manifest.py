from audio_di.corpus.manifest import merge_corpus
from audio_di.io import log_to, write_table
from audio_di.tables import CORPUS_MANIFEST, FAILURES

with log_to(snakemake.log[0], f"corpus {snakemake.wildcards.corpus}") as job:
    manifest, failures = merge_corpus(snakemake.input.manifests, snakemake.input.failures, "clips")
    write_table(failures, snakemake.output.failures, FAILURES)
    write_table(manifest, snakemake.output.manifest, CORPUS_MANIFEST)
    job.summary(f"{len(manifest)} clips; {len(failures)} works skipped (see failures.csv)")
