"""Do the study's models depend on the CPU's instruction set? Trains each embedded kind, at
the study's architecture (params.yaml `embedded`), on the same synthetic clips in a fresh
process per environment, and prints the sha256 of its weights.

    python benchmarks/isa_pin.py [--epochs 2] [--clips 64]

Environments:
- native: the math libraries pick their kernels by this CPU (no PINNED_MATH variable set);
- sse4: an older CPU, emulated: every library capped below AVX2;
- pinned: audio_di.config.pin_math() first, as every job of the workflow runs;
- sse4, pinned: the older CPU's variables set outside, then pin_math(), as a user's
  environment meets the workflow.

On a CPU with AVX2, `pinned` and `sse4, pinned` agree, and `sse4` differs: the variables reach
the kernels, and the workflow's pin overrides what it finds. On an AVX2 CPU `native` equals
`pinned`; on an AVX-512 CPU it may differ, which is what the pin is for.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

from audio_di.config import PINNED_MATH

ROOT = Path(__file__).resolve().parents[1]
SSE4 = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_CBWR": "SSE4_2",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
}
ENVIRONMENTS = {
    "native": ({}, False),
    "sse4": (SSE4, False),
    "pinned": ({}, True),
    "sse4, pinned": (SSE4, True),
}

# Run in a fresh interpreter, so that the libraries read the environment when they start.
CHILD = """
import hashlib, sys, tempfile
from pathlib import Path
if sys.argv[1] == "pin":
    from audio_di.config import pin_math
    pin_math()
import numpy as np, pandas as pd, torch, yaml
from audio_di.models import train_model
torch.set_num_threads(1)
kind, epochs, n = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
study = yaml.safe_load(Path(sys.argv[5]).read_text())
rate = study["corpora"]["embedded"]["sample_rate"]
seconds = study["corpora"]["embedded"]["clip_seconds"]
rng = np.random.default_rng(0)
t = np.arange(int(rate * seconds)) / rate
freqs = rng.uniform(100, 2000, (n, 3))
audio = (0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(1)).astype(np.float32)
meta = pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)],
                     "artist": [f"a{i % 4}" for i in range(n)], "caption": ""})
config = {**study["embedded"][kind], "sample_rate": rate}
with tempfile.TemporaryDirectory() as out:
    log = train_model(kind, audio, meta, config, epochs, 0, Path(out))
    digest = hashlib.sha256((Path(out) / "model.safetensors").read_bytes()).hexdigest()
print(digest[:16], f"{log['loss'].iloc[-1]:.9f}", torch.backends.cpu.get_cpu_capability())
"""


def run(kind: str, outside: dict, pin: bool, epochs: int, clips: int) -> str:
    env = {k: v for k, v in os.environ.items() if k not in PINNED_MATH} | outside
    command = [sys.executable, "-c", CHILD, "pin" if pin else "-", kind, str(epochs),
               str(clips), str(ROOT / "params.yaml")]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--clips", type=int, default=64)
    args = parser.parse_args()
    kinds = list(yaml.safe_load((ROOT / "params.yaml").read_text())["embedded"])
    print("| kind | environment | weights sha256 | last loss | ATen kernels |")
    print("|---|---|---|---|---|")
    for kind in kinds:
        for name, (outside, pin) in ENVIRONMENTS.items():
            digest, loss, capability = run(kind, outside, pin, args.epochs, args.clips).split()
            print(f"| {kind} | {name} | {digest} | {loss} | {capability} |", flush=True)


if __name__ == "__main__":
    main()
