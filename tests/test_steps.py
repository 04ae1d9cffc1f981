"""The steps on a tiny corpus written to disk: features of a trained model, per model, and the
claim check."""

import pandas as pd
import pytest
from conftest import SAMPLE_RATE, SAMPLES, TINY, clips

from audio_di.audio import write_flac
from audio_di.blind import audio_statistics
from audio_di.corpus.manifest import corpus_audio
from audio_di.io import read_table, write_table
from audio_di.models import train_model
from audio_di.shards import merge_shards
from audio_di.splits import evaluation_sets, make_splits
from audio_di.steps.analysis import claim_check, corpus_statistics
from audio_di.steps.features import model_features
from audio_di.tables import CORPUS_MANIFEST, FEATURES

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
    assert claim_check(0.6, member, nonmember)["holds"]
    strong = claim_check(0.9, member, nonmember)
    assert not strong["weak_per_clip_mia"] and not strong["holds"]
    missed = claim_check(0.6, member.assign(p_value=[0.001, 0.02]), nonmember)
    assert not missed["all_members_at_p_0.01"] and missed["no_nonmember_detected"]
    false_alarm = claim_check(0.6, member, nonmember.assign(verdict=["detected", "inconclusive"]))
    assert not false_alarm["no_nonmember_detected"] and not false_alarm["holds"]
    assert not claim_check(0.6, member.iloc[:0], nonmember)["all_members_at_p_0.01"]
    # A member whose verdict is inconclusive (a shift) is not a detection, whatever its p.
    shifted = member.assign(verdict=["detected", "inconclusive"])
    assert not claim_check(0.6, shifted, nonmember)["all_members_at_p_0.01"]
