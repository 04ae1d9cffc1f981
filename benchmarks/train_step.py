"""How fast is one training step of the study's diffusion fine-tune, and what would make it
faster? Times a step (loss, backward, AdamW) of the embedded diffusion model at the study's
architecture and batch size (params.yaml `embedded`) on random mels, each variant in a fresh
process with the workflow's pinned math, one after the other in one run:

    python benchmarks/train_step.py [--steps 30]

Variants: the study (one thread); two threads; channels-last tensors; PyTorch's own
convolutions instead of oneDNN's. Only the first keeps the study's weights: another thread
count or kernel changes the sums' order (docs/running.md).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {
    "study (1 thread)": "",
    "2 threads": "torch.set_num_threads(2)",
    "channels-last": "model.parts['net'].to(memory_format=torch.channels_last)",
    "no oneDNN": "torch.backends.mkldnn.enabled = False",
}

# Run in a fresh interpreter, so that the libraries read the pinned environment when they start.
CHILD = """
import sys, time
from pathlib import Path
from audio_di.config import pin_math
pin_math()
import torch, yaml
from audio_di.models.embedded import EmbeddedDiffusion
torch.set_num_threads(1)
study = yaml.safe_load(Path(sys.argv[1]).read_text())
config = {**study["embedded"]["embedded_diffusion"], "artists": list("abcdefghij"),
          "sample_rate": study["corpora"]["embedded"]["sample_rate"]}
config.update(EmbeddedDiffusion._library_configs(config))
model = EmbeddedDiffusion(config)
exec(sys.argv[3])
net = model.parts["net"].train()
generator = torch.Generator().manual_seed(0)
shape = (config["batch_size"], 1, config["frontend"]["n_mels"], config["frontend"]["frames"])
x0 = torch.randn(shape, generator=generator)
if "channels_last" in sys.argv[3]:
    x0 = x0.contiguous(memory_format=torch.channels_last)
cond = torch.randint(len(config["artists"]), (shape[0],), generator=generator)
optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3, foreach=True)
def step():
    loss = model._loss(x0, cond, generator)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
for _ in range(5):
    step()
start = time.perf_counter()
for _ in range(int(sys.argv[2])):
    step()
print(1000 * (time.perf_counter() - start) / int(sys.argv[2]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    base = None
    for name, setup in VARIANTS.items():
        command = [sys.executable, "-c", CHILD, str(ROOT / "params.yaml"), str(args.steps), setup]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        ms = float(done.stdout.strip().splitlines()[-1])
        base = base or ms
        print(f"{name:18s} {ms:7.1f} ms a step   {base / ms:5.2f}x the study's speed", flush=True)


if __name__ == "__main__":
    main()
