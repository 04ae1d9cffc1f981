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

- pinned, MKL told "not Intel": as pinned, with MKL's own test for an Intel CPU made to answer
  no (a preloaded library, built with the C compiler where there is one). Intel's guide says
  that a branch like MKL_CBWR=AVX2 holds on Intel CPUs only, and that other CPUs run MKL's
  AUTO branch: this row shows whether that test alone moves the weights on this machine.

On a CPU with AVX2, `pinned` and `sse4, pinned` agree, and `sse4` differs: the variables reach
the kernels, and the workflow's pin overrides what it finds. On an AVX2 CPU `native` equals
`pinned`; on an AVX-512 CPU it may differ, which is what the pin is for. The first line names
the CPU, since the pinned hashes are the same on CPUs of one maker, not across makers
(docs/running.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
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
NOT_INTEL = 'pinned, MKL told "not Intel"'
# MKL, linked into libtorch_cpu.so, asks these two of its service functions whether the CPU is
# Intel's; the library exports them, so a preloaded definition answers instead.
NOT_INTEL_SOURCE = """
int mkl_serv_intel_cpu_true(void) { return 0; }
int mkl_serv_intel_cpu(void) { return 0; }
"""

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


def cpu() -> str:
    """The CPU's model and maker, from /proc/cpuinfo where there is one."""
    fields = {}
    if Path("/proc/cpuinfo").is_file():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    model = fields.get("model name") or platform.processor() or "unknown CPU"
    return f"{model} ({fields.get('vendor_id', platform.machine())})"


def not_intel_library(folder: Path) -> Path | None:
    """A shared library that makes MKL take this CPU for another maker's, or None where no C
    compiler is found."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    source, library = folder / "not_intel.c", folder / "not_intel.so"
    source.write_text(NOT_INTEL_SOURCE)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", library, source], check=True)
    return library


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--clips", type=int, default=64)
    args = parser.parse_args()
    kinds = list(yaml.safe_load((ROOT / "params.yaml").read_text())["embedded"])
    with tempfile.TemporaryDirectory() as folder:
        environments = dict(ENVIRONMENTS)
        library = not_intel_library(Path(folder))
        if library is not None:
            environments[NOT_INTEL] = ({"LD_PRELOAD": str(library)}, True)
        print(f"CPU: {cpu()}")
        if library is None:
            print(f"(no C compiler: the row {NOT_INTEL!r} is left out)")
        print("| kind | environment | weights sha256 | last loss | ATen kernels |")
        print("|---|---|---|---|---|")
        for kind in kinds:
            for name, (outside, pin) in environments.items():
                digest, loss, capability = run(kind, outside, pin, args.epochs, args.clips).split()
                print(f"| {kind} | {name} | {digest} | {loss} | {capability} |", flush=True)


if __name__ == "__main__":
    main()
