"""Which clips each feature shard scores, how shards are merged back, and how many there are."""

import re

import pandas as pd
import pytest
from conftest import ROOT, dry_run, params
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from audio_di.shards import merge_shards, shard_clips


@pytest.mark.parametrize(
    ("n_clips", "batch_size", "shards", "expected"),
    [
        (10, 4, 1, [(0, 10)]),
        (10, 4, 2, [(0, 8), (8, 10)]),  # 3 batches: the first shard takes two
        (12, 4, 3, [(0, 4), (4, 8), (8, 12)]),
        (5, 4, 3, [(0, 4), (4, 5), (5, 5)]),  # more shards than batches: the last is empty
        (0, 4, 2, [(0, 0), (0, 0)]),
    ],
)
def test_shards_cover_every_clip_once_in_whole_batches(n_clips, batch_size, shards, expected):
    bounds = [shard_clips(n_clips, batch_size, shards, k) for k in range(shards)]
    assert [(s.start, s.stop) for s in bounds] == expected
    # Every shard starts on a batch boundary, so its batches are the unsharded run's batches.
    assert all(s.start % batch_size == 0 or s.start == n_clips for s in bounds)


def test_shard_arguments_out_of_range_are_refused():
    with pytest.raises(ValueError, match="shard 2 is not one of 0..1"):
        shard_clips(10, 4, 2, 2)
    with pytest.raises(ValueError, match=r"batch_size \(0\) and shards \(2\)"):
        shard_clips(10, 0, 2, 0)


def test_merge_keeps_shard_order_and_drops_empty_shards():
    first = pd.DataFrame({"clip_id": ["a", "b"], "nll__mean": [1.0, 2.0]})
    second = pd.DataFrame({"clip_id": ["c"], "nll__mean": [3.0]})
    empty = pd.DataFrame({"clip_id": pd.Series([], dtype=str)})
    merged = merge_shards([first, second, empty], ["s0", "s1", "s2"])
    assert merged["clip_id"].tolist() == ["a", "b", "c"]
    assert list(merged.index) == [0, 1, 2]


def test_merge_refuses_shards_that_do_not_fit_together():
    first = pd.DataFrame({"clip_id": ["a"], "nll__mean": [1.0]})
    with pytest.raises(ValueError, match="s1: columns"):
        merge_shards([first, pd.DataFrame({"clip_id": ["b"], "zlib__ratio": [1.0]})], ["s0", "s1"])
    with pytest.raises(ValueError, match=r"more than one shard.*\['a'\]"):
        merge_shards([first, first], ["s0", "s1"])
    with pytest.raises(ValueError, match="no clip in any shard"):
        merge_shards([first.iloc[:0]], ["s0"])


def planned_feature_jobs(log: str) -> int:
    return int(re.search(r"^features\s+(\d+)$", log, re.M)[1])


def test_params_set_the_shard_count_per_model(tmp_path):
    config = params()
    models = len(config["models"])
    own = {name: spec["shards"] for name, spec in config["models"].items() if "shards" in spec}
    assert own == {"diffusion_at_scale": 2}  # the model whose features a run waits for
    code, log = dry_run(config, tmp_path)
    assert code == 0, log[-3000:]
    assert planned_feature_jobs(log) == models + 1
    config["features"]["shards"] = 3  # every other model's
    config["models"]["diffusion_at_scale"]["shards"] = 4
    code, log = dry_run(config, tmp_path)
    assert code == 0, log[-3000:]
    assert planned_feature_jobs(log) == 3 * (models - 1) + 4
    del config["features"]["shards"], config["models"]["diffusion_at_scale"]["shards"]
    code, log = dry_run(config, tmp_path)  # one job per model, as before sharding
    assert code == 0, log[-3000:]
    assert planned_feature_jobs(log) == models
    # The schema refuses 0 at either level (as the Snakefile applies it, common.smk).
    for where in (config["features"], config["models"]["ar_overfit"]):
        where["shards"] = 0
        with pytest.raises(WorkflowError) as refused:
            validate(config, str(ROOT / "workflow/schemas/params.schema.yaml"))
        assert "0 is less than the minimum of 1" in str(refused.value)
        assert "['shards']" in str(refused.value)
        del where["shards"]
