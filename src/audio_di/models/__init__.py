"""Model registry: kind -> adapter class. A new kind is one module plus one line in MODELS.

Each class has `from_pretrained(source, device)` (kinds in PRETRAINED also take `revision`
and `dtype`); kinds the workflow trains itself also have
`train(audio, meta, config, epochs, seed, out_dir, device, base)`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from audio_di.config import MODEL_SETTINGS
from audio_di.models.audioldm2 import AudioLDM2
from audio_di.models.base import Adapter, AutoregressiveAdapter, DiffusionAdapter
from audio_di.models.embedded import EmbeddedAR, EmbeddedDiffusion
from audio_di.models.musicgen import MusicGen
from audio_di.models.stable_audio import StableAudio

MODELS: dict[str, type[Adapter]] = {
    "embedded_diffusion": EmbeddedDiffusion,
    "embedded_ar": EmbeddedAR,
    "musicgen": MusicGen,
    "audioldm2": AudioLDM2,
    "stable_audio": StableAudio,
}
# Kinds loaded from published checkpoints, which take a hub revision and a dtype.
PRETRAINED = ("musicgen", "audioldm2", "stable_audio")

__all__ = [
    "MODELS",
    "PRETRAINED",
    "Adapter",
    "AutoregressiveAdapter",
    "DiffusionAdapter",
    "load_adapter",
    "resolve_device",
    "train_model",
]


def resolve_device(device: str) -> str:
    """`auto` means CUDA where there is one."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _model_class(kind: str) -> type[Adapter]:
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {sorted(MODELS)}")
    return MODELS[kind]


def load_adapter(spec: dict, device: str = "cpu") -> Adapter:
    """The adapter for spec {"kind": ..., "source": folder or hub id}, on `device`.

    The spec's own `device` (e.g. "auto": CUDA where there is one) wins over the argument;
    `revision` and `dtype` (float32, float16, bfloat16) reach the kinds in PRETRAINED, while
    embedded models are float32 folders and ignore them. The scoring settings of
    config.MODEL_SETTINGS (`latent`, `window`) reach the kinds that take them; another kind
    given one is refused.
    """
    missing = [key for key in ("kind", "source") if key not in spec]
    if missing:
        raise ValueError(f"model spec {spec} lacks {missing}")
    kind = spec["kind"]
    cls = _model_class(kind)
    settings = {key: spec[key] for key in MODEL_SETTINGS if key in spec}
    refused = sorted(key for key in settings if kind not in MODEL_SETTINGS[key])
    if refused:
        raise ValueError(f"model spec {spec}: {kind} models take no {refused}")
    device = resolve_device(str(spec.get("device") or device))
    if kind not in PRETRAINED:
        return cls.from_pretrained(spec["source"], device)
    return cls.from_pretrained(
        spec["source"],
        device,
        revision=spec.get("revision"),
        dtype=spec.get("dtype") or "float32",
        **settings,
    )


def train_model(
    kind: str,
    audio: np.ndarray,
    meta: pd.DataFrame,
    config: dict,
    epochs: int,
    seed: int,
    out_dir: Path,
    device: str = "cpu",
    base: Path | None = None,
    schedule: str = "constant",
) -> pd.DataFrame:
    """Train a model of `kind` on clips (N, samples) and their manifest rows into out_dir,
    from scratch or, given `base` (a folder of the same kind), by fine-tuning that model;
    `schedule` shapes the learning rate over the steps (embedded.SCHEDULES).

    Returns the loss log (epoch, loss), also written to out_dir/loss.csv.
    """
    cls = _model_class(kind)
    if not hasattr(cls, "train"):
        trainable = sorted(k for k, c in MODELS.items() if hasattr(c, "train"))
        raise ValueError(f"model kind {kind!r} is not trained here; trainable kinds: {trainable}")
    return cls.train(audio, meta, config, epochs, seed, Path(out_dir), device, base, schedule)
