"""Many artists at once: the correction over a family (Holm or Benjamini-Hochberg), checked by
hand on a 12-artist audit; the resolution check that makes a family too small for its
relabellings inconclusive before any test; and the artist a model scores a set under
(`--artist`, or none: unconditional)."""

import contextlib
import io
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from conftest import ROOT, SAMPLE_RATE, TINY, clips, params
from jsonschema.validators import validator_for

import audio_di.steps.analysis as analysis
from audio_di.cli import main
from audio_di.di.engine import DISettings, Result, works_of
from audio_di.models import train_model
from audio_di.steps.analysis import Collection, family_verdicts
from audio_di.tables import UNCONDITIONAL

ARTISTS, WORKS = 12, 10  # works per artist, half a side; the last artist has 4 a side
SHORT = f"artist{ARTISTS - 1}"
FAST = [
    "--methods", "crossfit", "--folds", "2", "--fold-draws", "10", "--permutations", "999",
    "--n-grid", "3", "--resamples", "10", "--null-trials", "24", "--clip-seconds", "1",
    "--sample-rate", str(SAMPLE_RATE),
]  # fmt: skip


@pytest.fixture(scope="module")
def family_case(tmp_path_factory):
    """A tiny embedded AR model that knows 12 artists, trained briefly on two suspect works of
    each (its codebook then covers every artist's pitch range), and one 1 s file per work
    under audio/<artist>/<set>/, listed in suspect.csv and validation.csv."""
    root = tmp_path_factory.mktemp("family")
    audio, meta = clips(ARTISTS * WORKS, seed=7, artists=ARTISTS)
    work = np.arange(len(audio)) // ARTISTS
    trained = work < 2
    config = {**TINY["embedded_ar"], "artists": sorted(meta["artist"].unique())}
    train_model("embedded_ar", audio[trained], meta[trained], config, 5, 0, root / "m")
    rows = {"suspect": [], "validation": []}
    for i, (a, w) in enumerate(zip(meta["artist"], work, strict=True)):
        if a == SHORT and w in (WORKS // 2 - 1, WORKS - 1):
            continue
        side = "suspect" if w < WORKS // 2 else "validation"
        path = root / "audio" / a / side / f"work{w}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(path), audio[i], SAMPLE_RATE, subtype="FLOAT")
        rows[side].append({"path": str(path.relative_to(root)), "artist": a, "work_id": f"w{w}"})
    for side, listed in rows.items():
        pd.DataFrame(listed).to_csv(root / f"{side}.csv", index=False)
    return root


def audit(case, out, *args: str) -> tuple[int, str]:
    """audio-di audit of the case's model, with what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(["audit", "--model", f"embedded_ar:{case / 'm'}", "--out", str(out),
                     *FAST, *args])  # fmt: skip
    return code, printed.getvalue()


@pytest.fixture(scope="module")
def family_audits(family_case):
    """The 12-artist catalogue audited under each correction; the second run reuses the
    first's features. correction -> (verdicts.csv, verdict.json, printed)."""
    out = family_case / "out"
    found = {}
    for correction in ("holm", "fdr"):
        code, printed = audit(
            family_case, out, "--suspect", str(family_case / "suspect.csv"),
            "--validation", str(family_case / "validation.csv"), "--multiple", correction,
        )  # fmt: skip
        assert code == 0
        found[correction] = (
            pd.read_csv(out / "verdicts.csv"),
            json.loads((out / "verdict.json").read_text()),
            printed,
        )
    return found


def holm_by_hand(p: list[float]) -> list[float]:
    """Smallest first, the i-th (from 0) times m - i, never below the one before, at most 1."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    adjusted, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def benjamini_hochberg_by_hand(p: list[float]) -> list[float]:
    """Largest first, the one of rank r (from 1, smallest first) times m / r, never above the
    one after it, at most 1."""
    order = sorted(range(len(p)), key=lambda i: p[i], reverse=True)
    adjusted, running = [0.0] * len(p), 1.0
    for done, i in enumerate(order):
        running = min(running, len(p) / (len(p) - done) * p[i])
        adjusted[i] = running
    return adjusted


BY_HAND = {"holm": holm_by_hand, "fdr": benjamini_hochberg_by_hand}
NAMES = {"holm": "Holm", "fdr": "Benjamini-Hochberg"}


def test_twelve_artists_adjusted_as_by_hand(family_audits):
    raw = {}
    for correction, (verdicts, verdict, printed) in family_audits.items():
        assert sorted(verdicts["artist"]) == sorted(f"artist{a}" for a in range(ARTISTS))
        assert (verdicts["correction"] == correction).all()
        tested = verdicts[verdicts["artist"] != SHORT]
        p = tested["p_value"].tolist()
        assert tested["p_adjusted"].tolist() == pytest.approx(BY_HAND[correction](p))
        raw[correction] = p
        # Every reason that rests on the p-value names the correction and the family.
        rests = tested[~tested["reason"].str.startswith(("the sets differ", "degenerate"))]
        named = f"({NAMES[correction]}-adjusted over 11 collections: "
        assert len(rests) and rests["reason"].str.contains(named, regex=False).all()
        counts = verdicts["verdict"].value_counts()
        family = (
            f"family (crossfit): 12 artists, {NAMES[correction]} at alpha 0.05: "
            f"{counts.get('detected', 0)} detected, {counts.get('not detected', 0)} not "
            f"detected, {counts.get('inconclusive', 0)} inconclusive"
        )
        assert printed.strip().endswith(family) and verdict["family"] == family
        assert printed.count("The catalogue of artist") == ARTISTS
    # The same relabellings under both corrections: only the adjustment differs.
    assert raw["holm"] == raw["fdr"]


def test_an_artist_with_too_few_works_for_the_family_is_inconclusive(family_audits):
    """4 works a side give C(8, 4) = 70 labellings; 12 artists at 0.05 need more than 240."""
    verdicts, _, printed = family_audits["holm"]
    short = verdicts.set_index("artist").loc[SHORT]
    assert short["verdict"] == "inconclusive" and short["permutations"] == 0
    assert short["reason"] == (
        "too few works for a family of 12 at alpha 0.05: 4 suspect and 4 validation works "
        "have 70 distinct labellings, needs more than 240"
    )
    assert np.isnan(short["p_value"]) and np.isnan(short["p_adjusted"])
    assert (
        f"The catalogue of {SHORT}: inconclusive in m by crossfit, the verdict (too few works for "
        in printed
    )


def family(sizes: list[int], seed: int = 0) -> list[Collection]:
    """Collections of random features, `size` works a side each, artists a, b, c ..."""
    rng = np.random.default_rng(seed)
    found = []
    for name, size in zip("abcdefgh", sizes, strict=False):
        works = works_of(*rng.normal(size=(2, size, 3)), np.arange(size), np.arange(size))
        found.append(Collection(name, "nonmember", works, works, (size, size), 0))
    return found


@pytest.fixture
def scripted(monkeypatch):
    """family_verdicts with scripted DI p-values (artist -> p) and a shift test that finds
    nothing; returns the p-values to set and the artists each test ran on."""
    p, ran = {}, {"di": [], "shift": []}
    by_works = {}

    def dataset_inference(works, method, settings):
        ran["di"].append(by_works[id(works)])
        return Result(p[by_works[id(works)]], settings.permutations, 0.001)

    def shift_test(works, settings):
        ran["shift"].append(by_works[id(works)])
        return Result(0.5, settings.permutations, 0.01)

    monkeypatch.setattr(analysis, "dataset_inference", dataset_inference)
    monkeypatch.setattr(analysis, "shift_test", shift_test)

    def run(found, settings):
        by_works.update({id(c.works): c.artist for c in found})
        return pd.DataFrame(family_verdicts("m", found, settings)).set_index("artist")

    return p, ran, run


def test_the_resolution_check_runs_before_any_relabelling(scripted):
    p, ran, run = scripted
    p.update(a=0.001, b=0.02, c=0.3)
    # A family of 4 at 0.05 needs more than 80 labellings: d's 4 works a side give 70.
    found = family([5, 5, 5, 4])
    holm = run(found, DISettings(methods=("crossfit",)))
    assert ran == {"di": ["a", "b", "c"], "shift": ["a", "b", "c"]}
    assert holm.loc["d", "reason"].startswith("too few works for a family of 4 at alpha 0.05")
    assert holm.loc["d", "permutations"] == 0 and np.isnan(holm.loc["d", "shift_p"])
    # The tested three, by hand: Holm 3 x 0.001, 2 x 0.02, 0.3; BH 3 x 0.001, 3/2 x 0.02, 0.3.
    assert holm.loc[["a", "b", "c"], "p_adjusted"].tolist() == pytest.approx([0.003, 0.04, 0.3])
    assert holm["verdict"].tolist() == ["detected", "detected", "inconclusive", "inconclusive"]
    assert holm.loc["b", "reason"] == (
        "p = 0.02 (Holm-adjusted over 3 collections: 0.04) < alpha 0.05"
    )
    assert holm.loc["c", "reason"].startswith(
        "too few works (5 suspect, 5 validation) for p = 0.3 (Holm-adjusted over 3 "
        "collections: 0.3) >= alpha 0.05 to be a negative: "
    )
    fdr = run(found, DISettings(methods=("crossfit",), multiple="fdr"))
    assert fdr.loc[["a", "b", "c"], "p_adjusted"].tolist() == pytest.approx([0.003, 0.03, 0.3])
    assert (fdr["correction"] == "fdr").all()
    assert "(Benjamini-Hochberg-adjusted over 3 collections: 0.03)" in fdr.loc["b", "reason"]


def test_a_family_too_large_for_its_relabellings_is_inconclusive_untested(scripted):
    _, ran, run = scripted
    # B + 1 = 80 relabellings cannot give p < 0.05 / 4: no test runs at all.
    verdicts = run(family([5, 5, 5, 5]), DISettings(methods=("crossfit",), permutations=79))
    assert ran == {"di": [], "shift": []}
    assert (verdicts["verdict"] == "inconclusive").all()
    assert (
        verdicts["reason"] == "too few relabellings for a family of 4 at alpha 0.05: 79 "
        "permutations, needs B + 1 > 80"
    ).all()


def artist_sets(case, artist: str) -> dict[str, str]:
    """The folders of one artist's suspect and validation works."""
    return {side: str(case / "audio" / artist / side) for side in ("suspect", "validation")}


def test_an_embedded_model_scores_a_folder_under_artist_or_a_manifest_unconditionally(
    family_case, tmp_path, capsys
):
    folders = artist_sets(family_case, "artist3")
    sets = ["--suspect", folders["suspect"], "--validation", folders["validation"]]
    # A folder's works are the artist "catalogue", unknown to this model: the error says
    # both ways out.
    assert audit(family_case, tmp_path / "none", *sets)[0] == 2
    err = capsys.readouterr().err
    assert "artist(s) ['catalogue'] unknown to this embedded_ar model" in err
    assert "--artist NAME" in err and "a manifest with a blank or no artist column" in err
    conditioned = tmp_path / "artist"
    assert audit(family_case, conditioned, *sets, "--artist", "artist3")[0] == 0
    assert pd.read_csv(conditioned / "verdicts.csv")["artist"].tolist() == ["artist3"]
    # The same works in manifests without an artist: the suspect CSV has no artist column,
    # the validation CSV a blank one; the paths are named as in the folders.
    manifests = {}
    for side, folder in folders.items():
        files = sorted(p.name for p in (family_case / "audio/artist3" / side).iterdir())
        rows = {"path": [f"{side}/{name}" for name in files], "work_id": files}
        if side == "validation":
            rows["artist"] = ""
        manifests[side] = tmp_path / f"{side}.csv"
        pd.DataFrame(rows).to_csv(manifests[side], index=False)
        (tmp_path / side).symlink_to(folder)
    unconditional = tmp_path / "unconditional"
    code, printed = audit(family_case, unconditional, "--suspect", str(manifests["suspect"]),
                          "--validation", str(manifests["validation"]))  # fmt: skip
    assert code == 0
    assert pd.read_csv(unconditional / "verdicts.csv")["artist"].tolist() == [UNCONDITIONAL]
    assert "The works without an artist (scored unconditionally): " in printed
    # Same clips, another condition: the artist's class against the null class.
    by_clip = [
        pd.read_parquet(out / "features.parquet")
        .assign(clip=lambda f: f["clip_id"].str.split("__", n=1).str[1])
        .set_index("clip")
        for out in (conditioned, unconditional)
    ]
    assert by_clip[0].index.tolist() == by_clip[1].index.tolist()
    assert not np.allclose(by_clip[0]["nll__mean"], by_clip[1]["nll__mean"])


def test_bad_family_options_exit_2_naming_the_problem(family_case, tmp_path, capsys):
    folders = artist_sets(family_case, "artist3")
    manifests = ["--suspect", str(family_case / "suspect.csv"),
                 "--validation", str(family_case / "validation.csv")]  # fmt: skip
    with pytest.raises(SystemExit) as stopped:
        audit(family_case, tmp_path / "o", *manifests, "--multiple", "bonferroni")
    assert stopped.value.code == 2
    assert "--multiple: invalid choice: 'bonferroni' (choose from" in capsys.readouterr().err
    cases = [
        (["--suspect", folders["suspect"], "--validation", folders["validation"],
          "--artist", ""], "--artist '': give a name"),
        ([*manifests, "--artist", "artist3"], "--artist 'artist3' names the artist of a "
         "folder set, but both sets are manifests"),
    ]  # fmt: skip
    for args, message in cases:
        assert audit(family_case, tmp_path / "o", *args)[0] == 2
        assert capsys.readouterr().err.startswith(f"audio-di: {message}")


def test_the_study_takes_its_correction_from_params_yaml():
    schema = yaml.safe_load((ROOT / "workflow/schemas/params.schema.yaml").read_text())
    study = params()
    assert DISettings.from_config(study["di"], study["seed"]).multiple == "holm"
    study["di"]["multiple"] = "bonferroni"
    errors = list(validator_for(schema)(schema).iter_errors(study))
    assert [(list(e.path), e.message) for e in errors] == [
        (["di", "multiple"], "'bonferroni' is not one of ['holm', 'fdr']")
    ]
