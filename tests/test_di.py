from dataclasses import replace

import di_calibration
import di_candidates
import di_weights
import numpy as np
import pandas as pd
import pytest
from holm_familywise import familywise
from scipy import stats
from sklearn.linear_model import Ridge

from audio_di.di.designs import (
    collection_auc,
    collection_auc_interval,
    contamination_curve,
    false_positive_rate,
    null_pvalues,
    pool_null,
    pooled_collections,
    pvalue_vs_n,
)
from audio_di.di.engine import (
    METHODS,
    ONE_SIDED,
    WEIGHTED,
    DISettings,
    Works,
    dataset_inference,
    degenerate,
    features_of,
    fold_assignments,
    label_bank,
    one_sided,
    oriented_pvalues,
    permutation_pvalues,
    procedure,
    score_map,
    weighted_pvalues,
    works_of,
)
from audio_di.di.verdict import adjust
from audio_di.io import write_table
from audio_di.synthetic import Scenario, collection, null_scenarios
from audio_di.tables import FEATURES, MEMBER_SIGNS

FAST = DISettings(
    permutations=999, fold_draws=10, curve_permutations=199, null_permutations=199, resamples=40
)
TWO_SIDED = [m for m in METHODS if not one_sided(m)]


def weighed(works: Works) -> Works:
    """The works with every feature weighing 1, so that the weighted test runs too."""
    return replace(works, weights=np.ones(works.x.shape[1]))


@pytest.mark.parametrize("method", TWO_SIDED)
def test_closed_form_statistic_equals_refitting_scikit_learn_ridge(method):
    """y' G y must be the cross-fitted statistic with the scorer refitted for labels y."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(23, 6))
    x[3, 2] = np.nan
    works = Works(x, 11, np.full(23, 3))
    z = features_of(works, np.arange(23)[None], residualise=False)[0]
    proc = procedure(method, FAST)
    assign = fold_assignments(23, proc.folds, 3, rng)
    g = score_map(z[None], assign[None], proc, FAST.ridge)[0]
    for y in label_bank(11, 23, 4, rng):
        total = 0.0
        for folds in assign:
            for k in range(proc.scored):
                test, train = folds == k, folds != k
                model = Ridge(alpha=FAST.ridge * train.sum()).fit(z[train], y[train])
                scores = model.predict(z[test])
                total += (y[test] * (scores - scores.mean())).sum()
        assert y @ g @ y == pytest.approx(total / len(assign), abs=1e-10)


@pytest.mark.parametrize("tied", [False, True])
def test_oriented_p_value_is_fishers_combination_of_per_feature_permutation_tests(tied):
    """Against a hand computation: per feature, the suspect sum's share of relabellings
    (the true one included) reaching it; then -sum log p ranked over the same relabellings.
    Features of few values make many sums tie, and a tie counts as reaching."""
    rng = np.random.default_rng(10)
    z = rng.integers(0, 3, size=(9, 3)).astype(float) if tied else rng.normal(size=(9, 3))
    bank = label_bank(4, 9, 30, rng)
    labels = np.vstack([np.r_[np.ones(4), np.zeros(5)], bank])
    sums = labels @ z
    p_feature = np.array([[(sums[:, j] >= sums[b, j]).mean() for j in range(3)] for b in range(31)])
    fisher = -np.log(p_feature).sum(axis=1)
    expected = (fisher >= fisher[0] - 1e-12).mean()
    assert oriented_pvalues(z[None], 4, bank)[0] == pytest.approx(expected)


def test_only_the_one_sided_tests_ignore_suspect_works_that_look_less_trained_on():
    """Suspect works shifted the wrong way: the two-sided tests reject, the one-sided ones do
    not; shifted the right way, all of them do."""
    for auc, one_sided_rejects in ((0.25, False), (0.75, True)):
        rng = np.random.default_rng(11)
        works = collection(Scenario(30, 30, 5, 0.3, clip_auc=auc, signal_features=2), rng)
        p = {method: dataset_inference(weighed(works), method, FAST).p for method in METHODS}
        assert all((p[m] < 0.05) == one_sided_rejects for m in METHODS if one_sided(m)), p
        assert all(p[m] < 0.05 for m in TWO_SIDED), p


def test_weighted_p_value_counts_relabellings_whose_weighted_score_reaches_the_truth():
    """Against a hand computation: each work's score is sum_j w_j z_j, the statistic the
    suspect works' summed score, p = (1 + relabellings reaching it) / (B + 1)."""
    rng = np.random.default_rng(12)
    z, w = rng.normal(size=(9, 3)), np.array([0.5, 0.0, 0.2])
    bank = label_bank(4, 9, 50, rng)
    score = z @ w
    expected = (1 + (bank @ score >= score[:4].sum() - 1e-12).sum()) / 51
    assert weighted_pvalues(score[None], 4, bank)[0] == pytest.approx(expected)


def test_the_weighted_test_follows_its_weights_and_needs_them():
    """Weight on the signal feature: detected; weight on noise alone: not; all weight 0: p
    is 1 (every relabelling ties). Without weights, it says what it needs."""
    rng = np.random.default_rng(13)
    works = collection(Scenario(30, 30, 4, 0.3, clip_auc=0.75, signal_features=1), rng)
    p = {
        name: dataset_inference(replace(works, weights=np.array(w, float)), WEIGHTED, FAST).p
        for name, w in (("signal", [1, 0, 0, 0]), ("noise", [0, 1, 1, 1]), ("none", [0] * 4))
    }
    assert p["signal"] < 0.01 < 0.05 < p["noise"] and p["none"] == 1.0
    with pytest.raises(ValueError, match="weighted test needs feature weights"):
        dataset_inference(works, WEIGHTED, FAST)
    with pytest.raises(ValueError, match="non-negative"):
        works_of(np.ones((2, 2)), np.ones((2, 2)), [0, 1], [0, 1], weights=[1.0, -1.0])


def test_calibration_benchmark_on_a_few_null_collections():
    """benchmarks/di_calibration.py checks on thousands of independent null collections of
    varied shape that each procedure rejects at most alpha of them; here its code runs on
    four per procedure, the weighted test with weights from each one's shadow."""
    scenarios = null_scenarios(4, np.random.default_rng(1))
    shadows = [di_calibration.null_shadow(s, 30) for s in scenarios]
    for method in METHODS:
        p = di_calibration.pvalues((scenarios, shadows, method, FAST, 0))
        assert p.shape == (4,) and ((p >= 1 / 1000) & (p <= 1)).all()
        assert len(set(p)) > 1
    assert di_calibration.bound(300, 0.05) == pytest.approx((8 / 300, 23 / 300))


def test_a_clear_member_effect_is_detected_at_the_smallest_p():
    rng = np.random.default_rng(2)
    works = weighed(collection(Scenario(30, 30, 5, 0.3, clip_auc=0.8, signal_features=2), rng))
    for method in METHODS:
        result = dataset_inference(works, method, FAST)
        assert result.p == pytest.approx(1 / 1000) and result.permutations == 999
        assert 0 < result.mc_error < 0.002


def test_p_value_depends_on_the_data_not_on_clip_order_or_labels_of_runs():
    rng = np.random.default_rng(3)
    xs, xv = rng.normal(size=(40, 4)), rng.normal(size=(36, 4))
    ws, wv = np.repeat(np.arange(10), 4), np.repeat(np.arange(9), 4)
    one = dataset_inference(works_of(xs, xv, ws, wv), "crossfit", FAST).p
    order_s, order_v = rng.permutation(40), rng.permutation(36)
    shuffled = works_of(xs[order_s], xv[order_v], ws[order_s], wv[order_v])
    assert dataset_inference(shuffled, "crossfit", FAST).p == one
    assert dataset_inference(shuffled, "crossfit", replace(FAST, seed=1)).p != one


def test_works_are_clip_means_and_keep_what_is_finite():
    xs = np.array([[1.0, np.nan], [3.0, 2.0], [5.0, np.nan]])
    works = works_of(xs, np.array([[0.0, 1.0]]), ["b", "a", "b"], ["c"])
    np.testing.assert_allclose(works.x, [[3.0, 2.0], [3.0, np.nan], [0.0, 1.0]])
    assert works.suspect_works == 2 and list(works.clips) == [1, 2, 1]


def test_missing_values_are_imputed_and_constant_features_are_degenerate():
    x = np.ones((10, 3))
    assert degenerate(Works(x, 5, np.ones(10)))
    x[:, 1] = np.arange(10)
    x[2, 1] = np.nan
    assert not degenerate(Works(x, 5, np.ones(10)))
    z = features_of(Works(x, 5, np.ones(10)), np.arange(10)[None], residualise=False)
    assert np.isfinite(z).all() and (z[..., 0] == 0).all()


def test_residualising_on_audio_statistics_removes_a_gain_difference():
    """Suspect works are louder, and one feature follows loudness: without residualising
    the test 'detects' the gain; with it, nothing is left to detect."""
    rng = np.random.default_rng(4)
    loudness = np.r_[rng.normal(3, 1, 30), rng.normal(0, 1, 30)][:, None]
    x = np.c_[loudness + rng.normal(0, 0.3, (60, 1)), rng.normal(size=(60, 2))]
    works = Works(x, 30, np.ones(60), covariates=loudness)
    assert dataset_inference(works, "crossfit", replace(FAST, residualise=False)).p < 0.01
    assert dataset_inference(works, "crossfit", FAST).p > 0.05


def test_sequential_stopping_stops_null_rows_early_and_stays_valid():
    rng = np.random.default_rng(5)
    g = rng.normal(size=(200, 12, 12))
    bank = label_bank(6, 12, 999, rng)
    p, used = permutation_pvalues(g, 6, bank, sequential=True)
    assert used.mean() < 300
    full, _ = permutation_pvalues(g, 6, bank)
    # Same decision at alpha wherever the sequential row ran to the end.
    ran = used == 999
    assert ((p < 0.05) == (full < 0.05))[ran].all()
    assert (p[~ran] >= 20 / 999).all()


@pytest.mark.parametrize("method", METHODS)
def test_power_rises_with_works(method):
    rng = np.random.default_rng(6)
    works = weighed(collection(Scenario(60, 60, 3, 0.3, clip_auc=0.7, signal_features=1), rng))
    curve = pvalue_vs_n(works, method, replace(FAST, n_grid=(5, 20)))
    assert list(curve["n"]) == [5, 20, 60]
    assert curve["detect_rate"].is_monotonic_increasing
    assert curve["detect_rate"].iloc[-1] == 1.0
    assert (curve["clips"] > curve["n"]).all()


def test_curve_stops_at_what_the_sets_can_supply():
    rng = np.random.default_rng(7)
    works = collection(Scenario(30, 12, 2, 0.2), rng)
    assert list(pvalue_vs_n(works, "crossfit", replace(FAST, n_grid=(5, 10, 20)))["n"]) == [
        5,
        10,
        12,
    ]


def test_unknown_method_is_named():
    works = Works(np.zeros((6, 1)), 3, np.ones(6))
    with pytest.raises(ValueError, match="'magic'"):
        dataset_inference(works, "magic", FAST)


def test_null_draws_sit_at_the_operating_point_and_are_calibrated():
    rng = np.random.default_rng(8)
    works = collection(Scenario(20, 16, 6, 0.4), rng)
    split = null_pvalues(works, "crossfit", 400, FAST)
    assert len(split) == 400 and (split["n_works"] == 16).all()
    pooled = pool_null(works, "split", 400, FAST)
    assert (pooled["n_works"] == 36).all()
    for p in (split["p"], pooled["p"]):
        rate, lo, hi = false_positive_rate(p.to_numpy(), 0.05)
        assert lo <= 0.05 <= hi
    few = Works(works.x[:23], 20, works.clips[:23])
    assert null_pvalues(few, "crossfit", 10, FAST).empty  # three validation works


def test_contamination_dilutes_detection():
    rng = np.random.default_rng(9)
    works = collection(Scenario(12, 24, 3, 0.2, clip_auc=0.9, signal_features=2), rng)
    curve = contamination_curve(works, "crossfit", replace(FAST, contamination=(0, 0.5, 1.0)))
    rates = curve.set_index("fraction")["detect_rate"]
    assert rates[0] > 0.9 and rates[0] >= rates[0.5] >= rates[1.0] and rates[1.0] < 0.15


def test_false_positive_rate_interval():
    rate, lo, hi = false_positive_rate(np.r_[np.zeros(5), np.ones(95)], 0.05)
    ci = stats.binomtest(5, 100).proportion_ci(0.95)
    assert rate == 0.05 and (lo, hi) == pytest.approx((ci.low, ci.high))


def test_holm_adjusts_step_down_and_keeps_the_input_order():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, then the running max
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(adjust(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    assert np.allclose(adjust([0.9, 0.3], "holm"), [0.9, 0.6])
    assert np.allclose(adjust([0.02], "holm"), [0.02])


def test_benjamini_hochberg_adjusts_step_up_and_keeps_the_input_order():
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4/1 x 0.005, 4/2 x 0.01, 4/3 x 0.03, 4/4 x 0.04 =
    # 0.02, 0.02, 0.04, 0.04, then the running minimum from the largest
    p = np.array([0.01, 0.04, 0.03, 0.005])
    assert np.allclose(adjust(p, "fdr"), [0.02, 0.04, 0.04, 0.02])
    # 2 x 0.3 = 0.6 > 0.5: the larger p-value caps it.
    assert np.allclose(adjust([0.5, 0.3], "fdr"), [0.5, 0.5])
    assert np.allclose(adjust([0.9, 0.8, 0.95], "fdr"), [0.95, 0.95, 0.95])
    with pytest.raises(ValueError, match=r"unknown correction 'bonferroni'; known: \['fdr', 'h"):
        adjust([0.1], "bonferroni")


def test_holm_benchmark_counts_families_with_any_detection():
    """benchmarks/holm_familywise.py: on 20,000 families of true nulls, Holm's adjustment keeps the
    family-wise error at alpha; here on three families, by hand."""
    p = np.array([[0.03, 0.04], [0.01, 0.04], [0.5, 0.6]])
    # Row 0 flags unadjusted only (Holm: 0.06, 0.06); row 1 both ways (0.02, 0.04).
    assert familywise(p, 0.05) == pytest.approx((2 / 3, 1 / 3))


def test_collection_auc_counts_smaller_member_p_values_and_half_the_ties():
    # Member p 0.01 beats all three non-members; 0.2 beats 0.5, ties 0.2 and loses to 0.1.
    assert collection_auc(np.array([0.01, 0.2]), np.array([0.1, 0.2, 0.5])) == 4.5 / 6


def test_a_nonmember_gives_many_collections_at_its_largest_n():
    """20 works a side give one collection of 20 under their own labels, and `resamples`
    re-splits of all 40 works, each a null collection: calibrated, seeded by the works."""
    rng = np.random.default_rng(5)
    works = collection(Scenario(20, 20, 6, 0.0), rng)
    p = pooled_collections(works, 20, ONE_SIDED, FAST)
    assert len(p) == FAST.resamples and len(np.unique(p)) > FAST.resamples // 4
    assert (p == pooled_collections(works, 20, ONE_SIDED, FAST)).all()
    many = np.concatenate(
        [pooled_collections(collection(Scenario(20, 20, 6, 0.0), rng), 10, ONE_SIDED, FAST)
         for _ in range(10)]
    )  # fmt: skip
    rate, lo, hi = false_positive_rate(many, 0.05)
    assert lo <= 0.05 <= hi


def test_real_shaped_collections_follow_their_correlation_and_shifts():
    """Work effects and clip noise share the scenario's correlation; a member clip's shift
    gives each feature the per-clip AUC the scenario asks for."""
    correlation = np.array([[1.0, 0.9, 0.0], [0.9, 1.0, 0.0], [0.0, 0.0, 1.0]])
    scenario = Scenario(1000, 1000, 3, 0.4, (4, 4), correlation=correlation,
                        clip_aucs=(0.7, 0.5, 0.3))  # fmt: skip
    works = collection(scenario, np.random.default_rng(0))
    validation = works.x[works.suspect_works :]
    assert np.corrcoef(validation.T)[0, 1] == pytest.approx(0.9, abs=0.03)
    assert abs(np.corrcoef(validation.T)[0, 2]) < 0.15
    shift = works.x[: works.suspect_works].mean(0) - validation.mean(0)
    expected = np.sqrt(2) * stats.norm.ppf([0.7, 0.5, 0.3])
    assert shift == pytest.approx(expected, abs=0.1)


def test_the_candidates_benchmark_runs_every_candidate_on_a_features_file(tmp_path):
    rng = np.random.default_rng(1)
    names = ["pia__t100", "pia__t200", "secmi__stat", "loss__t50"]
    frame = pd.DataFrame(rng.normal(size=(40, 4)), columns=names)
    frame.insert(0, "clip_id", [f"a__w{i // 2}__{i % 2:03d}" for i in range(40)])
    frame.attrs[MEMBER_SIGNS] = dict.fromkeys(names, -1)
    write_table(frame, tmp_path / "f.parquet", FEATURES)
    correlation, found = di_calibration.real_correlation(str(tmp_path / "f.parquet"))
    assert found == names and np.allclose(np.diag(correlation), 1)
    alone = di_calibration.shaped(names, correlation, 8, 0.6, ["pia"], [])
    assert alone.clip_aucs[0] == pytest.approx(0.6)
    scenario = di_calibration.shaped(names, correlation, 8, 0.6, ["pia"], ["secmi"])
    assert scenario.clip_aucs[2] < 0.5
    p = di_candidates.pvalues((scenario, replace(scenario, works_s=30), 2, 0, FAST))
    assert set(p) == set(di_candidates.CANDIDATES)
    assert all(len(v) == 2 and all(0 < x <= 1 for x in v) for v in p.values())


def test_the_collection_auc_interval_resamples_artists():
    """Artists whose collections all agree give a narrow interval; one member artist unlike
    the others widens it, and the estimate lies inside."""
    rng = np.random.default_rng(0)
    alike = [np.full(50, 0.001 * (i + 1)) for i in range(4)]
    nonmember = [rng.uniform(size=50) for _ in range(4)]
    lo, hi = collection_auc_interval(alike, nonmember, 500, np.random.default_rng(1))
    assert 0.98 < lo <= hi <= 1.0
    mixed = alike[:3] + [rng.uniform(size=50)]
    auc = collection_auc(np.concatenate(mixed), np.concatenate(nonmember))
    lo, hi = collection_auc_interval(mixed, nonmember, 500, np.random.default_rng(1))
    assert lo < auc < hi and hi - lo > 0.1


def test_the_ceiling_finds_what_two_correlated_features_give_together():
    """benchmarks/di_weights.py's ceiling: where the signal sits in two features and one of
    them carries the other's noise, their best non-negative combination beats either alone,
    and a reversed feature gets no weight (the combination never falls below the best one)."""
    rng = np.random.default_rng(0)
    n = 100
    x = rng.normal(size=(2 * n, 4))
    x[:, 1] = 0.6 * x[:, 0] + 0.8 * x[:, 1]
    x[:n, 0] += 0.3
    x[:n, 2] += 0.3
    x[:n, 3] -= 0.5  # reversed: a member-oriented feature that moves away from training
    top = di_weights.ceiling(x, n, ["a", "b", "c", "d"])
    assert top["feature"] in ("a", "c") and top["best combination"] > top["best feature"] + 0.05
    assert top["works needed (combination)"] < top["works needed (feature)"]
    alone = di_weights.ceiling(x[:, [0, 3]], n, ["a", "d"])
    assert alone["best combination"] == pytest.approx(alone["best feature"], abs=1e-3)


def test_grouping_counts_each_attack_once_whatever_its_columns():
    """benchmarks/di_weights.py's grouped candidate: an attack's near-copies (here an affine
    copy, and a column with a missing work) average into one column, and the grouped works
    test as the attack's one column would."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 40))
    x = np.c_[a, 2 * a + 3, b, b]
    x[5, 3] = np.nan  # a work without a finite value: the column's mean stands in
    works = works_of(x[:20], x[20:], np.arange(20), np.arange(20, 40))
    view = di_weights.grouped(works, ["pia__t100", "pia__t200", "secmi__stat", "secmi__k"])
    assert view.x.shape == (40, 2) and view.suspect_works == 20
    assert np.allclose(view.x[:, 0], (a - a.mean()) / a.std())
    assert np.corrcoef(view.x[:, 1], b)[0, 1] > 0.99
    settings = DISettings(seed=0, permutations=199)
    one, alone = replace(works, x=a[:, None]), replace(view, x=view.x[:, :1])
    assert dataset_inference(alone, "oriented", settings).p == pytest.approx(
        dataset_inference(one, "oriented", settings).p
    )
