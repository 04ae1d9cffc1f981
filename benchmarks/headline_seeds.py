"""Does the headline hold on other seeds? Runs the default study (params.yaml) once per
seed, each in its own folder, and tabulates every model's claim from its metrics.json.

    python benchmarks/headline_seeds.py --seeds 0 1 2 [--work results/seeds] [--cores all]
        [--overlay benchmarks/headline/shadow.yaml [benchmarks/headline/members_b.yaml]]

The study seed changes the splits, the training and the features. A seed's folder holds
params.yaml with that seed and the study's results; rerunning redoes only what changed, and
`--table-only` tabulates what is there: a seed's folder, or else the copy of its metrics.json
that an earlier run left in benchmarks/headline/. The table goes to stdout and to
benchmarks/headline/seeds.md, and each seed's metrics.json to benchmarks/headline/.
Development seeds (10-12), on which design choices are made, are named as such above the
table; the others are reported as they came.
`--overlay` merges config files into params.yaml key by key, in order (snakemake's
--configfile); the runs go to <work>/<name>/ and the table to
benchmarks/headline/seeds_<name>.md, where <name> joins the files' stems with "+".
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from audio_di.steps.seeds import claim_rows, in_role_order

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks/headline"
DEVELOPMENT_SEEDS = {10, 11, 12}


def run_seed(seed: int, work: Path, cores: str, overlays: list[Path] = ()) -> Path:
    """The default study with `seed` (and `overlays`), in work/seed<N>; returns its
    metrics.json."""
    folder = work / f"seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text()) | {"seed": seed}
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(folder), "--cores", cores,
        *(["--configfile", str(folder / "params.yaml"), *(str(o.resolve()) for o in overlays)]
          if overlays else []),
        "--quiet", "rules", "progress", "--", "all",
    ]  # fmt: skip
    print(f"seed {seed}: {' '.join(command)}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True)
    return folder / "results/metrics.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=ROOT / "results/seeds")
    parser.add_argument("--cores", default="all")
    parser.add_argument("--table-only", action="store_true", help="run nothing, tabulate")
    parser.add_argument(
        "--overlay", type=Path, nargs="+", default=[], help="configs merged into params.yaml"
    )
    args = parser.parse_args()
    for overlay in args.overlay:
        if not overlay.is_file():
            raise SystemExit(f"--overlay {overlay}: no such file")
    name = "+".join(overlay.stem for overlay in args.overlay)
    work = args.work / name if name else args.work
    prefix = f"{name}_" if name else ""
    rows = []
    for seed in args.seeds:
        saved = OUT / f"{prefix}seed{seed}_metrics.json"
        path = work / f"seed{seed}/results/metrics.json"
        if not args.table_only:
            path = run_seed(seed, work.resolve(), args.cores, args.overlay)
        elif not path.exists():
            path = saved
        if not path.exists():
            raise SystemExit(f"{path}: no metrics.json for seed {seed}; run without --table-only")
        if path.resolve() != saved.resolve():
            shutil.copyfile(path, saved)
        rows += claim_rows(seed, json.loads(path.read_text()))
    table = pd.DataFrame(rows)
    auc = table.pop("collection_auc")
    size = table.pop("collection_n")
    table.insert(
        list(table.columns).index("nonmembers") + 1,
        "collection_auc",
        [f"{a:.3f} (n={int(n)})" if pd.notna(a) else "" for a, n in zip(auc, size, strict=True)],
    )
    # Controls have their own criterion (detects_none); the others leave that cell blank.
    table = in_role_order(table.fillna(""), by=["model"])
    text = table.to_markdown(index=False, floatfmt=".4g")
    command = " ".join(["--seeds", *map(str, args.seeds)])
    if args.overlay:
        command += " --overlay " + " ".join(map(str, args.overlay))
    development = sorted(set(args.seeds) & DEVELOPMENT_SEEDS)
    note = (
        f"Development seeds, on which the design's choices were made: "
        f"{', '.join(map(str, development))}. The others are reported as they came.\n\n"
        if development
        else ""
    )
    (OUT / f"seeds{'_' + name if name else ''}.md").write_text(
        f"Claims per seed (python benchmarks/headline_seeds.py {command})\n\n" + note + text + "\n"
    )
    print(text)


if __name__ == "__main__":
    main()
