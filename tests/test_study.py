"""Study steps on a tiny corpus written to disk: features of a trained model, per model."""

import pytest
from test_models import SAMPLE_RATE, TINY, clips

from audio_di.audio import write_flac
from audio_di.models import train_model
from audio_di.splits import make_splits
from audio_di.study import model_features

ATTACKS = {"autoregressive": {"nll": {}, "zlib": {}, "reference": {}}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    audio, meta = clips(12, seed=4)
    meta["work_id"] = meta["artist"] + "/w" + (meta.index // 2).astype(str)
    meta["path"] = [f"clips/{c}.flac" for c in meta["clip_id"]]
    meta["sha256"] = meta["clip_id"]
    for clip, path in zip(audio, meta["path"], strict=True):
        write_flac(root / path, clip, SAMPLE_RATE)
    meta.to_csv(root / "manifest.csv", index=False)
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
