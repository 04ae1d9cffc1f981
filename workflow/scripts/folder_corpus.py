from pathlib import Path

from audio_di.corpus.folder import ingest_catalogue, read_manifest
from audio_di.io import log_to, write_table
from audio_di.tables import CATALOGUE_MANIFEST, REJECTED

with log_to(snakemake.log[0], f"corpus {snakemake.wildcards.corpus}") as job:
    params = snakemake.params
    manifest, rejected = ingest_catalogue(
        read_manifest(snakemake.input.manifest, root=snakemake.input.audio),
        out_dir=Path(snakemake.output.clips).parent,
        clip_seconds=params.clip_seconds,
        sample_rate=params.sample_rate,
        max_clips_per_file=params.max_clips_per_file,
    )
    write_table(rejected, snakemake.output.rejected, REJECTED)
    write_table(manifest, snakemake.output.manifest, CATALOGUE_MANIFEST)
    job.summary(
        f"{len(manifest)} clips; {len(rejected)} files or clips rejected "
        f"(see {snakemake.output.rejected})"
    )
