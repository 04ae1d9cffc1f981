"""Diffusion attacks: hand-checked values on analytic adapters, and parameter groups, column
names and seeds on a tiny trained EmbeddedDiffusion (batch independence is in test_adapters)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import clips

from audio_di.attacks.extraction import extract_features
from audio_di.attacks.noising import clip_noise
from audio_di.attacks.registry import ATTACKS
from audio_di.models import load_adapter
from audio_di.models.base import DiffusionAdapter

DIFFUSION = sorted(name for name, a in ATTACKS.items() if a.family == "diffusion")
NEW = ["pia", "pian", "secmi", "gradient_masking", "noise_optimisation", "gradient_norms", "clid"]
SHAPE = (1, 4, 4)


class Analytic(DiffusionAdapter):
    """x0 from the audio's first 16 samples; eps_hat(x, t) = gain[t] * weight * x + bias.

    `weight` and `bias` are parameters (groups "weight" and "bias"); the null condition
    (class 1) predicts zeros. Records whether predict ran in inference mode.
    """

    prediction_type = "epsilon"
    sample_rate = 8000

    def __init__(self, gain=None, weight=None, bias=0.0, zero_x0=False):
        self.alphas_cumprod = torch.linspace(0.999, 0.01, 1000)
        self.gain = torch.ones(1000) if gain is None else gain
        self.weight = torch.nn.Parameter(torch.ones(SHAPE) if weight is None else weight)
        self.bias = torch.nn.Parameter(torch.tensor(float(bias)))
        self.zero_x0 = zero_x0
        self.inference = set()

    def encode(self, audio):
        x0 = 10 * audio[:, :1, 100:116].reshape(-1, *SHAPE).float()
        return torch.zeros_like(x0) if self.zero_x0 else x0

    def predict(self, x_t, t, cond):
        self.inference.add(torch.is_inference_mode_enabled())
        out = self.gain[t].view(-1, 1, 1, 1) * self.weight * x_t + self.bias
        return torch.where((cond == 0).view(-1, 1, 1, 1), out, torch.zeros_like(out))

    def condition(self, meta):
        return torch.zeros(len(meta), dtype=torch.long)

    def null_condition(self, batch_size):
        return torch.ones(batch_size, dtype=torch.long)

    def parameter_groups(self):
        return {"weight": [self.weight], "bias": [self.bias]}


def exact(**kwargs) -> Analytic:
    """The exact noise oracle for x0 = 0: eps_hat = x_t / sqrt(1 - abar_t)."""
    adapter = Analytic(zero_x0=True, **kwargs)
    adapter.gain = 1 / (1 - adapter.alphas_cumprod).sqrt()
    return adapter


def features(adapter, name, settings=None, n=3, seed=7, batch_size=None):
    audio, meta = clips(n, seed=seed)
    table = extract_features(adapter, audio, meta, {name: settings}, batch_size or n)
    return table, audio, meta


def x0_of(adapter, audio) -> torch.Tensor:
    return adapter.encode(torch.from_numpy(audio)[:, None]).double().detach()


def lp(x: torch.Tensor, p: float) -> torch.Tensor:
    return x.abs().pow(p).flatten(1).mean(dim=1).pow(1 / p)


# -- hand-checked values ---------------------------------------------------------------------


def test_pia_on_a_linear_denoiser():
    # eps_hat(x, t) = g_t x with g_0 = 1, so eps0 = z, z_t = (sqrt(a) + sqrt(1 - a)) z, and
    # eps0 - eps_hat(z_t) = (1 - g_t (sqrt(a) + sqrt(1 - a))) z.
    gain = 1 + torch.arange(1000) / 1000
    adapter = Analytic(gain=gain)
    table, audio, _ = features(adapter, "pia", {"timesteps": [200, 600], "p": 3})
    z = x0_of(adapter, audio)
    for step in (200, 600):
        a = float(adapter.alphas_cumprod[step])
        factor = abs(1 - float(gain[step]) * (math.sqrt(a) + math.sqrt(1 - a)))
        np.testing.assert_allclose(table[f"pia__t{step}"], factor * lp(z, 3), rtol=1e-5)
    assert list(table.columns) == ["clip_id", "pia__t200", "pia__t600"]


def test_pian_rescales_eps0_to_the_mean_absolute_value_of_gaussian_noise():
    """Kong et al.'s code divides eps0 by its mean |.| and multiplies by sqrt(2 / pi)."""
    gain = 1 + torch.arange(1000) / 1000
    adapter = Analytic(gain=gain)
    table, audio, _ = features(adapter, "pian", {"timesteps": [200], "p": 4})
    z = x0_of(adapter, audio)
    unit = z / z.abs().flatten(1).mean(dim=1).view(-1, 1, 1, 1) * math.sqrt(2 / math.pi)
    mean_abs = torch.full((3,), math.sqrt(2 / math.pi), dtype=z.dtype)
    assert torch.allclose(unit.abs().flatten(1).mean(dim=1), mean_abs)
    a = float(adapter.alphas_cumprod[200])
    x_t = math.sqrt(a) * z + math.sqrt(1 - a) * unit
    expected = lp(unit - float(gain[200]) * x_t, 4)
    np.testing.assert_allclose(table["pian__t200"], expected, rtol=1e-5)
    # Unlike PIA, PIAN ignores the scale of x0 in eps0 (only that of z in z_t).
    pia, *_ = features(adapter, "pia", {"timesteps": [200], "p": 4})
    assert not np.allclose(pia["pia__t200"], table["pian__t200"])


def test_secmi_is_exact_for_the_noise_oracle():
    table, *_ = features(exact(), "secmi", {"t_sec": 100, "k": 10})
    np.testing.assert_allclose(table["secmi__stat"], 0, atol=1e-12)


@pytest.mark.parametrize(("t_sec", "k"), [(100, 10), (60, 20)])
def test_secmi_on_a_linear_denoiser(t_sec, k):
    # With eps_hat = g_t x every DDIM move t -> s multiplies x by a scalar m(t, s); g jumps
    # between neighbouring grid points, so that the round trip is far from exact.
    gain = 0.5 + (torch.arange(1000) % 30) / 15 + torch.arange(1000) / 1000
    adapter = Analytic(gain=gain)
    table, audio, _ = features(adapter, "secmi", {"t_sec": t_sec, "k": k})
    abar = adapter.alphas_cumprod.double()

    def m(t, s):
        g = float(gain[t])
        return (
            math.sqrt(abar[s] / abar[t]) * (1 - math.sqrt(1 - abar[t]) * g)
            + math.sqrt(1 - abar[s]) * g
        )

    inverted = math.prod(m(t, t + k) for t in range(0, t_sec - k, k))
    roundtrip = m(t_sec - k, t_sec) * m(t_sec, t_sec - k)
    z = x0_of(adapter, audio)
    expected = z.pow(2).flatten(1).mean(dim=1) * inverted**2 * (1 - roundtrip) ** 2
    assert (expected > 1e-5).all()
    np.testing.assert_allclose(table["secmi__stat"], expected, rtol=1e-3)


def test_secmi_rejects_a_bad_grid():
    with pytest.raises(ValueError, match="multiple of k"):
        features(Analytic(), "secmi", {"t_sec": 100, "k": 30})


def test_gradient_masking_on_an_elementwise_denoiser():
    # eps_hat = w * x_t: d loss / d x_t = 2 / 16 * w * (w x_t - eps), so the mask is the
    # top 20% (4 of 16) entries of |w * r|, r = w x_t - eps.
    weight = torch.linspace(-2, 3, 16).view(SHAPE)
    adapter = Analytic(weight=weight)
    settings = {"timesteps": [100, 400], "draws": 2, "fraction": 0.2, "seed": 3}
    table, audio, meta = features(adapter, "gradient_masking", settings)
    z = x0_of(adapter, audio)
    per_step = []
    for step in (100, 400):
        a = float(adapter.alphas_cumprod[step])
        draws = []
        for draw in range(2):
            eps = torch.stack([clip_noise(c, draw, 3, SHAPE) for c in meta["clip_id"]]).double()
            r = (weight.double() * (math.sqrt(a) * z + math.sqrt(1 - a) * eps) - eps).flatten(1)
            top = (weight.double().flatten() * r).abs().topk(4, dim=1).indices
            draws.append(r.gather(1, top).pow(2).mean(dim=1))
        per_step.append(torch.stack(draws).mean(dim=0))
        np.testing.assert_allclose(table[f"gradient_masking__t{step}"], per_step[-1], rtol=1e-5)
    np.testing.assert_allclose(
        table["gradient_masking__mean"], torch.stack(per_step).mean(dim=0), rtol=1e-5
    )
    # The masked error is the largest part of the error: above the plain loss here.
    loss, *_ = features(adapter, "denoising_loss", {"timesteps": [100, 400], "draws": 2, "seed": 3})
    assert (table["gradient_masking__mean"] > loss["denoising_loss__mean"]).all()


def test_noise_optimisation_first_adam_step_is_a_sign_step():
    # eps_hat = x: the loss gradient is 2 / 16 * (r + delta), r = x_t - eps; Adam's first
    # step moves each entry by lr against the gradient's sign.
    adapter, lr = Analytic(), 0.05
    settings = {"timestep": 100, "steps": 1, "lr": lr, "draws": 1, "seed": 0}
    table, audio, meta = features(adapter, "noise_optimisation", settings)
    a = float(adapter.alphas_cumprod[100])
    eps = torch.stack([clip_noise(c, 0, 0, SHAPE) for c in meta["clip_id"]]).double()
    r = math.sqrt(a) * x0_of(adapter, audio) + math.sqrt(1 - a) * eps - eps
    expected = (r - lr * r.sign()).pow(2).flatten(1).mean(dim=1)
    np.testing.assert_allclose(table["noise_optimisation__loss"], expected, rtol=1e-5)
    np.testing.assert_allclose(table["noise_optimisation__delta_norm"], lr * 4, rtol=1e-5)
    assert list(table.columns) == [
        "clip_id",
        "noise_optimisation__loss",
        "noise_optimisation__delta_norm",
    ]
    none, *_ = features(adapter, "noise_optimisation", {**settings, "steps": 0})
    np.testing.assert_allclose(
        none["noise_optimisation__loss"], r.pow(2).flatten(1).mean(1), rtol=1e-5
    )
    np.testing.assert_allclose(none["noise_optimisation__delta_norm"], 0)
    more, *_ = features(adapter, "noise_optimisation", {**settings, "steps": 4})
    assert (more["noise_optimisation__loss"] < table["noise_optimisation__loss"]).all()


def test_gradient_norms_on_an_affine_denoiser():
    # eps_hat = w x + b (scalar w, b); loss = mean over rows and entries of r^2, r = w x_t + b
    # - eps: d/dw = mean(2 r x_t), d/db = mean(2 r); timesteps 250, 750 (centres of halves).
    adapter = Analytic(weight=torch.tensor(0.7), bias=0.1)
    settings = {"num_timesteps": 2, "draws": 1, "seed": 5, "layers": "all"}
    table, audio, meta = features(adapter, "gradient_norms", settings)
    z = x0_of(adapter, audio)
    eps = torch.stack([clip_noise(c, 0, 5, SHAPE) for c in meta["clip_id"]]).double()
    dw, db = 0, 0
    for step in (250, 750):
        a = float(adapter.alphas_cumprod[step])
        x_t = math.sqrt(a) * z + math.sqrt(1 - a) * eps
        r = 0.7 * x_t + 0.1 - eps
        dw = dw + (2 * r * x_t).flatten(1).mean(dim=1) / 2
        db = db + (2 * r).flatten(1).mean(dim=1) / 2
    assert list(table.columns) == ["clip_id", "gradient_norms__weight", "gradient_norms__bias"]
    np.testing.assert_allclose(table["gradient_norms__weight"], dw.abs(), rtol=1e-4)
    np.testing.assert_allclose(table["gradient_norms__bias"], db.abs(), rtol=1e-4)
    assert adapter.weight.grad is None and adapter.bias.grad is None
    only, *_ = features(adapter, "gradient_norms", {**settings, "layers": ["bias"]})
    assert list(only.columns) == ["clip_id", "gradient_norms__bias"]
    np.testing.assert_allclose(only["gradient_norms__bias"], table["gradient_norms__bias"])
    with pytest.raises(ValueError, match=r"\['conv9'\] unknown"):
        features(adapter, "gradient_norms", {**settings, "layers": ["bias", "conv9"]})


def test_conditional_gap_is_negative_where_the_condition_explains_the_clip():
    # True condition: the exact oracle (error 0); null condition: predicts 0 (error eps^2).
    settings = {"timesteps": [50, 300], "draws": 2, "seed": 1}
    table, _, meta = features(exact(), "clid", settings)
    noise = [
        torch.stack([clip_noise(c, d, 1, SHAPE) for c in meta["clip_id"]]).double()
        for d in range(2)
    ]
    expected = -torch.stack([eps.pow(2).flatten(1).mean(dim=1) for eps in noise]).mean(dim=0)
    for column in ("clid__t50", "clid__t300", "clid__mean"):
        np.testing.assert_allclose(table[column], expected, rtol=1e-5)
    assert (table["clid__mean"] < 0).all()


def test_gradient_attacks_run_with_autograd_and_the_rest_in_inference_mode():
    for name in NEW:
        adapter = Analytic()
        features(adapter, name)
        assert adapter.inference == {not ATTACKS[name].needs_grad}, name
        assert adapter.weight.grad is None and adapter.bias.grad is None
    assert {n for n in NEW if ATTACKS[n].needs_grad} == {
        "gradient_masking",
        "noise_optimisation",
        "gradient_norms",
    }
    assert all(ATTACKS[name].member_sign == -1 for name in NEW)


# -- on a tiny trained model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(trained_tiny):
    return load_adapter(
        {"kind": "embedded_diffusion", "source": trained_tiny("embedded_diffusion")}
    )


def test_embedded_parameter_groups_cover_the_unet_once(tiny):
    groups = tiny.parameter_groups()
    assert list(groups) == [
        "conv_in",
        "time_embedding",
        "class_embedding",
        "down_blocks.0",
        "down_blocks.1",
        "up_blocks.0",
        "up_blocks.1",
        "mid_block",
        "conv_norm_out",
        "conv_out",
    ]
    ids = [id(p) for params in groups.values() for p in params]
    assert len(ids) == len(set(ids)) == len(list(tiny.parts["net"].parameters()))


def test_default_columns(tiny):
    audio, meta = clips(2, seed=4)
    table = extract_features(tiny, audio, meta, dict.fromkeys(NEW), batch_size=2)
    groups = list(tiny.parameter_groups())
    grid = [f"t{t}" for t in (50, 100, 200, 300, 500)]
    expected = (
        ["pia__t200", "pian__t200", "secmi__stat"]
        + [f"gradient_masking__{s}" for s in ["t100", "t200", "t300", "mean"]]
        + ["noise_optimisation__loss", "noise_optimisation__delta_norm"]
        + [f"gradient_norms__{g}" for g in groups]
        + [f"clid__{s}" for s in [*grid, "mean"]]
    )
    assert list(table.columns) == ["clip_id", *expected]
    assert sorted(["denoising_loss", "reference_loss", *NEW]) == DIFFUSION


@pytest.mark.parametrize("name", ["pia", "gradient_masking", "noise_optimisation", "clid"])
def test_seed_or_timestep_changes_features(name, tiny):
    audio, meta = clips(3, seed=5)
    key, values = ("timesteps", ([100], [300])) if name == "pia" else ("seed", (0, 1))
    first, second = (
        extract_features(tiny, audio, meta, {name: {key: v}}, 3).iloc[:, 1:] for v in values
    )
    if name == "pia":
        first.columns = second.columns = ["t"]
    assert not np.allclose(first, second)


def test_reference_loss_subtracts_the_reference_null_loss_on_the_same_noise():
    # Target: the exact oracle under its condition (error 0); reference: the same oracle,
    # which predicts 0 under the null condition (error eps^2). With the target as its own
    # reference, the attack is CLiD's conditional gap.
    settings = {"timesteps": [20, 300], "draws": 2, "seed": 1}
    audio, meta = clips(3, seed=7)
    target = exact()
    table = extract_features(target, audio, meta, {"reference_loss": settings}, 3, target)
    gap = extract_features(target, audio, meta, {"clid": settings}, 3)
    noise = torch.stack(
        [torch.stack([clip_noise(c, d, 1, SHAPE) for c in meta["clip_id"]]) for d in range(2)]
    ).double()
    expected = -noise.pow(2).flatten(2).mean(dim=2).mean(dim=0)
    for t in ("t20", "t300", "mean"):
        np.testing.assert_allclose(table[f"reference_loss__{t}"], expected, rtol=1e-5)
        np.testing.assert_allclose(table[f"reference_loss__{t}"], gap[f"clid__{t}"], rtol=1e-5)
    with pytest.raises(ValueError, match="needs a reference model"):
        extract_features(target, audio, meta, {"reference_loss": settings}, 3)
