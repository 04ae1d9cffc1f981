"""Attack registry and feature extraction, on tiny trained models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import KINDS, clips

from audio_di.attacks import autoregressive, registry
from audio_di.attacks.extraction import extract_features
from audio_di.attacks.registry import ATTACKS
from audio_di.models import load_adapter
from audio_di.models.base import DiffusionAdapter
from audio_di.tables import MEMBER_SIGNS

ATTACK_OF = {"embedded_diffusion": "denoising_loss", "embedded_ar": "nll"}


@pytest.fixture(scope="module")
def adapters(trained_tiny):
    return {kind: load_adapter({"kind": kind, "source": trained_tiny(kind)}) for kind in KINDS}


def test_columns_and_dtypes(adapters):
    audio, meta = clips(5, seed=4)
    table = extract_features(
        adapters["embedded_diffusion"],
        audio,
        meta,
        {"denoising_loss": {"timesteps": [10, 500], "draws": 3}},
        batch_size=2,
    )
    assert list(table.columns) == [
        "clip_id",
        "denoising_loss__t10",
        "denoising_loss__t500",
        "denoising_loss__mean",
    ]
    assert table["clip_id"].tolist() == meta["clip_id"].tolist()
    assert (table.dtypes.iloc[1:] == np.float64).all()
    assert np.isfinite(table.iloc[:, 1:].to_numpy()).all()
    ar = extract_features(adapters["embedded_ar"], audio, meta, {"nll": None}, batch_size=4)
    assert list(ar.columns) == ["clip_id", "nll__mean", "nll__ppl"]
    assert ar["nll__mean"].dtype == np.float64
    # Each column's member sign travels with the table.
    assert table.attrs[MEMBER_SIGNS] == {c: -1 for c in table.columns[1:]}
    assert ar.attrs[MEMBER_SIGNS] == {"nll__mean": -1, "nll__ppl": -1}


def test_noise_seed_changes_draws(adapters):
    audio, meta = clips(3, seed=5)
    first, second = (
        extract_features(
            adapters["embedded_diffusion"], audio, meta, {"denoising_loss": {"seed": s}}, 3
        )
        for s in (0, 1)
    )
    assert not np.allclose(first.iloc[:, 1:], second.iloc[:, 1:])


@pytest.mark.parametrize("kind", KINDS)
def test_missing_artist_is_scored_unconditionally(kind, adapters):
    audio, meta = clips(2, seed=8)
    attacks = {ATTACK_OF[kind]: {}}
    conditional = extract_features(adapters[kind], audio, meta, attacks, 2)
    unconditional = extract_features(adapters[kind], audio, meta.assign(artist=None), attacks, 2)
    assert np.isfinite(unconditional.iloc[:, 1:].to_numpy()).all()
    assert not np.allclose(conditional.iloc[:, 1:], unconditional.iloc[:, 1:])


def test_errors(adapters):
    audio, meta = clips(2, seed=6)
    with pytest.raises(ValueError, match="diffusion models"):
        extract_features(adapters["embedded_ar"], audio, meta, {"denoising_loss": {}}, 2)
    with pytest.raises(ValueError, match="unknown attack 'lira'"):
        extract_features(adapters["embedded_ar"], audio, meta, {"lira": {}}, 2)
    with pytest.raises(ValueError, match="no setting"):
        extract_features(adapters["embedded_ar"], audio, meta, {"nll": {"timesteps": [1]}}, 2)
    stranger = meta.assign(artist=["artist0", "stranger"])
    for kind in KINDS:
        with pytest.raises(ValueError, match="stranger"):
            extract_features(adapters[kind], audio, stranger, {ATTACK_OF[kind]: {}}, 2)
    with pytest.raises(ValueError, match="unknown attack"):
        extract_features(adapters["embedded_ar"], audio, meta, {"nope": {}}, 2)


class Oracle(DiffusionAdapter):
    """x0 = 0, so x_t = sqrt(1 - abar_t) eps and eps is recoverable exactly from (x_t, t)."""

    prediction_type = "epsilon"
    sample_rate = 8000

    def __init__(self):
        self.alphas_cumprod = torch.linspace(0.999, 0.01, 1000)

    def encode(self, audio):
        return torch.zeros(len(audio), 1, 4, 4)

    def predict(self, x_t, t, cond):
        assert torch.equal(cond, torch.zeros(len(x_t)))
        return x_t / (1 - self.alphas_cumprod[t]).sqrt().view(-1, 1, 1, 1)

    def condition(self, meta):
        return torch.zeros(len(meta))

    def null_condition(self, batch_size):
        return torch.ones(batch_size)


def test_denoising_loss_pairs_each_row_with_its_timestep():
    audio, meta = clips(3, seed=7)
    table = extract_features(Oracle(), audio, meta, {"denoising_loss": {}}, batch_size=3)
    timesteps = ATTACKS["denoising_loss"].defaults["timesteps"]
    assert list(table.columns[1:-1]) == [f"denoising_loss__t{t}" for t in timesteps]
    np.testing.assert_allclose(table.iloc[:, 1:].to_numpy(), 0, atol=1e-10)


def flaky(adapter, audio, meta, settings):
    """Scores the clip's index; NaN for clip 1, raises whenever clip 2 is in the batch."""
    index = torch.tensor([int(c.rsplit("_", 1)[1]) for c in meta["clip_id"]], dtype=torch.float64)
    if (index == 2).any():
        raise RuntimeError("cannot score clip 2")
    return {"value": torch.where(index == 1, torch.nan, index)}


@pytest.fixture
def flaky_attack(monkeypatch):
    attack = registry.Attack(
        name="flaky",
        family="autoregressive",
        fn="autoregressive.flaky",
        paper="",
        member_sign=-1,
        defaults={},
    )
    monkeypatch.setattr(autoregressive, "flaky", flaky, raising=False)
    monkeypatch.setitem(registry.ATTACKS, "flaky", attack)


def test_failed_and_non_finite_clips_are_missing_and_named(adapters, flaky_attack, caplog):
    audio, meta = clips(6, seed=9)
    table = extract_features(adapters["embedded_ar"], audio, meta, {"flaky": {}}, 4)
    expected = [0.0, np.nan, np.nan, 3.0, 4.0, 5.0]
    np.testing.assert_array_equal(table["flaky__value"], expected)
    assert meta["clip_id"][2] in caplog.text and meta["clip_id"][1] in caplog.text


def test_an_attack_failing_everywhere_is_an_error(adapters, flaky_attack):
    audio, meta = clips(6, seed=9)
    with pytest.raises(RuntimeError, match="cannot score clip 2"):
        extract_features(
            adapters["embedded_ar"], audio.take([2], 0), meta.iloc[[2]], {"flaky": {}}, 4
        )


def test_out_of_memory_halves_the_batch(adapters, monkeypatch):
    audio, meta = clips(7, seed=10)
    attacks = {"nll": {}}
    expected = extract_features(adapters["embedded_ar"], audio, meta, attacks, 7)
    real = autoregressive.nll

    def small_batches_only(adapter, batch, rows, settings):
        if len(batch) > 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return real(adapter, batch, rows, settings)

    monkeypatch.setattr(autoregressive, "nll", small_batches_only)
    table = extract_features(adapters["embedded_ar"], audio, meta, attacks, 7)
    pd.testing.assert_frame_equal(table, expected, rtol=1e-6)
