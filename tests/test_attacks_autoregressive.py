"""Autoregressive attacks: formulas on a hand-built log-prob table, and one tokenisation and
scoring per batch shared by every attack (batch independence is in test_adapters)."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import pandas as pd
import pytest
import torch

from audio_di.attacks.autoregressive import compressed_bytes, k_count
from audio_di.attacks.autoregressive import reference as reference_attack
from audio_di.attacks.extraction import extract_features
from audio_di.attacks.registry import ATTACKS
from audio_di.models.base import AutoregressiveAdapter
from audio_di.tables import MEMBER_SIGNS

LN2, LN3 = math.log(2), math.log(3)
AR_ATTACKS = ["nll", "min_k", "max_k", "min_k_plus", "zlib", "conditional_gap", "reference"]

# Under the true condition every clip sees the same table, one row per step (vocab 3).
# In rows 0-2 the likely code has z = +1 and the others z = -1 (mu = -1.5 ln2,
# sigma = 0.5 ln2); row 3 is uniform, so sigma = 0 and every code has z = 0.
TABLE = torch.tensor(
    [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5], [1 / 3, 1 / 3, 1 / 3]]
)
# Codes (clip, codebook, step): clip c's audio holds the value c.
CODES = torch.tensor([[[0, 1, 2, 0], [1, 1, 1, 1]], [[2, 1, 1, 0], [0, 1, 2, 0]]])
# Per-token NLL l and Min-K%++ z of those codes under TABLE, by hand.
NLL = {
    (0, 0): [LN2, LN2, LN2, LN3],
    (0, 1): [2 * LN2, LN2, 2 * LN2, LN3],
    (1, 0): [2 * LN2, LN2, 2 * LN2, LN3],
    (1, 1): [LN2, LN2, LN2, LN3],
}
Z = {(0, 0): [1, 1, 1, 0], (1, 0): [-1, 1, -1, 0]}


class Table(AutoregressiveAdapter):
    """Fixed codes per clip; true condition 0 scores with TABLE, the null condition 1 (or a
    `flat` model's every condition) with the uniform distribution."""

    sample_rate = 8000
    vocab_size = 3

    def __init__(self, codebooks: int = 1, flat: bool = False):
        self.num_codebooks, self.flat = codebooks, flat
        self.calls = {"tokenize": 0, "logits": 0}

    def tokenize(self, audio):
        self.calls["tokenize"] += 1
        return CODES[audio[:, 0, 0].long(), : self.num_codebooks]

    def logits(self, codes, cond):
        self.calls["logits"] += 1
        batch, books, steps = codes.shape
        uniform = torch.full((steps, 3), 1 / 3)
        rows = [uniform if self.flat or c == 1 else TABLE for c in cond.tolist()]
        return torch.stack(rows).log()[:, None].expand(batch, books, steps, 3)

    def condition(self, meta):
        return torch.zeros(len(meta), dtype=torch.long)

    def null_condition(self, batch_size):
        return torch.ones(batch_size, dtype=torch.long)


def table_clips(n: int = 2) -> tuple[np.ndarray, pd.DataFrame]:
    audio = np.repeat(np.arange(n, dtype=np.float32)[:, None], 16, axis=1)
    return audio, pd.DataFrame({"clip_id": [f"c{i}" for i in range(n)], "artist": "a"})


def features(adapter, attacks, reference=None, n=2, batch_size=2) -> pd.DataFrame:
    audio, meta = table_clips(n)
    table = extract_features(adapter, audio, meta, attacks, batch_size, reference=reference)
    return table.set_index("clip_id")


def mean(values) -> float:
    return sum(values) / len(values)


def test_k_count_rounds_up_and_keeps_one():
    assert k_count(10, 30) == 3  # 0.1 * 30 is 3.0000000000000004 in floats; k * n / 100 is 3
    assert k_count(30, 4) == 2 and k_count(25, 4) == 1 and k_count(25.1, 4) == 2
    assert k_count(5, 4) == 1 and k_count(0.1, 10) == 1 and k_count(100, 7) == 7


def test_nll_mean_ppl_and_codebooks():
    one = features(Table(), {"nll": None})
    assert list(one.columns) == ["nll__mean", "nll__ppl"]
    np.testing.assert_allclose(one["nll__mean"], [mean(NLL[0, 0]), mean(NLL[1, 0])], rtol=1e-6)
    np.testing.assert_allclose(one["nll__ppl"], np.exp(one["nll__mean"]), rtol=1e-6)
    two = features(Table(codebooks=2), {"nll": None})
    assert list(two.columns) == ["nll__mean", "nll__ppl", "nll__cb0", "nll__cb1"]
    for clip in range(2):
        expected = [mean(NLL[clip, 0] + NLL[clip, 1]), mean(NLL[clip, 0]), mean(NLL[clip, 1])]
        row = two.iloc[clip][["nll__mean", "nll__cb0", "nll__cb1"]]
        np.testing.assert_allclose(row, expected, rtol=1e-6)


def test_min_k_and_max_k_tails_with_ties_and_rounding():
    attacks = {"min_k": {"k": [25, 25.1, 50, 75, 100]}, "max_k": {"k": [25, 50, 75]}}
    table = features(Table(), attacks)
    assert list(table.columns) == [
        *(f"min_k__k{k}" for k in ["25", "25.1", "50", "75", "100"]),
        *(f"max_k__k{k}" for k in ["25", "50", "75"]),
    ]
    # clip 0: l = ln2, ln2, ln2, ln3 (a three-way tie); clip 1: 2ln2, ln2, 2ln2, ln3.
    expected = {
        "min_k__k25": [LN3, 2 * LN2],
        "min_k__k25.1": [(LN3 + LN2) / 2, 2 * LN2],  # ceil(1.004) = 2 tokens
        "min_k__k50": [(LN3 + LN2) / 2, 2 * LN2],
        "min_k__k75": [(LN3 + 2 * LN2) / 3, (4 * LN2 + LN3) / 3],
        "min_k__k100": [mean(NLL[0, 0]), mean(NLL[1, 0])],
        "max_k__k25": [LN2, LN2],
        "max_k__k50": [LN2, (LN2 + LN3) / 2],
        "max_k__k75": [LN2, (LN2 + LN3 + 2 * LN2) / 3],
    }
    for column, values in expected.items():
        np.testing.assert_allclose(table[column], values, rtol=1e-6, err_msg=column)
    defaults = features(Table(), {"min_k": None, "max_k": None})
    assert list(defaults.columns) == [
        f"{a}__k{k}" for a in ["min_k", "max_k"] for k in (5, 10, 20, 30, 50)
    ]
    # 5%, 10% and 20% of 4 tokens is one token; 30% and 50% are two.
    np.testing.assert_allclose(defaults["min_k__k5"], [LN3, 2 * LN2], rtol=1e-6)
    np.testing.assert_allclose(defaults["min_k__k30"], defaults["min_k__k50"])
    with pytest.raises(ValueError, match="percentages"):
        features(Table(), {"min_k": {"k": [0]}})


def test_min_k_plus_on_the_hand_table():
    table = features(Table(), {"min_k_plus": {"k": [25, 50, 75, 100]}})
    # clip 0: z = 1, 1, 1, 0; clip 1: z = -1, 1, -1, 0 (lowest k% are averaged).
    expected = {
        "min_k_plus__k25": [0, -1],
        "min_k_plus__k50": [0.5, -1],
        "min_k_plus__k75": [2 / 3, -2 / 3],
        "min_k_plus__k100": [mean(Z[0, 0]), mean(Z[1, 0])],
    }
    for column, values in expected.items():
        np.testing.assert_allclose(table[column], values, rtol=1e-5, atol=1e-6, err_msg=column)
    assert set(table.attrs[MEMBER_SIGNS].values()) == {1}


def test_min_k_plus_matches_a_plain_loop_on_a_random_table():
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(4, 3, generator=generator) ** 3
    probs /= probs.sum(dim=1, keepdim=True)

    class Random(Table):
        def logits(self, codes, cond):
            return probs.log()[None, None].expand(*codes.shape, 3)

    z = []
    for step, code in enumerate(CODES[1, 0].tolist()):
        p = probs[step].tolist()
        mu = sum(q * math.log(q) for q in p)
        sigma = math.sqrt(sum(q * math.log(q) ** 2 for q in p) - mu**2)
        z.append((math.log(p[code]) - mu) / sigma)
    table = features(Random(), {"min_k_plus": {"k": [50]}})
    np.testing.assert_allclose(table["min_k_plus__k50"].iloc[1], mean(sorted(z)[:2]), rtol=1e-5)


@pytest.mark.parametrize("codebooks", [1, 2])
def test_zlib_ratio_against_zlib_compress(codebooks):
    table = features(Table(codebooks), {"zlib": None, "nll": None})
    for clip in range(2):
        # Codebooks concatenated, each code as int16 little-endian.
        codes = [c for book in range(codebooks) for c in CODES[clip, book].tolist()]
        size = len(zlib.compress(struct.pack(f"<{len(codes)}h", *codes), 9))
        expected = table["nll__mean"].iloc[clip] / size
        np.testing.assert_allclose(table["zlib__ratio"].iloc[clip], expected, rtol=1e-6)
    with pytest.raises(ValueError, match="int16"):
        compressed_bytes(torch.tensor([[[40000]]]))


def test_compressed_bytes_uses_level_9_per_clip():
    generator = torch.Generator().manual_seed(0)
    codes = torch.tensor([0, 1, 2, 3, 3, 3, 7, 7, -5])[
        torch.randint(9, (2, 2, 1500), generator=generator)
    ]
    for clip in range(2):
        flat = codes[clip].flatten().tolist()
        data = struct.pack(f"<{len(flat)}h", *flat)
        assert len(zlib.compress(data, 1)) != len(zlib.compress(data, 9))  # the level matters
        assert compressed_bytes(codes)[clip] == len(zlib.compress(data, 9))


def test_conditional_gap_is_negative_when_the_condition_helps():
    table = features(Table(), {"conditional_gap": None})
    expected = [mean(NLL[0, 0]) - LN3, mean(NLL[1, 0]) - LN3]
    np.testing.assert_allclose(table["conditional_gap__mean"], expected, rtol=1e-6)
    assert table["conditional_gap__mean"].iloc[0] < 0 < table["conditional_gap__mean"].iloc[1]
    assert table.attrs[MEMBER_SIGNS] == {"conditional_gap__mean": -1}


def test_reference_calibration_and_missing_reference():
    flat = Table(flat=True)
    table = features(Table(), {"reference": None}, reference=flat)
    expected = [mean(NLL[0, 0]) - LN3, mean(NLL[1, 0]) - LN3]
    np.testing.assert_allclose(table["reference__mean"], expected, rtol=1e-6)
    assert flat.calls == {"tokenize": 1, "logits": 1}  # it tokenised the audio itself
    target = Table()
    np.testing.assert_allclose(features(target, {"reference": None}, reference=target), 0)
    with pytest.raises(ValueError, match="needs a reference model"):
        features(Table(), {"nll": None, "reference": None})
    audio, meta = table_clips()
    batch = torch.from_numpy(audio)[:, None]
    with pytest.raises(ValueError, match="needs a reference model"):
        reference_attack(Table(), batch, meta, {})
    slow = Table(flat=True)
    slow.sample_rate = 16000
    with pytest.raises(ValueError, match="16000 Hz"):
        features(Table(), {"reference": None}, reference=slow)


def test_all_attacks_share_one_tokenisation_and_scoring_per_batch():
    adapter, ref = Table(), Table(flat=True)
    table = features(adapter, dict.fromkeys(AR_ATTACKS), reference=ref, n=2, batch_size=1)
    # Per batch: one tokenize, one conditional and one null scoring, shared by all attacks.
    assert adapter.calls == {"tokenize": 2, "logits": 4}
    assert ref.calls == {"tokenize": 2, "logits": 2}
    assert np.isfinite(table.to_numpy()).all()
    assert list(table.columns) == [
        "nll__mean",
        "nll__ppl",
        *(f"{a}__k{k}" for a in ["min_k", "max_k", "min_k_plus"] for k in (5, 10, 20, 30, 50)),
        "zlib__ratio",
        "conditional_gap__mean",
        "reference__mean",
    ]
    signs = {attack: ATTACKS[attack].member_sign for attack in AR_ATTACKS}
    assert signs == {**dict.fromkeys(AR_ATTACKS, -1), "min_k_plus": 1}
    assert all(ATTACKS[a].family == "autoregressive" for a in AR_ATTACKS)
