"""Attacks on diffusion models, through DiffusionAdapter only.

Notation: z = adapter.encode(audio) (x0); z_t = sqrt(abar_t) z + sqrt(1 - abar_t) eps;
eps_hat = adapter.epsilon(z_t, t, cond). Noise comes only from noising.clip_noise(clip_id,
draw, seed), so a clip's features do not depend on the other clips of its batch. Noising,
errors and inversion run in float32 whatever dtype the model runs in (the dtype encode
returns).

Every function returns {feature name: per-clip values (batch,)}; the registry names columns
`<attack>__<feature>` and records which direction means member.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import torch

from audio_di.attacks.batch import reference_of
from audio_di.attacks.noising import (
    abar_of,
    detached,
    eps_prediction,
    mse,
    noised,
    per_timestep,
    tile,
    timestep_rows,
)
from audio_di.models.base import DiffusionAdapter

# -- attacks ---------------------------------------------------------------------------------


def denoising_loss(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Epsilon-prediction error at fixed timesteps under the true condition (lower: member).

    Features: `t<step>` (mean over noise draws) per timestep, and `mean` over timesteps.
    Each draw's noise is shared by all timesteps; all are scored in one forward call.

    Paper: Matsumoto, Miura and Yanai, "Membership Inference Attacks against Diffusion
    Models", arXiv:2302.03262.
    """
    timesteps = [int(t) for t in settings["timesteps"]]
    draws = int(settings["draws"])
    x0 = adapter.encode(audio)
    t, eps, x_t = noised(adapter, x0, meta, timesteps, draws, int(settings["seed"]))
    cond = tile(adapter.condition(meta), len(timesteps) * draws)
    error = mse(eps_prediction(adapter, x_t, t, cond, x0.dtype), eps)
    return per_timestep(error, timesteps, draws, len(x0))


def _pia(adapter, audio, meta, settings, normalise: bool) -> dict[str, torch.Tensor]:
    timesteps = [int(t) for t in settings["timesteps"]]
    p = float(settings["p"])
    x0 = adapter.encode(audio)
    batch, ones, copies = len(x0), [1] * (x0.dim() - 1), len(timesteps)
    cond = adapter.condition(meta)
    eps0 = eps_prediction(adapter, x0.float(), timestep_rows(0, x0.device, batch), cond, x0.dtype)
    if normalise:
        # As Kong et al.'s code (PIA repository, components.PIAN): rescale per clip so that
        # the mean absolute value is a standard normal's, sqrt(2 / pi).
        scale = eps0.abs().flatten(1).mean(dim=1).clamp_min(1e-12).view(-1, *ones)
        eps0 = eps0 / scale * math.sqrt(2 / math.pi)
    t = torch.tensor(timesteps, device=x0.device).repeat_interleave(batch)
    abar = abar_of(adapter, t, x0.dim())
    eps = eps0.repeat(copies, *ones)
    x_t = abar.sqrt() * x0.float().repeat(copies, *ones) + (1 - abar).sqrt() * eps
    pred = eps_prediction(adapter, x_t, t, tile(cond, copies), x0.dtype)
    score = (pred - eps).abs().pow(p).flatten(1).mean(dim=1).pow(1 / p).view(copies, batch)
    return {f"t{step}": score[i] for i, step in enumerate(timesteps)}


def pia(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Proximal initialisation (PIA): the model's own t=0 noise, eps0 = eps_hat(z, 0), is used
    to noise z to each timestep t; feature `t<step>` is the l_p distance (mean |.|^p, then
    ^(1/p)) between eps0 and eps_hat(z_t, t). Lower: member. Two forward calls.

    Paper: Kong et al., "An Efficient Membership Inference Attack for the Diffusion Model by
    Proximal Initialization", arXiv:2305.18355.
    """
    return _pia(adapter, audio, meta, settings, normalise=False)


def pian(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """PIAN: PIA with eps0 rescaled per clip to the mean absolute value of standard normal
    noise, sqrt(2 / pi), so that it looks like the Gaussian noise the model was trained on.

    Paper: Kong et al., "An Efficient Membership Inference Attack for the Diffusion Model by
    Proximal Initialization", arXiv:2305.18355 (their code: PIA repository, components.PIAN).
    """
    return _pia(adapter, audio, meta, settings, normalise=True)


def _ddim_step(
    adapter: DiffusionAdapter,
    x: torch.Tensor,
    t: int,
    target: int,
    cond: Any,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Deterministic DDIM (eta = 0) move of x from timestep t to `target`, up or down."""
    rows = len(x)
    eps = eps_prediction(adapter, x, timestep_rows(t, x.device, rows), cond, dtype)
    abar_t = abar_of(adapter, timestep_rows(t, x.device, 1), x.dim())
    abar_target = abar_of(adapter, timestep_rows(target, x.device, 1), x.dim())
    x0_pred = (x - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()
    return abar_target.sqrt() * x0_pred + (1 - abar_target).sqrt() * eps


def secmi(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """SecMI_stat: DDIM-invert z (as x at t=0) to t_sec - k in steps of k, invert one step
    more to t_sec and denoise it back to t_sec - k; feature `stat` is the mean squared
    distance between the two states at t_sec - k. Lower: member. t_sec / k + 1 forward calls
    over the batch. The order (up, then back down) is the authors' code's
    (get_intermediate_results: ddim_multistep to target_steps[-1] = t_sec - k, then
    ddim_singlestep up by k and back).

    Paper: Duan et al., "Are Diffusion Models Vulnerable to Membership Inference Attacks?",
    arXiv:2302.01316.
    """
    t_sec, k = int(settings["t_sec"]), int(settings["k"])
    if k <= 0 or t_sec < k or t_sec % k:
        raise ValueError(f"secmi needs 0 < k <= t_sec with t_sec a multiple of k, got {t_sec}, {k}")
    x0 = adapter.encode(audio)
    cond = adapter.condition(meta)
    x = x0.float()
    for t in range(0, t_sec - k, k):
        x = _ddim_step(adapter, x, t, t + k, cond, x0.dtype)
    up = _ddim_step(adapter, x, t_sec - k, t_sec, cond, x0.dtype)
    back = _ddim_step(adapter, up, t_sec, t_sec - k, cond, x0.dtype)
    return {"stat": mse(back, x)}


def gradient_masking(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Denoising loss on the entries of z_t where |d loss / d z_t| is largest.

    Per row (timestep, draw, clip) the `fraction` of entries with the largest input gradient
    are kept and the squared eps error is averaged over them only. Features `t<step>` and
    `mean`, as denoising_loss. Lower: member. Needs gradients (wrt the input only).

    Builds on: the loss attack of Matsumoto, Miura and Yanai, "Membership Inference Attacks
    against Diffusion Models", arXiv:2302.03262, restricted to the highest-gradient entries.
    """
    timesteps = [int(t) for t in settings["timesteps"]]
    draws, fraction = int(settings["draws"]), float(settings["fraction"])
    if not 0 < fraction <= 1:
        raise ValueError(f"gradient_masking fraction must be in (0, 1], got {fraction}")
    x0 = adapter.encode(audio).detach()
    t, eps, x_t = noised(adapter, x0, meta, timesteps, draws, int(settings["seed"]))
    x_t = x_t.requires_grad_(True)
    cond = tile(adapter.condition(meta), len(timesteps) * draws)
    error = (eps_prediction(adapter, x_t, t, cond, x0.dtype) - eps).pow(2).flatten(1)
    # A sum of per-row means, so a row's gradient does not depend on how many rows there are.
    (grad,) = torch.autograd.grad(error.mean(dim=1).sum(), x_t)
    keep = max(1, math.ceil(fraction * error.shape[1]))
    top = grad.detach().abs().flatten(1).topk(keep, dim=1).indices
    masked = error.detach().gather(1, top).mean(dim=1)
    return detached(per_timestep(masked, timesteps, draws, len(x0)))


def noise_optimisation(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Adam on a perturbation delta of z_t (from 0) to minimise ||eps_hat(z_t + delta) - eps||^2.

    Features (means over draws): `loss`, the per-clip mean squared error after `steps` Adam
    steps, and `delta_norm`, ||delta||_2. Both lower: member. A member sits near a minimum of
    the model's error, where the gradient is small and changes sign, so Adam's (roughly
    sign-sized) steps cancel and delta stays short; away from training data the gradient
    keeps its direction and delta grows by about lr per step per entry.
    Needs gradients (wrt delta only).

    Builds on: the loss attack of Matsumoto, Miura and Yanai, "Membership Inference Attacks
    against Diffusion Models", arXiv:2302.03262, after a few optimisation steps on the input.
    """
    step, draws = int(settings["timestep"]), int(settings["draws"])
    x0 = adapter.encode(audio).detach()
    batch = len(x0)
    t, eps, x_t = noised(adapter, x0, meta, [step], draws, int(settings["seed"]))
    cond = tile(adapter.condition(meta), draws)
    delta = torch.zeros_like(x_t, requires_grad=True)
    optimiser = torch.optim.Adam([delta], lr=float(settings["lr"]))
    for _ in range(int(settings["steps"])):
        # A sum over rows of per-row means: each row's gradient ignores the batch size.
        loss = mse(eps_prediction(adapter, x_t + delta, t, cond, x0.dtype), eps).sum()
        (delta.grad,) = torch.autograd.grad(loss, delta)
        optimiser.step()
    with torch.no_grad():
        final = mse(eps_prediction(adapter, x_t + delta, t, cond, x0.dtype), eps)
        norm = delta.flatten(1).norm(dim=1)
    return {
        "loss": final.view(draws, batch).mean(dim=0),
        "delta_norm": norm.view(draws, batch).mean(dim=0),
    }


def _grid(count: int, total: int) -> list[int]:
    """`count` evenly spaced timesteps, the centres of equal slices of 0 .. total - 1."""
    return [int((i + 0.5) * total / count) for i in range(count)]


def gradient_norms(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """GSA-style: per clip, the L2 norm of d loss / d theta for each parameter group.

    The loss is the clip's denoising loss averaged over `num_timesteps` evenly spaced
    timesteps and `draws` draws. Features are the group names of adapter.parameter_groups(),
    limited to `layers` ("all" or None for every group). Lower: member (training drove the
    gradient of its members towards zero). One forward and backward call per clip.

    Paper: Pang et al., "White-box Membership Inference Attacks against Diffusion Models",
    arXiv:2308.06405 (GSA).
    """
    groups = adapter.parameter_groups()
    layers = settings["layers"]
    if layers is None or layers == "all":
        layers = list(groups)
    else:
        layers = [str(layer) for layer in layers]
        unknown = sorted(set(layers) - set(groups))
        if unknown:
            raise ValueError(
                f"gradient_norms layers {unknown} unknown; this model's groups: {list(groups)}"
            )
    params = [p for layer in layers for p in groups[layer]]
    timesteps = _grid(int(settings["num_timesteps"]), adapter.num_train_timesteps)
    draws, seed = int(settings["draws"]), int(settings["seed"])
    x0 = adapter.encode(audio).detach()
    cond = adapter.condition(meta)
    norms = torch.zeros(len(layers), len(x0), device=x0.device)
    # The group of every gradient entry, in the order of `params`.
    owner = torch.cat(
        [
            torch.full((p.numel(),), g, dtype=torch.long)
            for g, layer in enumerate(layers)
            for p in groups[layer]
        ]
    ).to(x0.device)
    for i in range(len(x0)):
        clip, row = x0[i : i + 1], meta.iloc[i : i + 1]
        t, eps, x_t = noised(adapter, clip, row, timesteps, draws, seed)
        copies = len(timesteps) * draws
        clip_cond = tile(_row(cond, i), copies)
        loss = mse(eps_prediction(adapter, x_t, t, clip_cond, x0.dtype), eps).mean()
        grads = torch.autograd.grad(loss, params, allow_unused=True, materialize_grads=True)
        # Squared entries of every gradient, summed into their groups in one go.
        squares = torch.cat([grad.detach().float().reshape(-1) for grad in grads]).pow(2)
        norms[:, i] = torch.zeros(len(layers), device=x0.device).index_add_(0, owner, squares)
    return {layer: norms[g].sqrt() for g, layer in enumerate(layers)}


def _row(cond: Any, i: int) -> Any:
    """Clip i's condition, keeping the batch axis (the inverse of tile's layout)."""
    if cond is None:
        return None
    if isinstance(cond, torch.Tensor):
        return cond[i : i + 1]
    if isinstance(cond, dict):
        return {key: _row(value, i) for key, value in cond.items()}
    if isinstance(cond, tuple):
        return tuple(_row(value, i) for value in cond)
    if isinstance(cond, list):
        return cond[i : i + 1]
    raise TypeError(f"cannot index a condition of type {type(cond).__name__}")


def conditional_gap(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """CLiD-style: denoising loss under the true condition minus under the null condition,
    on the same noise. Features `t<step>` (mean over draws) and `mean` over timesteps.
    Lower (more negative): member, whose condition explains it better than for other clips.

    Paper: Zhai et al., "Membership Inference on Text-to-Image Diffusion Models via
    Conditional Likelihood Discrepancy", arXiv:2405.14800 (CLiD).
    """
    timesteps = [int(t) for t in settings["timesteps"]]
    draws = int(settings["draws"])
    x0 = adapter.encode(audio)
    t, eps, x_t = noised(adapter, x0, meta, timesteps, draws, int(settings["seed"]))
    copies = len(timesteps) * draws
    true = mse(
        eps_prediction(adapter, x_t, t, tile(adapter.condition(meta), copies), x0.dtype), eps
    )
    null_cond = tile(adapter.null_condition(len(x0)), copies)
    null = mse(eps_prediction(adapter, x_t, t, null_cond, x0.dtype), eps)
    return per_timestep(true - null, timesteps, draws, len(x0))


def reference_loss(
    adapter: DiffusionAdapter, audio: torch.Tensor, meta: pd.DataFrame, settings: dict
) -> dict[str, torch.Tensor]:
    """Denoising loss minus a reference model's, on the same noise and timestep (lower:
    member). Features `t<step>` (mean over draws) and `mean` over timesteps.

    The reference (a base checkpoint that never saw the evaluated clips) scores each clip
    under the null condition: it may not know the clip's artist, and its loss is there to
    measure how hard the audio is to denoise, not how well a label explains it. Pairing the
    noise removes the draw's own variance from the difference. The reference comes through
    extract_features(..., reference=...) (attacks.batch).

    Paper: Carlini et al., "Membership Inference Attacks From First Principles",
    arXiv:2112.03570 (offline calibration by reference models), as applied to diffusion
    losses at a fixed timestep in Carlini et al., "Extracting Training Data from Diffusion
    Models", arXiv:2301.13188.
    """
    ref = reference_of(settings, adapter, DiffusionAdapter, "reference_loss")
    timesteps = [int(t) for t in settings["timesteps"]]
    draws, seed = int(settings["draws"]), int(settings["seed"])
    x0 = adapter.encode(audio)
    ref_x0 = ref.encode(audio[:, :1].expand(-1, ref.channels, -1).to(ref.device))
    if ref_x0.shape != x0.shape:
        raise ValueError(
            f"the reference model encodes a clip as {tuple(ref_x0.shape[1:])}, the target as "
            f"{tuple(x0.shape[1:])}: paired noise needs the same shape"
        )
    copies = len(timesteps) * draws
    t, eps, x_t = noised(adapter, x0, meta, timesteps, draws, seed)
    target = mse(
        eps_prediction(adapter, x_t, t, tile(adapter.condition(meta), copies), x0.dtype), eps
    )
    t_ref, eps_ref, x_t_ref = noised(ref, ref_x0, meta, timesteps, draws, seed)
    null = tile(ref.null_condition(len(x0)), copies)
    calibration = mse(eps_prediction(ref, x_t_ref, t_ref, null, ref_x0.dtype), eps_ref)
    return per_timestep(target - calibration.to(target.device), timesteps, draws, len(x0))
