"""`audio-di audit` on a model that memorised the suspect set, and on bad catalogues."""

import pandas as pd
import pytest
from test_models import SAMPLE_RATE, TINY, clips

from audio_di.audio import write_flac
from audio_di.cli import main
from audio_di.models import train_model


@pytest.fixture(scope="module")
def audit_case(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    audio, meta = clips(48, seed=3, artists=1)
    meta["work_id"] = [f"w{i // 3}" for i in range(48)]  # 16 works of 3 clips
    suspect = meta["work_id"].isin([f"w{i}" for i in range(8)])
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
    for clip, row, is_suspect in zip(audio, meta.itertuples(), suspect, strict=True):
        write_flac(root / "clips" / f"{row.clip_id}.flac", clip, SAMPLE_RATE)
        rows.append(
            {
                "path": f"clips/{row.clip_id}.flac",
                "artist": row.artist,
                "work_id": row.work_id,
                "set": "suspect" if is_suspect else "validation",
            }
        )
    pd.DataFrame(rows).to_csv(root / "catalogue.csv", index=False)
    return root


def test_audit_detects_a_memorised_suspect_set(audit_case, capsys):
    out = audit_case / "verdicts.csv"
    code = main(
        ["audit", "--model", str(audit_case / "m"), "--kind", "embedded_ar", "--catalogue",
         str(audit_case / "catalogue.csv"), "--out", str(out), "--n-grid", "6", "12",
         "--resamples", "50", "--bootstrap", "100", "--folds", "4"]
    )  # fmt: skip
    assert code == 0
    verdict = pd.read_csv(out).iloc[0]
    assert verdict["n_suspect"] == 24 and verdict["n_validation"] == 24
    assert verdict["p_value"] < 0.01 and verdict["detected"]
    assert "p_value" in capsys.readouterr().out


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.drop(columns="work_id"), "missing column"),
        (lambda t: t.assign(set="maybe"), "'maybe'"),
        (lambda t: t.assign(path="nowhere.flac"), "not found"),
        (lambda t: t.assign(work_id="w0"), "in both sets"),
    ],
)
def test_bad_catalogue_is_named(audit_case, tmp_path, capsys, edit, message):
    table = edit(pd.read_csv(audit_case / "catalogue.csv"))
    table["path"] = [
        str(audit_case / p) if p != "nowhere.flac" else p for p in table.get("path", [])
    ]
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    code = main(["audit", "--model", str(audit_case / "m"), "--kind", "embedded_ar",
                 "--catalogue", str(bad)])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "bad.csv" in err
