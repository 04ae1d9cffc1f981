"""The verdict of dataset inference: detected, not detected or inconclusive, and why; the
multiple-testing correction over the artists of one model; whether the relabellings can
resolve a family at all; and the works a negative needs to mean something."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from math import comb

import numpy as np
from scipy import stats

from audio_di.di.engine import (
    DIAGNOSTIC,
    METHODS,
    WEIGHTED,
    DISettings,
    Result,
    Works,
    degenerate,
)


def works_needed(effect: float, alpha: float, power: float = 0.8) -> float:
    """Works a side for a one-sided test at `alpha` to reach `power` against a work-level
    effect (normal approximation, 2 (z_alpha + z_power)^2 / effect^2)."""
    if effect <= 0:
        return np.inf
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return float(np.ceil(2 * (z / effect) ** 2))


# The corrections over a family (params.yaml di.multiple, audio-di audit --multiple), as a
# verdict's reason names them.
CORRECTIONS = {"holm": "Holm", "fdr": "Benjamini-Hochberg"}


def adjust(p: np.ndarray, correction: str) -> np.ndarray:
    """Adjusted p-values of one family, in the input's order; detection asks them to be below
    alpha.

    holm: Holm's step-down ("A simple sequentially rejective multiple test procedure", Scand.
    J. Statistics 1979), the running maximum of (m - i + 1) p_(i): the chance of any false
    detection in the family stays at most alpha, whatever the p-values' dependence.

    fdr: Benjamini & Hochberg's step-up ("Controlling the false discovery rate", JRSS B
    1995), the running minimum from the largest of m p_(i) / i: the expected share of false
    detections among the detections stays at most alpha where the true nulls' p-values are
    independent (or positively dependent, Benjamini & Yekutieli, Ann. Statistics 2001). Here
    they are independent given the model: each artist's collection is its own works, suspect
    and validation alike, every work sits in one collection, and each p-value comes from its
    own relabellings of those works. So Benjamini-Yekutieli's log-factor, which buys control
    under any dependence (needed were artists to share one validation pool), is not paid."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; known: {sorted(CORRECTIONS)}")
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    rank = np.arange(1, m + 1)
    if correction == "holm":
        stepped = np.maximum.accumulate((m - rank + 1) * p[order])
    else:
        stepped = np.minimum.accumulate((m / rank * p[order])[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted


def unresolved(works: Works, family: int, settings: DISettings) -> str | None:
    """Why a family of `family` collections at level alpha cannot detect this one, or None.

    A permutation p-value is at least 1 / (B + 1) with B relabellings, and at least 1 / C
    with C = binomial(W_s + W_v, W_s) distinct ways to label the works. A lone detection in
    the family needs a p-value below alpha / K under either correction, so both must exceed
    K / alpha; short of that, the collection is inconclusive before any relabelling is drawn.
    """
    needed = family / settings.alpha
    if settings.permutations + 1 <= needed:
        return (
            f"too few relabellings for a family of {family} at alpha {settings.alpha}: "
            f"{settings.permutations} permutations, needs B + 1 > {needed:g}"
        )
    distinct = comb(len(works.x), works.suspect_works)
    if distinct <= needed:
        return (
            f"too few works for a family of {family} at alpha {settings.alpha}: "
            f"{works.suspect_works} suspect and {works.validation_works} validation works "
            f"have {distinct} distinct labellings, needs more than {needed:g}"
        )
    return None


DETECTED, NOT_DETECTED, INCONCLUSIVE = "detected", "not detected", "inconclusive"


def verdict(
    works: Works,
    result: Result,
    shift: Result | None,
    settings: DISettings,
    family: tuple[float, int],
    two_sided: float | None = None,
    method: str | None = None,
) -> tuple[str, str]:
    """Detected, not detected or inconclusive, with the reason in words.

    family: the adjusted p-value (`adjust`, by `settings.multiple`) and the number of
    collections tested together (the artists of one model and method); detection then asks
    the adjusted p-value to be below alpha. two_sided: for the one-sided test, the
    two-sided diagnostic's p-value (engine.DIAGNOSTIC) on the same collection, adjusted the
    same way. method: the procedure behind `result`.

    Inconclusive when the features carry nothing (none varies over the works, or, for the
    weighted test, the shadow model weighs none above 0), when the blind
    test finds the sets differ in audio statistics (so a difference in the membership
    features could be that shift, not training), when the two-sided test finds the sets
    differ but the one-sided test does not (the reason says whether the suspect works lean
    the member way, one-sided p < 1/2, or the other), or when a negative comes from fewer
    works than a test needs for 80% power against `settings.smallest_effect`."""
    alpha = settings.alpha
    if degenerate(works):
        return INCONCLUSIVE, "degenerate features: no feature varies over the works"
    if method == WEIGHTED and not (works.weights > 0).any():
        return INCONCLUSIVE, (
            "no weight: the shadow model separates its trained works by none of this model's "
            "features, so the weighted test cannot detect"
        )
    if shift is not None and shift.p < alpha:
        return INCONCLUSIVE, (
            f"the sets differ in audio statistics (blind test p = {shift.p:.3g} < alpha {alpha})"
        )
    p, tested = family
    correction = CORRECTIONS[settings.multiple]
    adjusted = f" ({correction}-adjusted over {tested} collections: {p:.3g})" if tested > 1 else ""
    if p < alpha:
        return DETECTED, f"p = {result.p:.3g}{adjusted} < alpha {alpha}"
    if two_sided is not None and two_sided < alpha:
        # A one-sided p below 1/2 is a lean the member way, which the two-sided test may only
        # have had more power to find: not a reversal.
        how = (
            "and lean the way training would push them, but not enough for the one-sided test"
            if result.p < 0.5
            else "but not in the direction training would push them"
        )
        return INCONCLUSIVE, (
            f"the sets differ ({DIAGNOSTIC} two-sided p = {two_sided:.3g} < alpha {alpha}), "
            f"{how} (one-sided p = {result.p:.3g}{adjusted})"
        )
    needed = works_needed(settings.smallest_effect, alpha)
    fewest = min(works.suspect_works, works.validation_works)
    power = (
        f"a work-level effect of {settings.smallest_effect:g} SD needs {needed:.0f} works a side "
        f"for 80% power at alpha {alpha}"
    )
    if fewest < needed:
        return INCONCLUSIVE, (
            f"too few works ({works.suspect_works} suspect, {works.validation_works} "
            f"validation) for p = {result.p:.3g}{adjusted} >= alpha {alpha} to be a negative: "
            f"{power}"
        )
    return NOT_DETECTED, (
        f"p = {result.p:.3g}{adjusted} >= alpha {alpha} with {fewest} works a side ({power})"
    )


# What each procedure is for: the first of di.methods gives the verdict, the others are shown
# beside it as diagnostics, never as the study's answer.
VERDICT_ROLE, DIAGNOSTIC_ROLE = "verdict", "diagnostic"


def in_verdict_order(found: Iterable[str], methods: Sequence[str] = METHODS) -> list[str]:
    """The methods of `found` in di.methods order: the verdict's first, then the diagnostics;
    a method that `methods` does not name comes last."""
    rank = {method: i for i, method in enumerate(methods)}
    return sorted(set(found), key=lambda method: (rank.get(method, len(rank)), method))


def role(method: str, methods: Sequence[str] = METHODS) -> str:
    return VERDICT_ROLE if method == methods[0] else DIAGNOSTIC_ROLE
