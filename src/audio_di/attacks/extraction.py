"""Feature extraction: every chosen attack of the registry over a set of clips, in batches,
through the model adapters."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from audio_di.attacks import autoregressive, diffusion
from audio_di.attacks.batch import BATCH
from audio_di.attacks.registry import Attack, attack_named, attack_settings
from audio_di.models.base import Adapter, AutoregressiveAdapter, DiffusionAdapter
from audio_di.tables import MEMBER_SIGNS

log = logging.getLogger(__name__)

FAMILIES: dict[str, type[Adapter]] = {
    "diffusion": DiffusionAdapter,
    "autoregressive": AutoregressiveAdapter,
}


# The modules whose functions the registry names.
MODULES = {"diffusion": diffusion, "autoregressive": autoregressive}


def attack_function(attack: Attack) -> Callable[..., dict[str, torch.Tensor]]:
    """The function that the registry names for `attack`, looked up when it runs, so that a
    test may patch it in its module."""
    module, name = attack.fn.split(".")
    return getattr(MODULES[module], name)


def family_of(adapter: Adapter) -> str:
    """The attack family an adapter belongs to."""
    for family, cls in FAMILIES.items():
        if isinstance(adapter, cls):
            return family
    raise ValueError(f"{type(adapter).__name__} implements neither adapter interface")


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
    skipped = [n for n in attacks if attack_named(n).needs_reference and not has_reference]
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
    """Per-clip features: clip_id, then float64 columns `<attack>__<setting>`, with each
    column's member sign in the table's attrs (tables.MEMBER_SIGNS), which the parquet keeps.

        audio is (clips, samples) mono, or (clips, adapter.channels, samples), at
        adapter.sample_rate (mono clips are repeated on every channel); meta has one row per clip
        (clip_id, artist, caption, ...); attacks maps attack names to settings overriding defaults.
        reference is the model the `reference` attack calibrates against (same sample rate).
        Each attack also gets, under settings[BATCH], one dict per batch shared by
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
    chosen = [(attack_named(name), attack_settings(name, s)) for name, s in attacks.items()]
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
    signs = {attack.name: attack.member_sign for attack, _ in chosen}
    table.attrs[MEMBER_SIGNS] = {c: signs[c.split("__", 1)[0]] for c in values}
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
                features = attack_function(attack)(
                    adapter, batch, rows, {**settings, BATCH: shared}
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
