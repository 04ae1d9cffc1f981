"""The two model interfaces. Attacks reach models only through these."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import pandas as pd
import torch


class Adapter(ABC):
    """What both families share: audio format, device and conditioning.

    `meta` is the manifest rows of the clips in a batch (columns artist, caption, ...);
    each adapter reads the columns its conditioning needs.
    """

    sample_rate: int
    channels: int = 1
    device: torch.device = torch.device("cpu")
    # The precision of the weights.
    dtype: torch.dtype = torch.float32

    @abstractmethod
    def condition(self, meta: pd.DataFrame) -> Any:
        """The condition for each clip of a batch."""

    @abstractmethod
    def null_condition(self, batch_size: int) -> Any:
        """The unconditional (classifier-free) condition for a batch."""


class DiffusionAdapter(Adapter):
    """A denoiser with a discrete-time noise schedule.

    `alphas_cumprod[t]` is abar_t, for t in 0 .. num_train_timesteps - 1.
    `prediction_type` declares what `predict` returns: "epsilon" or "v_prediction".
    """

    prediction_type: str
    alphas_cumprod: torch.Tensor

    @property
    def num_train_timesteps(self) -> int:
        return len(self.alphas_cumprod)

    @abstractmethod
    def encode(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) at `sample_rate` -> x0 (latent, or mel for pixel models)."""

    @abstractmethod
    def predict(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
        """Model output at noisy input x_t and integer timesteps t (one per row)."""

    def parameter_groups(self) -> dict[str, list[torch.nn.Parameter]]:
        """The denoiser's parameters by block (name -> parameters), for gradient attacks."""
        raise NotImplementedError(f"{type(self).__name__} does not expose parameter groups")

    def epsilon(self, x_t: torch.Tensor, t: torch.Tensor, cond: Any) -> torch.Tensor:
        """Noise prediction, converted from v where the model predicts v."""
        out = self.predict(x_t, t, cond)
        if self.prediction_type == "epsilon":
            return out
        if self.prediction_type == "v_prediction":
            abar = self.alphas_cumprod.to(x_t.device)[t].view(-1, *([1] * (x_t.dim() - 1)))
            return abar.sqrt() * out + (1 - abar).sqrt() * x_t
        raise ValueError(f"unknown prediction_type {self.prediction_type!r}")


class AutoregressiveAdapter(Adapter):
    """A causal model over discrete audio codes with `num_codebooks` streams."""

    num_codebooks: int = 1
    vocab_size: int

    @abstractmethod
    def tokenize(self, audio: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> codes (batch, num_codebooks, steps), int64."""

    @abstractmethod
    def logits(self, codes: torch.Tensor, cond: Any) -> torch.Tensor:
        """Log-probabilities (batch, num_codebooks, steps, vocab_size).

        Entry [b, k, s] is the model's distribution for codes[b, k, s] given everything
        the model may see before it, so that it lines up with the code it scores.
        """


def module_groups(net: torch.nn.Module) -> dict[str, list[torch.nn.Parameter]]:
    """A network's parameters by top-level block ("down_blocks.0", "mid_block", "conv_out" ...):
    children that are module lists count each of their entries as one block. Frozen
    parameters (e.g. random Fourier features) have no gradient and are left out."""
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, param in net.named_parameters():
        if not param.requires_grad:
            continue
        parts = name.split(".")
        top = net.get_submodule(parts[0])
        key = ".".join(parts[:2]) if isinstance(top, torch.nn.ModuleList) else parts[0]
        groups.setdefault(key, []).append(param)
    return groups
