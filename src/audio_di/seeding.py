"""Seeds derived from names, so that a result never depends on order or batch position."""

from __future__ import annotations

import hashlib

import numpy as np


def stable_seed(*parts: object) -> int:
    """A 64-bit seed from names, stable across runs and Python versions (unlike hash())."""
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def named_rng(*parts: object) -> np.random.Generator:
    return np.random.default_rng(stable_seed(*parts))
