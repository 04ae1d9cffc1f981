"""The verdict of dataset inference: detected, not detected or inconclusive, and why; Holm's
adjustment over the artists of one model; and the works a negative needs to mean something."""

from __future__ import annotations

import numpy as np
from scipy import stats

from audio_di.di.engine import DIAGNOSTIC, DISettings, Result, Works, degenerate


def works_needed(effect: float, alpha: float, power: float = 0.8) -> float:
    """Works a side for a one-sided test at `alpha` to reach `power` against a work-level
    effect (normal approximation, 2 (z_alpha + z_power)^2 / effect^2)."""
    if effect <= 0:
        return np.inf
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return float(np.ceil(2 * (z / effect) ** 2))


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm, "A simple sequentially rejective multiple
    test procedure", Scand. J. Statistics 1979): rejecting where they are below alpha keeps
    the chance of any false detection among the tests at most alpha, whatever their
    dependence."""
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    stepped = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    adjusted = np.empty(m)
    adjusted[order] = stepped
    return adjusted


DETECTED, NOT_DETECTED, INCONCLUSIVE = "detected", "not detected", "inconclusive"


def verdict(
    works: Works,
    result: Result,
    shift: Result | None,
    settings: DISettings,
    family: tuple[float, int],
    two_sided: float | None = None,
) -> tuple[str, str]:
    """Detected, not detected or inconclusive, with the reason in words.

    family: the Holm-adjusted p-value and the number of collections tested together (the
    artists of one model and method); detection then asks the adjusted p-value to be below
    alpha, so that alpha bounds the chance of any false detection among them. two_sided:
    for the one-sided test, the Holm-adjusted p-value of the two-sided diagnostic
    (engine.DIAGNOSTIC) on the same collections.

    Inconclusive when the features carry nothing (none varies over the works), when the blind
    test finds the sets differ in audio statistics (so a difference in the membership
    features could be that shift, not training), when the two-sided test finds the sets
    differ but the one-sided test does not (they differ, but not the way training would push
    them), or when a negative comes from fewer works than a test needs for 80% power against
    `settings.smallest_effect`."""
    alpha = settings.alpha
    if degenerate(works):
        return INCONCLUSIVE, "degenerate features: no feature varies over the works"
    if shift is not None and shift.p < alpha:
        return INCONCLUSIVE, (
            f"the sets differ in audio statistics (blind test p = {shift.p:.3g} < alpha {alpha})"
        )
    p, tested = family
    adjusted = f" (Holm-adjusted over {tested} collections: {p:.3g})" if tested > 1 else ""
    if p < alpha:
        return DETECTED, f"p = {result.p:.3g}{adjusted} < alpha {alpha}"
    if two_sided is not None and two_sided < alpha:
        return INCONCLUSIVE, (
            f"the sets differ ({DIAGNOSTIC} two-sided p = {two_sided:.3g} < alpha {alpha}), but "
            f"not in the direction training would push them (one-sided p = {result.p:.3g}"
            f"{adjusted})"
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
            f"validation): {power}"
        )
    return NOT_DETECTED, (
        f"p = {result.p:.3g}{adjusted} >= alpha {alpha} with {fewest} works a side ({power})"
    )
