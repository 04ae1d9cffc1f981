"""The adapter contract: what every model kind promises the attacks (models/base.py), checked on
a tiny model of each kind, in the manner of diffusers' PipelineTesterMixin. A family's mixin
holds the tests of its interface; a test class per kind names the kind, and the `adapter`
fixture builds the tiny model (an embedded model trained for one epoch, or a random
published checkpoint from conftest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import train_tiny

from audio_di.attacks.extraction import FAMILIES, family_of
from audio_di.models import MODELS, PRETRAINED, load_adapter
from audio_di.models.base import Adapter

BATCH = 3


def parts(cond) -> dict[str, torch.Tensor]:
    """A condition's tensors by name: adapters give one tensor or a dict of them."""
    return cond if isinstance(cond, dict) else {"cond": cond}


class AdapterContract:
    """Tests every adapter passes, whatever its family."""

    kind: str
    # Clip length the tiny model is scored on.
    seconds: float = 0.25

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def one_thread(cls):
        """Tiny models run many small ops, which extra threads slow down."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(threads)

    @pytest.fixture(scope="class")
    @classmethod
    def adapter(cls, request, tmp_path_factory) -> Adapter:
        if cls.kind in PRETRAINED:
            folder = request.getfixturevalue("pretrained_folders")[cls.kind]
        else:
            folder = tmp_path_factory.mktemp(cls.kind)
            train_tiny(cls.kind, folder, epochs=1)
        return load_adapter({"kind": cls.kind, "source": str(folder)})

    def batch(self, adapter: Adapter, n: int = BATCH) -> tuple[torch.Tensor, pd.DataFrame]:
        """n tone mixtures (n, channels, samples) at the model's rate, with their manifest
        rows (artists the embedded models were trained on, no caption)."""
        rng = np.random.default_rng(0)
        t = np.arange(int(self.seconds * adapter.sample_rate)) / adapter.sample_rate
        freqs = rng.uniform(100, 0.2 * adapter.sample_rate, (n, 3))
        audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
        audio = torch.from_numpy(audio.astype(np.float32))[:, None]
        meta = pd.DataFrame(
            {
                "clip_id": [f"c{i}" for i in range(n)],
                "artist": [f"artist{i % 2}" for i in range(n)],
                "caption": "",
            }
        )
        return audio.expand(-1, adapter.channels, -1).to(adapter.device), meta

    def test_declares_its_format_and_family(self, adapter):
        assert isinstance(adapter.sample_rate, int) and adapter.sample_rate > 0
        assert isinstance(adapter.channels, int) and adapter.channels >= 1
        assert isinstance(adapter, FAMILIES[family_of(adapter)])

    def test_condition_has_a_row_per_clip_that_ignores_the_batch(self, adapter):
        _, meta = self.batch(adapter)
        with torch.inference_mode():
            cond = parts(adapter.condition(meta))
            first = parts(adapter.condition(meta[:1]))
            null = parts(adapter.null_condition(BATCH))
        for name, value in cond.items():
            assert value.shape[0] == null[name].shape[0] == BATCH, name
            # Text tokens are padded to the longest prompt of the batch.
            width = first[name].shape[1] if value.dim() > 1 else None
            torch.testing.assert_close(value[:1, :width] if width else value[:1], first[name])
        assert any(
            cond[name].shape != null[name].shape or not torch.equal(cond[name], null[name])
            for name in cond
        ), "the null condition equals the clips' condition"

    def outputs(self, adapter: Adapter, audio: torch.Tensor, meta: pd.DataFrame) -> torch.Tensor:
        """What the family's attacks read off the model for this batch."""
        raise NotImplementedError

    def test_outputs_repeat_and_ignore_the_batch(self, adapter):
        audio, meta = self.batch(adapter)
        with torch.inference_mode():
            together = self.outputs(adapter, audio, meta)
            again = self.outputs(adapter, audio, meta)
            alone = self.outputs(adapter, audio[:1], meta[:1])
        assert torch.isfinite(together.float()).all()
        torch.testing.assert_close(again, together)
        torch.testing.assert_close(alone, together[:1], rtol=1e-3, atol=1e-4)


class DiffusionContract(AdapterContract):
    """A denoiser with a discrete-time schedule: encode, predict, epsilon."""

    def test_schedule(self, adapter):
        abar = adapter.alphas_cumprod
        assert abar.dim() == 1 and adapter.num_train_timesteps == len(abar) > 1
        assert ((abar > 0) & (abar <= 1)).all() and (abar.diff() <= 0).all()
        assert adapter.prediction_type in ("epsilon", "v_prediction")

    def test_prediction_and_epsilon_have_the_latent_shape(self, adapter):
        audio, meta = self.batch(adapter)
        with torch.inference_mode():
            x0 = adapter.encode(audio)
            t = torch.tensor([10, 500, adapter.num_train_timesteps - 1], device=x0.device)
            x_t = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)).to(x0)
            cond = adapter.condition(meta)
            pred, eps = adapter.predict(x_t, t, cond), adapter.epsilon(x_t, t, cond)
        assert x0.shape[0] == BATCH and torch.isfinite(x0.float()).all()
        assert pred.shape == eps.shape == x0.shape
        assert torch.isfinite(eps.float()).all()

    def outputs(self, adapter, audio, meta):
        x0 = adapter.encode(audio)
        noise = torch.randn(x0.shape[1:], generator=torch.Generator().manual_seed(0)).to(x0)
        t = torch.full((len(x0),), 300, device=x0.device)
        return adapter.epsilon(x0 + noise, t, adapter.condition(meta))


class AutoregressiveContract(AdapterContract):
    """A causal model over discrete codes: tokenize, logits."""

    def test_codes_are_in_the_vocabulary(self, adapter):
        audio, _ = self.batch(adapter)
        with torch.inference_mode():
            codes = adapter.tokenize(audio)
        assert codes.dtype == torch.int64
        assert codes.shape[:2] == (BATCH, adapter.num_codebooks) and codes.shape[2] > 1
        assert ((codes >= 0) & (codes < adapter.vocab_size)).all()

    def test_log_probs_are_normalised_under_both_conditions(self, adapter):
        audio, meta = self.batch(adapter)
        with torch.inference_mode():
            codes = adapter.tokenize(audio)
            for cond in (adapter.condition(meta), adapter.null_condition(BATCH)):
                log_probs = adapter.logits(codes, cond)
                assert log_probs.shape == (*codes.shape, adapter.vocab_size)
                total = log_probs.float().logsumexp(-1)
                torch.testing.assert_close(total, torch.zeros_like(total), atol=1e-4, rtol=0)

    def outputs(self, adapter, audio, meta):
        return adapter.logits(adapter.tokenize(audio), adapter.condition(meta))


class TestEmbeddedDiffusion(DiffusionContract):
    kind = "embedded_diffusion"
    seconds = 1.0


class TestAudioLDM2(DiffusionContract):
    kind = "audioldm2"


class TestStableAudio(DiffusionContract):
    kind = "stable_audio"


class TestEmbeddedAR(AutoregressiveContract):
    kind = "embedded_ar"
    seconds = 1.0


class TestMusicGen(AutoregressiveContract):
    kind = "musicgen"


def test_every_model_kind_is_checked():
    classes = [c for c in globals().values() if isinstance(c, type) and "kind" in vars(c)]
    checked = {c.kind for c in classes}
    assert checked == set(MODELS)
