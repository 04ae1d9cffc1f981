"""Attack throughput on randomly initialised MusicGen, AudioLDM2 and Stable Audio models.

Builds each model with `save_random_checkpoint(kind, folder, size)` (size "full": the layer
sizes of facebook/musicgen-small, cvssp/audioldm2-music, stabilityai/stable-audio-open-1.0;
"tiny": the test models), loads it through `load_adapter` as a user's checkpoint, and times
`extract_features` for every attack of the model's family at its default settings on
synthetic clips. Random weights make the scores meaningless but the cost real.

Prints one Markdown table row per (model, attack): clips/s and peak GPU memory, ready to
paste into benchmarks/RESULTS.md.

Usage: python benchmarks/real_models.py [--size full] [--device cuda] [--dtype bfloat16]
       [--kinds musicgen stable_audio] [--clips 16] [--seconds 10] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audio_di.attacks.extraction import extract_features, family_of
from audio_di.attacks.registry import ATTACKS
from audio_di.models import PRETRAINED, load_adapter
from audio_di.testing import SIZES, save_random_checkpoint


def synthetic_clips(n: int, seconds: float, sample_rate: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Tone mixtures plus a little noise, two artists."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freqs = rng.uniform(100, 0.2 * sample_rate, (n, 3))
    audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
    audio += 0.01 * rng.standard_normal(audio.shape)
    meta = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n)],
            "artist": [f"artist {i % 2}" for i in range(n)],
            "caption": "",
        }
    )
    return audio.astype(np.float32), meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="full")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    parser.add_argument("--kinds", nargs="+", choices=PRETRAINED, default=list(PRETRAINED))
    parser.add_argument("--attacks", nargs="+", help="a subset of the family's attacks")
    parser.add_argument("--clips", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"\n{name}, torch {torch.__version__}, size {args.size}, {args.dtype}, "
        f"{args.clips} clips of {args.seconds} s, batch {args.batch_size}\n"
    )
    print("| model | attack | clips/s | peak GPU memory (GiB) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.kinds:
            folder = Path(tmp) / kind
            save_random_checkpoint(kind, folder, args.size)
            spec = {"kind": kind, "source": str(folder), "dtype": args.dtype}
            adapter = load_adapter(spec, str(device))
            reference = load_adapter(spec, str(device))
            audio, meta = synthetic_clips(args.clips, args.seconds, adapter.sample_rate)
            family = family_of(adapter)
            names = [n for n, a in ATTACKS.items() if a.family == family]
            # Warm-up (prompt encodings, kernels) on one clip, so no attack pays for it.
            extract_features(adapter, audio[:1], meta[:1], {names[0]: {}}, 1)
            for attack in [n for n in names if not args.attacks or n in args.attacks]:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                    torch.cuda.reset_peak_memory_stats(device)
                start = time.perf_counter()
                extract_features(
                    adapter, audio, meta, {attack: {}}, args.batch_size, reference=reference
                )
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                    peak = f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f}"
                else:
                    peak = "-"
                rate = args.clips / (time.perf_counter() - start)
                print(f"| {kind} ({args.size}) | {attack} | {rate:.2f} | {peak} |", flush=True)
            del adapter, reference
            if device.type == "cuda":
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
