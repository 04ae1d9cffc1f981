"""The HTML report of the smoke study, as `make study` writes it: well-formed, every figure
embedded with its caption, and the verdict and calibration tables attached."""

import base64
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from dvc_repo import ROOT, study_repo

pytestmark = pytest.mark.slow

# Elements that never take an end tag.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


class ReportParser(HTMLParser):
    """Checks that tags nest and collects the text of every <script id=...>."""

    def __init__(self):
        super().__init__()
        self.doctype = None
        self.open: list[str] = []
        self.mismatches: list[tuple[str, tuple[int, int]]] = []
        self.scripts: dict[str, str] = {}
        self.script_id = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.open.append(tag)
        if tag == "script":
            self.script_id = dict(attrs).get("id")

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.mismatches.append((tag, self.getpos()))
        self.script_id = None

    def handle_data(self, data):
        if self.script_id:
            self.scripts[self.script_id] = self.scripts.get(self.script_id, "") + data


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    return study_repo(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def report(study) -> ReportParser:
    parser = ReportParser()
    parser.feed((study / "results/report.html").read_text())
    parser.close()
    return parser


@pytest.fixture(scope="module")
def entries(report) -> dict[str, dict]:
    """The report's result files: path -> name, caption, data URI, ..."""
    assignment = report.scripts["results"].strip()
    assert assignment.startswith("var results = ") and assignment.endswith(";")
    return json.loads(assignment.removeprefix("var results = ").removesuffix(";"))


def embedded_bytes(entry: dict) -> bytes:
    return base64.b64decode(entry["data_uri"].split("base64,", 1)[1])


def words(text: str) -> str:
    """Plain words of a reST caption or its HTML rendering, for comparing the two."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("``", "")
    return " ".join(re.findall(r"[\w.,:;()-]+", text))


def test_report_is_well_formed_html(report):
    assert report.doctype.lower() == "doctype html"
    assert report.mismatches == [] and report.open == []


def test_every_figure_is_embedded_with_its_caption(study, entries):
    figures = sorted((study / "results/figures").glob("*.png"))
    assert len(figures) == 5
    for figure in figures:
        entry = entries[f"results/figures/{figure.name}"]
        assert entry["mime_type"] == "image/png"
        assert embedded_bytes(entry) == figure.read_bytes()
        caption = (ROOT / f"workflow/report/{figure.stem}.rst").read_text()
        assert words(caption)[:200] in words(entry["caption"]), figure.name


def test_verdicts_and_calibration_tables_are_attached(study, entries):
    for table in ("verdicts", "calibration"):
        entry = entries[f"results/di/{table}.csv"]
        assert embedded_bytes(entry) == (study / f"results/di/{table}.csv").read_bytes()
        caption = (ROOT / f"workflow/report/{table}.rst").read_text()
        assert words(caption)[:200] in words(entry["caption"]), table


def test_every_caption_file_is_used(entries):
    used = {Path(path).stem for path in entries}
    assert {p.stem for p in (ROOT / "workflow/report").glob("*.rst")} <= used
