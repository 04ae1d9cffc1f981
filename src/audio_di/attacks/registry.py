"""The one table of membership attacks: name, family, function, paper, member sign and
default settings. It imports no torch: functions are named here, and attacks.extraction
looks them up when it runs them.

Adding an attack: a function in diffusion.py or autoregressive.py whose docstring cites its
paper, one entry in ATTACKS (keyword arguments only), and its settings under
features.attacks.<family> in workflow/schemas/params.schema.yaml (tests/test_registry.py
checks that schema and registry agree). A function takes (adapter, audio (batch, channels,
samples) on adapter.device, the batch's manifest rows, settings) and returns
{setting name: per-clip values (batch,)}; attacks.extraction runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Attack:
    name: str
    family: str
    # The function, as `<module>.<function>` of attacks.extraction.MODULES.
    fn: str
    # The paper its function's docstring cites, as arXiv:<id>.
    paper: str
    # -1 when lower values mean member, +1 when higher values do.
    member_sign: int
    defaults: Mapping[str, Any]
    # Runs with autograd on (outside inference mode); such attacks take gradients with
    # torch.autograd.grad, so model parameters never accumulate .grad.
    needs_grad: bool = False
    # Compares with a reference model, which extraction must be given.
    needs_reference: bool = False


ATTACKS: dict[str, Attack] = {
    attack.name: attack
    for attack in (
        Attack(
            name="denoising_loss",
            family="diffusion",
            fn="diffusion.denoising_loss",
            paper="arXiv:2302.03262",
            member_sign=-1,
            defaults={"timesteps": (50, 100, 200, 300, 500), "draws": 2, "seed": 0},
        ),
        Attack(
            name="pia",
            family="diffusion",
            fn="diffusion.pia",
            paper="arXiv:2305.18355",
            member_sign=-1,
            defaults={"timesteps": (200,), "p": 4},
        ),
        Attack(
            name="pian",
            family="diffusion",
            fn="diffusion.pian",
            paper="arXiv:2305.18355",
            member_sign=-1,
            defaults={"timesteps": (200,), "p": 4},
        ),
        Attack(
            name="secmi",
            family="diffusion",
            fn="diffusion.secmi",
            paper="arXiv:2302.01316",
            member_sign=-1,
            defaults={"t_sec": 100, "k": 20},
        ),
        Attack(
            name="gradient_masking",
            family="diffusion",
            fn="diffusion.gradient_masking",
            paper="arXiv:2302.03262",
            member_sign=-1,
            defaults={"timesteps": (100, 200, 300), "draws": 1, "fraction": 0.2, "seed": 0},
            needs_grad=True,
        ),
        Attack(
            name="noise_optimisation",
            family="diffusion",
            fn="diffusion.noise_optimisation",
            paper="arXiv:2302.03262",
            member_sign=-1,
            defaults={"timestep": 100, "steps": 3, "lr": 0.05, "draws": 1, "seed": 0},
            needs_grad=True,
        ),
        Attack(
            name="gradient_norms",
            family="diffusion",
            fn="diffusion.gradient_norms",
            paper="arXiv:2308.06405",
            member_sign=-1,
            defaults={"num_timesteps": 2, "draws": 1, "seed": 0, "layers": "all"},
            needs_grad=True,
        ),
        # CLiD-style conditional gap (the name conditional_gap is the autoregressive attack's).
        Attack(
            name="clid",
            family="diffusion",
            fn="diffusion.conditional_gap",
            paper="arXiv:2405.14800",
            member_sign=-1,
            defaults={"timesteps": (50, 100, 200, 300, 500), "draws": 1, "seed": 0},
        ),
        Attack(
            name="reference_loss",
            family="diffusion",
            fn="diffusion.reference_loss",
            paper="arXiv:2112.03570",
            member_sign=-1,
            defaults={"timesteps": (20, 50, 100, 200), "draws": 2, "seed": 0},
            needs_reference=True,
        ),
        Attack(
            name="nll",
            family="autoregressive",
            fn="autoregressive.nll",
            paper="arXiv:1709.01604",
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="min_k",
            family="autoregressive",
            fn="autoregressive.min_k",
            paper="arXiv:2310.16789",
            member_sign=-1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="max_k",
            family="autoregressive",
            fn="autoregressive.max_k",
            paper="arXiv:2406.06443",
            member_sign=-1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="min_k_plus",
            family="autoregressive",
            fn="autoregressive.min_k_plus",
            paper="arXiv:2404.02936",
            member_sign=+1,
            defaults={"k": (5, 10, 20, 30, 50)},
        ),
        Attack(
            name="zlib",
            family="autoregressive",
            fn="autoregressive.zlib_ratio",
            paper="arXiv:2012.07805",
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="conditional_gap",
            family="autoregressive",
            fn="autoregressive.conditional_gap",
            paper="arXiv:2405.14800",
            member_sign=-1,
            defaults={},
        ),
        Attack(
            name="reference",
            family="autoregressive",
            fn="autoregressive.reference",
            paper="arXiv:2012.07805",
            member_sign=-1,
            defaults={},
            needs_reference=True,
        ),
    )
}


# The attacks the study runs, with its settings (params.yaml features.attacks, which
# tests/test_settings.py keeps equal to this): what `audio-di audit` runs unless given a study
# config, so that a rights holder gets the test the study reports. The registry's other
# attacks stayed near chance on the study's models and dilute dataset inference
# (docs/method.md).
STUDY_ATTACKS: dict[str, dict[str, dict[str, Any]]] = {
    "diffusion": {
        "denoising_loss": {"timesteps": [50, 100, 200, 300, 500], "draws": 1},
        "pia": {"timesteps": [100, 200, 300], "p": 4},
        "secmi": {"t_sec": 100, "k": 20},
        "gradient_masking": {"timesteps": [100, 200, 300], "fraction": 0.2},
        "noise_optimisation": {"timestep": 100, "steps": 3, "lr": 0.05},
        "reference_loss": {"timesteps": [20, 50, 100, 200], "draws": 4},
    },
    "autoregressive": {
        "nll": {},
        "min_k": {"k": [5, 10, 20, 30, 50]},
        "max_k": {"k": [5, 10, 20, 30, 50]},
        "min_k_plus": {"k": [5, 10, 20, 30, 50]},
        "zlib": {},
        "conditional_gap": {},
        "reference": {},
    },
}


def attack_named(name: str) -> Attack:
    if name not in ATTACKS:
        raise ValueError(f"unknown attack {name!r}; known attacks: {sorted(ATTACKS)}")
    return ATTACKS[name]


def attack_settings(name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Every setting of attack `name`: its defaults, with `overrides`."""
    attack = attack_named(name)
    unknown = sorted(set(overrides or {}) - set(attack.defaults))
    if unknown:
        raise ValueError(
            f"attack {name!r} has no setting(s) {unknown}; its settings: {sorted(attack.defaults)}"
        )
    return {**attack.defaults, **(overrides or {})}
