"""params.yaml is validated at parse time: schema errors and cross-references name the key;
--config and a partial --configfile merge over it and are validated the same way."""

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, dry_run, params, shadow_params
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from audio_di.config import PINNED_MATH, check_study, pin_math


def test_default_study_parses(tmp_path):
    code, log = dry_run(params(), tmp_path)
    assert code == 0, log[-3000:]


def test_unknown_key_stops_the_run_naming_it(tmp_path):
    config = params()
    config["di"]["alhpa"] = 0.1
    code, log = dry_run(config, tmp_path)
    assert code != 0
    assert "'alhpa' was unexpected" in log and "['di']" in log


def test_wrong_type_stops_the_run_naming_it(tmp_path):
    config = params()
    config["corpora"]["embedded"]["works_per_artist"] = "many"
    code, log = dry_run(config, tmp_path)
    assert code != 0
    assert "'many' is not of type 'integer'" in log and "works_per_artist" in log


# Each: a config edit and the start of the error it must raise; the shadow ones edit the
# default study with the shadow overlay (benchmarks/headline/shadow.yaml).
CROSS_REFERENCES = [
    (lambda c: c["splits"]["embedded"]["members"].append("josquin"), "splits.embedded.members"),
    (lambda c: c["models"]["ar_overfit"].update(regime="fast"), "models.ar_overfit.regime"),
    (lambda c: c["models"]["ar_overfit"].update(corpus="other"), "models.ar_overfit.corpus"),
    (lambda c: c["regimes"]["overfit"]["epochs"].pop("embedded_ar"), "regimes.overfit.epochs"),
    (lambda c: c["corpora"]["embedded"]["filler_artists"].append("bach"), "corpora.embedded"),
    (lambda c: c["splits"].pop("embedded"), "corpora.embedded"),
    (
        lambda c: c["corpora"]["embedded"].update(artist_works={"josquin": 50}),
        "corpora.embedded.artist_works",
    ),
    (
        lambda c: c["models"]["ar_overfit"].update(reference="diffusion_overfit"),
        "models.ar_overfit.reference",
    ),
    (lambda c: c["models"]["ar_overfit"].update(reference="ar_overfit"), "another model"),
    (
        lambda c: c["models"]["diffusion_overfit"].update(source="x/y"),
        "models.diffusion_overfit: give regime",
    ),
    (
        lambda c: c["models"].update(extra={"kind": "musicgen", "corpus": "embedded"}),
        "models.extra: a musicgen model is not trained here; give its source",
    ),
    (
        lambda c: c["models"]["ar_overfit"].update(base="diffusion_base"),
        "models.ar_overfit.base: 'diffusion_base' is a embedded_diffusion",
    ),
    (
        lambda c: c["models"]["diffusion_at_scale"].update(base="diffusion_overfit"),
        "models.diffusion_at_scale.base: 'diffusion_overfit' must name another model",
    ),
    (lambda c: c["models"]["ar_overfit"].update(base="ar_overfit"), "must name another"),
    (
        lambda c: c["models"]["ar_reference"].update(source="x/y", base="ar_overfit"),
        "models.ar_reference: give regime",
    ),
    (
        lambda c: c["models"]["ar_overfit"].update(window="clip"),
        "models.ar_overfit.window: only stable_audio models take window, not embedded_ar",
    ),
]
SHADOW_CROSS_REFERENCES = [
    (
        lambda c: c["corpora"]["embedded"]["shadow_artists"].append("bach"),
        "are both evaluated and shadow artists",
    ),
    (
        lambda c: c["models"]["ar_overfit"].update(shadow="diffusion_shadow"),
        "models.ar_overfit.shadow: 'diffusion_shadow' is a embedded_diffusion",
    ),
    (
        lambda c: c["models"]["ar_overfit"].update(shadow="ar_at_scale"),
        "models.ar_overfit.shadow: 'ar_at_scale' must name another model trained here with "
        "no shadow itself",
    ),
    (
        lambda c: (
            c["corpora"]["embedded"].pop("shadow_artists"),
            c["corpora"]["embedded"]["artist_works"].pop("essen_erk"),
        ),
        "models.diffusion_overfit.shadow: 'diffusion_shadow' trains on "
        "corpora.embedded.shadow_artists, which names none",
    ),
    (
        lambda c: c["models"]["ar_overfit"].pop("shadow"),
        "di.methods: the weighted test takes its weights from a shadow model, and models",
    ),
]


@pytest.mark.parametrize(
    "study, edit, message",
    [(params, *case) for case in CROSS_REFERENCES]
    + [(shadow_params, *case) for case in SHADOW_CROSS_REFERENCES],
)
def test_cross_references_are_checked(study, edit, message):
    config = study()
    edit(config)
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        check_study(config)


def test_the_shadow_overlay_parses(tmp_path):
    code, log = dry_run(shadow_params(), tmp_path)
    assert code == 0, log[-3000:]
    assert "shadow_weights" in log


def folder_study(tmp_path: Path) -> dict:
    """The default study with a user catalogue (a folder and its manifest) and a pretrained
    model on it."""
    config = params()
    (tmp_path / "songs").mkdir()
    (tmp_path / "songs/manifest.csv").write_text("path,artist,work_id\n")
    config["corpora"]["mine"] = {
        "kind": "folder", "path": "songs", "manifest": "songs/manifest.csv",
        "clip_seconds": 10.0, "sample_rate": 32000,
    }  # fmt: skip
    config["splits"]["mine"] = {"members": ["someone"], "heldout_fraction": 0.5}
    config["models"]["musicgen_small"] = {
        "kind": "musicgen", "corpus": "mine", "source": "facebook/musicgen-small",
        "revision": "main", "dtype": "bfloat16",
    }  # fmt: skip
    return config


def test_a_pretrained_model_on_a_folder_corpus_is_not_trained(tmp_path):
    code, log = dry_run(folder_study(tmp_path), tmp_path)
    assert code == 0, log[-3000:]
    assert "folder_corpus" in log
    assert "results/models/musicgen_small" not in log


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda c: c["corpora"]["mine"].update(artists=["x"]), "'artists' was unexpected"),
        (lambda c: c["corpora"]["mine"].pop("manifest"), "'manifest' is a required property"),
        (lambda c: c["models"]["musicgen_small"].pop("source"), "'source' is a required property"),
        (lambda c: c["models"]["ar_overfit"].pop("regime"), "'regime' is a required property"),
        (
            lambda c: c["models"]["musicgen_small"].update(kind="stable_audio", window="full"),
            "'full' is not one of ['padded', 'clip']",
        ),
        (
            lambda c: c["models"]["musicgen_small"].update(kind="audioldm2", latent="mode"),
            "'mode' is not one of ['mean', 'sample']",
        ),
    ],
)
def test_folder_corpora_and_pretrained_models_are_validated(tmp_path, edit, message):
    """The schema, as the Snakefile applies it (common.smk); that a run stops with its message
    is shown above, so each case skips a Snakemake start."""
    config = folder_study(tmp_path)
    edit(config)
    with pytest.raises(WorkflowError) as refused:
        validate(config, str(ROOT / "workflow/schemas/params.schema.yaml"))
    assert message in str(refused.value)


def snakemake_in(workdir: Path, *args: str) -> tuple[int, str]:
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), "--dry-run", *args],
        capture_output=True, text=True,
    )  # fmt: skip
    return out.returncode, out.stdout + out.stderr


def test_overrides_merge_over_params_yaml_and_are_validated(tmp_path):
    shutil.copy2(ROOT / "params.yaml", tmp_path / "params.yaml")
    code, log = snakemake_in(tmp_path, "--config", "seed=1")
    assert code == 0, log[-3000:]
    (tmp_path / "alpha.yaml").write_text("di: {alpha: 0.01}\n")
    code, log = snakemake_in(tmp_path, "--configfile", str(tmp_path / "alpha.yaml"))
    assert code == 0, log[-3000:]
    # A value the schema refuses is named after the merge, as in params.yaml itself.
    (tmp_path / "alpha.yaml").write_text("di: {alpha: 2}\n")
    code, log = snakemake_in(tmp_path, "--configfile", str(tmp_path / "alpha.yaml"))
    assert code != 0 and "2 is greater than or equal to the maximum of 1" in log, log[-3000:]
    assert "On instance['di']['alpha']" in log


def test_an_override_without_params_yaml_says_what_is_missing(tmp_path):
    code, log = snakemake_in(tmp_path, "--config", "seed=1")
    assert code != 0 and f"no params.yaml in {tmp_path}" in log, log[-3000:]
    assert "standalone: true" in log


def test_standalone_must_be_a_boolean(tmp_path):
    code, log = dry_run({**params(), "standalone": "yes"}, tmp_path)
    assert code != 0 and "'yes' is not of type 'boolean'" in log, log[-3000:]


def test_the_workflow_pins_the_math_libraries_over_what_it_finds(tmp_path):
    """Every job inherits the parse's environment: PINNED_MATH replaces a user's own
    instruction-set caps, so a job computes as on any x86-64 CPU with AVX2 (benchmarks/
    isa_pin.py shows the variables reach the kernels)."""
    found = {"ONEDNN_MAX_CPU_ISA": "SSE41", "HOME": "/home/x"}
    pin_math(found)
    if platform.machine().lower() not in ("x86_64", "amd64"):
        assert found == {"ONEDNN_MAX_CPU_ISA": "SSE41", "HOME": "/home/x"}
        return
    assert found == {**PINNED_MATH, "HOME": "/home/x"}
    smk = (ROOT / "workflow/rules/common.smk").read_text()
    assert "\npin_math()\n" in smk


def job_priorities(log: str) -> dict[tuple[str, str], int]:
    """(rule, wildcards) -> priority of each job a dry run lists (0 where it prints none)."""
    found = {}
    for block in log.split("\nrule ")[1:]:
        rule = block.split(":", 1)[0]
        fields = dict(
            line.strip().split(": ", 1) for line in block.splitlines()[1:] if ": " in line
        )
        found[rule, fields.get("wildcards", "")] = int(fields.get("priority", 0))
    return found


def test_priorities_start_the_longest_chain_and_the_costliest_renders_first(tmp_path):
    """Priorities change the order of ready jobs, never an output (docs/running.md)."""
    code, log = dry_run(params(), tmp_path)
    assert code == 0, log[-3000:]
    priority = job_priorities(log)
    train = {w.removeprefix("model="): p for (r, w), p in priority.items() if r == "train"}
    ar = [p for model, p in train.items() if model.startswith("ar_")]
    # The base heads the chain, its long fine-tune follows, then the short one.
    assert train["diffusion_base"] > train["diffusion_at_scale"] > train["diffusion_overfit"]
    assert train["diffusion_overfit"] > max(ar)
    assert priority["model_splits", "model=diffusion_base"] == train["diffusion_base"]
    renders = {w.split("artist=")[1]: p for (r, w), p in priority.items() if r == "render_artist"}
    scores = [renders.pop("bach"), renders.pop("palestrina")]
    assert min(scores) > max(renders.values())
    # A features job goes before a DI job, which fills the cores that features leave free.
    assert (
        priority["features", "model=ar_at_scale, shard=0"]
        > priority["di_model", "model=ar_at_scale"]
    )
