"""The one place attacks are registered, and feature extraction over a set of clips.

Adding an attack: a function in diffusion.py or autoregressive.py, plus one line in ATTACKS.
A function takes (adapter, audio (batch, channels, samples) on adapter.device, the batch's
manifest rows, settings) and returns {setting name: per-clip values (batch,)}.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio_di.attacks import autoregressive, diffusion
from audio_di.models.base import Adapter, AutoregressiveAdapter, DiffusionAdapter

FAMILIES: dict[str, type[Adapter]] = {
    "diffusion": DiffusionAdapter,
    "autoregressive": AutoregressiveAdapter,
}


@dataclass(frozen=True)
class Attack:
    name: str
    family: str
    fn: Callable[[Any, torch.Tensor, pd.DataFrame, dict], dict[str, torch.Tensor]]
    # -1 when lower values mean member, +1 when higher values do.
    member_sign: int
    defaults: Mapping[str, Any]


ATTACKS: dict[str, Attack] = {
    attack.name: attack
    for attack in (
        Attack(
            "denoising_loss",
            "diffusion",
            diffusion.denoising_loss,
            -1,
            {"timesteps": (50, 100, 200, 300, 500), "draws": 2, "seed": 0},
        ),
        Attack("nll", "autoregressive", autoregressive.nll, -1, {}),
    )
}


def _attack(name: str) -> Attack:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known attacks: {sorted(ATTACKS)}")
    return ATTACKS[name]


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


def extract_features(
    adapter: Adapter,
    audio: np.ndarray,
    meta: pd.DataFrame,
    attacks: Mapping[str, Mapping[str, Any] | None],
    batch_size: int,
) -> pd.DataFrame:
    """Per-clip features: clip_id, then float64 columns `<attack>__<setting>`.

    audio is (clips, samples) mono at adapter.sample_rate; meta has one row per clip
    (clip_id, artist, caption, ...); attacks maps attack names to settings overriding defaults.
    """
    if audio.ndim != 2 or len(audio) != len(meta):
        raise ValueError(f"audio {audio.shape} must be (clips, samples) for {len(meta)} rows")
    chosen = [(_attack(name), _settings(_attack(name), s)) for name, s in attacks.items()]
    for attack, _ in chosen:
        if not isinstance(adapter, FAMILIES[attack.family]):
            raise ValueError(
                f"attack {attack.name!r} is for {attack.family} models, "
                f"but {type(adapter).__name__} is not a {FAMILIES[attack.family].__name__}"
            )
    meta = meta.reset_index(drop=True)
    columns: dict[str, list[np.ndarray]] = {}
    starts = range(0, len(audio), batch_size)
    with torch.inference_mode():
        for start in tqdm(starts, desc="features", unit="batch", file=sys.stderr):
            chunk = np.ascontiguousarray(audio[start : start + batch_size], dtype=np.float32)
            # Mono clips, repeated for adapters that take more channels.
            batch = torch.from_numpy(chunk)[:, None].to(adapter.device)
            batch = batch.expand(-1, adapter.channels, -1)
            rows = meta.iloc[start : start + batch_size]
            for attack, settings in chosen:
                for setting, values in attack.fn(adapter, batch, rows, settings).items():
                    column = f"{attack.name}__{setting}"
                    columns.setdefault(column, []).append(values.double().cpu().numpy())
    table = pd.DataFrame({"clip_id": meta["clip_id"].to_numpy()})
    for column, parts in columns.items():
        table[column] = np.concatenate(parts).astype(np.float64)
    return table
