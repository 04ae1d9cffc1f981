"""Synthetic collections with works as clusters, for measuring DI's calibration and power.

A clip's features are a work effect plus clip noise, in the proportion the ICC sets, so clips
of one work are correlated the way clips of one piece are in the study (README: ICC 0.18 to
0.68). Members shift some features of every suspect clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from audio_di.di.engine import Works, works_of
from audio_di.di.weights import separation


@dataclass(frozen=True)
class Scenario:
    """One synthetic collection's shape; `clip_auc` > 0.5 makes the suspect works members,
    with that per-clip AUC on each of the first `signal_features` features (all features are
    oriented: larger is more member-like), and `clip_auc` < 0.5 makes them look less
    member-like than the validation works."""

    works_s: int
    works_v: int
    features: int
    icc: float
    clips: tuple[int, int] = (2, 6)
    noise: str = "gaussian"  # gaussian, heavy (Student t, 3 df) or missing (5% of values)
    clip_auc: float = 0.5
    signal_features: int = 1
    # Real-shaped collections: the features' correlation (features x features; None:
    # independent), shared by work effects and clip noise, and a clip AUC per feature, which
    # replaces clip_auc and signal_features (real_shaped builds both from a features file).
    correlation: np.ndarray | None = field(default=None, compare=False, repr=False)
    clip_aucs: tuple[float, ...] | None = None


def _draw(rng: np.random.Generator, size, noise: str) -> np.ndarray:
    if noise == "heavy":
        return rng.standard_t(3, size) / np.sqrt(3.0)  # unit variance
    return rng.normal(size=size)


def shifts(scenario: Scenario) -> np.ndarray:
    """Each feature's shift of a member clip: a unit-variance shift d has clip AUC
    Phi(d / sqrt(2))."""
    aucs = scenario.clip_aucs
    if aucs is None:
        aucs = [scenario.clip_auc] * scenario.signal_features
        aucs += [0.5] * (scenario.features - scenario.signal_features)
    return np.sqrt(2) * stats.norm.ppf(np.asarray(aucs, float))


def collection(
    scenario: Scenario, rng: np.random.Generator, weights: np.ndarray | None = None
) -> Works:
    """Draw one collection: each work gets 2-6 clips (uniform), features of unit variance;
    `weights` are the weighted test's (shadow_weights)."""
    mix = None if scenario.correlation is None else np.linalg.cholesky(scenario.correlation).T
    sides = []
    for n_works, member in ((scenario.works_s, True), (scenario.works_v, False)):
        per_work = rng.integers(scenario.clips[0], scenario.clips[1] + 1, n_works)
        works = np.repeat(np.arange(n_works), per_work)
        effect = _draw(rng, (n_works, scenario.features), scenario.noise)
        noise = _draw(rng, (len(works), scenario.features), scenario.noise)
        if mix is not None:
            effect, noise = effect @ mix, noise @ mix
        x = np.sqrt(scenario.icc) * effect[works] + np.sqrt(1 - scenario.icc) * noise
        if member:
            x += shifts(scenario)
        if scenario.noise == "missing":
            x[rng.random(x.shape) < 0.05] = np.nan
        sides.append((x, works))
    (xs, ws), (xv, wv) = sides
    return works_of(xs, xv, ws, wv, weights=weights)


def shadow_weights(shadow: Scenario, rng: np.random.Generator) -> np.ndarray:
    """The weights a shadow model of shape `shadow` gives (di.weights.separation): an
    independent collection whose suspect works are the shadow's trained ones."""
    works = collection(shadow, rng)
    return separation(works.x[: works.suspect_works], works.x[works.suspect_works :])[1]


def null_scenarios(count: int, rng: np.random.Generator) -> list[Scenario]:
    """Random null shapes over the ranges the calibration must hold on: ICC 0.1-0.6,
    8-60 works a side (unequal), 3-30 features, three noise kinds in turn."""
    kinds = ("gaussian", "heavy", "missing")
    return [
        Scenario(
            works_s=int(rng.integers(8, 61)),
            works_v=int(rng.integers(8, 61)),
            features=int(rng.integers(3, 31)),
            icc=float(rng.uniform(0.1, 0.6)),
            noise=kinds[i % len(kinds)],
        )
        for i in range(count)
    ]
