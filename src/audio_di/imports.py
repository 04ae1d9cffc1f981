"""The audio_di files that a Python file runs, read from its import statements.

Snakemake reruns a job when its script changes, not when the library code the script imports
does; a rule's `code` param (workflow/rules/common.smk) is the digest of that code, so a
change to it reruns the rule's jobs, as it makes DVC rerun the rule's stage. tests/test_layout.py
checks the layers and the DVC stages' deps with the same reading.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

# The folder that holds the audio_di package the jobs import.
SRC = Path(__file__).resolve().parents[1]


def module_file(name: str) -> Path | None:
    """The file of an audio_di module or package, None for a name that is not one."""
    base = SRC.joinpath(*name.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def imports(source: str) -> set[str]:
    """The audio_di modules that code imports, wherever the import statement sits (inside a
    function too): `from audio_di.x import y` imports audio_di.x.y where y is a module, and
    audio_di.x where it is not."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules = {f"{node.module}.{alias.name}" for alias in node.names}
            modules = {name for name in modules if module_file(name)}
            # `from package import module` needs the package only as the modules' parent.
            names |= modules if len(modules) == len(node.names) else modules | {node.module}
    return {name for name in names if name.startswith("audio_di") and module_file(name)}


def closure(roots: set[str]) -> set[Path]:
    """Files that run when the modules `roots` are imported: the modules, the packages above
    them (Python runs a package's __init__ before its modules), and what those import."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += _module_imports(module_file(name))
    return {module_file(name) for name in seen}


@cache
def _module_imports(path: Path) -> frozenset[str]:
    # Every Snakemake start reads the closure of each rule's script: parse each file once.
    return frozenset(imports(path.read_text()))


def code_digest(script: Path) -> str:
    """sha256 of every audio_di file that `script` runs, each with its path in the package."""
    digest = hashlib.sha256()
    for path in sorted(closure(imports(Path(script).read_text()))):
        digest.update(f"{path.relative_to(SRC).as_posix()}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
