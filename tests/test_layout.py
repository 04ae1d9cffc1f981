"""The library's shape, read from its imports: imports go down the layers of
docs/architecture.md and never up, no import cycle, and every DVC stage lists exactly the
Python files it runs (the workflow scripts of its rules and everything they import from
audio_di), so that `dvc status` names a stage when, and only when, its code changed."""

from __future__ import annotations

import inspect
import re
import shutil
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import audio_di.imports
from audio_di.imports import SRC, closure, code_digest, imports, module_file
from audio_di.steps.reporting import headline

RULES = ROOT / "workflow/rules"
STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def smk_imports(path: Path) -> set[str]:
    """What a Snakemake file imports from audio_di (its import lines are plain Python)."""
    lines = re.findall(r"^(?:from|import) audio_di.*$", path.read_text(), re.M)
    return imports("\n".join(lines))


def module_names() -> list[str]:
    names = []
    for path in sorted((SRC / "audio_di").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def stage_rule_files(stage: dict) -> list[Path]:
    return [ROOT / dep for dep in stage["deps"] if dep.startswith("workflow/rules/")]


def expected_files(stage: dict) -> set[Path]:
    """The workflow scripts the stage's rules run, and every audio_di file that they and the
    rule files import."""
    scripts, roots = set(), set()
    for rules in stage_rule_files(stage):
        text = rules.read_text()
        scripts |= {(rules.parent / s).resolve() for s in re.findall(r'script:\s*"([^"]+)"', text)}
        roots |= smk_imports(rules)
    for script in scripts:
        roots |= imports(script.read_text())
    return scripts | closure(roots)


def listed_files(stage: dict) -> set[Path]:
    """The Python files of the library and the scripts that the stage's deps name, folders
    expanded."""
    files = set()
    for dep in stage["deps"]:
        if not dep.startswith(("src/", "workflow/scripts")):
            continue
        path = ROOT / dep
        files |= set(path.rglob("*.py")) if path.is_dir() else {path}
    return files


def import_graph() -> dict[str, set[str]]:
    return {name: imports(module_file(name).read_text()) for name in module_names()}


def architecture_layers() -> dict[str, int]:
    """docs/architecture.md's layers table: each module or package it names, with the depth
    of its layer (0 at the top)."""
    text = (ROOT / "docs/architecture.md").read_text()
    table = text.split("<!-- layers -->")[1].split("<!-- /layers -->")[0]
    rows = [line.split("|")[1:3] for line in table.strip().splitlines()[2:]]
    return {
        name if name == "audio_di" else f"audio_di.{name}": depth
        for depth, (_, modules) in enumerate(rows)
        for name in re.findall(r"`([\w.]+)`", modules)
    }


def layer_of(module: str, layers: dict[str, int]) -> int | None:
    """The layer of a module: that of the longest name in `layers` that is it or holds it."""
    holders = [n for n in layers if module == n or module.startswith(n + ".")]
    return layers[max(holders, key=len)] if holders else None


def upward_imports(graph: dict[str, set[str]], layers: dict[str, int]) -> list[str]:
    """Imports that climb to a higher layer, and modules that no layer holds."""
    found = [f"{m}: in no layer" for m in sorted(graph) if layer_of(m, layers) is None]
    for module, imported in sorted(graph.items()):
        below = layer_of(module, layers)
        found += [
            f"{module} imports {name}"
            for name in sorted(imported)
            if below is not None and (layer_of(name, layers) or 0) < below
        ]
    return found


def test_imports_go_down_the_layers():
    assert upward_imports(import_graph(), architecture_layers()) == []


def test_an_upward_import_fails_the_layer_check():
    layers = {"audio_di.steps": 0, "audio_di.di": 1, "audio_di.tables": 2}
    graph = {
        "audio_di.steps.analysis": {"audio_di.di.engine", "audio_di.tables"},
        "audio_di.di.engine": {"audio_di.di.verdict", "audio_di.tables"},
        "audio_di.di.verdict": set(),
        "audio_di.tables": set(),
    }
    assert upward_imports(graph, layers) == []
    graph["audio_di.tables"] = {"audio_di.steps.analysis"}
    graph["audio_di.plots"] = set()
    assert upward_imports(graph, layers) == [
        "audio_di.plots: in no layer",
        "audio_di.tables imports audio_di.steps.analysis",
    ]


def test_no_import_cycle():
    graph = import_graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        pytest.fail(f"import cycle: {' -> '.join(err.args[1])}")


def test_every_rule_file_belongs_to_one_stage():
    listed = [path.name for stage in STAGES.values() for path in stage_rule_files(stage)]
    shared = [name for name in listed if name == "common.smk"]
    assert len(shared) == len(STAGES), "every stage runs common.smk (the Snakefile includes it)"
    own = sorted(name for name in listed if name != "common.smk")
    assert own == sorted(p.name for p in RULES.glob("*.smk") if p.name != "common.smk")


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_are_the_code_it_runs(name):
    stage = STAGES[name]
    expected, listed = expected_files(stage), listed_files(stage)
    missing = sorted(str(p.relative_to(ROOT)) for p in expected - listed)
    unused = sorted(str(p.relative_to(ROOT)) for p in listed - expected)
    assert not missing and not unused, f"dvc.yaml {name}: add {missing}, remove {unused}"


def stages_listing(path: Path) -> set[str]:
    """Stages whose deps name `path` or a folder above it."""
    relative = path.relative_to(ROOT)
    return {
        name
        for name, stage in STAGES.items()
        if any(relative == Path(d) or Path(d) in relative.parents for d in stage["deps"])
    }


def test_seeding_marks_the_models_stage_and_the_headline_text_does_not():
    """Attack noise comes from seeding.stable_seed, so a change there changes every feature;
    the headline's wording is analysis only."""
    assert "models" in stages_listing(SRC / "audio_di/seeding.py")
    assert stages_listing(Path(inspect.getsourcefile(headline))) == {"analysis"}


def test_a_scripts_code_digest_follows_the_library_files_it_imports(tmp_path, monkeypatch):
    """The `code` param of a rule (workflow/rules/common.smk) changes with a module its script
    imports, however deep, and not with one it does not."""
    copy = tmp_path / "src"
    shutil.copytree(SRC / "audio_di", copy / "audio_di")
    monkeypatch.setattr(audio_di.imports, "SRC", copy)
    di, train = (ROOT / f"workflow/scripts/{name}.py" for name in ("di_model", "train"))
    before = code_digest(di), code_digest(train)
    verdict = copy / "audio_di/di/verdict.py"
    verdict.write_text(verdict.read_text() + "# changed\n")
    assert code_digest(di) != before[0] and code_digest(train) == before[1]


def test_every_scripted_rules_code_param_digests_its_own_script():
    """The script's name is written twice in a rule (`script:` and `code=code(...)`): a rule
    whose param names another script would rerun on the wrong code."""
    for path in RULES.glob("*.smk"):
        for rule in re.split(r"(?m)^rule ", path.read_text())[1:]:
            script = re.search(r'script:\s*"\.\./scripts/([\w.]+)"', rule)
            if script:
                assert f'code=code("{script[1]}")' in rule, f"{path.name}: {rule.split(':')[0]}"
