"""Attacks on autoregressive models, through AutoregressiveAdapter only."""

from __future__ import annotations

import pandas as pd
import torch

from audio_di.models.base import AutoregressiveAdapter


def nll(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Negative log-likelihood of the clip's own codes under the true condition (lower: member).

    Feature `mean`: per-token NLL averaged over steps and codebooks.
    """
    codes = adapter.tokenize(audio)
    log_probs = adapter.logits(codes, adapter.condition(meta))
    token_nll = -log_probs.gather(-1, codes[..., None]).squeeze(-1)
    return {"mean": token_nll.flatten(1).mean(dim=1)}
