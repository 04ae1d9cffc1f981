"""Speed of the diffusion attacks on a default-sized embedded diffusion model.

Trains the study's embedded diffusion architecture (params.yaml `embedded`) for one epoch on
synthetic clips of the study's clip length, then
  1. scores denoising_loss with the batched extractor (`extract_features`) and with a naive
     loop (one forward call per clip, timestep and draw), checks that both give the same
     numbers, and prints clips/s of each and their ratio;
  2. with --per-attack, prints clips/s of every registered diffusion attack at its defaults,
     and of the study's diffusion attacks at params.yaml's settings. An attack that needs a
     reference model gets a second model of the same architecture, which costs what the
     study's reference (the base) costs.

Usage: python benchmarks/attacks.py [--device cuda] [--threads 1] [--clips 256] [--per-attack]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from audio_di.attacks.extraction import extract_features
from audio_di.attacks.noising import clip_noise
from audio_di.attacks.registry import ATTACKS
from audio_di.models import load_adapter, train_model

# The study's own corpus and model settings, so that the benchmark follows params.yaml.
PARAMS = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())
CORPUS = next(iter(PARAMS["corpora"].values()))
SAMPLE_RATE = CORPUS["sample_rate"]
SECONDS = CORPUS["clip_seconds"]
CONFIG = {**PARAMS["embedded"]["embedded_diffusion"], "sample_rate": SAMPLE_RATE}


def synthetic_clips(n: int, seed: int = 0, artists: int = 4) -> tuple[np.ndarray, pd.DataFrame]:
    """Sine mixtures plus a little noise; the artist sets the pitch range."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SAMPLE_RATE * SECONDS)) / SAMPLE_RATE
    labels = np.arange(n) % artists
    freqs = 110 * (1 + labels[:, None]) * rng.uniform(1, 2, (n, 3))
    audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
    audio += 0.01 * rng.standard_normal(audio.shape)
    meta = pd.DataFrame(
        {
            "clip_id": [f"c{seed}_{i}" for i in range(n)],
            "artist": [f"artist{a}" for a in labels],
            "caption": "",
        }
    )
    return audio.astype(np.float32), meta


def naive_denoising_loss(adapter, audio: np.ndarray, meta: pd.DataFrame, settings: dict):
    """denoising_loss__mean, one forward call per clip, timestep and draw."""
    out = []
    with torch.inference_mode():
        for i in range(len(audio)):
            x = torch.from_numpy(audio[i : i + 1])[:, None].to(adapter.device)
            x0 = adapter.encode(x)
            cond = adapter.condition(meta.iloc[i : i + 1])
            errors = []
            for step in settings["timesteps"]:
                t = torch.tensor([step], device=adapter.device)
                abar = adapter.alphas_cumprod.to(adapter.device, torch.float32)[step]
                for draw in range(settings["draws"]):
                    eps = clip_noise(meta["clip_id"].iloc[i], draw, settings["seed"], x0.shape[1:])
                    eps = eps[None].to(adapter.device)
                    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
                    pred = adapter.epsilon(x_t, t, cond)
                    errors.append((pred - eps).pow(2).mean().item())
            out.append(np.mean(errors))
    return np.array(out)


def trained(audio: np.ndarray, meta: pd.DataFrame, seed: int, device: torch.device):
    """The study's embedded diffusion architecture after one epoch on the clips."""
    with tempfile.TemporaryDirectory() as folder:
        train_model("embedded_diffusion", audio, meta, CONFIG, 1, seed, Path(folder), str(device))
        return load_adapter({"kind": "embedded_diffusion", "source": folder}, device=device)


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--clips", type=int, default=256, help="clips scored (and trained on)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--per-attack", action="store_true", help="time every diffusion attack")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), torch threads: {torch.get_num_threads()}")

    audio, meta = synthetic_clips(args.clips)
    adapter, reference = (trained(audio, meta, seed, device) for seed in (0, 1))

    settings = dict(ATTACKS["denoising_loss"].defaults)
    attacks = {"denoising_loss": settings}
    # Warm-up, so that neither side pays for first-call setup.
    extract_features(adapter, audio[:16], meta[:16], attacks, args.batch_size)
    naive_denoising_loss(adapter, audio[:2], meta[:2], settings)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    table, batched_s = timed(
        lambda: (extract_features(adapter, audio, meta, attacks, args.batch_size), sync())[0]
    )
    naive, naive_s = timed(lambda: naive_denoising_loss(adapter, audio, meta, settings))
    np.testing.assert_allclose(table["denoising_loss__mean"], naive, rtol=1e-4, atol=1e-6)
    n = len(audio)
    print(
        f"denoising_loss {settings}: {n} clips, batch {args.batch_size}\n"
        f"  batched: {n / batched_s:8.1f} clips/s\n"
        f"  naive:   {n / naive_s:8.1f} clips/s\n"
        f"  ratio:   {naive_s / batched_s:8.1f}x  (the two agree to rtol 1e-4)"
    )

    if args.per_attack:
        study = PARAMS["features"]["attacks"]["diffusion"]
        defaults = {a.name: None for a in ATTACKS.values() if a.family == "diffusion"}
        for title, attacks in [("registry defaults", defaults), ("params.yaml", study)]:
            total = 0.0
            print(f"per attack, at {title}:")
            for name, settings in attacks.items():
                chosen = {name: settings}
                _, seconds = timed(
                    lambda chosen=chosen: (
                        extract_features(adapter, audio, meta, chosen, args.batch_size, reference),
                        sync(),
                    )
                )
                total += seconds
                print(f"  {name:20s} {n / seconds:8.1f} clips/s  ({seconds:.2f} s)")
            per_1000 = 1000 * total / n
            print(f"  {'all':20s} {n / total:8.1f} clips/s  ({per_1000:.1f} s per 1000 clips)")


if __name__ == "__main__":
    main()
