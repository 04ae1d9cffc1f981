"""Table contracts live in audio_di.tables: every writer and reader goes through io with one,
a frame that breaks its table is refused with the file named, and docs/architecture.md lists
exactly these tables."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import ROOT

from audio_di import tables
from audio_di.io import atomic_path, read_table, write_table

DOCS = ROOT / "docs/architecture.md"


def contracts_markdown() -> str:
    """The contracts section of docs/architecture.md, as tables.TABLES gives it."""
    lines = ["| table | files | one row per | columns |", "|---|---|---|---|"]
    for table in tables.TABLES:
        paths = ", ".join(f"`{path}`" for path in table.paths)
        columns = ", ".join(table.columns) + (f", then {table.more}" if table.more else "")
        lines.append(f"| {table.name} | {paths} | {table.row} | {columns} |")
    return "\n".join(lines)


def test_docs_list_the_tables_of_the_tables_module():
    text = DOCS.read_text()
    found = re.search(r"<!-- tables -->\n(.*?)\n<!-- /tables -->", text, re.S)
    assert found, f"{DOCS} lacks the <!-- tables --> ... <!-- /tables --> section"
    assert found[1] == contracts_markdown(), "paste this into docs:\n" + contracts_markdown()


def test_tables_and_the_io_only_write_and_read_tables():
    """Library and scripts write and read tables only through io (the user's manifest, read
    as text and checked against its schema, is the one exception)."""
    allowed = {ROOT / "src/audio_di/io.py", ROOT / "src/audio_di/corpus/folder.py"}
    pattern = re.compile(r"\.(to_csv|to_parquet|read_csv|read_parquet)\(")
    files = [*(ROOT / "src/audio_di").rglob("*.py"), *(ROOT / "workflow/scripts").glob("*.py")]
    assert sorted(path for path in files if pattern.search(path.read_text())) == sorted(allowed)


def test_a_frame_that_breaks_its_table_is_refused_naming_the_file(tmp_path):
    frame = pd.DataFrame({"model": ["m"], "feature": ["f"], "fpr": [0.0], "tpr": [1.0]})
    write_table(frame, tmp_path / "roc.csv", tables.ROC)
    pd.testing.assert_frame_equal(read_table(tmp_path / "roc.csv", tables.ROC), frame)
    swapped = frame[["model", "feature", "tpr", "fpr"]]
    with pytest.raises(ValueError, match=r"bad\.csv: the ROC points table has columns"):
        write_table(swapped, tmp_path / "bad.csv", tables.ROC)
    with pytest.raises(ValueError, match="not"):
        write_table(frame.assign(extra=1), tmp_path / "bad.csv", tables.ROC)
    assert not (tmp_path / "bad.csv").exists()
    # The features table takes one column per feature after clip_id, and keeps their member
    # signs in the parquet, which a frame without them, or a CSV, cannot.
    features = pd.DataFrame({"clip_id": ["a"], "nll__mean": [1.0]})
    with pytest.raises(ValueError, match=r"f\.parquet: .* needs \['member_signs'\]"):
        write_table(features, tmp_path / "f.parquet", tables.FEATURES)
    features.attrs[tables.MEMBER_SIGNS] = {"nll__mean": -1}
    with pytest.raises(ValueError, match="parquet only"):
        write_table(features, tmp_path / "f.csv", tables.FEATURES)
    write_table(features, tmp_path / "f.parquet", tables.FEATURES)
    assert read_table(tmp_path / "f.parquet", tables.FEATURES).attrs == features.attrs
    pd.DataFrame({"clip_id": ["a"]}).to_parquet(tmp_path / "old.parquet")
    with pytest.raises(ValueError, match=r"old\.parquet: not a features table.*member_signs"):
        read_table(tmp_path / "old.parquet", tables.FEATURES)
    with pytest.raises(ValueError, match=r"roc\.csv: not a membership metrics table.*'auc'"):
        read_table(tmp_path / "roc.csv", tables.MIA_METRICS)
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        write_table(frame, tmp_path / "roc.txt", tables.ROC)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]
