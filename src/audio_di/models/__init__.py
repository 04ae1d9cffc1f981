"""Model registry: kind -> adapter class. A new kind is one module plus one line in MODELS.

Each class has `from_pretrained(source, device)`; kinds the workflow trains itself also have
`train(audio, meta, config, epochs, seed, out_dir, device)`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from audio_di.models.base import Adapter, AutoregressiveAdapter, DiffusionAdapter
from audio_di.models.embedded import EmbeddedAR, EmbeddedDiffusion

MODELS: dict[str, type[Adapter]] = {
    "embedded_diffusion": EmbeddedDiffusion,
    "embedded_ar": EmbeddedAR,
}

__all__ = [
    "MODELS",
    "Adapter",
    "AutoregressiveAdapter",
    "DiffusionAdapter",
    "load_adapter",
    "train_model",
]


def _model_class(kind: str) -> type[Adapter]:
    if kind not in MODELS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {sorted(MODELS)}")
    return MODELS[kind]


def load_adapter(spec: dict, device: str = "cpu") -> Adapter:
    """The adapter for spec {"kind": ..., "source": folder or hub id}, on `device`."""
    missing = [key for key in ("kind", "source") if key not in spec]
    if missing:
        raise ValueError(f"model spec {spec} lacks {missing}")
    return _model_class(spec["kind"]).from_pretrained(spec["source"], device)


def train_model(
    kind: str,
    audio: np.ndarray,
    meta: pd.DataFrame,
    config: dict,
    epochs: int,
    seed: int,
    out_dir: Path,
    device: str = "cpu",
) -> pd.DataFrame:
    """Train a model of `kind` on clips (N, samples) and their manifest rows into out_dir.

    Returns the loss log (epoch, loss), also written to out_dir/loss.csv.
    """
    cls = _model_class(kind)
    if not hasattr(cls, "train"):
        trainable = sorted(k for k, c in MODELS.items() if hasattr(c, "train"))
        raise ValueError(f"model kind {kind!r} is not trained here; trainable kinds: {trainable}")
    return cls.train(audio, meta, config, epochs, seed, Path(out_dir), device)
