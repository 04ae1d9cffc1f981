"""A user's catalogue: manifests, ingestion of mixed audio, rejected files, roles in splits."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import bad_files, tone, write_audio

from audio_di.corpus.folder import catalogue_files, folder_files, ingest_catalogue, read_manifest
from audio_di.splits import LeakageError, check_set_sizes, make_splits
from audio_di.tables import REJECTED


def test_every_bad_file_is_rejected_with_its_reason(tmp_path):
    expected = bad_files(tmp_path / "audio")
    write_audio(tmp_path / "audio/good.wav", tone(2.5, 16000), 16000)
    files = folder_files(tmp_path / "audio", "me")
    missing = files.iloc[:1].assign(path=str(tmp_path / "gone.wav"), name="gone.wav")
    manifest, rejected = ingest_catalogue(
        pd.concat([files, missing]), tmp_path / "out", clip_seconds=1.0, sample_rate=8000
    )
    assert list(rejected.columns) == list(REJECTED.columns)
    reasons = dict(
        zip(rejected["path"].map(lambda p: Path(p).name), rejected["reason"], strict=True)
    )
    assert reasons.pop("gone.wav") == "not found"
    assert set(reasons) == set(expected)
    for name, reason in expected.items():
        assert reason in reasons[name], (name, reasons[name])
    # good.wav: two whole clips; the half-second tail is not a clip.
    assert manifest["clip_id"].tolist() == ["me__good_wav__000", "me__good_wav__001"]
    assert (tmp_path / "out" / manifest["path"][0]).is_file()


def test_mixed_formats_rates_and_channels_become_clips_at_one_rate(tmp_path):
    audio = tmp_path / "audio"
    write_audio(audio / "a.wav", tone(2.0, 8000, freq=300), 8000)
    write_audio(audio / "b.flac", tone(2.0, 22050, 2, freq=500), 22050)
    write_audio(
        audio / "c.ogg", tone(2.0, 44100, 2, freq=700), 44100, format="OGG", subtype="VORBIS"
    )
    manifest, rejected = ingest_catalogue(
        folder_files(audio, "me"), tmp_path / "out", clip_seconds=1.0, sample_rate=16000
    )
    assert rejected.empty
    assert len(manifest) == 6 and (manifest["sample_rate"] == 16000).all()
    assert np.allclose(manifest["seconds"], 1.0)
    channels = {
        Path(p).name.split("__")[1]: sf.info(str(tmp_path / "out" / p)).channels
        for p in manifest["path"]
    }
    assert channels == {"a_wav": 1, "b_flac": 2, "c_ogg": 2}
    assert manifest["sha256"].is_unique


def test_silent_clip_in_a_long_file_and_the_clip_cap(tmp_path):
    audio = np.concatenate([tone(1.0, 8000), np.zeros((8000, 1)), tone(2.0, 8000, freq=600.5)])
    write_audio(tmp_path / "long.wav", audio, 8000)
    files = folder_files(tmp_path, "me")
    manifest, rejected = ingest_catalogue(files, tmp_path / "out", 1.0, 8000)
    assert manifest["clip_id"].str[-3:].tolist() == ["000", "002", "003"]
    assert rejected[["clip", "reason"]].values.tolist() == [[1, "silent clip"]]
    capped, _ = ingest_catalogue(files, tmp_path / "capped", 1.0, 8000, max_clips_per_file=2)
    assert capped["clip_id"].str[-3:].tolist() == ["000", "002"]


def test_duplicate_audio_is_reported_within_a_set(tmp_path):
    # The same 16-bit samples in two containers.
    samples = (tone(1.0, 8000) * 32767).astype(np.int16)
    write_audio(tmp_path / "a/one.wav", samples, 8000)
    write_audio(tmp_path / "a/copy.flac", samples, 8000)
    manifest, rejected = ingest_catalogue(
        folder_files(tmp_path / "a", "me"), tmp_path / "o", 1, 8000
    )
    assert len(manifest) == 1
    assert rejected["reason"].str.startswith("duplicate audio: same as me__").tolist() == [True]


def test_every_file_in_both_sets_is_named_in_one_error(tmp_path):
    """A file in both sets (as another path to it, too) and two files of identical audio in
    each set: one error names all three pairs, in the sets' names, once every file is read."""
    samples = (tone(2.0, 8000, freq=300) * 32767).astype(np.int16)
    for name, freq in (("one", 500), ("two", 700), ("three", 900)):
        write_audio(tmp_path / f"s/{name}.wav", tone(2.0, 8000, freq=freq), 8000)
    write_audio(tmp_path / "s/four.wav", samples, 8000)
    write_audio(tmp_path / "v/same_as_four.flac", samples, 8000)
    write_audio(tmp_path / "v/other.wav", tone(2.0, 8000, freq=1100), 8000)
    (tmp_path / "v/manifest.csv").write_text(
        "path,artist,work_id\n../s/one.wav,me,w1\n"
        f"{tmp_path / 's/two.wav'},me,w2\nsame_as_four.flac,me,w4\nother.wav,me,w5\n"
    )
    files = pd.concat(
        [
            catalogue_files(tmp_path / "s", "me", "train", "suspect"),
            catalogue_files(tmp_path / "v/manifest.csv", "me", "heldout", "validation"),
        ],
        ignore_index=True,
    )
    names = {"train": "suspect", "heldout": "validation"}
    with pytest.raises(ValueError) as err:
        ingest_catalogue(files, tmp_path / "out", 1.0, 8000, role_names=names)
    lines = str(err.value).splitlines()
    assert lines[0] == (
        "3 file(s) in both the suspect and the validation set (the same file, or identical "
        "audio); take each out of one set:"
    )
    assert sorted(lines[1:]) == sorted(
        [
            f"  suspect {tmp_path / 's/one.wav'} and validation {tmp_path / 'v/../s/one.wav'}: "
            "the same file",
            f"  suspect {tmp_path / 's/two.wav'} and validation {tmp_path / 's/two.wav'}: "
            "the same file",
            f"  suspect {tmp_path / 's/four.wav'} and validation "
            f"{tmp_path / 'v/same_as_four.flac'}: identical audio in 2 clip(s)",
        ]
    )
    assert "train" not in str(err.value) and "heldout" not in str(err.value)


def test_sets_from_folders_may_hold_equal_file_names(tmp_path):
    write_audio(tmp_path / "s/song.wav", tone(1.0, 8000), 8000)
    write_audio(tmp_path / "v/song.wav", tone(1.0, 8000, freq=800), 8000)
    files = pd.concat(
        [
            catalogue_files(tmp_path / "s", "me", "train", "suspect"),
            catalogue_files(tmp_path / "v", "me", "heldout", "validation"),
        ]
    )
    manifest, _ = ingest_catalogue(files, tmp_path / "out", 1.0, 8000)
    assert manifest["work_id"].tolist() == ["suspect/song", "validation/song"]
    assert manifest["role"].tolist() == ["train", "heldout"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("path,artist\na.wav,x\n", "missing column(s) ['work_id']"),
        ("path,artist,work_id\na.wav,,w\n", "column 'artist' is empty on line(s) [2]"),
        (
            "path,artist,work_id,role\na.wav,x,w,maybe\nb.wav,x,w,\nc.wav,x,w,maybe\n",
            "column 'role': 'maybe' is not one of ['', 'train', 'heldout'] on line(s) [2, 4]",
        ),
        ("path,artist,work_id,year\na.wav,x,w,1990\n", "unknown column(s) ['year']"),
        ("path,artist,work_id\na.wav,x,w\na.wav,x,w2\n", "listed more than once: ['a.wav']"),
        ("", "cannot read the manifest"),
    ],
)
def test_bad_manifest_names_the_file_and_column(tmp_path, text, message):
    csv = tmp_path / "manifest.csv"
    csv.write_text(text)
    with pytest.raises(ValueError) as err:
        read_manifest(csv)
    assert message in str(err.value) and str(csv) in str(err.value)


def test_manifest_paths_resolve_against_the_root(tmp_path):
    csv = tmp_path / "lists/manifest.csv"
    csv.parent.mkdir()
    csv.write_text("path,artist,work_id,caption\nsub/a.wav,x,w,a tune\n")
    table = read_manifest(csv, root=tmp_path / "audio")
    assert table.iloc[0].to_dict() == {
        "path": str(tmp_path / "audio/sub/a.wav"), "artist": "x", "work_id": "w",
        "name": "sub/a.wav", "caption": "a tune", "role": "",
    }  # fmt: skip


def test_a_manifest_role_must_agree_with_its_set(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("path,artist,work_id,role\na.wav,x,w,heldout\n")
    with pytest.raises(ValueError, match="says 'heldout' on line 2.*suspect set"):
        catalogue_files(csv, "x", "train", "suspect")
    with pytest.raises(ValueError, match="no such folder or manifest CSV"):
        catalogue_files(tmp_path / "nowhere", "x", "train", "suspect")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="empty.*no files"):
        catalogue_files(tmp_path / "empty", "x", "train", "suspect")


def role_manifest(roles: dict[str, list[str]]) -> pd.DataFrame:
    """Two clips per work; roles maps artist -> role of each of its works ("" = none)."""
    rows = []
    for artist, work_roles in roles.items():
        for w, role in enumerate(work_roles):
            for k in range(2):
                clip_id = f"{artist}__w{w}__{k:03d}"
                rows.append((clip_id, artist, f"{artist}/w{w}", f"sha-{clip_id}", role))
    return pd.DataFrame(rows, columns=["clip_id", "artist", "work_id", "sha256", "role"])


def test_explicit_roles_are_honoured_and_other_artists_are_split():
    manifest = role_manifest({"a": ["train", "train", "heldout", "train"], "b": [""] * 4})
    splits = make_splits(manifest, ["a"], 0.5, seed=0)
    a = splits[splits["artist"] == "a"].groupby("work_id")["role"].first()
    assert a.tolist() == ["train", "train", "heldout", "train"]
    assert splits[splits["artist"] == "b"].groupby("role")["work_id"].nunique().tolist() == [2, 2]


def test_roles_on_some_clips_of_an_artist_only_is_an_error():
    manifest = role_manifest({"a": ["train", "", "heldout", "train"]})
    with pytest.raises(ValueError, match="role on some clips but not on.*a__w1__000"):
        make_splits(manifest, ["a"], 0.5, seed=0)


def test_an_explicit_role_cannot_split_a_work():
    manifest = role_manifest({"a": ["train", "heldout"]})
    manifest.loc[1, "role"] = "heldout"
    with pytest.raises(LeakageError, match="works on both sides"):
        make_splits(manifest, ["a"], 0.5, seed=0)


def test_too_small_sets_report_the_minimum_and_what_they_had():
    manifest = role_manifest({"a": ["train"] * 5 + ["heldout"] * 3, "b": [""] * 8})
    splits = make_splits(manifest, [], 0.5, seed=0)
    check_set_sizes(splits, 3)
    with pytest.raises(ValueError) as err:
        check_set_sizes(splits, 4)
    assert str(err.value) == (
        "dataset inference needs at least 4 works in each set; too few in a validation set: 3"
    )


def test_file_names_that_give_the_same_clip_id_are_an_error(tmp_path):
    write_audio(tmp_path / "a b.wav", tone(1.0, 8000), 8000)
    write_audio(tmp_path / "A_b.wav", tone(1.0, 8000, freq=500), 8000)
    with pytest.raises(ValueError, match="would get the same clip ids"):
        ingest_catalogue(folder_files(tmp_path, "me"), tmp_path / "out", 1.0, 8000)
