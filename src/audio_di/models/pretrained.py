"""What the adapters of published checkpoints share: loading rules, dtypes and text prompts.

Loading rules: safetensors weights only, never remote code, `local_files_only` when
HF_HUB_OFFLINE is set, and a missing or mismatched checkpoint stops with a message naming the
source and what was expected there.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import torch

from audio_di.seeding import stable_seed

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
# The VAE latent a diffusion adapter scores (model spec key `latent`): the posterior mean or a
# sample from the posterior.
LATENTS = ("mean", "sample")
# Pickled weights, which can run code when loaded.
PICKLED = (".bin", ".pt", ".pth", ".ckpt")
# The text condition of a clip without a caption.
PROMPT_TEMPLATE = "music by {artist}"

T = TypeVar("T")


def torch_dtype(name: str) -> torch.dtype:
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {name!r}")
    return DTYPES[name]


def choice(key: str, value: str, allowed: tuple[str, ...]) -> str:
    """A model setting checked against its allowed values."""
    if value not in allowed:
        raise ValueError(f"{key} must be one of {list(allowed)}, got {value!r}")
    return value


def offline() -> bool:
    """Whether HF_HUB_OFFLINE is set (to 1, true, yes or on, in any case)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_options(revision: str | None) -> dict[str, Any]:
    """Keyword arguments of every `from_pretrained` call."""
    return {"revision": revision, "local_files_only": offline()}


def hub_commit(source: str, revision: str | None) -> str | None:
    """The commit of hub checkpoint `source` at `revision` (default: main) that the local
    cache holds, which is what loading it read; None where the cache has no such revision."""
    from huggingface_hub import try_to_load_from_cache

    # Every checkpoint has one of these at its root: a pipeline's index or a model's config.
    for name in ("model_index.json", "config.json"):
        cached = try_to_load_from_cache(source, name, revision=revision)
        if isinstance(cached, str):
            return Path(cached).parent.name
    return None


def _is_path(source: str) -> bool:
    """A local path rather than a hub id ("name" or "owner/name")."""
    return os.path.isabs(source) or source.startswith((".", "~")) or source.count("/") > 1


def check_checkpoint(source: str, what: str, index: str, key: str, expected: str) -> None:
    """Check a local checkpoint folder before loading it: `index` (JSON) exists and has
    `key` == expected, and no weights folder has only pickled weights.

    A hub id is left to the library, whose errors `load` rewords.
    """
    folder = Path(source).expanduser()
    if not folder.exists():
        if _is_path(source):
            raise FileNotFoundError(
                f"no {what} checkpoint at {source}: the folder does not exist "
                f"(expected {index} with {key} {expected!r})"
            )
        return
    index_file = folder / index
    if not index_file.is_file():
        raise FileNotFoundError(
            f"no {what} checkpoint at {source}: expected {index} with {key} {expected!r}"
        )
    found = json.loads(index_file.read_text()).get(key)
    if found != expected:
        raise ValueError(
            f"{source} is not a {what} checkpoint: its {index} has {key} {found!r}, "
            f"expected {expected!r}"
        )
    for weights in sorted({p.parent for p in folder.rglob("*") if p.suffix in PICKLED}):
        if not any(weights.glob("*.safetensors")):
            pickled = sorted(p.name for p in weights.iterdir() if p.suffix in PICKLED)
            raise ValueError(
                f"{source}: {weights.relative_to(folder) or '.'} has only pickled weights "
                f"{pickled}; only safetensors checkpoints are loaded (convert them first)"
            )


def load(what: str, source: str, revision: str | None, loader: Callable[[], T]) -> T:
    """Run a library loader, rewording its errors to name the checkpoint."""
    try:
        return loader()
    except (OSError, ValueError) as err:
        where = " (HF_HUB_OFFLINE is set: only cached files are used)" if offline() else ""
        raise OSError(
            f"cannot load the {what} checkpoint {source!r} at revision {revision or 'default'}"
            f"{where}: {err}"
        ) from err


def load_checkpoint(
    what: str,
    cls: Any,
    source: str,
    revision: str | None,
    dtype: str,
    index: tuple[str, str, str],
) -> Any:
    """`cls.from_pretrained(source)` by the loading rules: the local folder checked first
    (`index` = (file, key, expected value)), safetensors only, `dtype` weights, and errors
    that name the checkpoint."""
    check_checkpoint(source, what, *index)
    precision = torch_dtype(dtype)
    return load(
        what,
        source,
        revision,
        lambda: cls.from_pretrained(
            source, dtype=precision, use_safetensors=True, **hub_options(revision)
        ),
    )


def load_pipeline(
    what: str, cls: Any, source: str, revision: str | None, dtype: str, device
) -> Any:
    """A diffusers pipeline of class `cls` by the loading rules, quiet, on `device`."""
    pipeline = load_checkpoint(
        what, cls, str(source), revision, dtype, ("model_index.json", "_class_name", cls.__name__)
    )
    pipeline.set_progress_bar_config(disable=True)
    return pipeline.to(device)


def prompts(meta: pd.DataFrame) -> list[str]:
    """Each clip's text condition: its caption if it has one, else PROMPT_TEMPLATE on its
    artist, else the empty (unconditional) prompt."""
    texts = []
    for _, row in meta.iterrows():
        caption, artist = row.get("caption"), row.get("artist")
        if isinstance(caption, str) and caption.strip():
            texts.append(caption.strip())
        elif artist is not None and not pd.isna(artist) and str(artist).strip():
            texts.append(PROMPT_TEMPLATE.format(artist=str(artist).strip()))
        else:
            texts.append("")
    return texts


class PromptEncoder:
    """Encodes each distinct prompt once, alone, so that a clip's condition never depends on
    the other prompts of its batch (padding), and caches the result."""

    def __init__(self, encode_one: Callable[[str], tuple[torch.Tensor, ...]]):
        self.encode_one = encode_one
        self.cache: dict[str, tuple[torch.Tensor, ...]] = {}

    def __call__(self, texts: list[str]) -> list[tuple[torch.Tensor, ...]]:
        for text in texts:
            if text not in self.cache:
                with torch.inference_mode(False), torch.no_grad():
                    self.cache[text] = self.encode_one(text)
        return [self.cache[text] for text in texts]


def pad_stack(sequences: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(length_i, dim) sequences -> (batch, longest, dim) zero-padded, and the mask (1 = real)."""
    longest = max(len(s) for s in sequences)
    padded = sequences[0].new_zeros(len(sequences), longest, sequences[0].shape[-1])
    mask = torch.zeros(len(sequences), longest, dtype=torch.long, device=padded.device)
    for i, s in enumerate(sequences):
        padded[i, : len(s)] = s
        mask[i, : len(s)] = 1
    return padded, mask


def vae_latent(posterior: Any, audio: torch.Tensor, latent: str) -> torch.Tensor:
    """The latent of each clip from its VAE posterior (diffusers' Gaussian, with mean and std):
    the mean, or a sample whose noise is fixed by the clip's audio, so that it does not depend
    on the clip's batch and a rerun draws the same one."""
    if latent == "mean":
        return posterior.mean
    generators = [torch.Generator().manual_seed(audio_seed(clip)) for clip in audio]
    return posterior.sample(generator=generators)


def audio_seed(clip: torch.Tensor) -> int:
    """A seed from a clip's samples."""
    return stable_seed(hashlib.sha256(clip.float().cpu().numpy().tobytes()).hexdigest())
