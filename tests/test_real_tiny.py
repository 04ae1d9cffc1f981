"""tests/config/real_tiny.yaml up to the verdicts and headline metrics: tiny random MusicGen,
AudioLDM2 and Stable Audio checkpoints loaded from `source` (nothing trained), on a user
catalogue with bad files; and `audio-di audit` on the same catalogue and model giving the
workflow's p-values."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from conftest import bad_files, snakemake, tone

from audio_di.cli import main
from audio_di.models import PRETRAINED
from audio_di.testing import save_random_checkpoint

CONFIG = Path(__file__).parent / "config/real_tiny.yaml"
WORKS = 8  # per artist: the split procedure needs 4 works a side
# What the tests read; the other figures and summaries are the smoke study's to check.
OUTPUTS = [
    "results/mia/metrics.csv", "results/di/verdicts.csv", "results/di/pvalue_vs_n.csv",
    "results/di/calibration.csv", "results/metrics.json", "results/figures/pvalue_vs_n.png",
]  # fmt: skip

pytestmark = pytest.mark.slow


def write_catalogue(folder: Path) -> dict[str, str]:
    """Artist a with explicit roles (half train, half heldout), artist b left to the seeded
    split, mixed formats, rates and channels, one 1.1 s file (two clips) per work, plus one
    bad file of each kind listed under artist b. Returns the bad files' expected reasons."""
    formats = [("wav", 8000, 1), ("flac", 22050, 2), ("ogg", 44100, 1), ("wav", 16000, 2)]
    rows = []
    for a, artist in enumerate("ab"):
        for w in range(WORKS):
            ext, rate, channels = formats[w % 4]
            name = f"{artist}/work{w}.{ext}"
            (folder / artist).mkdir(parents=True, exist_ok=True)
            sf.write(str(folder / name), tone(1.1, rate, channels, 150.3 + 40 * w + 13 * a), rate)
            # Each role gets every format, so that the format does not give the role away.
            role = ("train" if w in (0, 3, 5, 6) else "heldout") if artist == "a" else ""
            rows.append({"path": name, "artist": artist, "work_id": f"{artist}{w}", "role": role})
    expected = bad_files(folder / "bad")
    rows += [{"path": f"bad/{n}", "artist": "b", "work_id": n, "role": ""} for n in expected]
    table = pd.DataFrame(rows).assign(caption="")
    table.to_csv(folder / "manifest.csv", index=False)
    for role, name in (("train", "suspect"), ("heldout", "validation")):
        table[table["role"] == role].to_csv(folder / f"a_{name}.csv", index=False)
    return expected


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("real_tiny")
    for kind in PRETRAINED:
        save_random_checkpoint(kind, workdir / "checkpoints" / kind)
    expected = write_catalogue(workdir / "catalogue")
    snakemake(workdir, *OUTPUTS, config=CONFIG)
    return workdir, expected


def test_contract_outputs_without_training(study):
    workdir, expected = study
    models = yaml.safe_load(CONFIG.read_text())["models"]
    assert not (workdir / "results/models").exists()
    manifest = pd.read_csv(workdir / "data/corpus/catalogue/manifest.csv")
    assert {"clip_id", "artist", "work_id", "path", "seconds", "sample_rate", "sha256"} <= set(
        manifest.columns
    )
    assert len(manifest) == 2 * WORKS * 2 and (manifest["sample_rate"] == 16000).all()
    rejected = pd.read_csv(workdir / "results/corpus/catalogue_rejected.csv")
    assert sorted(rejected["path"].map(lambda p: Path(p).name)) == sorted(expected)
    splits = pd.read_csv(workdir / "results/splits/catalogue.csv").merge(manifest, on="clip_id")
    a = splits[splits["artist_x"] == "a"]
    assert (a["role_x"] == a["role_y"]).all()  # the manifest's roles are kept
    for model in models:
        features = pd.read_parquet(workdir / f"results/features/{model}.parquet")
        assert features["clip_id"].tolist() == sorted(manifest["clip_id"])
        assert features.shape[1] > 1 and np.isfinite(features.iloc[:, 1:].to_numpy()).all()
    verdicts = pd.read_csv(workdir / "results/di/verdicts.csv")
    assert len(verdicts) == len(models) * 2 * 2  # models x artists x methods
    assert verdicts["p_value"].between(0, 1).all()
    for table in ("mia/metrics.csv", "di/pvalue_vs_n.csv", "di/calibration.csv", "metrics.json"):
        assert (workdir / "results" / table).stat().st_size > 0
    assert (workdir / "results/figures/pvalue_vs_n.png").read_bytes()[:4] == b"\x89PNG"


def test_audit_gives_the_workflows_pvalues(study, tmp_path, capsys):
    workdir, _ = study
    config = yaml.safe_load(CONFIG.read_text())
    di = config["di"]
    # One thread, as in the workflow's feature jobs (threads: 1): float sums in one order.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    code = main(
        ["audit", "--model", f"stable_audio:{workdir / 'checkpoints/stable_audio'}",
         "--name", "stable_audio_tiny", "--dtype", "float32", "--device", "cpu",
         "--attacks", str(CONFIG),
         "--suspect", str(workdir / "catalogue/a_suspect.csv"),
         "--validation", str(workdir / "catalogue/a_validation.csv"), "--out", str(tmp_path),
         "--clip-seconds", "0.5", "--sample-rate", "16000",
         "--batch-size", str(config["features"]["batch_size"]),
         *[arg for key, value in di.items() if key != "contamination"
           for arg in (f"--{key.replace('_', '-')}", *map(str, np.atleast_1d(value)))],
         "--seed", str(config["seed"])]
    )  # fmt: skip
    torch.set_num_threads(threads)
    assert code == 0
    assert "suspect works (8 clips)" in capsys.readouterr().out
    audit = pd.read_csv(tmp_path / "verdicts.csv").set_index("method")
    study_verdicts = pd.read_csv(workdir / "results/di/verdicts.csv")
    workflow = study_verdicts.query("model == 'stable_audio_tiny' and artist == 'a'")
    workflow = workflow.set_index("method")
    for column in ("p_value", "clips_suspect", "clips_validation", "shift_p"):
        np.testing.assert_allclose(audit[column], workflow.loc[audit.index, column], rtol=1e-9)
    curves = pd.read_csv(workdir / "results/di/pvalue_vs_n.csv")
    curves = curves.query("model == 'stable_audio_tiny' and artist == 'a'")
    audit_curves = pd.read_csv(tmp_path / "pvalue_vs_n.csv")
    key = ["method", "n"]
    merged = audit_curves.merge(curves, on=key, suffixes=("_audit", "_workflow"))
    assert len(merged) == len(curves) == len(audit_curves)
    assert merged["p_median_workflow"].nunique() > 1  # numbers worth comparing
    np.testing.assert_allclose(merged["p_median_audit"], merged["p_median_workflow"], rtol=1e-9)
