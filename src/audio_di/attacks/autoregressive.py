"""Attacks on autoregressive models, through AutoregressiveAdapter only.

Every attack starts from the clip's codes and their log-probabilities under the model. Those
are computed once per batch and shared: extract_features passes every attack a fresh per-batch
dict under the private settings key BATCH, and `_cached` memoises the codes, the conditional
log-probs and the token NLLs in it, keyed by (what, adapter identity). Called directly, without
that key, an attack simply computes what it needs. The same dict carries the optional reference
model (BATCH["reference"]) for the `reference` attack.

l_i below is the negative log-likelihood of token i (over all codebooks and steps) of the
clip's codes under its true condition. All features are per clip, so a clip's value does not
depend on the other clips of its batch.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch

from audio_di.attacks.batch import BATCH, reference_of
from audio_di.models.base import AutoregressiveAdapter


def _cached(settings: dict, key: tuple, compute: Callable[[], Any]) -> Any:
    cache = settings.get(BATCH)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.float64 else x.float()


def _codes(adapter: AutoregressiveAdapter, audio: torch.Tensor, settings: dict) -> torch.Tensor:
    return _cached(settings, ("codes", id(adapter)), lambda: adapter.tokenize(audio))


def _log_probs(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (B, K, T) and their log-probs (B, K, T, V) under the true condition, >= float32."""

    def compute():
        codes = _codes(adapter, audio, settings)
        log_probs = adapter.logits(codes, adapter.condition(meta))
        return codes, _at_least_float32(log_probs)

    return _cached(settings, ("log_probs", id(adapter)), compute)


def _token_nll(
    adapter: AutoregressiveAdapter,
    audio: torch.Tensor,
    meta: pd.DataFrame,
    settings: dict,
    null: bool = False,
) -> torch.Tensor:
    """l (B, K, T): per-token NLL of the clip's codes, under the true or the null condition."""

    def compute():
        if null:
            codes = _codes(adapter, audio, settings)
            log_probs = _at_least_float32(adapter.logits(codes, adapter.null_condition(len(codes))))
        else:
            codes, log_probs = _log_probs(adapter, audio, meta, settings)
        return -log_probs.gather(-1, codes[..., None]).squeeze(-1)

    return _cached(settings, ("nll", id(adapter), null), compute)


def _ks(settings: dict) -> list[float]:
    ks = list(settings["k"])
    if not ks or any(not 0 < k <= 100 for k in ks):
        raise ValueError(f"k must be percentages in (0, 100], got {ks}")
    return ks


def k_count(k: float, n: int) -> int:
    """Tokens in the k% tail of n: ceil(k% of n), at least 1 (k * n first, so 10% of 30 is 3)."""
    return max(1, math.ceil(k * n / 100))


def _tail_means(values: torch.Tensor, ks: list[float], highest: bool) -> dict[str, torch.Tensor]:
    """Per row of values (B, n): mean of the highest (or lowest) k% for each k, as `k<k>`."""
    ordered = values.sort(dim=1, descending=highest).values
    return {f"k{k:g}": ordered[:, : k_count(k, values.shape[1])].mean(dim=1) for k in ks}


def nll(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Negative log-likelihood of the clip's own codes under the true condition (lower: member).

    Features: `mean` (mean l over steps and codebooks), `ppl` (exp of it), and with several
    codebooks `cb<k>` (mean l of codebook k).

    Paper: Yeom et al., "Privacy Risk in Machine Learning: Analyzing the Connection to
    Overfitting", arXiv:1709.01604 (the LOSS attack).
    """
    token_nll = _token_nll(adapter, audio, meta, settings)
    mean = token_nll.flatten(1).mean(dim=1)
    out = {"mean": mean, "ppl": mean.exp()}
    if token_nll.shape[1] > 1:
        out.update({f"cb{k}": token_nll[:, k].mean(dim=1) for k in range(token_nll.shape[1])})
    return out


def min_k(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Min-K%: mean l of the k% least likely tokens (highest l), per k (lower: member).

    Paper: Shi et al., "Detecting Pretraining Data from Large Language Models",
    arXiv:2310.16789.
    """
    token_nll = _token_nll(adapter, audio, meta, settings).flatten(1)
    return _tail_means(token_nll, _ks(settings), highest=True)


def max_k(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Max-K%: mean l of the k% most likely tokens (lowest l), per k (lower: member).

    Paper: Maini et al., "LLM Dataset Inference: Did you train on my dataset?",
    arXiv:2406.06443.
    """
    token_nll = _token_nll(adapter, audio, meta, settings).flatten(1)
    return _tail_means(token_nll, _ks(settings), highest=False)


def min_k_plus(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Min-K%++: mean of the lowest k% of z_i = (log p(x_i) - mu_i) / sigma_i (higher: member).

    mu_i and sigma_i are the mean and standard deviation of log p(v) for v drawn from the
    model's own distribution at position i. Tokens with zero probability contribute nothing to
    mu and sigma; sigma is floored at 1e-12 so that a certain position gives z = 0.

    Paper: Zhang et al., "Min-K%++: Improved Baseline for Detecting Pre-Training Data from
    Large Language Models", arXiv:2404.02936.
    """
    codes, log_probs = _log_probs(adapter, audio, meta, settings)
    probs = log_probs.exp()
    finite = torch.nan_to_num(log_probs, neginf=0.0)
    mu = (probs * finite).sum(dim=-1)
    sigma = (probs * (finite - mu[..., None]).square()).sum(dim=-1).sqrt().clamp_min(1e-12)
    token = log_probs.gather(-1, codes[..., None]).squeeze(-1)
    z = ((token - mu) / sigma).flatten(1)
    return _tail_means(z, _ks(settings), highest=False)


def compressed_bytes(codes: torch.Tensor) -> list[int]:
    """zlib (level 9) length of each clip's codes (B, K, T) as int16 little-endian, codebooks
    concatenated (codebook 0's steps, then codebook 1's, ...)."""
    array = codes.cpu().numpy()
    if array.size and (array.min() < -(2**15) or array.max() >= 2**15):
        raise ValueError("codes do not fit in int16; the zlib attack cannot serialise them")
    array = np.ascontiguousarray(array.astype("<i2"))
    return [len(zlib.compress(row.tobytes(), 9)) for row in array]


def zlib_ratio(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Feature `ratio`: mean l divided by the zlib-compressed size of the codes in bytes
    (lower: member; the compressed size stands in for the clip's intrinsic complexity).

    Paper: Carlini et al., "Extracting Training Data from Large Language Models",
    arXiv:2012.07805.
    """
    codes = _codes(adapter, audio, settings)
    mean = _token_nll(adapter, audio, meta, settings).flatten(1).mean(dim=1)
    size = torch.tensor(compressed_bytes(codes), dtype=mean.dtype, device=mean.device)
    return {"ratio": mean / size}


def conditional_gap(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Feature `mean`: mean l under the true condition minus mean l under the null condition
    (lower, i.e. more negative: member; the condition helps most on clips it was trained with).

    Builds on: the conditional gap of Zhai et al., "Membership Inference on Text-to-Image
    Diffusion Models via Conditional Likelihood Discrepancy", arXiv:2405.14800 (CLiD).
    """
    true = _token_nll(adapter, audio, meta, settings).flatten(1).mean(dim=1)
    null = _token_nll(adapter, audio, meta, settings, null=True).flatten(1).mean(dim=1)
    return {"mean": true - null}


def reference(
    adapter: AutoregressiveAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Feature `mean`: mean l minus the reference model's own mean l on the same audio
    (lower: member). The reference tokenises the audio itself; it comes through
    extract_features(..., reference=...), i.e. settings[BATCH]["reference"].

    Paper: Carlini et al., "Extracting Training Data from Large Language Models",
    arXiv:2012.07805 (comparison with a reference model).
    """
    ref = reference_of(settings, adapter, AutoregressiveAdapter, "reference")
    target = _token_nll(adapter, audio, meta, settings).flatten(1).mean(dim=1)
    # The batch is mono repeated to the target's channels; give the reference its own count.
    ref_audio = audio[:, :1].expand(-1, ref.channels, -1).to(ref.device)
    calibration = _token_nll(ref, ref_audio, meta, settings).flatten(1).mean(dim=1)
    return {"mean": target - calibration.to(target.device)}
