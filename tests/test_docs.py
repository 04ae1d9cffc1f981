"""README.md and docs/: a short README that starts with the newcomer's commands, links that
resolve, commands that exist, and a configuration page that covers every setting."""

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MAKE_TARGETS = set(re.findall(r"^([\w.-]+):", (ROOT / "Makefile").read_text(), re.M))
# Where the installed project's commands (audio-di, dvc, snakemake, hf) live.
BIN = Path(sys.executable).parent
# Inline code that starts like one of these is a command the reader is told to run.
COMMAND_START = re.compile(
    r"^((make|python|sudo|audio-di|dvc|snakemake|hf|git) |\.venv/bin/|\.ci/|benchmarks/\S+\.sh)"
)


def shell_blocks(text: str) -> list[str]:
    """Command lines of the ```sh blocks, continuations joined and comments dropped."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            lines.extend(part.strip() for part in line.split("&&") if part.strip())
    return lines


def commands(text: str) -> list[str]:
    """The shell blocks' lines and the inline code that reads as a command."""
    inline = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))
    return shell_blocks(text) + [span for span in inline if COMMAND_START.match(span)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.*)$", page.read_text(), re.M)}


def test_readme_is_short_and_starts_with_the_commands_and_what_they_produce():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 150
    first_screen = "\n".join(lines[:40])
    assert {"make study", "make test"} <= set(shell_blocks(first_screen))
    assert any(line.startswith(".venv/bin/audio-di audit") for line in shell_blocks(first_screen))
    facts = [
        "Python 3.11",
        "results/report.html",
        "results/metrics.json",
        "results/summary/headline.txt",
        "results/figures/",
    ]
    for fact in facts:
        assert fact in first_screen, fact
    # ... and then points to every page of docs/.
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)", "\n".join(lines)))
    assert linked == {f"docs/{page.name}" for page in PAGES[1:]}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_to_files_and_headings_that_exist(page):
    text = page.read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    for target in targets:
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in anchors(linked), f"{page.name}: {target}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_commands_the_docs_give_exist(page):
    for line in commands(page.read_text()):
        words = shlex.split(line)
        if words[0] == "sudo":
            words.pop(0)
        program = words[0].removeprefix(".venv/bin/")
        if program == "make":
            target = next(w for w in words[1:] if "=" not in w)
            assert target in MAKE_TARGETS, line
        elif program == "python":
            assert (ROOT / words[1]).is_file(), line
        elif "/" in program:
            assert (ROOT / program).stat().st_mode & 0o111, f"{line}: not executable"
        else:
            assert (BIN / program).is_file() or shutil.which(program), line


def test_the_audit_options_the_docs_give_exist():
    audit_help = subprocess.run(
        [str(BIN / "audio-di"), "audit", "--help"], capture_output=True, text=True, check=True
    ).stdout
    given = {
        option
        for page in PAGES
        for line in commands(page.read_text())
        if "audio-di audit" in line
        for option in re.findall(r"(--[a-z-]+)", line)
    }
    assert given and all(option in audit_help for option in given), given - set(audit_help.split())


def schema_keys(node) -> set[str]:
    """Every property name anywhere in the schema."""
    if isinstance(node, list):
        return set().union(*map(schema_keys, node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = set(node.get("properties", {}))
    return found.union(*map(schema_keys, node.values()))


def test_the_configuration_page_covers_every_setting():
    schema = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
    page = (ROOT / "docs/configuration.md").read_text()
    missing = {key for key in schema_keys(schema) if f"`{key}`" not in page}
    assert not missing, missing
