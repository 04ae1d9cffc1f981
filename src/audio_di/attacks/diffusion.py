"""Attacks on diffusion models, through DiffusionAdapter only."""

from __future__ import annotations

from typing import Any

import pandas as pd
import torch

from audio_di.models.base import DiffusionAdapter
from audio_di.seeding import stable_seed


def clip_noise(clip_id: str, draw: int, seed: int, shape: torch.Size) -> torch.Tensor:
    """Gaussian noise fixed by (seed, clip, draw), so a clip's score ignores its batch."""
    generator = torch.Generator().manual_seed(stable_seed(seed, clip_id, draw))
    return torch.randn(shape, generator=generator)


def tile(cond: Any, times: int) -> Any:
    """Stack `times` copies of a batch condition along its batch axis.

    Tensors are batch-first; a dict or tuple holds such tensors; a list holds one item per clip.
    """
    if cond is None:
        return None
    if isinstance(cond, torch.Tensor):
        return cond.repeat(times, *([1] * (cond.dim() - 1)))
    if isinstance(cond, dict):
        return {key: tile(value, times) for key, value in cond.items()}
    if isinstance(cond, tuple):
        return tuple(tile(value, times) for value in cond)
    if isinstance(cond, list):
        return cond * times
    raise TypeError(f"cannot repeat a condition of type {type(cond).__name__}")


def denoising_loss(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Epsilon-prediction error at fixed timesteps under the true condition (lower: member).

    Features: `t<step>` (mean over noise draws) per timestep, and `mean` over timesteps.
    Each draw's noise is shared by all timesteps; all are scored in one forward call.
    """
    timesteps = [int(t) for t in settings["timesteps"]]
    draws = int(settings["draws"])
    x0 = adapter.encode(audio)
    batch, shape, dtype = len(x0), x0.shape[1:], x0.dtype
    noise = torch.stack(
        [
            clip_noise(clip_id, draw, int(settings["seed"]), shape)
            for draw in range(draws)
            for clip_id in meta["clip_id"]
        ]
    ).to(x0.device)
    # Rows ordered (timestep, draw, clip); each draw's noise is shared by all timesteps.
    # Noising and the error are computed in float32, whatever dtype the model runs in.
    copies, ones = len(timesteps) * draws, [1] * len(shape)
    t = torch.tensor(timesteps, device=x0.device).repeat_interleave(draws * batch)
    abar = adapter.alphas_cumprod.to(x0.device, torch.float32)[t].view(-1, *ones)
    eps = noise.repeat(len(timesteps), *ones)
    x_t = abar.sqrt() * x0.float().repeat(copies, *ones) + (1 - abar).sqrt() * eps
    pred = adapter.epsilon(x_t.to(dtype), t, tile(adapter.condition(meta), copies))
    error = (pred.float() - eps).pow(2).flatten(1).mean(dim=1)
    error = error.view(len(timesteps), draws, batch).mean(dim=1)
    features = {f"t{step}": error[i] for i, step in enumerate(timesteps)}
    features["mean"] = error.mean(dim=0)
    return features
