"""Embedded models: training, saving/loading and the adapter contracts, on tiny configs."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FRONTEND, KINDS, SAMPLE_RATE, SAMPLES, TINY, clips, train_tiny
from safetensors.torch import load_file
from threadpoolctl import threadpool_limits

from audio_di.models import load_adapter, train_model
from audio_di.models.base import DiffusionAdapter
from audio_di.models.embedded import SCHEDULES
from audio_di.models.frontend import SILENCE, FrameCodebook


def outputs(adapter, audio: np.ndarray, meta: pd.DataFrame) -> dict[str, torch.Tensor]:
    """Every adapter output on a batch, with the declared shapes checked."""
    x = torch.from_numpy(audio)[:, None]
    batch, frames, n_mels = len(audio), FRONTEND["frames"], FRONTEND["n_mels"]
    cond = adapter.condition(meta)
    with torch.inference_mode():
        if isinstance(adapter, DiffusionAdapter):
            x0 = adapter.encode(x)
            t = torch.full((batch,), 300)
            out = {"x0": x0, "pred": adapter.predict(torch.randn_like(x0), t, cond)}
            assert x0.shape == out["pred"].shape == (batch, 1, n_mels, frames)
        else:
            codes = adapter.tokenize(x)
            out = {"codes": codes, "logits": adapter.logits(codes, cond)}
            assert codes.shape == (batch, 1, frames) and codes.dtype == torch.int64
            assert out["logits"].shape == (batch, 1, frames, adapter.vocab_size)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_train_save_load_roundtrip(kind, tmp_path):
    log = train_tiny(kind, tmp_path)
    assert list(log.columns) == ["epoch", "loss"] and len(log) == 2
    assert np.isfinite(log["loss"]).all()
    assert pd.read_csv(tmp_path / "loss.csv").equals(log)
    assert {p.name for p in tmp_path.iterdir()} == {"config.json", "model.safetensors", "loss.csv"}

    audio, meta = clips(5, seed=1)
    spec = {"kind": kind, "source": str(tmp_path)}
    torch.manual_seed(0)
    first = outputs(load_adapter(spec), audio, meta)
    torch.manual_seed(0)
    second = outputs(load_adapter(spec), audio, meta)
    for name, value in first.items():
        assert torch.isfinite(value.float()).all()
        assert torch.equal(value, second[name]), name


@pytest.mark.parametrize("kind", KINDS)
def test_seed_decides_weights(kind, trained_tiny, tmp_path):
    train_tiny(kind, tmp_path, seed=0)
    folders = (trained_tiny(kind, seed=0), tmp_path, trained_tiny(kind, seed=1))
    a, b, c = (load_file(folder / "model.safetensors") for folder in folders)
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("kind", KINDS)
def test_conditioning(kind, trained_tiny):
    adapter = load_adapter({"kind": kind, "source": trained_tiny(kind)})
    meta = pd.DataFrame({"artist": ["artist2", "artist0", None, float("nan")]})
    assert adapter.condition(meta).tolist() == [2, 0, 3, 3]
    assert adapter.null_condition(3).tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match=r"stranger.*artist0.*artist1.*artist2"):
        adapter.condition(pd.DataFrame({"artist": ["artist1", "stranger"]}))


def test_frontend_pads_short_clips_with_silence(trained_tiny):
    spec = {"kind": "embedded_diffusion", "source": trained_tiny("embedded_diffusion")}
    frontend = load_adapter(spec).parts["frontend"]
    short = torch.randn(2, 1, SAMPLES // 4)
    mel = frontend.log_mel(short)
    assert mel.shape == (2, FRONTEND["n_mels"], FRONTEND["frames"])
    assert torch.all(mel[..., -4:] == SILENCE)
    assert frontend.log_mel(torch.randn(2, 1, SAMPLES * 2)).shape[-1] == FRONTEND["frames"]


def test_ar_logits_are_normalised_and_causal(trained_tiny):
    adapter = load_adapter({"kind": "embedded_ar", "source": trained_tiny("embedded_ar")})
    codes = torch.randint(adapter.vocab_size, (2, 1, FRONTEND["frames"]))
    cond = adapter.condition(pd.DataFrame({"artist": ["artist0", "artist1"]}))
    with torch.inference_mode():
        lp = adapter.logits(codes, cond)
        torch.testing.assert_close(lp.logsumexp(-1), torch.zeros(2, 1, FRONTEND["frames"]))
        s = 5
        changed = codes.clone()
        changed[..., s] = (codes[..., s] + 1) % adapter.vocab_size
        lp2 = adapter.logits(changed, cond)
    # Entry s scores codes[s], so it may only depend on codes before s.
    torch.testing.assert_close(lp[:, :, : s + 1], lp2[:, :, : s + 1])
    assert not torch.allclose(lp[:, :, s + 1], lp2[:, :, s + 1])


def test_ar_alignment_on_a_memorised_sequence(tmp_path):
    """Trained on one clip repeated, the model predicts each of its codes at its own position."""
    audio, meta = clips(1)
    config = {**TINY["embedded_ar"], "learning_rate": 1e-2, "cond_dropout": 0.0}
    train_model("embedded_ar", audio.repeat(16, 0), meta.loc[[0] * 16], config, 30, 0, tmp_path)
    adapter = load_adapter({"kind": "embedded_ar", "source": tmp_path})
    with torch.inference_mode():
        codes = adapter.tokenize(torch.from_numpy(audio)[:, None])
        lp = adapter.logits(codes, adapter.condition(meta))
    assert (lp.argmax(-1) == codes).float().mean() > 0.9


def test_codebook_ignores_the_thread_count():
    """The same frames and seed give the same codes on any machine."""
    frames = torch.randn(5000, 32, generator=torch.Generator().manual_seed(0))
    centres = []
    for threads in (1, 2):
        codebook = FrameCodebook(256, 32)
        with threadpool_limits(limits=threads):
            codebook.fit(frames, torch.Generator().manual_seed(0))
        centres.append(codebook.centres)
    assert torch.equal(*centres)


class OracleV(DiffusionAdapter):
    """Knows x0 and the noise, and predicts v = sqrt(abar) eps - sqrt(1 - abar) x0."""

    prediction_type = "v_prediction"
    sample_rate = SAMPLE_RATE

    def __init__(self, x0, eps):
        self.alphas_cumprod = torch.linspace(0.999, 0.01, 1000)
        self.x0, self.eps = x0, eps

    def encode(self, audio):
        return self.x0

    def predict(self, x_t, t, cond):
        abar = self.alphas_cumprod[t].view(-1, 1, 1, 1)
        return abar.sqrt() * self.eps - (1 - abar).sqrt() * self.x0

    def condition(self, meta):
        return None

    def null_condition(self, batch_size):
        return None


def test_epsilon_from_v_prediction():
    x0, eps = torch.randn(4, 1, 3, 5), torch.randn(4, 1, 3, 5)
    adapter = OracleV(x0, eps)
    t = torch.tensor([0, 10, 500, 999])
    abar = adapter.alphas_cumprod[t].view(-1, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    torch.testing.assert_close(adapter.epsilon(x_t, t, None), eps)


def test_clear_errors(trained_tiny, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere.*config\.json.*model\.safetensors"):
        load_adapter({"kind": "embedded_ar", "source": str(tmp_path / "nowhere")})
    with pytest.raises(ValueError, match="unknown model kind 'gan'"):
        load_adapter({"kind": "gan", "source": str(tmp_path)})
    with pytest.raises(ValueError, match="lacks"):
        load_adapter({"kind": "embedded_ar"})
    audio, meta = clips(4)
    config = {k: v for k, v in TINY["embedded_ar"].items() if k != "codebook_size"}
    with pytest.raises(ValueError, match="codebook_size"):
        train_model("embedded_ar", audio, meta, config, 1, 0, tmp_path)
    bad = {**TINY["embedded_diffusion"], "block_out_channels": [8, 8, 8, 8, 8, 8]}
    with pytest.raises(ValueError, match="divisible"):
        train_model("embedded_diffusion", audio, meta, bad, 1, 0, tmp_path)
    # A folder that lost its config (e.g. a run killed before finishing) is not a model.
    shutil.copytree(trained_tiny("embedded_ar"), tmp_path / "model")
    (tmp_path / "model" / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="config.json"):
        load_adapter({"kind": "embedded_ar", "source": str(tmp_path / "model")})


def test_a_decayed_schedule_ends_near_zero_and_an_unknown_one_is_named(tmp_path):
    """The schedule changes what is learnt; a decayed one's last step is nearly still."""
    assert SCHEDULES["cosine"](0.0) == 1.0 and SCHEDULES["cosine"](1.0) == pytest.approx(0.0)
    assert SCHEDULES["constant"](0.7) == 1.0
    # Cooldown: constant over the first four fifths, then linear to 0.
    assert [SCHEDULES["cooldown"](d) for d in (0.0, 0.8, 0.9)] == pytest.approx([1, 1, 0.5])
    assert SCHEDULES["cooldown"](1.0) == pytest.approx(0.0)
    audio, meta = clips(12, seed=1)
    config = TINY["embedded_ar"]
    for schedule in SCHEDULES:  # 10 epochs, so that the cooldown's last fifth has a step
        train_model(
            "embedded_ar", audio, meta, config, 10, 0, tmp_path / schedule, schedule=schedule
        )
    weights = [load_file(tmp_path / s / "model.safetensors") for s in SCHEDULES]
    for a, b in itertools.combinations(weights, 2):
        assert not all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="unknown learning-rate schedule 'step'"):
        train_model("embedded_ar", audio, meta, config, 1, 0, tmp_path / "x", schedule="step")


@pytest.mark.parametrize("kind", KINDS)
def test_fine_tuning_keeps_the_base_front_end_and_codebook(kind, tmp_path):
    train_tiny(kind, tmp_path / "base", epochs=1)
    audio, meta = clips(12, seed=1)
    log = train_model(kind, audio, meta, {}, 2, 0, tmp_path / "tuned", base=tmp_path / "base")
    assert list(log["epoch"]) == [1, 2]
    base, tuned = (load_adapter({"kind": kind, "source": tmp_path / n}) for n in ("base", "tuned"))
    assert tuned.config["fine_tuned_from"] == str(tmp_path / "base")
    before, after = base.parts.state_dict(), tuned.parts.state_dict()
    kept = [k for k in before if k.startswith(("frontend.", "tokenizer."))]
    assert kept and all(torch.equal(before[k], after[k]) for k in kept)
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("net."))


def test_the_saved_config_does_not_depend_on_the_hash_seed():
    """diffusers lists the settings it defaulted in set order, which PYTHONHASHSEED moves: the
    saved config must not follow it, or every run writes another config.json (and DVC sees
    another model). One process per seed writes every kind's config: two seeds order a set
    of that size alike by chance about never, and each process costs seconds of imports."""
    code = (
        "import json, sys; from audio_di.models import MODELS; "
        "configs = json.loads(sys.argv[1]); "
        "print(json.dumps([MODELS[kind]._library_configs(c) for kind, c in configs.items()]))"
    )
    config = json.dumps({kind: {**TINY[kind], "artists": ["a", "b"]} for kind in KINDS})
    written = {
        subprocess.run(
            [sys.executable, "-c", code, config],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in (1, 2)
    }  # fmt: skip
    assert len(written) == 1


def test_a_job_imports_only_its_model_family(trained_tiny):
    """Each library costs seconds at every job's start: the features step imports neither
    diffusers, transformers' GPT-2 nor scikit-learn until a model needs them, and an AR
    model loads without diffusers or scikit-learn (the codebook is fitted in training only)."""
    code = (
        "import json, sys; import audio_di.steps.features; "
        "libraries = ('diffusers', 'transformers.models.gpt2', 'sklearn'); "
        "loaded = lambda: [m for m in libraries if m in sys.modules]; "
        "before = loaded(); "
        "from audio_di.models import load_adapter; "
        "load_adapter({'kind': 'embedded_ar', 'source': sys.argv[1]}); "
        "print(json.dumps([before, loaded()]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(trained_tiny("embedded_ar"))],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert json.loads(out) == [[], ["transformers.models.gpt2"]]
