"""How much the embedded diffusion UNet memorises its member works: fine-tune a base model
(trained on filler) on the member artists' train works, then compare their clips with the
held-out works of the same artists, per clip (AUC) and per work (effect in SD), on the
denoising loss and on the reference-calibrated loss (the base as reference).

    python benchmarks/diffusion_memorisation.py [--results results] [--epochs N]
        [--schedule constant|cosine|cooldown] [--n-mels 32 --frames 16] [--channels 8 16 32]
        [--member-works N]

Reads a study's corpus and splits (results/splits/<corpus>.csv) and params.yaml's
embedded_diffusion settings and the fine_tune regime's passes and schedule, which the options
override; trains in a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from audio_di.attacks.extraction import extract_features
from audio_di.corpus.manifest import corpus_audio
from audio_di.io import read_table
from audio_di.mia import auc
from audio_di.models import load_adapter, train_model
from audio_di.models.embedded import SCHEDULES
from audio_di.splits import evaluation_sets, trained_works, training_clips
from audio_di.tables import CORPUS_MANIFEST, SPLITS

ROOT = Path(__file__).resolve().parents[1]
KIND = "embedded_diffusion"


def train(manifest, clips, config, epochs, seed, out, base=None, schedule="constant") -> float:
    meta = read_table(manifest, CORPUS_MANIFEST).set_index("clip_id").loc[clips["clip_id"]]
    audio = corpus_audio(manifest, clips["clip_id"], config["sample_rate"])
    started = time.perf_counter()
    train_model(
        KIND, audio, meta.reset_index(), config, epochs, seed, out, base=base, schedule=schedule
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--params", type=Path, default=ROOT / "params.yaml")
    parser.add_argument("--corpus", default="embedded")
    parser.add_argument("--base-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, help="default: regimes.fine_tune's")
    parser.add_argument("--schedule", choices=sorted(SCHEDULES), help="default: the same")
    parser.add_argument("--filler", type=int, default=1000)
    parser.add_argument("--member-works", type=int)
    parser.add_argument("--n-mels", type=int)
    parser.add_argument("--frames", type=int)
    parser.add_argument("--channels", type=int, nargs="+")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--draws", type=int, default=4)
    args = parser.parse_args()

    params = yaml.safe_load(args.params.read_text())
    seed, corpus = params["seed"], params["corpora"][args.corpus]
    regime = params["regimes"]["fine_tune"]
    args.epochs = args.epochs or regime["epochs"][KIND]
    args.schedule = args.schedule or regime.get("schedule", "constant")
    config = {**params["embedded"][KIND], "sample_rate": corpus["sample_rate"]}
    if args.frames:
        hop = int(corpus["clip_seconds"] * corpus["sample_rate"]) // args.frames
        config["frontend"] = {**config["frontend"], "frames": args.frames, "hop_length": hop}
        config["frontend"]["n_fft"] = max(config["frontend"]["n_fft"], hop)
    if args.n_mels:
        config["frontend"] = {**config["frontend"], "n_mels": args.n_mels}
    for key in ("batch_size", "learning_rate"):
        config[key] = getattr(args, key) or config[key]
    config["block_out_channels"] = args.channels or config["block_out_channels"]
    manifest = Path("data/corpus") / args.corpus / "manifest.csv"
    splits = read_table(args.results / f"splits/{args.corpus}.csv", SPLITS)
    config["artists"] = sorted(splits["artist"].unique())
    splits = trained_works(splits, args.member_works, seed)

    with tempfile.TemporaryDirectory() as folder:
        base, tuned = Path(folder) / "base", Path(folder) / "tuned"
        filler = training_clips(splits, args.filler, seed, members=False)
        base_s = train(manifest, filler, config, args.base_epochs, seed, base)
        members = training_clips(splits, 0, seed)
        tuned_s = train(manifest, members, config, args.epochs, seed, tuned, base, args.schedule)
        print(f"base: {len(filler)} clips x {args.base_epochs} passes in {base_s:.0f} s")
        print(f"fine-tune: {len(members)} clips x {args.epochs} passes in {tuned_s:.0f} s "
              f"({len(members) * args.epochs / tuned_s:.0f} samples/s)")  # fmt: skip
        clips = evaluation_sets(splits)
        clips = clips[clips["artist_status"] == "member"].reset_index(drop=True)
        meta = read_table(manifest, CORPUS_MANIFEST).set_index("clip_id").loc[clips["clip_id"]]
        audio = corpus_audio(manifest, clips["clip_id"], config["sample_rate"])
        settings = {"timesteps": [20, 50, 100, 200], "draws": args.draws}
        attacks = {"denoising_loss": settings, "reference_loss": settings}
        model = load_adapter({"kind": KIND, "source": tuned})
        reference = load_adapter({"kind": KIND, "source": base})
        features = extract_features(model, audio, meta.reset_index(), attacks, 64, reference)

    columns = [c for c in features.columns if c != "clip_id"]
    table = clips.merge(features, on="clip_id")
    rows = {}
    for column in columns:
        score = -table[column].to_numpy(float)  # lower loss: member
        row = {"clip AUC": auc(score[table["suspect"]], score[~table["suspect"]])}
        for artist, g in table.assign(score=score).groupby("artist"):
            means = g.groupby(["work_id", "suspect"])["score"].mean().reset_index()
            side = means.groupby("suspect")["score"]
            row[artist] = (side.mean()[True] - side.mean()[False]) / means["score"].std()
        rows[column] = row
    print("per-clip AUC, and per member artist the work-level effect (SD of work means):")
    print(pd.DataFrame(rows).T.round(3).to_string())


if __name__ == "__main__":
    main()
