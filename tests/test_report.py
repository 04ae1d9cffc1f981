"""The HTML report of the smoke study, as `make study` writes it: well-formed, every figure
embedded with its caption, the verdict and calibration tables rendered and attached, and, in
a browser, a landing page that opens on the headline table."""

import base64
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from audio_di.tables import HEADLINE

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


class Tables(HTMLParser):
    """The text of every table cell in a page, table by table and row by row."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def tables_in(page: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(page)
    return parser.tables


@pytest.fixture(scope="module")
def report(smoke_study) -> ReportParser:
    parser = ReportParser()
    parser.feed((smoke_study / "results/report.html").read_text())
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


def test_every_figure_is_embedded_with_its_caption(smoke_study, entries):
    figures = sorted((smoke_study / "results/figures").glob("*.png"))
    assert len(figures) == 6
    for figure in figures:
        entry = entries[f"results/figures/{figure.name}"]
        assert entry["mime_type"] == "image/png"
        assert embedded_bytes(entry) == figure.read_bytes()
        caption = (ROOT / f"workflow/report/{figure.stem}.rst").read_text()
        assert words(caption)[:200] in words(entry["caption"]), figure.name


def test_verdicts_and_calibration_tables_are_rendered_and_attached(smoke_study, entries):
    for table in ("verdicts", "calibration"):
        caption = (ROOT / f"workflow/report/{table}.rst").read_text()
        csv, page = entries[f"results/di/{table}.csv"], entries[f"results/summary/{table}.html"]
        assert embedded_bytes(csv) == (smoke_study / f"results/di/{table}.csv").read_bytes()
        assert page["mime_type"] == "text/html"
        shown = tables_in(embedded_bytes(page).decode())[0]
        frame = pd.read_csv(smoke_study / f"results/di/{table}.csv")
        assert shown[0] == list(frame.columns) and len(shown) == len(frame) + 1
        for entry in (csv, page):
            assert words(caption)[:200] in words(entry["caption"]), table


def test_every_caption_file_is_used(entries):
    """Each .rst but the landing page (the Snakefile's `report:`) captions a result."""
    assert 'report: "workflow/report/workflow.rst"' in (ROOT / "Snakefile").read_text()
    used = {Path(path).stem for path in entries} | {"workflow"}
    assert {p.stem for p in (ROOT / "workflow/report").glob("*.rst")} <= used


@pytest.mark.browser
def test_the_report_opens_on_the_headline_table(smoke_study):
    """What a person sees on opening the report, before any click: headless Chromium runs the
    report's scripts and gives back the page they built."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("no chromium: sudo .ci/run installs Debian's chromium; or -m 'not browser'")
    page = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
         "--dump-dom", (smoke_study / "results/report.html").as_uri()],
        capture_output=True, text=True, timeout=300,
    ).stdout  # fmt: skip
    assert "Was this artist's music used to train that model?" in html.unescape(page)
    headline = pd.read_csv(smoke_study / "results/summary/headline.csv", dtype=str)
    shown = [t for t in tables_in(page) if t and t[0] == list(HEADLINE.columns)]
    assert len(shown) == 1, tables_in(page)
    assert shown[0][1:] == headline.values.tolist()
