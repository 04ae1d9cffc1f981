"""What the workflow reads of a study config when it parses it: cross-checks that a JSON
schema cannot express, and the works that the chosen DI procedures need.

The workflow imports this module in every run, so it imports nothing: a change elsewhere in
the library must not mark the corpus or the feature stage as changed.
"""

from __future__ import annotations

import os
import platform

EMBEDDED_KINDS = ("embedded_diffusion", "embedded_ar")
# Scoring settings of a model spec (models.<name>.<key>) and the kinds that take each; the
# schema checks their values, load_adapter passes them to the adapter.
MODEL_SETTINGS = {"latent": ("audioldm2", "stable_audio"), "window": ("stable_audio",)}

# Works each of an artist's suspect and validation sets needs for dataset inference
# (audio_di.di.engine): with fewer, no relabelling test can say anything. A negative verdict needs
# more (di.smallest_effect), and says so.
MIN_WORKS = 2

# The math libraries choose their kernels by the CPU's instruction set, and an AVX-512 kernel
# sums in another order than an AVX2 one, so the same seed trained other weights on another
# CPU. The study's jobs cap every library at AVX2, which x86-64 CPUs have had since 2013
# (Intel) and 2015 (AMD): CPUs of one maker then compute the same bytes. Not two makers': MKL
# (FFTs, matrix products) keeps an AVX2 branch on Intel CPUs only (docs/running.md).
# MKL_CBWR's STRICT also makes MKL's products independent of the thread count.
PINNED_MATH = {
    "ATEN_CPU_CAPABILITY": "avx2",  # PyTorch's own kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # PyTorch's convolutions
    "MKL_CBWR": "AVX2,STRICT",  # PyTorch's matrix products and FFTs
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's AVX-512 loops
}
# Threads of every torch job. Snakemake scales a rule's `threads` to the cores it is given,
# and another thread count sums in another order: a model's weights and features must not
# depend on the machine's cores.
TORCH_THREADS = 1


def pin_math(environ: dict | None = None) -> None:
    """Set PINNED_MATH in `environ` (os.environ): read once, when each library starts, so
    before a job imports torch or NumPy. Elsewhere than x86-64 these variables mean nothing."""
    if platform.machine().lower() in ("x86_64", "amd64"):
        (os.environ if environ is None else environ).update(PINNED_MATH)


def check_study(config: dict) -> None:
    """Raise ValueError naming the key when parts of the config refer to each other wrongly."""
    corpora = config["corpora"]
    for name, split in config["splits"].items():
        if name not in corpora:
            raise ValueError(f"splits.{name}: no corpus of that name under corpora")
        if corpora[name]["kind"] == "folder":
            continue  # its artists are in the manifest; the split checks the members
        artists = corpora[name]["artists"]
        unknown = sorted(set(split["members"]) - set(artists))
        if unknown:
            raise ValueError(f"splits.{name}.members: {unknown} are not in corpora.{name}.artists")
    for name, corpus in corpora.items():
        if name not in config["splits"]:
            raise ValueError(f"corpora.{name}: no splits.{name} entry says who is a member")
        evaluated, shadow = set(corpus.get("artists", [])), set(corpus.get("shadow_artists", []))
        stray = sorted(set(corpus.get("artist_works", {})) - evaluated - shadow)
        if stray:
            raise ValueError(
                f"corpora.{name}.artist_works: {stray} are not in corpora.{name}.artists "
                "or shadow_artists"
            )
        for roles, (one, other) in {
            "evaluated and filler": (evaluated, corpus.get("filler_artists", [])),
            "evaluated and shadow": (evaluated, shadow),
            "shadow and filler": (shadow, corpus.get("filler_artists", [])),
        }.items():
            both = sorted(set(one) & set(other))
            if both:
                raise ValueError(f"corpora.{name}: {both} are both {roles} artists")
    for name, model in config["models"].items():
        if model["corpus"] not in corpora:
            raise ValueError(f"models.{name}.corpus: unknown corpus {model['corpus']!r}")
        for key, kinds in MODEL_SETTINGS.items():
            if key in model and model["kind"] not in kinds:
                raise ValueError(
                    f"models.{name}.{key}: only {' and '.join(kinds)} models take {key}, "
                    f"not {model['kind']}"
                )
        if "reference" in model:
            _check_pair(config, name, "reference", ("reference",), "that has no reference itself")
        if "shadow" in model:
            _check_shadow(config, name)
        if "source" in model:
            if "regime" in model:
                raise ValueError(
                    f"models.{name}: give regime (trained here) or source (a trained "
                    "model), not both"
                )
            if "base" in model:
                raise ValueError(f"models.{name}.base: a model with a source is not trained here")
            continue
        if model["kind"] not in EMBEDDED_KINDS:
            raise ValueError(
                f"models.{name}: a {model['kind']} model is not trained here; give its source"
            )
        if "base" in model:
            _check_pair(
                config,
                name,
                "base",
                ("base", "source"),
                "trained here that is not fine-tuned itself",
            )
        regime = config["regimes"].get(model["regime"])
        if regime is None:
            raise ValueError(
                f"models.{name}.regime: {model['regime']!r} is not one of "
                f"{sorted(config['regimes'])}"
            )
        if model["kind"] not in regime["epochs"]:
            raise ValueError(
                f"regimes.{model['regime']}.epochs: no entry for {model['kind']} (model {name})"
            )
    _check_weighted(config)


def _check_shadow(config: dict, name: str) -> None:
    """models.<name>.shadow names a model trained here, on a corpus with shadow artists."""
    _check_pair(config, name, "shadow", ("shadow", "source"), "trained here with no shadow itself")
    shadow = config["models"][name]["shadow"]
    corpus = config["models"][shadow]["corpus"]
    if not config["corpora"][corpus].get("shadow_artists"):
        raise ValueError(
            f"models.{name}.shadow: {shadow!r} trains on corpora.{corpus}.shadow_artists, "
            "which names none"
        )


def _check_weighted(config: dict) -> None:
    """The weighted test needs every analysed model to name a shadow."""
    models = config["models"]
    shadows = {model["shadow"] for model in models.values() if "shadow" in model}
    if "weighted" in config["di"]["methods"]:
        lacking = sorted(
            name for name, m in models.items() if name not in shadows and "shadow" not in m
        )
        if lacking:
            raise ValueError(
                f"di.methods: the weighted test takes its weights from a shadow model, and "
                f"models {lacking} name no `shadow`; give them one, or drop weighted"
            )


def _check_pair(
    config: dict, name: str, key: str, refused: tuple[str, ...], requirement: str
) -> None:
    """models.<name>.<key> must name another model of the same kind and corpus that has none
    of the keys `refused` (`requirement` says so in words)."""
    model, paired = config["models"][name], config["models"][name][key]
    other = config["models"].get(paired)
    if other is None or paired == name or any(k in other for k in refused):
        raise ValueError(f"models.{name}.{key}: {paired!r} must name another model {requirement}")
    if (other["kind"], other["corpus"]) != (model["kind"], model["corpus"]):
        raise ValueError(
            f"models.{name}.{key}: {paired!r} is a {other['kind']} on corpus "
            f"{other['corpus']!r}; a {key} must match the model's kind and corpus"
        )
