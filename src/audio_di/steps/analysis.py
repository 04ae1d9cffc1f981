"""The analysis stage: per-clip MIA, dataset inference with the blind shift test, the
calibration of the DI procedures on null trials, the claim check, the headline numbers and
the verdict sentence."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from audio_di.blind import audio_statistics, shift_test
from audio_di.corpus.manifest import corpus_batches
from audio_di.di import (
    DETECTED,
    INCONCLUSIVE,
    DISettings,
    Works,
    contamination_curve,
    dataset_inference,
    false_positive_rate,
    holm,
    null_pvalues,
    pool_null,
    pvalue_vs_n,
    verdict,
    works_of,
)
from audio_di.mia import bootstrap_auc, membership_metrics, roc_points
from audio_di.seeding import stable_seed
from audio_di.splits import evaluation_sets
from audio_di.tables import (
    ARTIST_AUC,
    BLIND_STATISTICS,
    CALIBRATION,
    CONTAMINATION,
    HEADLINE,
    NULL_PVALUES,
    PVALUE_VS_N,
    VERDICTS,
)

log = logging.getLogger(__name__)

# Audio per batch of the blind statistics: their spectrograms take about 100 bytes a sample,
# so a batch needs some 25 MB whatever the corpus's size; larger batches are no faster
# (benchmarks/audio_statistics_memory.py).
STATISTICS_BATCH_SAMPLES = 2**18


def corpus_statistics(
    manifest_path: str | Path,
    splits: pd.DataFrame,
    sample_rate: int,
    batch_samples: int = STATISTICS_BATCH_SAMPLES,
) -> pd.DataFrame:
    """Audio statistics of every evaluated clip, for the blind baseline, read and computed in
    batches of `batch_samples` samples; a clip's row does not depend on its batch."""
    clip_ids = evaluation_sets(splits)["clip_id"].reset_index(drop=True)
    # One array filled batch by batch: small tables kept from batch to batch would pin the
    # allocator's heap, which would then grow with every batch.
    values = np.empty((len(clip_ids), len(BLIND_STATISTICS)))
    start = 0
    for audio in corpus_batches(manifest_path, clip_ids, sample_rate, batch_samples):
        stats = audio_statistics(audio, sample_rate)[list(BLIND_STATISTICS)]
        values[start : start + len(audio)] = stats.to_numpy()
        start += len(audio)
    return pd.concat([clip_ids, pd.DataFrame(values, columns=list(BLIND_STATISTICS))], axis=1)


def model_membership(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    signs: dict[str, int],
    bootstrap: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-clip MIA: members are member artists' train clips, non-members their held-out clips."""
    clips = evaluation_sets(splits)
    clips = clips[clips["artist_status"] == "member"].merge(features, on="clip_id", validate="1:1")
    is_member = clips["suspect"]
    return (
        membership_metrics(
            model, clips, is_member, signs, bootstrap, stable_seed(seed, model), clips["work_id"]
        ),
        roc_points(model, clips, is_member, signs),
    )


def artist_membership(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    metrics: pd.DataFrame,
    signs: dict[str, int],
    bootstrap: int,
    seed: int,
) -> pd.DataFrame:
    """Per-clip AUC within each evaluated artist, train clips against held-out clips, on the
    feature with the model's best pooled AUC (`metrics`, from model_membership), with a
    bootstrap interval over works: what per-clip MIA says about the artist that dataset
    inference tests."""
    feature = metrics.loc[metrics["auc"].idxmax(), "feature"]
    clips = evaluation_sets(splits).merge(features[["clip_id", feature]], on="clip_id")
    clips = clips.assign(score=signs[feature] * clips[feature]).dropna(subset="score")
    rows = []
    for artist, group in clips.groupby("artist", sort=True):
        suspect, validation = group[group["suspect"]], group[~group["suspect"]]
        value, lo, hi = bootstrap_auc(
            suspect["score"].to_numpy(float),
            validation["score"].to_numpy(float),
            bootstrap,
            stable_seed(seed, model, artist),
            suspect["work_id"].to_numpy(),
            validation["work_id"].to_numpy(),
        )
        status = group["artist_status"].iloc[0]
        rows.append((model, artist, status, feature, value, lo, hi, len(suspect), len(validation)))
    return pd.DataFrame(rows, columns=list(ARTIST_AUC.columns))


# What model_dataset_inference returns, by key: the tables of results/di/models/<model>/.
DI_TABLES = {
    "verdicts": VERDICTS,
    "curves": PVALUE_VS_N,
    "null": NULL_PVALUES,
    "contamination": CONTAMINATION,
}


@dataclass(frozen=True)
class Collection:
    """One artist's suspect and validation works, as dataset inference sees them."""

    artist: str
    status: str
    works: Works  # membership features, with the audio statistics as covariates
    audio: Works  # the audio statistics alone, for the shift test
    clips: tuple[int, int]  # suspect, validation
    n_missing: int  # clips with a missing feature: kept, the value imputed


def collections(
    model: str, features: pd.DataFrame, splits: pd.DataFrame, stats: pd.DataFrame
) -> list[Collection]:
    """Every evaluated artist's collection under one model's features."""
    feature_columns = [c for c in features.columns if c != "clip_id"]
    clips = evaluation_sets(splits)
    missing = sorted(set(clips["clip_id"]) - set(features["clip_id"]))
    if missing:
        raise ValueError(f"model {model}: features lack evaluated clips {missing[:10]}")
    clips = clips.merge(features, on="clip_id", validate="1:1").merge(
        stats, on="clip_id", validate="1:1"
    )
    out = []
    for artist, group in clips.groupby("artist", sort=True):
        suspect, validation = group[group["suspect"]], group[~group["suspect"]]
        works_s, works_v = suspect["work_id"].to_numpy(), validation["work_id"].to_numpy()
        x_s, x_v = (side[feature_columns].to_numpy(float) for side in (suspect, validation))
        a_s, a_v = (side[list(BLIND_STATISTICS)].to_numpy(float) for side in (suspect, validation))
        out.append(
            Collection(
                artist,
                group["artist_status"].iloc[0],
                works_of(x_s, x_v, works_s, works_v, a_s, a_v),
                works_of(a_s, a_v, works_s, works_v),
                (len(suspect), len(validation)),
                int((~np.isfinite(np.r_[x_s, x_v])).any(axis=1).sum()),
            )
        )
    return out


def family_verdicts(model: str, found: list[Collection], di: DISettings) -> list[tuple]:
    """Rows of verdicts.csv, one per collection and method. The collections of one method are
    one family: detection is judged on Holm-adjusted p-values, so that alpha bounds the
    chance that any artist of the model is detected falsely, not each one's."""
    shifts = [shift_test(c.audio, di) for c in found]
    rows = []
    for method in di.methods:
        results = [dataset_inference(c.works, method, di) for c in found]
        adjusted = holm([r.p for r in results])
        for c, result, shift, p_holm in zip(found, results, shifts, adjusted, strict=True):
            outcome, reason = verdict(c.works, result, shift, di, (p_holm, len(found)))
            rows.append(
                (
                    model, c.artist, c.status, method, c.works.n_suspect, c.works.n_validation,
                    *c.clips, result.p, p_holm, result.mc_error, result.permutations,
                    di.fold_draws, outcome, reason, outcome == DETECTED, shift.p, c.n_missing,
                )
            )  # fmt: skip
    return rows


def model_dataset_inference(
    model: str,
    features: pd.DataFrame,
    splits: pd.DataFrame,
    stats: pd.DataFrame,
    di: DISettings,
    known_nonmembers: bool = True,
) -> dict[str, pd.DataFrame]:
    """Per artist and method: the DI verdict (suspect = train works, validation = held-out
    works) with the blind shift test, p-value-vs-n curves, null p-values for the
    calibration, and the contamination ablation (member artists).

    Null trials come from cutting each artist's validation works in halves, and from
    re-splitting the non-member artists' works at the verdict's sizes, at least
    `null_trials` in all. An audit, whose suspect works may be members, passes
    `known_nonmembers=False` and draws its nulls from the validation works alone. Every draw
    is seeded by the study seed and the works, so the model's name changes nothing."""
    found = collections(model, features, splits, stats)
    tables: dict[str, list] = {"curves": [], "contamination": []}
    for c in tqdm(found, desc=f"di {model}", unit="artist", file=sys.stderr):
        labels = {"model": model, "artist": c.artist, "artist_status": c.status}
        for method in di.methods:
            curve = pvalue_vs_n(c.works, method, di)
            tables["curves"].append(curve.assign(**labels, method=method))
            if c.status == "member":
                curve = contamination_curve(c.works, method, di)
                tables["contamination"].append(curve.assign(**labels, method=method))
    verdicts = family_verdicts(model, found, di)
    return {
        "verdicts": pd.DataFrame(verdicts, columns=list(VERDICTS.columns)),
        "curves": pd.concat(tables["curves"], ignore_index=True)[list(PVALUE_VS_N.columns)],
        "null": null_trials(model, found, di, known_nonmembers),
        "contamination": _concat_or_empty(tables["contamination"], list(CONTAMINATION.columns)),
    }


def null_trials(
    model: str, found: list[Collection], di: DISettings, known_nonmembers: bool = True
) -> pd.DataFrame:
    """The calibration's null p-values (see model_dataset_inference): `null_trials` in all,
    shared evenly among the sources (each artist's validation halves, and each non-member
    artist's re-split works where `known_nonmembers`)."""
    pooled = [c.status == "nonmember" and known_nonmembers for c in found]
    per_source = -(-di.null_trials // (len(found) + sum(pooled)))  # ceiling division
    frames = []
    for c, pool in zip(found, pooled, strict=True):
        labels = {"model": model, "artist": c.artist, "artist_status": c.status}
        for method in di.methods:
            draws = [null_pvalues(c.works, method, per_source, di)]
            if pool:
                draws.append(pool_null(c.works, method, per_source, di))
            frames += [values.assign(**labels, method=method) for values in draws]
    null = pd.concat(frames, ignore_index=True)[list(NULL_PVALUES.columns)]
    short = null.groupby("method").size()
    if (short < di.null_trials).any():
        log.warning(
            "model %s: only %s null trials (asked %d): artists need four held-out works for "
            "validation splits", model, short.to_dict(), di.null_trials,
        )  # fmt: skip
    return null


def _concat_or_empty(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    return (
        pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    )


def calibration(null: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Per model and method: the empirical false-positive rate at alpha over the null trials,
    with its 95% binomial (Clopper-Pearson) interval and whether alpha lies inside it."""
    rows = []
    for (model, method), group in null.groupby(["model", "method"], sort=True):
        rate, lo, hi = false_positive_rate(group["p"].to_numpy(), alpha)
        rows.append((model, method, alpha, len(group), rate, hi, lo, lo <= alpha <= hi))
    return pd.DataFrame(rows, columns=list(CALIBRATION.columns))


def smallest_detecting_n(curves: pd.DataFrame, rate: float = 0.95) -> dict[str, int | None]:
    """Per model/method: the smallest n at which every member artist is detected at `rate`."""
    members = curves[curves["artist_status"] == "member"]
    out = {}
    for (model, method), group in members.groupby(["model", "method"], sort=True):
        by_n = group.groupby("n")["detect_rate"].agg(["min", "count"])
        n_artists = group["artist"].nunique()
        ok = by_n[(by_n["min"] >= rate) & (by_n["count"] == n_artists)].index
        out[f"{model}/{method}"] = int(ok.min()) if len(ok) else None
    return out


# The claim that DI is built to show, for a model trained "at scale": per-clip membership
# inference is weak (no feature above this AUC), yet every member artist is detected at this
# p-value, no non-member artist is detected, and the model's reference (trained on no
# evaluated artist) detects none. A reference model's own claim is that it detects none.
CLAIM_MAX_AUC = 0.65
CLAIM_MEMBER_P = 0.01


def claim_check(
    best_auc: float,
    member: pd.DataFrame,
    nonmember: pd.DataFrame,
    reference: pd.DataFrame | None,
    control: bool = False,
) -> dict:
    """Whether one model's verdicts (of one method) show the claim, criterion by criterion.

    reference: its reference model's verdicts of the same method, or None if it has none, in
    which case that criterion is None and the claim cannot hold. control: the model is itself
    trained on no evaluated artist."""
    if control:
        clean = not (pd.concat([member, nonmember])["verdict"] == DETECTED).any()
        return {"detects_none": clean, "holds": clean}
    weak = best_auc <= CLAIM_MAX_AUC
    members = bool(len(member)) and bool(
        ((member["verdict"] == DETECTED) & (member["p_value"] < CLAIM_MEMBER_P)).all()
    )
    clean = not (nonmember["verdict"] == DETECTED).any()
    reference_clean = None if reference is None else not (reference["verdict"] == DETECTED).any()
    return {
        "weak_per_clip_mia": weak,
        "all_members_at_p_0.01": members,
        "no_nonmember_detected": clean,
        "reference_detects_none": reference_clean,
        "holds": bool(weak and members and clean and reference_clean),
    }


def _verdicts_of(verdicts: pd.DataFrame, model: str | None, method: str) -> pd.DataFrame | None:
    """A model's verdicts of one method; None if it has none (no such model, or not run)."""
    found = verdicts[(verdicts["model"] == model) & (verdicts["method"] == method)]
    return found if len(found) else None


def _outcomes(verdicts: pd.DataFrame) -> dict[str, int]:
    return {
        "detected": int((verdicts["verdict"] == DETECTED).sum()),
        "inconclusive": int((verdicts["verdict"] == INCONCLUSIVE).sum()),
        "of": int(len(verdicts)),
    }


def headline(
    mia: pd.DataFrame,
    verdicts: pd.DataFrame,
    curves: pd.DataFrame,
    calibrated: pd.DataFrame,
    references: dict[str, str | None] | None = None,
    controls: frozenset[str] = frozenset(),
) -> dict:
    """The study's headline numbers for results/metrics.json (read by `dvc metrics`).

    references: each model's reference model (params.yaml `models.<name>.reference`);
    controls: the models trained on no evaluated artist."""
    references = references or {}
    within = calibrated.set_index(["model", "method"])["within_bound"].astype(bool).to_dict()
    models = {}
    for model, group in mia.groupby("model", sort=True):
        best = group.loc[group["auc"].idxmax()]
        di = {}
        for method, v in verdicts[verdicts["model"] == model].groupby("method", sort=True):
            member = v[v["artist_status"] == "member"]
            nonmember = v[v["artist_status"] == "nonmember"]
            di[method] = {
                "member_artists": _outcomes(member),
                "nonmember_artists": _outcomes(nonmember),
                "max_member_p_value": float(member["p_value"].max()) if len(member) else None,
                "max_p_mc_error": round(float(v["p_mc_error"].max()), 5),
                "permutations": int(v["permutations"].max()),
                "fold_draws": int(v["fold_draws"].max()),
                "shift_detected": int((v["shift_p"] < calibrated["alpha"].iloc[0]).sum()),
                "claim": claim_check(
                    float(best["auc"]),
                    member,
                    nonmember,
                    _verdicts_of(verdicts, references.get(model), method),
                    model in controls,
                ),
                # The null false-positive rate's interval holds alpha (calibration.csv);
                # None where there were no null trials (too few held-out works).
                "calibrated": within.get((model, method)),
            }
        models[model] = {
            "best_feature": best["feature"],
            "best_auc": round(float(best["auc"]), 4),
            "best_auc_ci": [round(float(best["auc_lo"]), 4), round(float(best["auc_hi"]), 4)],
            "best_tpr_at_1pct_fpr": round(float(group["tpr_at_1pct_fpr"].max()), 4),
            "dataset_inference": di,
        }
    # An exact test's null rate is alpha up to sampling error; a rate outside that says the
    # p-values cannot be read at face value: say so at the top.
    off = calibrated[~calibrated["within_bound"].astype(bool)]
    return {
        "calibration_warning": [
            f"{r.model}/{r.method}: null false-positive rate {r.false_positive_rate:.3f} "
            f"is off alpha {r.alpha} (95% interval {r.fpr_ci_low:.3f}-{r.fpr_ci_high:.3f})"
            for r in off.itertuples()
        ],
        "null_false_positive_rate": {
            f"{r.model}/{r.method}": round(r.false_positive_rate, 4)
            for r in calibrated.itertuples()
        },
        "models": models,
        "works_for_95pct_detection": smallest_detecting_n(curves),
    }


# The claim's criteria in words, as a failing one reads (claim_check's keys); a criterion
# that could not be checked (None) reads as the second text.
CLAIM_FAILURES = {
    "weak_per_clip_mia": (f"per-clip AUC > {CLAIM_MAX_AUC}", ""),
    "all_members_at_p_0.01": (f"a member not at p < {CLAIM_MEMBER_P}", ""),
    "no_nonmember_detected": ("a non-member detected", ""),
    "reference_detects_none": ("its reference model detected an artist", "no reference model"),
    "detects_none": ("an artist detected by a model trained on none", ""),
}


def claim_failures(claim: dict) -> list[str]:
    """The claim's failed or unchecked criteria, in words."""
    return [
        texts[0] if claim[key] is False else texts[1]
        for key, texts in CLAIM_FAILURES.items()
        if key in claim and claim[key] is not True
    ]


def _detected(outcomes: dict) -> str:
    return f"{outcomes['detected']} of {outcomes['of']} ({outcomes['inconclusive']} inconclusive)"


def headline_table(metrics: dict) -> pd.DataFrame:
    """metrics.json (from `headline`) as the report's landing table, in words: per model and
    method, the best per-clip AUC, the artists detected, the claim and the calibration."""
    rows = []
    for model, m in metrics["models"].items():
        lo, hi = m["best_auc_ci"]
        auc = f"{m['best_auc']:.3f} [{lo:.3f}, {hi:.3f}] ({m['best_feature']})"
        for method, di in m["dataset_inference"].items():
            failed = claim_failures(di["claim"])
            rate = metrics["null_false_positive_rate"].get(f"{model}/{method}")
            calibration = "no null trials"
            if di["calibrated"] is not None:
                calibration = f"{rate:.3f}" + ("" if di["calibrated"] else " (off alpha)")
            rows.append(
                (
                    model, auc, method, _detected(di["member_artists"]),
                    _detected(di["nonmember_artists"]),
                    "holds" if di["claim"]["holds"] else "fails: " + "; ".join(failed),
                    calibration,
                )
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(HEADLINE.columns))


def headline_text(metrics: dict) -> str:
    """The headline in a few lines for the console: per model, the best per-clip AUC, the
    member and non-member artists each procedure detects, and the claim; then calibration."""
    width = max(map(len, metrics["models"]))
    lines = ["Headline (results/metrics.json), artists detected per procedure:"]
    for model, m in metrics["models"].items():
        methods = m["dataset_inference"]
        members, nonmembers = (
            ", ".join(
                f"{di[side]['detected']}/{di[side]['of']} {method}"
                for method, di in methods.items()
            )
            for side in ("member_artists", "nonmember_artists")
        )
        holds = [method for method, di in methods.items() if di["claim"]["holds"]]
        first = next(iter(methods.values()))["claim"]
        claim = "reference claim (detects none)" if "detects_none" in first else "claim"
        lines.append(
            f"  {model:<{width}}  per-clip AUC {m['best_auc']:.3f}  members {members}  "
            f"non-members {nonmembers}  "
            + (f"{claim} holds ({', '.join(holds)})" if holds else f"{claim} fails")
        )
    warnings = metrics["calibration_warning"]
    lines += [f"  calibration: {w}" for w in warnings] or [
        "  calibration: every procedure's null false-positive rate is consistent with alpha"
    ]
    return "\n".join(lines)


def verdict_sentence(verdicts: pd.DataFrame, model: str) -> str:
    """One sentence per artist and method: the outcome and its reason, on how many works and
    clips, and what the blind shift test found."""
    sentences = []
    for r in verdicts.sort_values(["artist", "method"]).itertuples():
        who = "The catalogue" if r.artist == "catalogue" else f"The catalogue of {r.artist}"
        sentences.append(
            f"{who}: {r.verdict} in {model} by {r.method} ({r.reason}; p = {r.p_value:.3g} "
            f"+/- {r.p_mc_error:.1g} from {r.permutations} relabellings) on {r.works_suspect} "
            f"suspect works ({r.n_suspect} clips) and {r.works_validation} validation works "
            f"({r.n_validation} clips); blind audio-statistics test p = {r.shift_p:.3g}."
        )
    return "\n".join(sentences)
