import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from audio_di.mia import auc, bootstrap_auc, membership_metrics, tpr_at_fpr


def test_auc_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40).astype(float), rng.integers(0, 4, 60).astype(float)
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(60)], np.r_[pos, neg])
    assert auc(pos, neg) == pytest.approx(expected)


def test_bootstrap_interval_covers_the_estimate():
    rng = np.random.default_rng(1)
    pos, neg = rng.normal(1, 1, 200), rng.normal(0, 1, 200)
    value, lo, hi = bootstrap_auc(pos, neg, 500, seed=0)
    assert lo < value < hi and hi - lo < 0.15 and value > 0.7


def test_work_bootstrap_is_wider_when_clips_of_a_work_agree():
    rng = np.random.default_rng(3)
    # Ten works of eight identical-ish clips each: effectively ten observations a side.
    pos = np.repeat(rng.normal(0.5, 1, 10), 8) + rng.normal(0, 0.01, 80)
    neg = np.repeat(rng.normal(0.0, 1, 10), 8) + rng.normal(0, 0.01, 80)
    groups = np.repeat(np.arange(10), 8)
    _, lo_clip, hi_clip = bootstrap_auc(pos, neg, 500, 0)
    _, lo_work, hi_work = bootstrap_auc(pos, neg, 500, 0, groups, groups)
    assert hi_work - lo_work > 2 * (hi_clip - lo_clip)


def test_tpr_at_low_fpr():
    neg = np.arange(100.0)
    pos = np.r_[np.full(10, 1000.0), np.zeros(90)]
    assert tpr_at_fpr(pos, neg, 0.01) == pytest.approx(0.1)
    # 100 negatives cannot resolve a 0.1% false-positive rate.
    assert np.isnan(tpr_at_fpr(pos, neg, 0.001))


def test_tpr_at_low_fpr_with_tied_scores():
    """Each score shared by one member and one non-member: the ROC is a straight line, and
    the point at FPR 0.01 has TPR 0.01, though a corners-only curve has no point there."""
    scores = np.arange(100.0)
    assert tpr_at_fpr(scores, scores, 0.01) == pytest.approx(0.01)


def test_metrics_orient_features_by_sign():
    rng = np.random.default_rng(2)
    member = np.r_[np.ones(100, bool), np.zeros(100, bool)]
    loss = np.where(member, 0.5, 1.0) + rng.normal(0, 0.3, 200)
    table = membership_metrics(
        "m", pd.DataFrame({"loss__x": loss}), pd.Series(member), {"loss__x": -1}, 200, 0
    )
    row = table.iloc[0]
    assert row["auc"] > 0.8 and row["n_members"] == 100 and row["n_nonmembers"] == 100
    loss[:5] = np.nan
    row = membership_metrics(
        "m", pd.DataFrame({"loss__x": loss}), pd.Series(member), {"loss__x": -1}, 50, 0
    ).iloc[0]
    assert row["n_missing"] == 5 and row["n_members"] == 95 and row["n_nonmembers"] == 100
    with pytest.raises(ValueError, match="loss__x"):
        membership_metrics(
            "m", pd.DataFrame({"loss__x": loss * np.nan}), pd.Series(member), {"loss__x": -1}, 10, 0
        )
