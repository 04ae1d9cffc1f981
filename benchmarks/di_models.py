"""Each model's DI on a finished study's features, as its `di_model` job computes it: the
seconds it takes in this process and a digest of its tables, so that two versions of the DI
code can be compared for speed and sameness on the same features:

    python benchmarks/di_models.py [--study .] [model ...]

Run it once per checkout (for instance with PYTHONPATH=<other checkout>/src) on one study's
results, one after the other on an idle machine, and with the jobs' one thread
(OMP_NUM_THREADS=1), as the workflow runs them.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import yaml

from audio_di.di.engine import DISettings
from audio_di.io import read_table
from audio_di.steps.analysis import DI_TABLES, model_dataset_inference
from audio_di.tables import AUDIO_STATISTICS, FEATURES, SHADOW_WEIGHTS, SPLITS


def evaluated_models(params: dict, results: Path) -> list[str]:
    """The models of a study whose DI it ran: every model with features but the shadows."""
    shadows = {spec["shadow"] for spec in params["models"].values() if "shadow" in spec}
    features = sorted(p.stem for p in (results / "features").glob("*.parquet"))
    return [model for model in features if model not in shadows]


def model_inputs(params: dict, results: Path, model: str) -> dict:
    """What the model's `di_model` job reads: its features, its own splits (an overfit
    model is evaluated on the works it trained on), its corpus's audio statistics and, for a
    model with a shadow, the shadow's weights."""
    spec = params["models"][model]
    weights = None
    if "shadow" in spec:
        weights = read_table(results / f"di/weights/{spec['shadow']}.csv", SHADOW_WEIGHTS)
    return {
        "features": read_table(results / f"features/{model}.parquet", FEATURES),
        "splits": read_table(results / f"splits/models/{model}.csv", SPLITS),
        "stats": read_table(results / f"blind/{spec['corpus']}_stats.parquet", AUDIO_STATISTICS),
        "weights": weights,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=Path("."), help="a finished study's folder")
    parser.add_argument("models", nargs="*", help="default: every model with features")
    args = parser.parse_args()
    params = yaml.safe_load((args.study / "params.yaml").read_text())
    settings = DISettings.from_config(params["di"], params["seed"])
    results = args.study / "results"
    for model in args.models or evaluated_models(params, results):
        inputs = model_inputs(params, results, model)
        started = time.perf_counter()
        tables = model_dataset_inference(
            model,
            inputs["features"],
            inputs["splits"],
            inputs["stats"],
            settings,
            weights=inputs["weights"],
        )
        seconds = time.perf_counter() - started
        digest = hashlib.sha256()
        for name in DI_TABLES:
            digest.update(tables[name].to_csv(index=False).encode())
        print(f"{model:20s} {seconds:6.2f} s  tables {digest.hexdigest()[:16]}", flush=True)


if __name__ == "__main__":
    main()
