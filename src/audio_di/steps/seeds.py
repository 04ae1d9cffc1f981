"""The same study under several seeds: the claim's figures of each seed's metrics.json
(written by benchmarks/headline_seeds.py), as rows and as the report's spread table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from audio_di.di.engine import DISettings
from audio_di.di.verdict import VERDICT_ROLE, role
from audio_di.tables import SEED_SPREAD

# A claim criterion is met, missed, or cannot be judged (a model without a reference model).
CLAIM_WORDS = {True: "yes", False: "no", None: "n/a"}


def claim_rows(seed: int, metrics: dict) -> list[dict]:
    """One row per model and procedure of one seed's metrics.json: the claim's figures and
    criteria. The collection AUC is the one at the most works a side that every evaluated
    artist can supply (collection_n)."""
    rows = []
    for model, m in metrics["models"].items():
        for method, di in m["dataset_inference"].items():
            members, nonmembers = di["member_artists"], di["nonmember_artists"]
            by_n = di.get("collection_auc", {})
            largest = max(by_n, key=int, default=None)
            rows.append(
                {
                    "seed": seed,
                    "model": model,
                    "method": method,
                    # Files written before metrics.json named roles: di.methods' default order.
                    "role": di.get("role", role(method, DISettings.methods)),
                    "best_auc": m["best_auc"],
                    "members": f"{members['detected']}/{members['of']}",
                    "max_member_p": di["max_member_p_value"],
                    "nonmembers": f"{nonmembers['detected']}/{nonmembers['of']}",
                    "collection_auc": by_n[largest] if largest else None,
                    "collection_n": int(largest) if largest else None,
                    "null_fpr": metrics["null_false_positive_rate"].get(f"{model}/{method}"),
                    **{f"claim.{k}": CLAIM_WORDS[v] for k, v in di["claim"].items()},
                }
            )
    return rows


def in_role_order(table: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Rows sorted by `by`, the verdict's test first within each, then the diagnostics."""
    ranked = table.assign(rank=table["role"] != VERDICT_ROLE)
    return ranked.sort_values([*by, "rank", "method"], kind="stable").drop(columns="rank")


def seed_runs(paths: Iterable[str | Path]) -> dict[int, dict]:
    """Each seed's metrics.json, by the seed in its name (seed<N>_metrics.json, as
    benchmarks/headline_seeds.py names them)."""
    runs: dict[int, dict] = {}
    for path in map(Path, paths):
        found = re.search(r"seed(\d+)_metrics\.json$", path.name)
        if found is None:
            raise ValueError(f"seed_metrics: {path} is not named seed<N>_metrics.json")
        seed = int(found.group(1))
        if seed in runs:
            raise ValueError(f"seed_metrics: {path} is a second file of seed {seed}")
        runs[seed] = json.loads(path.read_text())
    return runs


def seed_spread(runs: dict[int, dict]) -> pd.DataFrame:
    """The same study's metrics.json under several seeds as the report's table: per model and
    procedure, the verdict's first, each figure on every seed in seed order, and on how many
    seeds the claim holds. No seed, no row: the file exists for DVC either way."""
    if not runs:
        return pd.DataFrame(columns=list(SEED_SPREAD.columns))
    rows = pd.DataFrame([row for seed in sorted(runs) for row in claim_rows(seed, runs[seed])])
    table = []
    for (model, method), group in in_role_order(rows).groupby(["model", "method"], sort=False):
        seeds = ", ".join(map(str, group["seed"]))
        collection = "none"
        if group["collection_auc"].notna().all():
            sizes = ", ".join(map(str, dict.fromkeys(group["collection_n"].astype(int))))
            values = ", ".join(f"{v:.3f}" for v in group["collection_auc"])
            collection = f"{values} ({sizes})"
        holds = group["claim.holds"] == "yes"
        claim = f"{holds.sum()} of {len(group)}"
        if 0 < holds.sum() < len(group):
            claim += f" (fails on seed {', '.join(map(str, group.loc[~holds, 'seed']))})"
        table.append(
            (model, f"{method} ({group['role'].iloc[0]})", seeds,
             ", ".join(f"{v:.3f}" for v in group["best_auc"]), collection,
             ", ".join(group["members"]), ", ".join(f"{v:.4f}" for v in group["max_member_p"]),
             ", ".join(group["nonmembers"]), claim)
        )  # fmt: skip
    return pd.DataFrame(table, columns=list(SEED_SPREAD.columns))
