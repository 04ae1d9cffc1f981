"""The steps on a tiny corpus written to disk: features of a trained model, per model, the
per-artist AUC, the claim check and the headline in numbers, table and text."""

import json

import numpy as np
import pandas as pd
import pytest
from conftest import SAMPLE_RATE, SAMPLES, TINY, clips

from audio_di.audio import write_flac
from audio_di.blind import audio_statistics, corpus_statistics
from audio_di.corpus.manifest import corpus_audio
from audio_di.di.engine import DISettings, Result
from audio_di.di.verdict import verdict
from audio_di.di.weights import feature_weights, shadow_weights
from audio_di.io import read_table, write_table
from audio_di.models import train_model
from audio_di.shards import merge_shards
from audio_di.splits import evaluation_sets, make_splits
from audio_di.steps.analysis import (
    Collection,
    collection_aucs,
    family_verdicts,
)
from audio_di.steps.features import model_features
from audio_di.steps.membership import MIA_TABLES, artist_membership, membership
from audio_di.steps.reporting import (
    claim_check,
    claim_failures,
    headline,
    headline_table,
    headline_text,
    verdict_sentence,
)
from audio_di.steps.seeds import seed_runs, seed_spread
from audio_di.synthetic import Scenario, collection
from audio_di.tables import (
    ARTIST_AUC,
    COLLECTION_AUC,
    CORPUS_MANIFEST,
    FEATURES,
    HEADLINE,
    MEMBER_SIGNS,
    SHADOW_WEIGHTS,
    SPLITS,
)

ATTACKS = {"autoregressive": {"nll": {}, "zlib": {}, "reference": {}}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    audio, meta = clips(12, seed=4)
    meta["work_id"] = meta["artist"] + "/w" + (meta.index // 2).astype(str)
    meta["path"] = [f"clips/{c}.flac" for c in meta["clip_id"]]
    meta["sha256"] = meta["clip_id"]
    meta["seconds"], meta["sample_rate"] = audio.shape[1] / SAMPLE_RATE, SAMPLE_RATE
    for clip, path in zip(audio, meta["path"], strict=True):
        write_flac(root / path, clip, SAMPLE_RATE)
    meta = meta[list(CORPUS_MANIFEST.columns)]
    write_table(meta, root / "manifest.csv", CORPUS_MANIFEST)
    train_model("embedded_ar", audio, meta, TINY["embedded_ar"], 1, 0, root / "model")
    return root, make_splits(meta, ["artist0"], 0.5, seed=0)


def test_features_run_the_configured_attacks_or_the_model_subset(corpus):
    root, splits = corpus
    spec = {"kind": "embedded_ar", "source": str(root / "model")}
    args = (spec, root / "manifest.csv", splits, ATTACKS, 4, "cpu")
    every = model_features(*args, reference=spec)
    assert len(every) == len(splits)
    assert {c.split("__")[0] for c in every.columns[1:]} == {"nll", "zlib", "reference"}
    # Without a reference the reference attack is skipped; `only` narrows the rest.
    assert list(model_features(*args).columns) == [
        "clip_id",
        "nll__mean",
        "nll__ppl",
        "zlib__ratio",
    ]
    assert list(model_features(*args, only=["zlib"]).columns) == ["clip_id", "zlib__ratio"]
    with pytest.raises(ValueError, match=r"\['lira'\].*features\.attacks\.autoregressive"):
        model_features(*args, only=["lira"])
    with pytest.raises(ValueError, match="features.attacks.autoregressive: no attack"):
        model_features(spec, root / "manifest.csv", splits, {"diffusion": {}}, 4, "cpu")


@pytest.mark.parametrize("shards", [2, 4])
def test_merged_shards_are_byte_identical_to_one_job(corpus, tmp_path, shards):
    root, splits = corpus
    spec = {"kind": "embedded_ar", "source": str(root / "model")}
    args = (spec, root / "manifest.csv", splits, ATTACKS, 4, "cpu", spec)
    write_table(model_features(*args), tmp_path / "whole.parquet", FEATURES)
    # 12 clips in batches of 4: with 4 shards the last one is empty and loads no model.
    parts = [model_features(*args, shard=(k, shards)) for k in range(shards)]
    for k, part in enumerate(parts):
        write_table(part, tmp_path / f"{k}.parquet", FEATURES)
    tables = [read_table(tmp_path / f"{k}.parquet", FEATURES) for k in range(shards)]
    merged = merge_shards(tables, [str(k) for k in range(shards)])
    write_table(merged, tmp_path / "merged.parquet", FEATURES)
    assert (tmp_path / "merged.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()


def test_statistics_streamed_in_batches_equal_all_clips_at_once(corpus, tmp_path):
    """Batches of 1, 5, 5 and 1 clips give every clip exactly the row it gets with all of
    them in one array; a clip of another length is an error naming the files."""
    root, splits = corpus
    clip_ids = evaluation_sets(splits)["clip_id"].reset_index(drop=True)
    audio = corpus_audio(root / "manifest.csv", clip_ids, SAMPLE_RATE)
    whole = pd.concat([clip_ids, audio_statistics(audio, SAMPLE_RATE)], axis=1)
    streamed = corpus_statistics(root / "manifest.csv", splits, SAMPLE_RATE, 5 * SAMPLES)
    pd.testing.assert_frame_equal(streamed, whole, check_exact=True)
    manifest = read_table(root / "manifest.csv", CORPUS_MANIFEST)
    manifest["path"] = [str(root / p) for p in manifest["path"]]
    last = manifest["clip_id"] == clip_ids.iloc[-1]
    write_flac(tmp_path / "short.flac", audio[-1, : SAMPLES // 2], SAMPLE_RATE)
    manifest.loc[last, "path"] = str(tmp_path / "short.flac")
    write_table(manifest, tmp_path / "manifest.csv", CORPUS_MANIFEST)
    with pytest.raises(ValueError, match=r"clips differ in length \(8000 and 4000.*short\.flac"):
        corpus_statistics(tmp_path / "manifest.csv", splits, SAMPLE_RATE, 5 * SAMPLES)


def test_claim_check_names_the_failing_criterion():
    member = pd.DataFrame({"p_value": [0.001, 0.004], "verdict": ["detected", "detected"]})
    nonmember = pd.DataFrame({"p_value": [0.3, 0.8], "verdict": ["not detected", "inconclusive"]})
    clean = nonmember.assign(verdict="not detected")
    assert claim_check(0.6, member, nonmember, clean)["holds"]
    strong = claim_check(0.9, member, nonmember, clean)
    assert not strong["weak_per_clip_mia"] and not strong["holds"]
    missed = claim_check(0.6, member.assign(p_value=[0.001, 0.02]), nonmember, clean)
    assert not missed["all_members_at_p_0.01"] and missed["no_nonmember_detected"]
    false_alarm = claim_check(
        0.6, member, nonmember.assign(verdict=["detected", "inconclusive"]), clean
    )
    assert not false_alarm["no_nonmember_detected"] and not false_alarm["holds"]
    assert not claim_check(0.6, member.iloc[:0], nonmember, clean)["all_members_at_p_0.01"]
    # A member whose verdict is inconclusive (a shift) is not a detection, whatever its p.
    shifted = member.assign(verdict=["detected", "inconclusive"])
    assert not claim_check(0.6, shifted, nonmember, clean)["all_members_at_p_0.01"]


def headline_inputs() -> tuple[pd.DataFrame, ...]:
    """One model, two procedures: crossfit detects both members and is calibrated, split
    misses one member and its null rate is off alpha."""
    mia = pd.DataFrame(
        [("m", "nll__mean", 0.6, 0.55, 0.66, 0.02), ("m", "zlib__ratio", 0.52, 0.45, 0.6, 0.01)],
        columns=["model", "feature", "auc", "auc_lo", "auc_hi", "tpr_at_1pct_fpr"],
    )
    rows = [
        ("a", "member", "crossfit", 0.001, "detected"),
        ("b", "member", "crossfit", 0.004, "detected"),
        ("c", "nonmember", "crossfit", 0.5, "not detected"),
        ("a", "member", "split", 0.002, "detected"),
        ("b", "member", "split", 0.2, "inconclusive"),
        ("c", "nonmember", "split", 0.7, "not detected"),
    ]
    verdicts = pd.DataFrame(
        rows, columns=["artist", "artist_status", "method", "p_value", "verdict"]
    )
    verdicts = verdicts.assign(
        model="m", p_mc_error=0.001, permutations=999, fold_draws=4, shift_p=0.5
    )
    curves = pd.DataFrame(
        {"model": "m", "method": "crossfit", "artist": ["a", "b"], "artist_status": "member",
         "n": 4, "detect_rate": 1.0}
    )  # fmt: skip
    calibrated = pd.DataFrame(
        [("m", "crossfit", 0.05, 0.05, 0.03, 0.07, True),
         ("m", "split", 0.05, 0.2, 0.15, 0.25, False)],
        columns=["model", "method", "alpha", "false_positive_rate", "fpr_ci_low", "fpr_ci_high",
                 "within_bound"],
    )  # fmt: skip
    collection_auc = pd.DataFrame(
        [
            ("m", "crossfit", 5, 0.9, 0.85, 0.95, 400, 400),
            ("m", "crossfit", 10, 0.95, 0.9, 0.99, 400, 400),
        ],
        columns=list(COLLECTION_AUC.columns),
    )
    return mia, verdicts, curves, calibrated, collection_auc


# The fixture's procedures, as di.methods would order them: crossfit gives the verdict.
TWO_SIDED = ("crossfit", "split")


def with_reference(detects: bool) -> tuple:
    """headline_inputs with a reference model `r` for `m`, trained on no evaluated artist."""
    mia, verdicts, curves, calibrated, collection_auc = headline_inputs()
    reference = verdicts.assign(
        model="r", p_value=0.3, verdict="not detected", artist_status="member"
    )
    if detects:
        reference.loc[reference["artist"] == "c", "verdict"] = "detected"
    return (
        pd.concat([mia, mia.assign(model="r")]),
        pd.concat([verdicts, reference], ignore_index=True),
        curves,
        pd.concat([calibrated, calibrated.assign(model="r")]),
        collection_auc,
        {"m": "r", "r": None},
        frozenset({"r"}),
        TWO_SIDED,
    )


def test_headline_carries_the_auc_interval_and_the_calibration_per_procedure():
    metrics = headline(*with_reference(detects=False))
    model = metrics["models"]["m"]
    assert model["best_feature"] == "nll__mean" and model["best_auc_ci"] == [0.55, 0.66]
    crossfit, split = model["dataset_inference"]["crossfit"], model["dataset_inference"]["split"]
    assert crossfit["calibrated"] and not split["calibrated"]
    assert crossfit["claim"]["holds"] and not split["claim"]["holds"]
    assert crossfit["collection_auc"] == {"5": 0.9, "10": 0.95} and split["collection_auc"] == {}
    assert split["member_artists"] == {"detected": 1, "inconclusive": 1, "of": 2}
    assert metrics["calibration_warning"][0].startswith("m/split: null false-positive rate 0.200")


ORIENTED_FIRST = ("oriented", "crossfit", "split")


def oriented_first_inputs() -> tuple[pd.DataFrame, ...]:
    """headline_inputs with a third procedure, oriented, which gives the verdict."""
    mia, verdicts, curves, calibrated, collection_auc = headline_inputs()
    oriented = verdicts[verdicts["method"] == "split"].assign(method="oriented")
    verdicts = pd.concat([verdicts, oriented], ignore_index=True)
    calibrated = pd.concat([calibrated, calibrated.iloc[[0]].assign(method="oriented")])
    return mia, verdicts, curves, calibrated, collection_auc


def test_the_verdicts_test_comes_first_and_is_named_so_wherever_it_is_shown():
    """With oriented as the verdict, the diagnostics (crossfit sorts before it) follow it in
    metrics.json, the headline table, the console and the audit's sentences."""
    mia, verdicts, curves, calibrated, collection_auc = oriented_first_inputs()
    order = ORIENTED_FIRST
    metrics = headline(mia, verdicts, curves, calibrated, collection_auc, methods=order)
    found = metrics["models"]["m"]["dataset_inference"]
    assert list(found) == list(order)
    assert [p["role"] for p in found.values()] == ["verdict", "diagnostic", "diagnostic"]
    # As the summary reads it: metrics.json is written with sorted keys.
    metrics = json.loads(json.dumps(metrics, sort_keys=True))
    table = headline_table(metrics)
    assert list(table["procedure"]) == [
        "oriented (verdict)", "crossfit (diagnostic)", "split (diagnostic)"
    ]  # fmt: skip
    line = " ".join(headline_text(metrics).splitlines()[1].split())
    assert line.startswith("m per-clip AUC 0.600 members 1/2 oriented, 2/2 crossfit, 1/2 split")
    assert line.endswith("claim fails under the verdict's test (oriented)")
    sides = {"reason": "r", "works_suspect": 9, "clips_suspect": 18, "works_validation": 9}
    artist = verdicts[verdicts["artist"] == "a"].assign(**sides, clips_validation=18)
    sentences = verdict_sentence(artist, "m", order).splitlines()
    assert [s.split(" by ")[1].split(" (")[0] for s in sentences] == [
        "oriented, the verdict", "crossfit, a diagnostic", "split, a diagnostic"
    ]  # fmt: skip


def test_the_seed_table_gives_each_figure_per_seed_the_verdicts_test_first(tmp_path):
    """The report's seed table: each seed's figures in seed order, the verdict's test first,
    and on which seeds the claim fails; the seeds come from the files' names."""
    first = headline(*oriented_first_inputs(), methods=ORIENTED_FIRST)
    first["models"]["m"]["dataset_inference"]["crossfit"]["claim"]["holds"] = True
    second = json.loads(json.dumps(first, sort_keys=True))
    second["models"]["m"]["best_auc"] = 0.7
    second["models"]["m"]["dataset_inference"]["crossfit"]["claim"]["holds"] = False
    for seed, metrics in [(2, second), (0, first)]:
        (tmp_path / f"seed{seed}_metrics.json").write_text(json.dumps(metrics))
    runs = seed_runs(sorted(tmp_path.glob("*.json"), reverse=True))
    assert sorted(runs) == [0, 2]
    table = seed_spread(runs).set_index("procedure")
    assert list(table.index) == [
        "oriented (verdict)",
        "crossfit (diagnostic)",
        "split (diagnostic)",
    ]
    crossfit = table.loc["crossfit (diagnostic)"]
    assert crossfit["seeds"] == "0, 2" and crossfit["best per-clip AUC"] == "0.600, 0.700"
    assert crossfit["collection AUC (works a side)"] == "0.950, 0.950 (10)"
    assert crossfit["member artists detected"] == "2/2, 2/2"
    assert crossfit["claim holds"] == "1 of 2 (fails on seed 2)"
    assert table.loc["split (diagnostic)", "collection AUC (works a side)"] == "none"


def test_a_seed_file_is_named_by_its_seed_once(tmp_path):
    stray = tmp_path / "metrics.json"
    stray.write_text("{}")
    with pytest.raises(ValueError, match=f"seed_metrics: {stray} is not named seed<N>"):
        seed_runs([stray])
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    twins = [tmp_path / folder / "seed0_metrics.json" for folder in "ab"]
    for path in twins:
        path.write_text("{}")
    with pytest.raises(ValueError, match=f"{twins[1]} is a second file of seed 0"):
        seed_runs(twins)
    assert seed_spread({}).empty


def test_a_claim_needs_a_reference_model_that_detects_none():
    detecting = headline(*with_reference(detects=True))["models"]
    claim = detecting["m"]["dataset_inference"]["crossfit"]["claim"]
    assert claim["reference_detects_none"] is False and not claim["holds"]
    assert detecting["r"]["dataset_inference"]["crossfit"]["claim"] == {
        "detects_none": False, "holds": False
    }  # fmt: skip
    alone = headline(*headline_inputs())["models"]["m"]["dataset_inference"]["crossfit"]
    assert alone["claim"]["reference_detects_none"] is None and not alone["claim"]["holds"]
    assert claim_failures(alone["claim"]) == ["no reference model"]
    table = headline_table(headline(*with_reference(detects=True))).set_index("model")
    assert table.loc["m", "claim"].iloc[0] == "fails: its reference model detected an artist"
    assert table.loc["r", "claim"].iloc[0] == (
        "fails: an artist detected by a model trained on none"
    )


def test_headline_table_and_text_say_the_same_in_words():
    metrics = headline(*with_reference(detects=False))
    table = headline_table(metrics)
    assert list(table.columns) == list(HEADLINE.columns) and len(table) == 4
    crossfit, split = table[table["model"] == "m"].to_dict("records")
    assert crossfit["best per-clip AUC [95% CI]"] == "0.600 [0.550, 0.660] (nll__mean)"
    assert crossfit["member artists"] == "2 of 2 (0 inconclusive)"
    assert crossfit["claim"] == "holds" and crossfit["null false-positive rate"] == "0.050"
    column = "collection AUC [95% CI] (works a side)"
    assert crossfit[column] == "0.900 [0.85, 0.95] (5), 0.950 [0.90, 0.99] (10)"
    assert split[column] == "none"
    assert split["claim"] == "fails: a member not at p < 0.01"
    assert split["null false-positive rate"] == "0.200 (off alpha)"
    lines = headline_text(metrics).splitlines()
    expected = (
        "m per-clip AUC 0.600 collection AUC 0.950 members 2/2 crossfit, 1/2 split "
        "non-members 0/1 crossfit, "
    )
    assert " ".join(lines[1].split()) == (
        expected + "0/1 split claim holds under the verdict's test (crossfit)"
    )
    assert lines[2].endswith(
        "reference claim (detects none) holds under the verdict's test (crossfit); "
        "diagnostics: holds under split"
    )
    assert lines[3].startswith("  calibration: m/split: null false-positive rate 0.200")


def test_artist_auc_uses_the_best_feature_on_each_artists_works(corpus):
    _, splits = corpus
    evaluated = splits[splits["artist"].isin(["artist0", "artist1"])]
    # A feature that ranks every train clip above every held-out clip, and noise.
    features = pd.DataFrame(
        {"clip_id": evaluated["clip_id"], "perfect": (evaluated["role"] == "train") * 1.0,
         "noise": range(len(evaluated))}
    )  # fmt: skip
    metrics = pd.DataFrame({"feature": ["perfect", "noise"], "auc": [1.0, 0.5]})
    artists = artist_membership(
        "m", features, evaluated, metrics, {"perfect": 1, "noise": 1}, 20, 0
    )
    assert list(artists.columns) == list(ARTIST_AUC.columns)
    assert set(artists["feature"]) == {"perfect"} and (artists["auc"] == 1.0).all()
    assert set(artists["artist_status"]) == {"member", "nonmember"}


def test_mia_orients_each_feature_by_the_sign_its_table_carries(corpus):
    _, splits = corpus
    evaluated = splits[splits["artist"].isin(["artist0", "artist1"])]
    features = pd.DataFrame(
        {"clip_id": evaluated["clip_id"], "perfect": (evaluated["role"] == "train") * 1.0}
    )
    features.attrs[MEMBER_SIGNS] = {"perfect": -1}
    tables = membership({"m": (features, evaluated)}, 20, 0)
    assert list(tables) == list(MIA_TABLES)
    metrics = tables["metrics"].iloc[0]
    assert metrics["member_sign"] == -1 and metrics["auc"] == 0.0
    assert (tables["artists"]["auc"] == 0.0).all()


def test_a_procedure_without_null_trials_says_so():
    mia, verdicts, curves, calibrated, collection_auc = headline_inputs()
    calibrated = calibrated[calibrated["method"] == "crossfit"]
    metrics = headline(mia, verdicts, curves, calibrated, collection_auc, methods=TWO_SIDED)
    assert metrics["models"]["m"]["dataset_inference"]["split"]["calibrated"] is None
    table = headline_table(metrics).set_index("procedure")
    assert table.loc["split (diagnostic)", "null false-positive rate"] == "no null trials"


def test_a_one_sided_negative_where_the_two_sided_test_rejects_is_inconclusive():
    """Suspect works that look less trained-on: the two-sided diagnostic finds the sets
    differ, the one-sided test does not, and its verdict says so rather than 'not detected'."""
    rng = np.random.default_rng(12)
    works = collection(Scenario(30, 30, 5, 0.3, clip_auc=0.25, signal_features=2), rng)
    audio = collection(Scenario(30, 30, 3, 0.3), rng)
    found = [Collection("a", "nonmember", works, audio, (60, 60), 0)]
    settings = DISettings(permutations=499, fold_draws=10, methods=("oriented",))
    (row,) = family_verdicts("m", found, settings)
    assert row.method == "oriented" and row.verdict == "inconclusive"
    assert row.p_value > 0.5 and row.p_two_sided < 0.05
    assert "but not in the direction training would push them" in row.reason


def test_a_one_sided_test_weaker_than_the_two_sided_one_is_not_called_a_reversal():
    """The suspect works lean the member way (one-sided p 0.04, adjusted 0.19 over a family)
    where the two-sided diagnostic rejects: inconclusive, saying the lean, as with Bach on
    diffusion_at_scale at seed 0, where the reason used to say the opposite."""
    works = collection(Scenario(30, 30, 4, 0.3, clip_auc=0.7), np.random.default_rng(0))
    settings = DISettings(methods=("oriented",))
    lean = Result(p=0.04, permutations=9999, mc_error=0.002)
    outcome, reason = verdict(works, lean, None, settings, (0.19, 8), two_sided=0.03)
    assert outcome == "inconclusive"
    assert "lean the way training would push them" in reason and "not in the" not in reason
    away = Result(p=0.9, permutations=9999, mc_error=0.003)
    outcome, reason = verdict(works, away, None, settings, (1.0, 8), two_sided=0.03)
    assert outcome == "inconclusive" and "not in the direction" in reason


def test_the_weighted_verdict_without_any_weight_is_inconclusive_not_negative():
    """A shadow that weighs none of the model's features leaves the weighted test blind: its
    verdict says so, while the oriented test on the same works still runs."""
    rng = np.random.default_rng(14)
    works = collection(Scenario(30, 30, 4, 0.3, clip_auc=0.8, signal_features=2), rng, np.zeros(4))
    audio = collection(Scenario(30, 30, 3, 0.3), rng)
    found = [Collection("a", "member", works, audio, (60, 60), 0)]
    settings = DISettings(permutations=499, fold_draws=10, methods=("weighted", "oriented"))
    weighted, oriented = family_verdicts("m", found, settings)
    assert weighted.verdict == "inconclusive" and weighted.p_value == 1.0
    assert "the shadow model separates its trained works by none" in weighted.reason
    assert oriented.verdict == "detected"


def test_shadow_weights_orient_each_feature_and_never_go_negative():
    """Per feature, the AUC of the shadow's trained works against its held-out ones, oriented
    by the member sign: the loss (lower for members) weighs, a reversed feature weighs 0."""
    rng = np.random.default_rng(15)
    rows = []
    for w in range(40):
        trained = w < 20
        for k in range(2):
            loss = rng.normal() - (1.0 if trained else 0.0)  # lower: member
            rows.append((f"s__w{w}__{k:03d}", "s", f"s/w{w}", "member",
                         "train" if trained else "heldout", False, loss, -loss))  # fmt: skip
    frame = pd.DataFrame(rows, columns=[*SPLITS.columns, "loss", "reversed"])
    features = frame[["clip_id", "loss", "reversed"]].copy()
    features.attrs[MEMBER_SIGNS] = {"loss": -1, "reversed": -1}
    table = shadow_weights("shadow", features, frame[list(SPLITS.columns)])
    assert list(table.columns) == list(SHADOW_WEIGHTS.columns)
    weights = table.set_index("feature")
    assert weights.loc["loss", "auc"] > 0.8 and weights.loc["loss", "weight"] > 0.3
    assert weights.loc["reversed", "auc"] < 0.2 and weights.loc["reversed", "weight"] == 0.0
    assert (weights["works_trained"] == 20).all() and (weights["works_heldout"] == 20).all()
    assert list(feature_weights(table, ["other", "loss"], "m")) == [
        0.0,
        weights.loc["loss", "weight"],
    ]
    with pytest.raises(ValueError, match="trained and held-out works"):
        shadow_weights("shadow", features, frame[list(SPLITS.columns)].assign(role="train"))
    del features.attrs[MEMBER_SIGNS]
    with pytest.raises(ValueError, match="shadow model shadow: features"):
        shadow_weights("shadow", features, frame[list(SPLITS.columns)])


def test_the_collection_auc_rests_on_resamples_of_every_nonmember_artist():
    """Non-member artists of 20 works a side give `resamples` collections each at n = 20,
    re-split from their 40 works; an audit, with no known non-members, gives none."""
    rng = np.random.default_rng(3)
    settings = DISettings(methods=("oriented",), n_grid=(10, 20), resamples=30,
                          curve_permutations=99)  # fmt: skip
    found = [
        Collection(f"n{i}", "nonmember", collection(Scenario(20, 20, 4, 0.0), rng), None,
                   (40, 40), 0)
        for i in range(3)
    ]  # fmt: skip
    member_p = {("oriented", n): [np.full(30, 0.001)] for n in (10, 20)}
    table = collection_aucs("m", found, member_p, settings)
    assert list(table["n"]) == [10, 20] and (table["nonmember_collections"] == 3 * 30).all()
    assert (table["member_collections"] == 30).all() and (table["auc"] > 0.9).all()
    assert collection_aucs("m", found, member_p, settings, known_nonmembers=False).empty
