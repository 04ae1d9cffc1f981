"""The one place attacks are registered, and feature extraction over a set of clips.

Adding an attack: a function in diffusion.py or autoregressive.py whose docstring cites its
paper, one entry in ATTACKS (keyword arguments only), and its settings under
features.attacks.<family> in workflow/schemas/params.schema.yaml (tests/test_registry.py
checks that schema and registry agree). A function takes (adapter, audio (batch, channels,
samples) on adapter.device, the batch's manifest rows, settings) and returns
{setting name: per-clip values (batch,)}.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio_di.attacks import autoregressive, diffusion
from audio_di.models.base import Adapter, AutoregressiveAdapter, DiffusionAdapter

log = logging.getLogger(__name__)

FAMILIES: dict[str, type[Adapter]] = {
    "diffusion": DiffusionAdapter,
    "autoregressive": AutoregressiveAdapter,
}


@dataclass(frozen=True, kw_only=True)
class Attack:
    name: str
    family: str
    fn: Callable[[Any, torch.Tensor, pd.DataFrame, dict], dict[str, torch.Tensor]]
    # -1 when lower values mean member, +1 when higher values do.
    member_sign: int
    defaults: Mapping[str, Any]
    # Runs with autograd on (outside inference mode); such attacks take gradients with
    # torch.autograd.grad, so model parameters never accumulate .grad.
    needs_grad: bool = False
    # Compares with a reference model, which extract_features must be given.
    needs_reference: bool = False


ATTACKS: dict[str, Attack] = {
    attack.name: attack
    for attack in (
        Attack(
            name="denoising_loss",
            family="diffusion",
            fn=diffusion.denoising_loss,
            member_sign=-1,
            defaults={"timesteps": (50, 100, 200, 300, 500), "draws": 2, "seed": 0},
        ),
        Attack(
            name="pia",
            family="diffusion",
            fn=diffusion.pia,
            member_sign=-1,
            defaults={"timesteps": (200,), "p": 4},
        ),
        Attack(
            name="pian",
            family="diffusion",
            fn=diffusion.pian,
            member_sign=-1,
            defaults={"timesteps": (200,), "p": 4},
        ),
        Attack(
            name="secmi",
            family="diffusion",
            fn=diffusion.secmi,
            member_sign=-1,
            defaults={"t_sec": 100, "k": 20},
        ),
        Attack(
            name="gradient_masking",
            family="diffusion",
            fn=diffusion.gradient_masking,
            member_sign=-1,
            defaults={"timesteps": (100, 200, 300), "draws": 1, "fraction": 0.2, "seed": 0},
            needs_grad=True,
        ),
        Attack(
            name="noise_optimisation",
            family="diffusion",
            fn=diffusion.noise_optimisation,
            member_sign=-1,
            defaults={"timestep": 100, "steps": 3, "lr": 0.05, "draws": 1, "seed": 0},
            needs_grad=True,
        ),
        Attack(
            name="gradient_norms",
            family="diffusion",
            fn=diffusion.gradient_norms,
            member_sign=-1,
            defaults={"num_timesteps": 2, "draws": 1, "seed": 0, "layers": "all"},
            needs_grad=True,
        ),
        # CLiD-style conditional gap (the name conditional_gap is the autoregressive attack's).
        Attack(
            name="clid",
            family="diffusion",
            fn=diffusion.conditional_gap,
            member_sign=-1,
            defaults={"timesteps": (50, 100, 200, 300, 500), "draws": 1, "seed": 0},
        ),
        Attack(
            name="nll",
            family="autoregressive",
            fn=autoregressive.nll,
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="min_k",
            family="autoregressive",
            fn=autoregressive.min_k,
            member_sign=-1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="max_k",
            family="autoregressive",
            fn=autoregressive.max_k,
            member_sign=-1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="min_k_plus",
            family="autoregressive",
            fn=autoregressive.min_k_plus,
            member_sign=+1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="zlib",
            family="autoregressive",
            fn=autoregressive.zlib_ratio,
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="conditional_gap",
            family="autoregressive",
            fn=autoregressive.conditional_gap,
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="reference",
            family="autoregressive",
            fn=autoregressive.reference,
            member_sign=-1,
            defaults={},
            needs_reference=True,
        ),
    )
}


def default_attacks() -> dict[str, dict[str, dict]]:
    """Every registered attack at its default settings, by family (what the audit runs
    unless given a study's features.attacks)."""
    attacks: dict[str, dict[str, dict]] = {}
    for name, attack in ATTACKS.items():
        attacks.setdefault(attack.family, {})[name] = {}
    return attacks


def _attack(name: str) -> Attack:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known attacks: {sorted(ATTACKS)}")
    return ATTACKS[name]


def attack_settings(name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every setting of attack `name`: its defaults, with `overrides`."""
    return _settings(_attack(name), overrides)


def _settings(attack: Attack, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    unknown = sorted(set(overrides or {}) - set(attack.defaults))
    if unknown:
        raise ValueError(
            f"attack {attack.name!r} has no setting(s) {unknown}; "
            f"its settings: {sorted(attack.defaults)}"
        )
    return {**attack.defaults, **(overrides or {})}


def family_of(adapter: Adapter) -> str:
    """The attack family an adapter belongs to."""
    for family, cls in FAMILIES.items():
        if isinstance(adapter, cls):
            return family
    raise ValueError(f"{type(adapter).__name__} implements neither adapter interface")


def feature_sign(column: str) -> int:
    """member_sign of the attack behind a feature column `<attack>__<setting>`."""
    return _attack(column.split("__", 1)[0]).member_sign


@contextlib.contextmanager
def _autograd(needs_grad: bool) -> Iterator[None]:
    """Inference mode, or autograd on for the attacks that take gradients."""
    if needs_grad:
        with torch.inference_mode(False), torch.enable_grad():
            yield
    else:
        with torch.inference_mode():
            yield


def attacks_for(
    adapter: Adapter, attacks: Mapping[str, Mapping[str, Any] | None], has_reference: bool
) -> dict[str, Mapping[str, Any] | None]:
    """The configured attacks that apply: a model without a reference skips, and says so,
    the attacks that need one."""
    skipped = [n for n in attacks if _attack(n).needs_reference and not has_reference]
    if skipped:
        log.info("%s has no reference model: skipping %s", type(adapter).__name__, skipped)
    return {n: s for n, s in attacks.items() if n not in skipped}


def extract_features(
    adapter: Adapter,
    audio: np.ndarray,
    meta: pd.DataFrame,
    attacks: Mapping[str, Mapping[str, Any] | None],
    batch_size: int,
    reference: Adapter | None = None,
) -> pd.DataFrame:
    """Per-clip features: clip_id, then float64 columns `<attack>__<setting>`.

    audio is (clips, samples) mono, or (clips, adapter.channels, samples), at
    adapter.sample_rate (mono clips are repeated on every channel); meta has one row per clip
    (clip_id, artist, caption, ...); attacks maps attack names to settings overriding defaults.
    reference is the model the `reference` attack calibrates against (same sample rate).
    Each attack also gets, under settings[autoregressive.BATCH], one dict per batch shared by
    all attacks: {"reference": reference} plus whatever they cache there (codes, log-probs).

    A batch that runs out of CUDA memory is retried at half the size. An attack that fails on
    a batch (other than with a ValueError, which means bad input) is retried clip by clip; a
    clip it still fails on, or scores as NaN or inf, gets a missing value and a warning naming
    the clip and the attack, and the other clips keep theirs.
    """
    if audio.ndim not in (2, 3) or len(audio) != len(meta):
        raise ValueError(
            f"audio {audio.shape} must be (clips, samples) or (clips, channels, samples) "
            f"for {len(meta)} rows"
        )
    if audio.ndim == 3 and audio.shape[1] != adapter.channels:
        raise ValueError(
            f"audio has {audio.shape[1]} channels; {type(adapter).__name__} takes "
            f"{adapter.channels} (or mono clips)"
        )
    chosen = [(_attack(name), _settings(_attack(name), s)) for name, s in attacks.items()]
    for attack, _ in chosen:
        if not isinstance(adapter, FAMILIES[attack.family]):
            raise ValueError(
                f"attack {attack.name!r} is for {attack.family} models, "
                f"but {type(adapter).__name__} is not a {FAMILIES[attack.family].__name__}"
            )
        if attack.needs_reference and reference is None:
            raise ValueError(f"attack {attack.name!r} needs a reference model; none was given")
    meta = meta.reset_index(drop=True)
    values: dict[str, np.ndarray] = {}  # column -> (clips,), NaN until scored
    errors: dict[str, Exception] = {}  # attack -> the first error it raised
    size, start = batch_size, 0
    with tqdm(total=len(audio), desc="features", unit="clip", file=sys.stderr) as progress:
        while start < len(audio):
            stop = min(start + size, len(audio))
            try:
                scored = _score_batch(adapter, chosen, audio, meta, start, stop, reference, errors)
            except torch.OutOfMemoryError:
                if size == 1:
                    raise
                size = max(1, size // 2)
                log.warning("out of memory at batch %d: retrying with batch %d", stop - start, size)
                torch.cuda.empty_cache()
                continue
            for column, (index, array) in scored.items():
                values.setdefault(column, np.full(len(audio), np.nan))[index] = array
            progress.update(stop - start)
            start = stop
    for attack, _ in chosen:
        if not any(column.startswith(f"{attack.name}__") for column in values):
            # Failing everywhere is a bad setting or a bug, not a hard clip: stop with its error.
            raise errors[attack.name]
    table = pd.DataFrame({"clip_id": meta["clip_id"].to_numpy()})
    for column, array in values.items():
        bad = ~np.isfinite(array)
        if bad.any():
            clips = meta.loc[bad, "clip_id"].tolist()
            log.warning("%s is missing for %d clip(s): %s", column, bad.sum(), clips[:10])
        table[column] = np.where(bad, np.nan, array)
    return table


def _score_batch(
    adapter: Adapter,
    chosen: list[tuple[Attack, dict[str, Any]]],
    audio: np.ndarray,
    meta: pd.DataFrame,
    start: int,
    stop: int,
    reference: Adapter | None,
    errors: dict[str, Exception],
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """column -> (clip indices, values) for clips start..stop-1 under every chosen attack."""
    chunk = np.ascontiguousarray(audio[start:stop], dtype=np.float32)
    batch = torch.from_numpy(chunk).to(adapter.device)
    if batch.dim() == 2:
        # Mono clips, repeated for adapters that take more channels.
        batch = batch[:, None].expand(-1, adapter.channels, -1)
    rows = meta.iloc[start:stop]
    shared = {"reference": reference}
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for attack, settings in chosen:
        try:
            with _autograd(attack.needs_grad):
                features = attack.fn(
                    adapter, batch, rows, {**settings, autoregressive.BATCH: shared}
                )
        except (torch.OutOfMemoryError, ValueError):
            # Out of memory is handled by the caller; a ValueError is bad input (a setting,
            # an unknown artist), which no clip-by-clip retry can mend.
            raise
        except Exception as err:
            errors.setdefault(attack.name, err)
            if stop - start == 1:
                log.warning("%s failed on clip %s: %s", attack.name, rows["clip_id"].iloc[0], err)
                continue
            log.warning("%s failed on a batch (%s); scoring its clips one by one", attack.name, err)
            singles = [
                _score_batch(
                    adapter, [(attack, settings)], audio, meta, i, i + 1, reference, errors
                )
                for i in range(start, stop)
            ]
            for column in dict.fromkeys(c for single in singles for c in single):
                parts = [single[column] for single in singles if column in single]
                out[column] = (
                    np.concatenate([i for i, _ in parts]),
                    np.concatenate([v for _, v in parts]),
                )
            continue
        index = np.arange(start, stop)
        for setting, tensor in features.items():
            out[f"{attack.name}__{setting}"] = (index, tensor.detach().double().cpu().numpy())
    return out
