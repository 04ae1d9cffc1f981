"""`audio-di audit` on a model that memorised the suspect set, on user audio with bad files,
and on bad input."""

import argparse
import json
import logging
import shutil
import warnings
from datetime import datetime

import huggingface_hub
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml
from conftest import SAMPLE_RATE, TINY, bad_files, clips, tone

import audio_di
from audio_di.attacks.registry import ATTACKS
from audio_di.audit import audit_log
from audio_di.cli import _parser, main
from audio_di.models import train_model
from audio_di.models.pretrained import hub_commit

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
    out = tmp_path / "out"
    assert audit(audit_case, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"features: computed, kept in {out / 'features.parquet'}\n")
    # The verdict first, the two-sided diagnostics after it.
    verdict = printed.index("The catalogue: detected in m by oriented, the verdict (")
    assert (
        verdict
        < printed.index("by crossfit, a diagnostic (")
        < printed.index("by split, a diagnostic (")
    )
    assert "on 8 suspect works (24 clips) and 8 validation works (24 clips)" in printed
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["detected"] and verdict["verdict"] == "detected"
    assert verdict["clips"] == 48 and verdict["rejected"] == 0
    assert verdict["works"] == {"suspect": 8, "validation": 8}
    assert verdict["di_settings"]["permutations"] == 999
    # --null-trials 40 gives 40 trials per method, all from the validation works.
    assert all(r["null_trials"] == 40 for r in verdict["null_false_positive_rate"])
    assert printed.strip().endswith(f"{verdict['summary']}\n{verdict['family']}")
    assert verdict["family"] == (
        "family (oriented): 1 artist, Holm at alpha 0.05: 1 detected, 0 not detected, "
        "0 inconclusive"
    )
    oriented = next(v for v in verdict["verdicts"] if v["method"] == "oriented")
    assert oriented["p_value"] < 0.01 and oriented["clips_suspect"] == 24
    assert oriented["p_two_sided"] < 0.01  # the diagnostic agrees
    assert (out / "audit.png").read_bytes()[:4] == b"\x89PNG"
    curves = pd.read_csv(out / "pvalue_vs_n.csv")
    assert sorted(curves["n"].unique()) == [3, 6, 8]  # works a side: the grid, then all


def test_shadow_weights_make_the_weighted_test_the_verdict(audit_case, tmp_path, capsys):
    """With --weights, the weighted one-sided test comes first and gives the verdict; its
    weights file is part of the provenance."""
    weights = tmp_path / "weights.csv"
    pd.DataFrame(
        {"feature": ["nll__mean", "zlib__ratio"], "auc": [0.8, 0.4], "weight": [0.3, 0.0],
         "works_trained": 50, "works_heldout": 50}
    ).to_csv(weights, index=False)  # fmt: skip
    out = tmp_path / "out"
    assert audit(audit_case, "--out", str(out), "--weights", str(weights)) == 0
    printed = capsys.readouterr().out
    assert "The catalogue: detected in m by weighted, the verdict (" in printed
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["method"] == "weighted" and verdict["detected"]
    assert verdict["weights"] == str(weights)
    assert verdict["di_settings"]["methods"][:2] == ["weighted", "oriented"]


def test_verdict_records_its_provenance_and_no_clips_are_kept(audit_case, tmp_path, capsys):
    out = tmp_path / "out"
    assert audit(audit_case, "--out", str(out)) == 0
    verdict = json.loads((out / "verdict.json").read_text())
    assert verdict["audio_di_version"] == audio_di.__version__
    assert datetime.fromisoformat(verdict["started"]).tzinfo is not None
    assert verdict["command"][:3] == ["audio-di", "audit", "--model"]
    assert verdict["model"] == {
        "kind": "embedded_ar", "source": str(audit_case / "m"), "name": "m",
        "revision": None, "resolved_revision": "local folder", "dtype": "float32",
    }  # fmt: skip
    # Every attack of the family that runs without a reference, with every setting.
    assert verdict["attacks"]["min_k"] == {"k": [5, 10, 20, 30, 50]}
    assert sorted(verdict["attacks"]) == sorted(
        n for n, a in ATTACKS.items() if a.family == "autoregressive" and not a.needs_reference
    )
    assert verdict["clipping"] == {"clip_seconds": 1.0, "sample_rate": SAMPLE_RATE,
                                    "max_clips_per_file": None}  # fmt: skip
    assert verdict["di_settings"]["permutations"] == 999  # B
    assert verdict["seeds"] == {"di": 0}  # the autoregressive attacks draw no noise
    assert verdict["features"].startswith("features: computed")
    # The clips lived in a temporary folder: nothing of the audio is left in --out.
    assert sorted(p.name for p in out.iterdir()) == [
        "audit.log", "audit.png", "features.json", "features.parquet", "manifest.csv",
        "pvalue_vs_n.csv", "rejected.csv", "verdict.json", "verdicts.csv",
    ]  # fmt: skip
    assert audit(audit_case, "--out", str(out), "--keep-clips") == 0
    manifest = pd.read_csv(out / "manifest.csv")
    assert all((out / path).is_file() for path in manifest["path"])


def test_a_rerun_with_other_di_settings_reuses_the_features(audit_case, tmp_path, monkeypatch,
                                                            capsys):  # fmt: skip
    import audio_di.steps.features as features

    scored = []
    score_clips = features.score_clips
    monkeypatch.setattr(
        features, "score_clips", lambda *a, **k: scored.append(1) or score_clips(*a, **k)
    )
    out = tmp_path / "out"
    kept = out / "features.parquet"
    assert audit(audit_case, "--out", str(out)) == 0
    first = pd.read_parquet(kept)
    assert audit(audit_case, "--out", str(out), "--permutations", "499", "--folds", "2") == 0
    assert len(scored) == 1
    assert f"features: reused {kept} (same model, attacks and clips)" in capsys.readouterr().out
    assert json.loads((out / "verdict.json").read_text())["di_settings"]["permutations"] == 499
    pd.testing.assert_frame_equal(pd.read_parquet(kept), first)
    # Other attacks, or other clips: computed again, saying why.
    attacks = tmp_path / "attacks.yaml"
    attacks.write_text(yaml.safe_dump({"features": {"attacks": {"autoregressive": {"nll": {}}}}}))
    assert audit(audit_case, "--out", str(out), "--attacks", str(attacks)) == 0
    assert "(the kept ones were of other attacks)" in capsys.readouterr().out
    assert list(pd.read_parquet(kept).columns) == ["clip_id", "nll__mean", "nll__ppl"]
    assert audit(audit_case, "--out", str(out), "--attacks", str(attacks),
                 "--max-clips-per-file", "2") == 0  # fmt: skip
    assert "(the kept ones were of other clips)" in capsys.readouterr().out
    assert len(scored) == 3


def test_a_model_that_does_not_load_stops_before_any_audio_is_read(audit_case, tmp_path,
                                                                  monkeypatch, capsys):  # fmt: skip
    import audio_di.corpus.folder as folder

    monkeypatch.setattr(folder, "ingest_catalogue", lambda *a, **k: pytest.fail("ingested"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    empty = tmp_path / "empty"
    empty.mkdir()
    for model, message in [
        (f"embedded_ar:{empty}", f"--model embedded_ar:{empty}: cannot load it: no trained"),
        ("musicgen:nobody/no-such-model", "--model musicgen:nobody/no-such-model: cannot load "
         "it: cannot load the MusicGen checkpoint 'nobody/no-such-model'"),
    ]:  # fmt: skip
        args = ["audit", "--model", model, "--suspect", str(audit_case / "suspect"),
                "--validation", str(audit_case / "validation"),
                "--out", str(tmp_path / "o")]  # fmt: skip
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"audio-di: {message}") and err.count("\n") == 1, err
        # The traceback is in the log, not on the console.
        assert "Traceback" in (tmp_path / "o/audit.log").read_text()
    assert not (tmp_path / "o/manifest.csv").exists()


def test_help_shows_every_default(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    audit_parser = next(
        action.choices["audit"]
        for action in _parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    for action in audit_parser._actions:
        if action.dest == "help" or action.required:
            continue
        if action.default is None:
            assert "(default: " in action.help, action.dest
        else:
            assert f"(default: {' '.join(str(action.default).split())})" in text, action.dest


def console(logger: logging.Logger) -> bool:
    return any(type(handler) is logging.StreamHandler for handler in logger.handlers)


def test_library_warnings_go_to_the_log_not_the_console(tmp_path, capfd):
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    tokenizer = transformers_logging.get_logger("transformers.tokenization_utils_base")
    libraries = [logging.getLogger(name) for name in ("transformers", "diffusers")]
    showwarning = warnings.showwarning
    with audit_log(tmp_path / "audit.log"):
        # The libraries' own console handlers (plain StreamHandlers) are off; their records
        # reach the log through the root logger.
        assert not any(console(library) or not library.propagate for library in libraries)
        warnings.warn("`upcast_attention` is deprecated", FutureWarning, stacklevel=1)
        tokenizer.warning("Token indices sequence length is longer than the maximum")
        diffusers_logging.get_logger("diffusers.pipelines").warning("a diffusers notice")
    assert capfd.readouterr() == ("", "")
    log = (tmp_path / "audit.log").read_text()
    for message in ("upcast_attention", "Token indices", "a diffusers notice"):
        assert message in log
    # Outside the audit, everything is as it was.
    assert all(console(library) and not library.propagate for library in libraries)
    assert warnings.showwarning is showwarning


def test_the_revision_of_a_hub_model_is_the_cached_commit(tmp_path, monkeypatch):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "models--owner--tune"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs/main").write_text(commit)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    assert hub_commit("owner/tune", None) == commit
    assert hub_commit("owner/tune", commit) == commit
    assert hub_commit("owner/tune", "v2") is None
    assert hub_commit("owner/other", None) is None


def test_audit_figure_labels_each_artist_and_fits_its_panels(tmp_path, monkeypatch):
    import audio_di.plots as plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    verdicts = pd.DataFrame(
        {
            "artist": ["a", "a", "b", "b"],
            "method": ["crossfit", "split"] * 2,
            "verdict": ["detected", "not detected", "inconclusive", "inconclusive"],
            "reason": ["p = 0.001 < alpha 0.05", "p = 0.2 >= alpha 0.05", "too few", "too few"],
            "p_value": [0.001, 0.2, 0.3, 0.4],
            "shift_p": [0.5, 0.5, 0.01, 0.01],
        }
    )
    curves = pd.DataFrame(
        [(a, m, n, 0.01 * n, 0.005 * n, 0.02 * n) for a in "ab" for m in ("crossfit", "split")
         for n in (3, 6)], columns=["artist", "method", "n", "p_median", "p_q25", "p_q75"],
    )  # fmt: skip
    null = pd.DataFrame({"method": "crossfit", "p": np.linspace(0.02, 1, 40)})
    for trials, panels in ((null, 2), (null.iloc[:0], 1)):
        plots.audit_figure(curves, trials, verdicts, 0.05, "crossfit", tmp_path / "a.png")
        fig = figures.pop()
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert "a: detected" in texts and "b: inconclusive" in texts
        assert any("the sets differ" in t and "p = 0.01" in t for t in texts)
        plotted = [ax for ax in fig.axes if ax.lines]
        assert len(plotted) == panels  # no panel without data
        low, high = plotted[0].get_ylim()
        assert (low, high) == (0.0075, 1.1)  # from half the smallest quartile to 1
        if panels == 2:
            assert plotted[1].get_xlim()[0] == pytest.approx(0.5 / 40 / 2)


def test_audit_of_mixed_user_audio_with_bad_files(tmp_path, capsys):
    """wav, flac, ogg and opus (which soundfile reads though it names no such format) at 8 to
    48 kHz, mono and stereo, and one bad file of each kind, unsupported formats and a text
    file among them: the bad ones are listed in rejected.csv and the audit still runs."""
    formats = [("wav", 8000, 1), ("flac", 22050, 2), ("ogg", 44100, 2), ("opus", 48000, 1)]
    for name in ("suspect", "validation"):
        for i in range(8):
            ext, rate, channels = formats[i % 4]
            freq = 200.5 + 37 * i + (300 if name == "validation" else 0)  # clips differ
            path = tmp_path / name / f"song{i}.{ext}"
            path.parent.mkdir(exist_ok=True)
            opus = {"format": "OGG", "subtype": "OPUS"} if ext == "opus" else {}
            sf.write(str(path), tone(2.2, rate, channels, freq), rate, **opus)
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
    names = rejected["path"].str.rsplit("/", n=1).str[-1]
    reasons = dict(zip(names, rejected["reason"], strict=True))
    assert sorted(reasons) == sorted(expected)
    assert all(reasons[name].startswith(reason) for name, reason in expected.items())
    manifest = pd.read_csv(tmp_path / "out/manifest.csv")
    assert (manifest["sample_rate"] == SAMPLE_RATE).all() and len(manifest) == 32
    assert manifest["source"].drop_duplicates().str.endswith(".opus").sum() == 4


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
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--methods", "weighted"],
         "--methods weighted: the weighted test needs --weights"),
        (["--model", f"embedded_ar:{audit_case / 'm'}", "--weights", no_work],
         "no_work.csv: not a shadow weights table, it lacks ['feature'"),
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
    """Three non-member works a side: their 20 labellings cannot give p < 0.05, so nothing is
    tested."""
    suspect = manifest_of(audit_case, "validation", (8, 9, 10), tmp_path / "s.csv")
    validation = manifest_of(audit_case, "validation", (11, 12, 13), tmp_path / "v.csv")
    verdict = inconclusive(audit_case, tmp_path, suspect, validation)
    assert verdict["reason"] == (
        "too few works for a family of 1 at alpha 0.05: 3 suspect and 3 validation works "
        "have 20 distinct labellings, needs more than 20"
    )


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
