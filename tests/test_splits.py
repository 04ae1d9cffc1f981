import pandas as pd
import pytest

from audio_di.splits import (
    LeakageError,
    check_leakage,
    make_splits,
    model_view,
    trained_works,
    training_clips,
)


def fake_manifest(artists=("a", "b", "c"), works=4, clips=3, filler=()):
    rows = []
    for artist in (*artists, *filler):
        for w in range(works):
            for k in range(clips):
                clip_id = f"{artist}__w{w}__{k:03d}"
                rows.append((clip_id, artist, f"{artist}/w{w}", f"sha-{clip_id}"))
    return pd.DataFrame(rows, columns=["clip_id", "artist", "work_id", "sha256"])


def test_splits_by_work_and_status():
    manifest = fake_manifest(filler=("f",))
    splits = make_splits(manifest, ["a"], 0.5, seed=0, filler_artists=["f"])
    assert len(splits) == len(manifest)
    # Every work sits wholly on one side.
    assert (splits.groupby("work_id")["role"].nunique() == 1).all()
    for artist in "abc":
        roles = splits[splits["artist"] == artist].groupby("role")["work_id"].nunique()
        assert roles["train"] == 2 and roles["heldout"] == 2
    status = splits.groupby("artist")["artist_status"].first()
    assert status.to_dict() == {"a": "member", "b": "nonmember", "c": "nonmember", "f": "member"}
    assert (splits.loc[splits["artist"] == "f", "role"] == "train").all()
    assert splits.loc[splits["artist"] == "f", "filler"].all()


def test_splits_are_seeded():
    manifest = fake_manifest(works=10)
    first = make_splits(manifest, ["a"], 0.5, seed=0)
    assert first.equals(make_splits(manifest, ["a"], 0.5, seed=0))
    assert not first.equals(make_splits(manifest, ["a"], 0.5, seed=1))


def test_leakage_same_audio_on_both_sides_names_the_clips():
    manifest = fake_manifest()
    splits = make_splits(manifest, ["a"], 0.5, seed=0)
    train = splits[splits["role"] == "train"].iloc[0]["clip_id"]
    heldout = splits[splits["role"] == "heldout"].iloc[0]["clip_id"]
    manifest.loc[manifest["clip_id"] == heldout, "sha256"] = f"sha-{train}"
    with pytest.raises(LeakageError, match="same sha256") as err:
        check_leakage(splits, manifest)
    assert train in str(err.value) and heldout in str(err.value)
    with pytest.raises(LeakageError):
        make_splits(manifest, ["a"], 0.5, seed=0)


def test_leakage_work_on_both_sides_names_the_clips():
    manifest = fake_manifest()
    splits = make_splits(manifest, ["a"], 0.5, seed=0)
    work = splits["work_id"].iloc[0]
    clip = splits.index[splits["work_id"] == work][0]
    splits.loc[clip, "role"] = "heldout" if splits.loc[clip, "role"] == "train" else "train"
    with pytest.raises(LeakageError, match="both sides") as err:
        check_leakage(splits, manifest)
    assert splits.loc[clip, "clip_id"] in str(err.value)


def test_bad_inputs_name_the_problem():
    manifest = fake_manifest()
    with pytest.raises(ValueError, match=r"\['zz'\]"):
        make_splits(manifest, ["zz"], 0.5, seed=0)
    with pytest.raises(ValueError, match="heldout_fraction"):
        make_splits(manifest, ["a"], 1.0, seed=0)
    with pytest.raises(ValueError, match="'a' has 1 work"):
        make_splits(fake_manifest(works=1), ["a"], 0.5, seed=0)


def test_training_clips_adds_a_nested_filler_subset():
    manifest = fake_manifest(filler=("f",))
    splits = make_splits(manifest, ["a"], 0.5, seed=0, filler_artists=["f"])
    base = training_clips(splits, 0, seed=0)
    assert set(base["artist"]) == {"a"} and (base["role"] == "train").all()
    small, large = training_clips(splits, 4, seed=0), training_clips(splits, 8, seed=0)
    assert len(small) == len(base) + 4 and len(large) == len(base) + 8
    assert set(small["clip_id"]) <= set(large["clip_id"])
    reference = training_clips(splits, 4, seed=0, members=False)
    assert reference["filler"].all() and set(reference["clip_id"]) <= set(small["clip_id"])
    with pytest.raises(ValueError, match="filler clips"):
        training_clips(splits, 1000, seed=0)


def test_trained_works_keeps_a_nested_subset_of_member_train_works():
    manifest = fake_manifest(works=10, filler=("f",))
    splits = make_splits(manifest, ["a", "b"], 0.5, seed=0, filler_artists=["f"])
    assert trained_works(splits, None, seed=0) is splits
    two, three = trained_works(splits, 2, seed=0), trained_works(splits, 3, seed=0)
    offered = (two["artist_status"] == "member") & (two["role"] == "train") & ~two["filler"]
    assert two[offered].groupby("artist")["work_id"].nunique().to_dict() == {"a": 2, "b": 2}
    assert set(two["work_id"]) <= set(three["work_id"])
    # Held-out works, non-member artists and filler are untouched.
    kept = splits[(splits["role"] == "heldout") | (splits["artist_status"] == "nonmember")]
    assert set(kept["clip_id"]) <= set(two["clip_id"])
    assert set(splits.loc[splits["filler"], "clip_id"]) <= set(two["clip_id"])
    assert set(training_clips(two, 0, seed=0)["work_id"]) == set(two[offered]["work_id"])


def test_a_shadow_model_sees_only_the_shadow_artists_and_filler_and_a_target_never_them():
    manifest = fake_manifest(artists=("a", "b", "s"), filler=("f",))
    splits = make_splits(manifest, ["a"], 0.5, seed=0, filler_artists=["f"])
    target = model_view(splits, ["s"], shadow=False)
    assert set(target["artist"]) == {"a", "b", "f"}
    shadow = model_view(splits, ["s"], shadow=True)
    assert set(shadow["artist"]) == {"s", "f"}
    assert (shadow["artist_status"] == "member").all()
    # The shadow trains on the shadow artist's train works and the filler it is given.
    clips = training_clips(shadow, filler_clips=3, seed=0)
    own = splits[(splits["artist"] == "s") & (splits["role"] == "train")]
    assert set(own["clip_id"]) <= set(clips["clip_id"])
    assert set(clips["artist"]) == {"s", "f"}
    with pytest.raises(ValueError, match=r"no clip of the shadow artists \['x'\]"):
        model_view(splits, ["x"], shadow=True)
