"""Does the shift guard catch a processed catalogue? Non-member works, processed on the
suspect side only, through the study's verdict path, before and after the richer view.

From a finished study (`--study`, default the repository): the model's non-member works
(non-member artists' works, member artists' held-out works), pooled per artist. The audit
keeps a catalogue's clips at 44.1 kHz (audit.Clipping) and measures its audio statistics
there, while each model hears them at its own rate. So the benchmark renders every pool clip
again, from the work's score, at 44.1 kHz, and processes it there (gain, low-pass, MP3): the
statistics are taken at 44.1 kHz and the model scores the clip resampled to its rate. Each
variant is computed once and kept in `--cache`. Each corpus draw takes one artist, 2 x
`--works` of its non-member works, and makes the first half the suspect side (processed)
and the rest the validation side (unprocessed); the same draws serve every processing. The
draw's collection goes through steps.analysis.collections and family_verdicts, as in the
study, once with the shift test on tables.BLIND_STATISTICS (before) and once on
tables.SHIFT_STATISTICS (after).

Per processing: flagged = inconclusive because the shift test rejects; detected = the
verdict of the primary method (the first of di.methods) is "detected"; DI rejects = its
p-value is below alpha, whatever the guard says (what the guard has to catch).
Writes benchmarks/shift_guard.md.

Usage: python benchmarks/shift_guard.py [--study DIR] [--model M] [--draws 100]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import yaml
from scipy import signal

from audio_di.attacks.extraction import extract_features
from audio_di.audio import resample
from audio_di.audit import Clipping
from audio_di.blind import audio_statistics
from audio_di.corpus.artists import get_artist
from audio_di.corpus.manifest import corpus_audio
from audio_di.corpus.music21_render import list_works, work_clips
from audio_di.di.engine import DISettings
from audio_di.di.verdict import INCONCLUSIVE
from audio_di.io import read_table
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets
from audio_di.steps.analysis import collections, family_verdicts
from audio_di.steps.features import load_scorer
from audio_di.tables import BLIND_STATISTICS, CORPUS_MANIFEST, MEMBER_SIGNS, SHIFT_STATISTICS

ROOT = Path(__file__).resolve().parents[1]
RELEASE_RATE = Clipping().sample_rate
VIEWS = {"before": BLIND_STATISTICS, "after": SHIFT_STATISTICS}
# A clip rendered again at the release rate must sound as the corpus's clip: the two
# renders share the SoundFont's output and differ only by resampling.
SAME_CLIP = 0.99


def gain(audio: np.ndarray, rate: int, db: float) -> np.ndarray:
    return audio * np.float32(10 ** (db / 20))


def lowpass(audio: np.ndarray, rate: int, hz: float) -> np.ndarray:
    """An 8th-order Butterworth low-pass."""
    sos = signal.butter(8, hz, fs=rate, output="sos")
    return signal.sosfilt(sos, audio, axis=-1).astype(np.float32)


def mp3(audio: np.ndarray, rate: int, kbps: int) -> np.ndarray:
    """Each clip through constant-bitrate MPEG-1 Layer III (LAME in libsndfile) and back."""
    # libsndfile maps compression level 0..1 to 320..32 kbps.
    level = (320 - kbps) / 288
    out = np.empty_like(audio)
    for i, clip in enumerate(audio):
        buffer = io.BytesIO()
        sf.write(buffer, clip, rate, format="MP3", compression_level=level,
                 bitrate_mode="CONSTANT")  # fmt: skip
        buffer.seek(0)
        decoded = sf.read(buffer, dtype="float32")[0]
        out[i] = np.pad(decoded, (0, max(0, len(clip) - len(decoded))))[: len(clip)]
    return out


# name -> (processing, argument); "clean" is the catalogue as rendered.
VARIANTS = {
    "clean": (gain, 0.0),
    **{f"gain {db:+g} dB": (gain, db) for db in (-1, -2, -3, -6)},
    **{f"low-pass {hz / 1000:g} kHz": (lowpass, hz) for hz in (4000, 6000, 7000, 8000)},
    **{f"MP3 {kbps} kbps": (mp3, kbps) for kbps in (64, 128, 192, 320)},
}
# processing -> (suspect variant, validation variant)
CONDITIONS = {"none": ("clean", "clean")} | {v: (v, "clean") for v in VARIANTS if v != "clean"}


def release_audio(study: Path, params: dict, corpus: str, pool: pd.DataFrame) -> np.ndarray:
    """The pool's clips rendered again from their works' scores at RELEASE_RATE, in pool
    order; each is checked against the corpus's clip at the corpus's rate."""
    spec = params["corpora"][corpus]
    rate, seconds = spec["sample_rate"], spec["clip_seconds"]
    audio = np.empty((len(pool), round(seconds * RELEASE_RATE)), dtype=np.float32)
    for (artist, work_id), clips in pool.groupby(["artist", "work_id"]):
        work = next(w for w in list_works(artist) if w.work_id == work_id)
        rendered = work_clips(
            work, get_artist(artist), seconds, RELEASE_RATE, spec["max_clips_per_work"]
        )
        for row, clip_id in zip(clips.index, clips["clip_id"], strict=True):
            audio[row] = rendered[int(clip_id.rsplit("__", 1)[1])]
    manifest = study / f"data/corpus/{corpus}/manifest.csv"
    studied = corpus_audio(manifest, pool["clip_id"], rate)
    heard = resample(audio, RELEASE_RATE, rate)[:, : studied.shape[1]]
    match = [np.corrcoef(a, b)[0, 1] for a, b in zip(heard, studied, strict=True)]
    if min(match) < SAME_CLIP:
        worst = pool["clip_id"].iloc[int(np.argmin(match))]
        raise RuntimeError(f"{worst}: rendered at {RELEASE_RATE} Hz, it is not the corpus's clip")
    return audio


def variants(study: Path, model: str, pool: pd.DataFrame, params: dict, cache: Path) -> dict:
    """{variant: (features, statistics)} of every pool clip, each computed once and kept in
    `cache` (features by model and variant, statistics by variant)."""
    spec = params["models"][model]
    rate = params["corpora"][spec["corpus"]]["sample_rate"]
    manifest_path = study / f"data/corpus/{spec['corpus']}/manifest.csv"
    meta = read_table(manifest_path, CORPUS_MANIFEST).set_index("clip_id").loc[pool["clip_id"]]
    cache.mkdir(parents=True, exist_ok=True)
    out, audio, scorer = {}, None, None
    for name, (process, arg) in VARIANTS.items():
        paths = cache / f"{model} {name}.parquet", cache / f"statistics {name}.parquet"
        if not all(path.exists() for path in paths):
            started = time.perf_counter()
            if audio is None:
                audio = release_audio(study, params, spec["corpus"], pool)
            processed = process(audio, RELEASE_RATE, arg)
            if not paths[0].exists():
                scorer = scorer or load_model(study, params, model, rate)
                adapter, reference, attacks = scorer
                heard = np.concatenate([
                    resample(processed[i : i + 64], RELEASE_RATE, rate)
                    for i in range(0, len(processed), 64)
                ])  # fmt: skip
                features = extract_features(
                    adapter, heard, meta.reset_index(), attacks, 32, reference=reference
                )
                features.to_parquet(paths[0])
            if not paths[1].exists():
                batches = range(0, len(processed), 32)
                stats = [audio_statistics(processed[i : i + 32], RELEASE_RATE) for i in batches]
                stats = pd.concat(stats, ignore_index=True)
                stats.insert(0, "clip_id", pool["clip_id"].to_numpy())
                stats.to_parquet(paths[1])
            print(f"{name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
        out[name] = tuple(pd.read_parquet(path) for path in paths)
    return out


def load_model(study: Path, params: dict, model: str, rate: int):
    """The model, its reference and its family's attacks, as the models stage loads them."""

    def spec_of(name: str) -> dict:
        return {**params["models"][name], "source": str(study / f"results/models/{name}")}

    reference = params["models"][model].get("reference")
    scorer = load_scorer(
        spec_of(model),
        params["features"]["attacks"],
        "cpu",
        spec_of(reference) if reference else None,
    )
    if scorer[0].sample_rate != rate:
        raise ValueError(f"{model} takes {scorer[0].sample_rate} Hz, the corpus {rate} Hz")
    return scorer


def non_member_pool(splits: pd.DataFrame, works: int) -> pd.DataFrame:
    """Evaluated clips of works the model never saw, of artists with 2 x `works` of them."""
    clips = evaluation_sets(splits)
    clips = clips[(clips["artist_status"] == "nonmember") | ~clips["suspect"]]
    enough = clips.groupby("artist")["work_id"].nunique() >= 2 * works
    return clips[clips["artist"].isin(enough[enough].index)].reset_index(drop=True)


def draw(pool: pd.DataFrame, works: int, seed: int, k: int) -> pd.DataFrame:
    """Splits of one corpus draw: one artist's 2 x `works` works, the first half suspect."""
    rng = np.random.default_rng(stable_seed(seed, "shift_guard", k))
    artists = sorted(pool["artist"].unique())
    clips = pool[pool["artist"] == artists[rng.integers(len(artists))]]
    chosen = rng.choice(sorted(clips["work_id"].unique()), 2 * works, replace=False)
    role = dict.fromkeys(chosen[:works], "train") | dict.fromkeys(chosen[works:], "heldout")
    clips = clips[clips["work_id"].isin(role)]
    return clips.assign(role=clips["work_id"].map(role), artist_status="nonmember")


def pick(table: pd.DataFrame, clips: pd.DataFrame, role: str) -> pd.DataFrame:
    return table[table["clip_id"].isin(clips.loc[clips["role"] == role, "clip_id"])]


def run(args: argparse.Namespace) -> pd.DataFrame:
    params = yaml.safe_load((args.study / "params.yaml").read_text())
    settings = DISettings.from_config(params["di"], params["seed"])
    settings = replace(settings, permutations=args.permutations)
    splits = pd.read_csv(args.study / f"results/splits/models/{args.model}.csv")
    pool = non_member_pool(splits, args.works)
    computed = variants(args.study, args.model, pool, params, args.cache)
    primary = settings.methods[0]
    rows = []
    for condition, (suspect, validation) in CONDITIONS.items():
        started = time.perf_counter()
        counts = {f"{what} {view}": 0 for what in ("flagged", "detected") for view in VIEWS}
        counts["DI rejects"] = 0
        for k in range(args.draws):
            clips = draw(pool, args.works, settings.seed, k)
            sides = [(suspect, "train"), (validation, "heldout")]
            features, stats = (
                pd.concat([pick(computed[v][i], clips, role) for v, role in sides]) for i in (0, 1)
            )
            features.attrs[MEMBER_SIGNS] = computed[suspect][0].attrs[MEMBER_SIGNS]
            for view, columns in VIEWS.items():
                found = collections(args.model, features, clips, stats, columns)
                row = next(r for r in family_verdicts(args.model, found, settings)
                           if r.method == primary)  # fmt: skip
                flagged = row.verdict == INCONCLUSIVE and row.shift_p < settings.alpha
                counts[f"flagged {view}"] += flagged
                counts[f"detected {view}"] += row.detected
            counts["DI rejects"] += row.p_adjusted < settings.alpha
        rows.append({"processing": condition, **{k: v / args.draws for k, v in counts.items()}})
        print(f"{condition}: {rows[-1]} ({time.perf_counter() - started:.0f} s)", file=sys.stderr)
    return pd.DataFrame(rows)


def report(table: pd.DataFrame, args: argparse.Namespace, settings_line: str) -> str:
    lines = [
        "# Shift guard on processed non-member catalogues",
        "",
        f"`python benchmarks/shift_guard.py --study {args.study} --model {args.model} "
        f"--draws {args.draws} --works {args.works}`: {settings_line}.",
        "",
        "| processing (suspect side) | flagged before | flagged after | detected before "
        "| detected after | DI rejects |",
        "|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        values = " | ".join(f"{v:.0%}" for v in row[1:])
        lines.append(f"| {row.processing} | {values} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=ROOT)
    parser.add_argument("--model", default="ar_at_scale")
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--works", type=int, default=20, help="works a side")
    parser.add_argument("--permutations", type=int, default=999)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/shift_guard"))
    args = parser.parse_args()
    table = run(args)
    line = (
        f"{args.draws} corpus draws of {args.works} works a side per processing, "
        f"{args.permutations} relabellings per p-value; clips rendered, processed and "
        f"measured at {RELEASE_RATE} Hz, scored by the model at its own rate"
    )
    text = report(table, args, line)
    (ROOT / "benchmarks/shift_guard.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
