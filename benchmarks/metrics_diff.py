"""How far do two runs of the study differ? Compares two results/metrics.json files, for
instance a reproduction against the committed one, and prints first what a reader would
conclude differently (a claim, a calibration flag, a count of detected artists, a best
feature), then how far each kind of figure moved at most:

    python benchmarks/metrics_diff.py <theirs>/results/metrics.json [results/metrics.json]

Runs on CPUs of one maker give the same bytes; across makers the figures move a little
(docs/running.md), and this shows how little.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pandas as pd


def leaves(value, path: str = "") -> dict[str, object]:
    """Every leaf of a JSON document by its path ('models/ar_at_scale/best_auc',
    'calibration_warning[0]')."""
    if isinstance(value, dict):
        parts = [leaves(item, f"{path}/{key}") for key, item in value.items()]
    elif isinstance(value, list):
        parts = [leaves(item, f"{path}[{i}]") for i, item in enumerate(value)]
    else:
        return {path.lstrip("/"): value}
    return {k: v for part in parts for k, v in part.items()}


# The sections keyed by model: a figure's kind is its path with the model's name as *.
NAMED = re.compile(r"^(models|null_false_positive_rate|works_for_95pct_detection)/([^/]+)")


def is_figure(value) -> bool:
    """A measured number: a float, not a count, a flag or a name."""
    return isinstance(value, float)


def compare(theirs: dict, ours: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(conclusions, figures): the leaves other than figures that differ or exist in one file
    only; and for each kind of figure, its largest absolute change, the model where it
    is, and how many of that kind moved."""
    a, b = leaves(theirs), leaves(ours)
    changed = [p for p in sorted(a.keys() | b.keys()) if a.get(p) != b.get(p)]
    conclusions = pd.DataFrame(
        [
            {"path": p, "theirs": a.get(p), "ours": b.get(p)}
            for p in changed
            if not (is_figure(a.get(p)) and is_figure(b.get(p)))
        ],
        columns=["path", "theirs", "ours"],
    )
    rows = []
    for p in a.keys() & b.keys():
        if is_figure(a[p]) and is_figure(b[p]):
            where = NAMED.match(p)
            rows.append(
                {
                    "figure": NAMED.sub(r"\1/*", p),
                    "largest_change": abs(a[p] - b[p]),
                    "at": where.group(2) if where else "",
                    "moved": int(a[p] != b[p]),
                }
            )
    rows = pd.DataFrame(rows, columns=["figure", "largest_change", "at", "moved"])
    grouped = rows.groupby("figure")
    figures = rows.loc[grouped["largest_change"].idxmax(), ["figure", "largest_change", "at"]]
    figures = figures.set_index("figure").assign(
        moved=grouped["moved"].sum(), of=grouped["moved"].size()
    )
    figures = figures.sort_values("largest_change", ascending=False).reset_index()
    return conclusions, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("theirs", type=Path)
    parser.add_argument("ours", type=Path, nargs="?", default=Path("results/metrics.json"))
    args = parser.parse_args()
    if args.theirs.read_bytes() == args.ours.read_bytes():
        print("the same bytes")
        return
    conclusions, figures = compare(*(json.loads(p.read_text()) for p in (args.theirs, args.ours)))
    print(f"What differs other than measured figures ({len(conclusions)}):")
    print(conclusions.to_string(index=False) if len(conclusions) else "nothing")
    print("\nMeasured figures, by kind (the model's name as *):")
    print(figures[figures["moved"] > 0].to_string(index=False, float_format="{:.4f}".format))


if __name__ == "__main__":
    main()
