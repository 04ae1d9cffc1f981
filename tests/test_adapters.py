"""The adapter contract: what every model kind promises the attacks (models/base.py), checked on
a tiny model of each kind, in the manner of diffusers' PipelineTesterMixin. A family's mixin
holds the tests of its interface; a test class per kind names the kind and its tolerance, and
the `adapter` fixture loads the tiny model (conftest's trained embedded model or random
published checkpoint).

Here, once for every kind, is the property every attack relies on: a clip's features repeat
and do not depend on the batch it is scored in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from audio_di.attacks.extraction import extract_features, family_of
from audio_di.attacks.registry import ATTACKS
from audio_di.models import MODELS, PRETRAINED, load_adapter
from audio_di.models.base import Adapter

BATCH = 4
# Every attack of each family, on settings small enough for CPU.
SETTINGS = {
    "denoising_loss": {"timesteps": [100, 600], "draws": 1},
    "pia": {"timesteps": [200]},
    "pian": {"timesteps": [200]},
    "secmi": {"t_sec": 40, "k": 20},
    "gradient_masking": {"timesteps": [300]},
    "noise_optimisation": {"steps": 2},
    "gradient_norms": {"num_timesteps": 1},
    "clid": {"timesteps": [300]},
    "reference_loss": {"timesteps": [300], "draws": 1},
    "nll": {},
    "min_k": {"k": [10, 50]},
    "max_k": {"k": [10]},
    "min_k_plus": {"k": [10]},
    "zlib": {},
    "conditional_gap": {},
    "reference": {},
}


def parts(cond) -> dict[str, torch.Tensor]:
    """A condition's tensors by name: adapters give one tensor or a dict of them."""
    return cond if isinstance(cond, dict) else {"cond": cond}


def load(request, kind: str, seed: int = 0) -> Adapter:
    """The tiny model of a kind: trained (embedded kinds) or a random checkpoint."""
    if kind in PRETRAINED:
        folder = request.getfixturevalue("pretrained_folders")[kind]
    else:
        folder = request.getfixturevalue("trained_tiny")(kind, seed)
    return load_adapter({"kind": kind, "source": str(folder)})


class AdapterContract:
    """Tests every adapter passes, whatever its family."""

    kind: str
    # Clip length the tiny model is scored on.
    seconds: float = 0.25
    # How far a clip's features may move with the company it is scored in: batched kernels
    # sum in other orders.
    rtol: float = 1e-3
    atol: float = 1e-6
    # Features that are the same for every clip on this model.
    constant: tuple[str, ...] = ()

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
    def adapter(cls, request) -> Adapter:
        return load(request, cls.kind)

    @pytest.fixture(scope="class")
    @classmethod
    def reference(cls, request) -> Adapter:
        """The model the reference attacks calibrate against: the embedded model trained on
        another seed; for a published kind, its random checkpoint again."""
        return load(request, cls.kind, seed=1)

    def clips(self, adapter: Adapter, n: int = BATCH) -> tuple[np.ndarray, pd.DataFrame]:
        """n mono tone mixtures (n, samples) at the model's rate, with their manifest rows:
        artists the embedded models were trained on, a caption on the first clip and no
        artist on the last."""
        rng = np.random.default_rng(0)
        t = np.arange(int(self.seconds * adapter.sample_rate)) / adapter.sample_rate
        freqs = rng.uniform(100, 0.2 * adapter.sample_rate, (n, 3))
        audio = 0.2 * np.sin(2 * np.pi * freqs[..., None] * t).sum(axis=1)
        audio += 0.01 * rng.standard_normal(audio.shape)
        meta = pd.DataFrame(
            {
                "clip_id": [f"c{i}" for i in range(n)],
                "artist": [f"artist{i % 2}" for i in range(n - 1)] + [None],
                "caption": ["solo piano, slow"] + [""] * (n - 1),
            }
        )
        return audio.astype(np.float32), meta

    def batch(self, adapter: Adapter) -> tuple[torch.Tensor, pd.DataFrame]:
        """The clips as the model takes them: (n, channels, samples) on its device."""
        audio, meta = self.clips(adapter)
        audio = torch.from_numpy(audio)[:, None].expand(-1, adapter.channels, -1)
        return audio.to(adapter.device), meta

    def test_declares_its_format(self, adapter):
        assert isinstance(adapter.sample_rate, int) and adapter.sample_rate > 0
        assert isinstance(adapter.channels, int) and adapter.channels >= 1

    def test_condition_has_a_row_per_clip_and_differs_from_the_null(self, adapter):
        _, meta = self.batch(adapter)
        with torch.inference_mode():
            cond = parts(adapter.condition(meta))
            null = parts(adapter.null_condition(BATCH))
        for name, value in cond.items():
            assert value.shape[0] == null[name].shape[0] == BATCH, name
        assert any(
            cond[name].shape != null[name].shape or not torch.equal(cond[name], null[name])
            for name in cond
        ), "the null condition equals the clips' condition"

    def test_every_attack_repeats_and_ignores_the_batch(self, adapter, reference):
        attacks = {n: SETTINGS[n] for n, a in ATTACKS.items() if a.family == family_of(adapter)}
        audio, meta = self.clips(adapter)

        def score(rows: list[int], batch_size: int) -> pd.DataFrame:
            return extract_features(
                adapter, audio[rows], meta.iloc[rows], attacks, batch_size, reference=reference
            )

        together = score(list(range(BATCH)), BATCH)
        pd.testing.assert_frame_equal(score(list(range(BATCH)), BATCH), together)
        assert together["clip_id"].tolist() == meta["clip_id"].tolist()
        for name in attacks:
            assert any(c.startswith(f"{name}__") for c in together.columns), name
        values = together.iloc[:, 1:]
        assert np.isfinite(values.to_numpy()).all() and (values.dtypes == np.float64).all()
        # Clips differ, so a feature that does not is broken.
        assert sorted(values.columns[values.std() == 0]) == sorted(self.constant)
        # Other company: the third clip alone, and the last three in batches of two.
        for part in (score([2], 1), score([1, 2, 3], 2)):
            expected = together.set_index("clip_id").loc[part["clip_id"]].to_numpy()
            np.testing.assert_allclose(
                part.iloc[:, 1:].to_numpy(), expected, rtol=self.rtol, atol=self.atol
            )


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
            t = torch.tensor([10, 300, 500, adapter.num_train_timesteps - 1], device=x0.device)
            x_t = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0)).to(x0)
            cond = adapter.condition(meta)
            pred, eps = adapter.predict(x_t, t, cond), adapter.epsilon(x_t, t, cond)
        assert x0.shape[0] == BATCH and torch.isfinite(x0.float()).all()
        assert pred.shape == eps.shape == x0.shape
        assert torch.isfinite(eps.float()).all()

    def test_attacks_leave_no_gradients_on_the_model(self, adapter, reference):
        audio, meta = self.clips(adapter, 2)
        attacks = {n: SETTINGS[n] for n, a in ATTACKS.items() if a.family == "diffusion"}
        extract_features(adapter, audio, meta, attacks, 2, reference=reference)
        groups = adapter.parameter_groups().values()
        assert all(p.grad is None for group in groups for p in group)


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
    rtol = 1e-4


class TestMusicGen(AutoregressiveContract):
    kind = "musicgen"
    constant = ("reference__mean",)  # its own checkpoint as reference: NLL minus itself


def test_every_model_kind_is_checked():
    classes = [c for c in globals().values() if isinstance(c, type) and "kind" in vars(c)]
    checked = {c.kind for c in classes}
    assert checked == set(MODELS)
