"""An attack is registered once: its registry entry (keyword arguments, defaults, member sign)
is what the params schema and the docs are checked against, and its function cites its paper."""

from __future__ import annotations

import re

import pytest
import yaml
from conftest import ROOT
from jsonschema import Draft202012Validator

from audio_di.attacks import registry
from audio_di.attacks.extraction import FAMILIES, attack_function
from audio_di.attacks.registry import ATTACKS

SCHEMA = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())


def resolved(node: dict) -> dict:
    """A schema node with its local `$ref` (#/$defs/...) merged in."""
    if "$ref" not in node:
        return node
    name = node["$ref"].removeprefix("#/$defs/")
    return {**resolved(SCHEMA["$defs"][name]), **{k: v for k, v in node.items() if k != "$ref"}}


def attack_schemas() -> dict[str, dict[str, dict]]:
    """family -> attack -> the schema of its settings under features.attacks."""
    families = SCHEMA["properties"]["features"]["properties"]["attacks"]["properties"]
    return {
        family: {name: resolved(node) for name, node in schema["properties"].items()}
        for family, schema in families.items()
    }


def test_schema_lists_the_registered_attacks_by_family():
    registered: dict[str, set[str]] = {family: set() for family in FAMILIES}
    for name, attack in ATTACKS.items():
        registered[attack.family].add(name)
    schemas = attack_schemas()
    assert {family: set(attacks) for family, attacks in schemas.items()} == registered


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_schema_settings_are_the_registry_defaults(name):
    attack = ATTACKS[name]
    schema = attack_schemas()[attack.family][name]
    assert schema.get("additionalProperties") is False
    assert set(schema.get("properties", {})) == set(attack.defaults)
    # The defaults themselves pass the schema (tuples are YAML lists).
    defaults = {k: list(v) if isinstance(v, tuple) else v for k, v in attack.defaults.items()}
    validator = Draft202012Validator({**schema, "$defs": SCHEMA["$defs"]})
    errors = [e.message for e in validator.iter_errors(defaults)]
    assert not errors, errors


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_attack_cites_its_paper(name):
    """Title in quotes and arXiv id, as mimir's attacks do; the registry names the same."""
    doc = attack_function(ATTACKS[name]).__doc__ or ""
    assert re.search(r"(Paper|Builds on): [^\"]*\"[^\"]{10,}\",?\s+arXiv:\d{4}\.\d{4,5}", doc), doc
    assert ATTACKS[name].paper in doc


def test_registry_entries_take_keywords_only():
    with pytest.raises(TypeError):
        registry.Attack("x", "diffusion", "diffusion.pia", "", -1, {})
