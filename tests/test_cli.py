"""`audio-di audit` on a model that memorised the suspect set, on user audio with bad files,
and on bad input."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from conftest import SAMPLE_RATE, TINY, bad_files, clips, tone

from audio_di.cli import main
from audio_di.models import train_model

WORKS, CLIPS_PER_WORK = 16, 3
FAST = [
    "--n-grid", "3", "6", "--resamples", "30", "--folds", "4", "--permutations", "999",
    "--null-trials", "40", "--clip-seconds", "1", "--sample-rate", str(SAMPLE_RATE),
]  # fmt: skip


@pytest.fixture(scope="module")
def audit_case(tmp_path_factory):
    """An embedded AR model trained hard on 8 works; each work is one 3 s file (three 1 s
    clips), the suspect works in a folder, the validation works listed in a CSV."""
    root = tmp_path_factory.mktemp("audit")
    audio, meta = clips(WORKS * CLIPS_PER_WORK, seed=3, artists=1)
    meta["artist"] = "catalogue"  # the artist a folder's files are labelled with
    works = np.arange(len(audio)) // CLIPS_PER_WORK
    suspect = works < WORKS // 2
    train_model(
        "embedded_ar",
        audio[suspect],
        meta[suspect],
        {**TINY["embedded_ar"], "n_embd": 32},
        300,
        0,
        root / "m",
    )
    rows = []
    for work in range(WORKS):
        folder = "suspect" if work < WORKS // 2 else "validation"
        path = root / folder / f"work{work:02d}.wav"
        path.parent.mkdir(exist_ok=True)
        sf.write(str(path), audio[works == work].reshape(-1), SAMPLE_RATE, subtype="FLOAT")
        if folder == "validation":
            rows.append({"path": path.name, "artist": "catalogue", "work_id": f"w{work:02d}"})
    pd.DataFrame(rows).to_csv(root / "validation/manifest.csv", index=False)
    return root


def audit(case, *args: str) -> int:
    return main(
        ["audit", "--model", f"embedded_ar:{case / 'm'}", "--suspect", str(case / "suspect"),
         "--validation", str(case / "validation/manifest.csv"), *FAST, *args]
    )  # fmt: skip


def test_audit_detects_a_memorised_suspect_set(audit_case, tmp_path, capsys):
    assert audit(audit_case, "--out", str(tmp_path / "out")) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("The catalogue: detected in m by crossfit")
    assert "on 8 suspect works (24 clips) and 8 validation works (24 clips)" in printed
    verdict = json.loads((tmp_path / "out/verdict.json").read_text())
    assert verdict["detected"] and verdict["verdict"] == "detected"
    assert verdict["clips"] == 48 and verdict["rejected"] == 0
    assert verdict["works"] == {"suspect": 8, "validation": 8}
    assert verdict["di_settings"]["permutations"] == 999
    # --null-trials 40 gives 40 trials per method, all from the validation works.
    assert all(r["null_trials"] == 40 for r in verdict["null_false_positive_rate"])
    assert verdict["summary"] == printed.strip()
    crossfit = next(v for v in verdict["verdicts"] if v["method"] == "crossfit")
    assert crossfit["p_value"] < 0.01 and crossfit["n_suspect"] == 24
    assert (tmp_path / "out/audit.png").read_bytes()[:4] == b"\x89PNG"
    curves = pd.read_csv(tmp_path / "out/pvalue_vs_n.csv")
    assert sorted(curves["n"].unique()) == [3, 6, 8]  # works a side: the grid, then all


def test_audit_of_mixed_user_audio_with_bad_files(tmp_path, capsys):
    """wav, flac and ogg at 8, 22.05 and 44.1 kHz, mono and stereo, and one bad file of each
    kind: the bad ones are listed in rejected.csv and the audit still runs."""
    formats = [("wav", 8000, 1), ("flac", 22050, 2), ("ogg", 44100, 2), ("wav", 44100, 1)]
    for name in ("suspect", "validation"):
        for i in range(8):
            ext, rate, channels = formats[i % 4]
            freq = 200.5 + 37 * i + (300 if name == "validation" else 0)  # clips differ
            path = tmp_path / name / f"song{i}.{ext}"
            path.parent.mkdir(exist_ok=True)
            sf.write(str(path), tone(2.2, rate, channels, freq), rate)
    expected = bad_files(tmp_path / "suspect")
    model = tmp_path / "m"
    audio, meta = clips(12, seed=5, artists=1)
    meta["artist"] = "catalogue"
    train_model("embedded_ar", audio, meta, TINY["embedded_ar"], 1, 0, model)
    code = main(
        ["audit", "--model", f"embedded_ar:{model}", "--suspect", str(tmp_path / "suspect"),
         "--validation", str(tmp_path / "validation"), "--out", str(tmp_path / "out"), *FAST]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert f"{len(expected)} file(s) or clip(s) rejected" in printed
    assert "8 suspect works (16 clips) and 8 validation works (16 clips)" in printed
    rejected = pd.read_csv(tmp_path / "out/rejected.csv")
    assert sorted(rejected["path"].str.rsplit("/", n=1).str[-1]) == sorted(expected)
    manifest = pd.read_csv(tmp_path / "out/manifest.csv")
    assert (manifest["sample_rate"] == SAMPLE_RATE).all() and len(manifest) == 32


def write_table(path, rows) -> str:
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_bad_input_exits_2_naming_the_problem(audit_case, tmp_path, capsys):
    base = [
        "audit", "--suspect", str(audit_case / "suspect"), "--validation",
        str(audit_case / "validation/manifest.csv"), "--out", str(tmp_path / "o"), *FAST,
    ]  # fmt: skip
    no_work = write_table(tmp_path / "no_work.csv", [{"path": "a.wav", "artist": "x"}])
    few = write_table(
        tmp_path / "few.csv",
        [{"path": str(audit_case / f"validation/work{w:02d}.wav"), "artist": "catalogue",
          "work_id": f"w{w}"} for w in (8,)],
    )  # fmt: skip
    both = write_table(
        tmp_path / "both.csv",
        [{"path": str(audit_case / "suspect/work00.wav"), "artist": "catalogue", "work_id": "x"}],
    )
    cases = [
        (["--model", str(audit_case / "m")], "give KIND:SOURCE"),
        (["--model", f"nosuch:{audit_case / 'm'}"], "unknown kind 'nosuch'"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--validation", no_work],
         "no_work.csv: missing column(s) ['work_id']"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--validation", few],
         "needs at least 2 works in each set; too few in catalogue validation set: 1"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--validation", both],
         "in both the suspect and the validation set"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--validation", str(tmp_path / "nope")],
         "nope: no such folder or manifest CSV (validation set)"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--attacks", no_work],
         "no_work.csv: no features.attacks to read"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(base + args) == 2, message
        assert message in capsys.readouterr().err


def manifest_of(case, folder, works, path) -> str:
    rows = [
        {"path": str(case / f"{folder}/work{w:02d}.wav"), "artist": "catalogue", "work_id": f"w{w}"}
        for w in works
    ]
    return write_table(path, rows)


def inconclusive(case, tmp_path, suspect, validation, *args) -> dict:
    out = tmp_path / "out"
    code = main(
        ["audit", "--model", f"embedded_ar:{case / 'm'}", "--suspect", suspect,
         "--validation", validation, "--out", str(out), *FAST, *args]
    )  # fmt: skip
    assert code == 0
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "inconclusive" and not verdict["detected"]
    return verdict


def test_too_few_works_are_inconclusive_not_negative(audit_case, tmp_path):
    """Three non-member works a side: no relabelling test can reach p < 0.05."""
    suspect = manifest_of(audit_case, "validation", (8, 9, 10), tmp_path / "s.csv")
    validation = manifest_of(audit_case, "validation", (11, 12, 13), tmp_path / "v.csv")
    verdict = inconclusive(audit_case, tmp_path, suspect, validation)
    assert verdict["reason"].startswith("too few works (3 suspect, 3 validation)")
    assert "needs 13 works a side" in verdict["reason"]


def test_sets_that_differ_only_in_gain_are_inconclusive(audit_case, tmp_path):
    """Non-member works on both sides, the suspect ones 12 dB louder: the blind test on audio
    statistics finds the shift, so no verdict either way."""
    louder = tmp_path / "louder"
    louder.mkdir()
    for w in range(8, 12):
        audio, rate = sf.read(audit_case / f"validation/work{w:02d}.wav")
        sf.write(louder / f"work{w:02d}.wav", 4 * audio, rate, subtype="FLOAT")
    validation = manifest_of(audit_case, "validation", range(12, 16), tmp_path / "v.csv")
    verdict = inconclusive(audit_case, tmp_path, str(louder), validation)
    assert verdict["reason"].startswith("the sets differ in audio statistics")


def test_a_model_whose_features_are_constant_is_inconclusive(audit_case, tmp_path):
    """All weights zero: every clip gets the same NLL and Min-K%, so there is nothing to test."""
    from safetensors.torch import load_file, save_file

    model = tmp_path / "zero"
    shutil.copytree(audit_case / "m", model)
    weights = load_file(model / "model.safetensors")
    save_file({k: torch.zeros_like(v) for k, v in weights.items()}, model / "model.safetensors")
    attacks = tmp_path / "attacks.yaml"
    attacks.write_text(
        yaml.safe_dump({"features": {"attacks": {"autoregressive": {"nll": {}, "min_k": {}}}}})
    )
    out = tmp_path / "out"
    code = main(
        ["audit", "--model", f"embedded_ar:{model}", "--suspect", str(audit_case / "suspect"),
         "--validation", str(audit_case / "validation/manifest.csv"), "--out", str(out),
         "--attacks", str(attacks), *FAST]
    )  # fmt: skip
    assert code == 0
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["verdict"] == "inconclusive"
    assert verdict["reason"].startswith("degenerate features")
