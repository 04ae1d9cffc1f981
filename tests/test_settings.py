"""One set of defaults: the settings objects hold params.yaml's values, and the command line
takes its defaults from them."""

from __future__ import annotations

import dataclasses

import yaml
from conftest import ROOT, params

from audio_di.attacks.registry import STUDY_ATTACKS
from audio_di.audit import Clipping, Scoring
from audio_di.cli import _parser
from audio_di.di.engine import METHODS, DISettings

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())


def plain(settings) -> dict:
    """A settings object's fields, tuples as lists (as YAML has them)."""
    fields = dataclasses.asdict(settings)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}


def test_di_defaults_are_the_studys_and_the_schemas():
    study = params()
    assert plain(DISettings()) == {**study["di"], "seed": study["seed"]}
    schema = SCHEMA["properties"]["di"]["properties"]
    defaults = {name: spec["default"] for name, spec in schema.items()}
    assert {**defaults, "seed": study["seed"]} == plain(DISettings())


def test_scoring_defaults_are_the_studys():
    device = SCHEMA["properties"]["models"]["additionalProperties"]["properties"]["device"]
    assert Scoring() == Scoring(params()["features"]["batch_size"], device["default"])


def test_every_di_procedure_is_known_everywhere():
    allowed = SCHEMA["properties"]["di"]["properties"]["methods"]["items"]["enum"]
    default = SCHEMA["properties"]["di"]["properties"]["methods"]["default"]
    assert set(METHODS) == set(allowed)
    # `weighted` needs a shadow model, which not every study has: it is not a default.
    assert list(DISettings().methods) == default == [m for m in METHODS if m != "weighted"]


def test_the_audit_command_takes_its_defaults_from_the_settings():
    required = ["--model", "k:s", "--suspect", "a", "--validation", "b"]
    args = vars(_parser().parse_args(["audit", *required]))
    for settings in (DISettings(), Clipping(), Scoring()):
        for name, value in plain(settings).items():
            if name != "contamination":  # an audit has no known members to contaminate
                assert args[name] == value, name
    assert args["resamples"] == params()["di"]["resamples"]


def test_the_audit_runs_the_studys_attacks_by_default():
    """A rights holder's audit without --attacks runs the test the study reports."""
    assert params()["features"]["attacks"] == STUDY_ATTACKS
