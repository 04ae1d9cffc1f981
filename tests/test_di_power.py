"""benchmarks/di_power.py's account of why a per-clip signal does or does not add up."""

import numpy as np
import pytest
from di_power import work_power
from scipy import stats


def test_work_power_explains_clustered_signal():
    """Clips that copy their work's value carry one observation per work: the ICC is near 1
    and the works needed follow the work-level effect, not the clip count."""
    rng = np.random.default_rng(0)
    works = np.repeat(np.arange(40), 5)
    work_s, work_v = rng.normal(1.0, 1, 40), rng.normal(0, 1, 40)
    suspect = work_s[works] + rng.normal(0, 0.05, 200)
    validation = work_v[works] + rng.normal(0, 0.05, 200)
    found = work_power(suspect, validation, works, works, alpha=0.01, power=0.8)
    assert found["icc"] > 0.95
    assert found["works_per_side"] == 40
    spread = np.sqrt((work_s.var(ddof=1) + work_v.var(ddof=1)) / 2)
    effect = (work_s.mean() - work_v.mean()) / spread
    assert found["work_effect"] == pytest.approx(effect, abs=0.01)
    z = stats.norm.ppf(0.99) + stats.norm.ppf(0.8)
    assert found["works_needed"] == np.ceil(2 * (z / found["work_effect"]) ** 2)
    # Independent clips: no between-work share.
    flat = work_power(rng.normal(0.2, 1, 200), rng.normal(0, 1, 200), works, works)
    assert flat["icc"] < 0.1
    # No effect in the suspect direction: no number of works suffices.
    assert work_power(validation, suspect, works, works)["works_needed"] == np.inf
