"""Peak memory of the blind audio statistics: streamed in batches against all clips at once.

By default writes a corpus of the default study's size (params.yaml: every evaluated artist,
`works_per_artist` works of `max_clips_per_work` clips, at the corpus's clip length and
sample rate) as FLAC clips in a temporary folder; `--manifest` and `--splits` take a corpus
the study made instead (e.g. data/corpus/embedded/manifest.csv and
results/splits/embedded.csv). Each way runs in a fresh process and reports its peak resident
memory (max RSS, as Snakemake's benchmark files record it) once the statistics are computed,
beside the process's peak over its whole life: the exit adds some 200 MB, torch's own
teardown, which `python -c "import torch"` shows too. The two tables must be identical.

Usage: python benchmarks/audio_statistics_memory.py [--manifest M --splits S]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from audio_di.audio import write_flac
from audio_di.blind import audio_statistics, corpus_statistics
from audio_di.corpus.manifest import corpus_audio
from audio_di.io import read_table, write_table
from audio_di.splits import evaluation_sets, make_splits
from audio_di.tables import AUDIO_STATISTICS, CORPUS_MANIFEST, SPLITS

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
NAME, CORPUS = next(iter(PARAMS["corpora"].items()))
WAYS = ("streamed", "one-shot")


def write_corpus(folder: Path) -> tuple[Path, Path]:
    """A manifest and splits of the default study's evaluated clips: tones plus noise."""
    rate, seconds = CORPUS["sample_rate"], CORPUS["clip_seconds"]
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    rows = []
    for artist in CORPUS["artists"]:
        for work in range(CORPUS["works_per_artist"]):
            for clip in range(CORPUS["max_clips_per_work"]):
                clip_id = f"{artist}__w{work:03d}__{clip:03d}"
                audio = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
                audio += 0.05 * rng.standard_normal(len(t))
                write_flac(folder / f"clips/{clip_id}.flac", audio, rate)
                rows.append(
                    (clip_id, artist, f"{artist}/w{work:03d}", f"clips/{clip_id}.flac",
                     seconds, rate, clip_id, "")
                )  # fmt: skip
    manifest = pd.DataFrame(rows, columns=list(CORPUS_MANIFEST.columns))
    members = PARAMS["splits"][NAME]["members"]
    splits = make_splits(manifest, members, PARAMS["splits"][NAME]["heldout_fraction"], 0)
    write_table(manifest, folder / "manifest.csv", CORPUS_MANIFEST)
    write_table(splits, folder / "splits.csv", SPLITS)
    return folder / "manifest.csv", folder / "splits.csv"


def compute(way: str, manifest: str, splits: str, out: str) -> None:
    """One way of computing the statistics, in this process, written to `out`."""
    table, rate = read_table(splits, SPLITS), CORPUS["sample_rate"]
    if way == "streamed":
        stats = corpus_statistics(manifest, table, rate)
    else:
        # What the step did before it streamed: every clip's audio in one array.
        clip_ids = evaluation_sets(table)["clip_id"].reset_index(drop=True)
        audio = corpus_audio(manifest, clip_ids, rate)
        stats = pd.concat([clip_ids, audio_statistics(audio, rate)], axis=1)
    write_table(stats, out, AUDIO_STATISTICS)
    # ru_maxrss is in KiB on Linux.
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(way: str, manifest: Path, splits: Path, out: Path) -> tuple[float, float, float]:
    """(peak RSS in MB once computed, over the process's life, seconds) of computing the
    statistics one way in a fresh process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--compute", way, "--manifest", str(manifest),
         "--splits", str(splits), "--out", str(out)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    computed = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{way}: exit status {os.waitstatus_to_exitcode(status)}")
    return float(computed), usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, help="a corpus manifest (default: synthetic)")
    parser.add_argument("--splits", type=Path, help="its splits table")
    parser.add_argument("--compute", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.compute:
        compute(args.compute, args.manifest, args.splits, args.out)
        return
    if (args.manifest is None) != (args.splits is None):
        parser.error("give both --manifest and --splits, or neither")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.manifest is None:
            print(f"writing a corpus the size of params.yaml's {NAME!r} ...", flush=True)
            manifest, splits = write_corpus(folder)
        else:
            manifest, splits = args.manifest, args.splits
        results = {way: measure(way, manifest, splits, folder / f"{way}.parquet") for way in WAYS}
        tables = [read_table(folder / f"{way}.parquet", AUDIO_STATISTICS) for way in WAYS]
        clips = len(tables[0])
    print(f"{clips} evaluated clips of {CORPUS['clip_seconds']} s at {CORPUS['sample_rate']} Hz")
    print(f"{'way':<10} {'peak RSS computed':>18} {'with the exit':>14} {'time':>8}")
    for way, (computed, whole, seconds) in results.items():
        print(f"{way:<10} {computed:>15.0f} MB {whole:>11.0f} MB {seconds:>6.1f} s")
    identical = tables[0].equals(tables[1])
    print("tables identical:", identical)
    if not identical:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
