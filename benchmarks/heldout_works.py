"""Would more held-out works per member artist carry the verdict? On a finished study, each
member artist keeps its train works and its held-out works, and gets `--extra` more held-out
works from the corpus. The models do not change: no model trained on a held-out work.

For every member artist of the study's corpus, the render continues where the study's
stopped: render_artist with the study's settings and `--extra` more works, whose first works
are the study's own (checked clip by clip against the study's manifest). The extra works'
clips are scored by each of `--models` as its features job scores clips (same attacks,
settings and reference), and their audio statistics are taken for the shift test. Each model's
verdicts are then computed twice through the study's path (steps.analysis.collections and
family_verdicts, Holm's adjustment and the shift test included): on the study's collections
(checked against the model's `di_model` table), with the extra works on each member's
validation side, and, as a control, with the study's held-out works as the suspect side
against the extra works: neither was trained on, so that test must find nothing.

Writes the render and the extra works' features under `--cache` (reused by a rerun with the
same `--extra`) and prints, per model, member artist and method, the works a side, the
p-value, the shift test's p-value and the verdict of each.

    python benchmarks/heldout_works.py --study /work/dev/seed10 [--extra 200]
        [--models ar_at_scale ar_reference diffusion_at_scale diffusion_base]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import torch
import yaml
from di_models import model_inputs

from audio_di.blind import corpus_statistics
from audio_di.config import TORCH_THREADS
from audio_di.corpus.music21_render import render_artist
from audio_di.di.engine import DISettings
from audio_di.io import read_table, write_table
from audio_di.steps.analysis import collections, family_verdicts
from audio_di.steps.features import load_scorer, score_clips
from audio_di.tables import AUDIO_STATISTICS, CORPUS_MANIFEST, FEATURES, VERDICTS


def music21_corpus(params: dict) -> tuple[str, dict]:
    """The study's one corpus, which must be rendered from music21's scores."""
    corpora = params["corpora"]
    if len(corpora) != 1 or next(iter(corpora.values()))["kind"] != "music21":
        raise SystemExit(f"corpora: {sorted(corpora)}: one music21 corpus is needed")
    return next(iter(corpora.items()))


def extra_works(params: dict, study: Path, cache: Path, extra: int) -> pd.DataFrame:
    """Manifest rows (paths under `cache`) of `extra` more works per member artist, rendered
    after the study's own works of that artist in its selection order."""
    path = cache / "manifest.csv"
    if path.exists():
        return read_table(path, CORPUS_MANIFEST)
    name, corpus = music21_corpus(params)
    members = params["splits"][name]["members"]
    study_manifest = read_table(study / f"data/corpus/{name}/manifest.csv", CORPUS_MANIFEST)
    rows = []
    for artist in members:
        own = study_manifest[study_manifest["artist"] == artist]
        works = own["work_id"].nunique() + extra
        manifest, _ = render_artist(
            artist, works, corpus["clip_seconds"], corpus["sample_rate"],
            corpus["max_clips_per_work"], params["seed"], cache,
        )  # fmt: skip
        # The render is deterministic: the study's works come first, with the study's bytes.
        first = manifest[manifest["work_id"].isin(own["work_id"])]
        if sorted(first["sha256"]) != sorted(own["sha256"]):
            raise SystemExit(f"{artist}: the render does not repeat the study's clips")
        rows.append(manifest[~manifest["work_id"].isin(own["work_id"])])
    manifest = pd.concat(rows, ignore_index=True)
    write_table(manifest, path, CORPUS_MANIFEST)
    return manifest


def extra_features(params: dict, study: Path, cache: Path, model: str, clips: pd.Series):
    """The extra clips' features under `model`, as its features job computes them."""
    path = cache / f"features/{model}.parquet"
    if path.exists():
        return read_table(path, FEATURES)
    spec = params["models"][model]

    def loadable(name: str) -> dict:
        source = study / f"results/models/{name}"
        return {"kind": params["models"][name]["kind"], "source": str(source)}

    reference = loadable(spec["reference"]) if "reference" in spec else None
    adapter, reference_adapter, attacks = load_scorer(
        loadable(model), params["features"]["attacks"], "cpu", reference, spec.get("attacks")
    )
    batch = params["features"]["batch_size"]
    features = score_clips(
        adapter, cache / "manifest.csv", clips, attacks, batch, reference_adapter
    )
    write_table(features, path, FEATURES)
    return features


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, required=True, help="a finished study's folder")
    parser.add_argument("--extra", type=int, default=200, help="held-out works added per member")
    parser.add_argument(
        "--models", nargs="+",
        default=["ar_at_scale", "ar_reference", "diffusion_at_scale", "diffusion_base"],
    )  # fmt: skip
    parser.add_argument("--cache", type=Path, help="default: <study>/heldout_works/<extra>")
    args = parser.parse_args()
    torch.set_num_threads(TORCH_THREADS)
    params = yaml.safe_load((args.study / "params.yaml").read_text())
    cache = args.cache or args.study / f"heldout_works/{args.extra}"
    settings = DISettings.from_config(params["di"], params["seed"])
    name, corpus = music21_corpus(params)
    manifest = extra_works(params, args.study, cache, args.extra)
    added = manifest[["clip_id", "artist", "work_id"]].assign(
        artist_status="member", role="heldout", filler=False
    )
    stats_path = cache / "stats.parquet"
    if not stats_path.exists():
        stats = corpus_statistics(cache / "manifest.csv", added, corpus["sample_rate"])
        write_table(stats, stats_path, AUDIO_STATISTICS)
    stats = read_table(stats_path, AUDIO_STATISTICS)
    results = args.study / "results"
    for model in args.models:
        inputs = model_inputs(params, results, model)
        splits = inputs["splits"]
        held = splits[(splits["artist_status"] == "member") & (splits["role"] == "heldout")]
        # concat keeps the member signs (attrs), which both feature tables carry alike.
        features = pd.concat(
            [
                inputs["features"],
                extra_features(params, args.study, cache, model, manifest["clip_id"]),
            ],
            ignore_index=True,
        )
        all_stats = pd.concat([inputs["stats"], stats], ignore_index=True)
        views = {
            "study": (inputs["features"], splits, inputs["stats"]),
            f"+{args.extra} held out": (features, pd.concat([splits, added]), all_stats),
            # The control: the study's held-out works (as suspect) against the extra ones.
            # Neither side was trained on, so a detection here means the extra works differ.
            "held out vs extra": (
                features,
                pd.concat([held.assign(role="train"), added]),
                all_stats,
            ),
        }
        rows = {}
        for label, (f, s, st) in views.items():
            verdicts = pd.DataFrame(
                family_verdicts(
                    model, collections(model, f, s, st, weights=inputs["weights"]), settings
                ),
                columns=list(VERDICTS.columns),
            )
            if label == "study":  # the study's own path, to the p-value
                job = read_table(results / f"di/models/{model}/verdicts.csv", VERDICTS)
                pd.testing.assert_series_equal(verdicts["p_value"], job["p_value"])
            rows[label] = verdicts[verdicts["artist_status"] == "member"].set_index(
                ["artist", "method"]
            )[["works_suspect", "works_validation", "p_value", "shift_p", "verdict"]]
        table = pd.concat(rows, axis=1)
        print(f"\n{model} (seed {params['seed']})")
        print(table.to_string(float_format="%.4f"), flush=True)


if __name__ == "__main__":
    main()
