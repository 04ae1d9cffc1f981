from metrics_diff import compare


def metrics(auc: float, holds: bool, detected: int) -> dict:
    method = {"claim": {"holds": holds}, "member_artists": {"detected": detected}}
    return {
        "models": {
            "ar_at_scale": {"best_auc": auc, "dataset_inference": {"oriented": method}},
            "diffusion_at_scale": {"best_auc": 0.64, "dataset_inference": {"oriented": method}},
        },
        "calibration_warning": [],
    }


def test_a_changed_claim_or_count_is_a_conclusion_and_a_moved_figure_is_measured():
    conclusions, figures = compare(metrics(0.62, True, 4), metrics(0.63, False, 3))
    assert set(conclusions["path"]) == {
        f"models/{model}/dataset_inference/oriented/{leaf}"
        for model in ("ar_at_scale", "diffusion_at_scale")
        for leaf in ("claim/holds", "member_artists/detected")
    }
    best = figures.set_index("figure").loc["models/*/best_auc"]
    assert round(best["largest_change"], 6) == 0.01
    assert (best["at"], best["moved"], best["of"]) == ("ar_at_scale", 1, 2)


def test_a_leaf_in_one_file_only_is_listed():
    theirs, ours = metrics(0.62, True, 4), metrics(0.62, True, 4)
    ours["calibration_warning"] = ["ar_overfit/split: off alpha"]
    conclusions, figures = compare(theirs, ours)
    assert conclusions.to_dict("records") == [
        {"path": "calibration_warning[0]", "theirs": None, "ours": "ar_overfit/split: off alpha"}
    ]
    assert figures["moved"].sum() == 0
