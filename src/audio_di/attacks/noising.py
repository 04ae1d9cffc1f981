"""What the diffusion attacks share: noise fixed by (seed, clip, draw), noised inputs for rows
ordered (timestep, draw, clip), float32 errors and per-timestep features.

Noise comes only from clip_noise, so a clip's features do not depend on the other clips of its
batch. Noising and errors run in float32 whatever dtype the model runs in.
"""

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


def noise_rows(meta: pd.DataFrame, draws: int, seed: int, shape: torch.Size) -> torch.Tensor:
    """Noise rows ordered (draw, clip), each fixed by (seed, clip, draw)."""
    clip_ids = list(meta["clip_id"])
    return torch.stack(
        [clip_noise(clip_id, draw, seed, shape) for draw in range(draws) for clip_id in clip_ids]
    )


def abar_of(adapter: DiffusionAdapter, t: torch.Tensor, dims: int) -> torch.Tensor:
    """abar_t in float32 for integer timesteps t, shaped to broadcast over `dims`-dim rows."""
    abar = adapter.alphas_cumprod.to(t.device, torch.float32)[t]
    return abar.view(-1, *([1] * (dims - 1)))


def timestep_rows(timesteps: Any, device: torch.device, rows: int) -> torch.Tensor:
    """Integer timesteps, one per row, from an int or a per-row sequence."""
    if isinstance(timesteps, int):
        return torch.full((rows,), timesteps, device=device, dtype=torch.long)
    return torch.as_tensor(timesteps, device=device, dtype=torch.long)


def noised(
    adapter: DiffusionAdapter,
    x0: torch.Tensor,
    meta: pd.DataFrame,
    timesteps: list[int],
    draws: int,
    seed: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(t, eps, x_t) for rows ordered (timestep, draw, clip), eps and x_t in float32.

    Each draw's noise is shared by all timesteps, so timesteps are compared on equal noise.
    """
    batch, shape = len(x0), x0.shape[1:]
    ones = [1] * len(shape)
    noise = noise_rows(meta, draws, seed, shape).to(x0.device)
    t = torch.tensor(timesteps, device=x0.device).repeat_interleave(draws * batch)
    abar = abar_of(adapter, t, x0.dim())
    eps = noise.repeat(len(timesteps), *ones)
    x_t = abar.sqrt() * x0.float().repeat(len(timesteps) * draws, *ones) + (1 - abar).sqrt() * eps
    return t, eps, x_t


def eps_prediction(
    adapter: DiffusionAdapter, x_t: torch.Tensor, t: torch.Tensor, cond: Any, dtype: torch.dtype
) -> torch.Tensor:
    """Noise prediction in float32, the model running in `dtype`."""
    return adapter.epsilon(x_t.to(dtype), t, cond).float()


def mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error per row."""
    return (pred - target).pow(2).flatten(1).mean(dim=1)


def per_timestep(
    error: torch.Tensor, timesteps: list[int], draws: int, batch: int
) -> dict[str, torch.Tensor]:
    """Rows (timestep, draw, clip) -> `t<step>` (mean over draws) and `mean` over timesteps."""
    error = error.view(len(timesteps), draws, batch).mean(dim=1)
    features = {f"t{step}": error[i] for i, step in enumerate(timesteps)}
    features["mean"] = error.mean(dim=0)
    return features


def detached(features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {name: value.detach() for name, value in features.items()}
