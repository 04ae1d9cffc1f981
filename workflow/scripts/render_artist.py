from pathlib import Path

from audio_di.corpus.music21_render import render_artist
from audio_di.io import log_to, write_table
from audio_di.tables import CORPUS_MANIFEST, FAILURES

with log_to(snakemake.log[0], f"render {snakemake.wildcards.artist}") as job:
    params = snakemake.params
    manifest, failures = render_artist(
        snakemake.wildcards.artist,
        works=params.works,
        clip_seconds=params.clip_seconds,
        sample_rate=params.sample_rate,
        max_clips_per_work=params.max_clips_per_work,
        seed=params.seed,
        out_dir=Path(snakemake.output.clips).parent,
    )
    write_table(failures, snakemake.output.failures, FAILURES)
    write_table(manifest, snakemake.output.manifest, CORPUS_MANIFEST)
    job.summary(
        f"{len(manifest)} clips of {manifest['work_id'].nunique()} works, "
        f"{len(failures)} works skipped"
    )
