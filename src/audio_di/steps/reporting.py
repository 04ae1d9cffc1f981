"""The analysis stage's report: whether each model shows the claim, the headline numbers of
results/metrics.json, the same in words for the report and the console, and the verdict
sentence."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from audio_di.di.engine import METHODS
from audio_di.di.verdict import (
    CORRECTIONS,
    DETECTED,
    INCONCLUSIVE,
    NOT_DETECTED,
    VERDICT_ROLE,
    in_verdict_order,
    role,
)
from audio_di.tables import HEADLINE, UNCONDITIONAL


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


def procedures(model: dict) -> list[tuple[str, dict]]:
    """A metrics.json model's procedures, the verdict's first: metrics.json is written with
    sorted keys, so the order `headline` gave them is not kept, their roles are."""
    found = model["dataset_inference"]
    diagnostics = in_verdict_order([m for m, p in found.items() if p["role"] != VERDICT_ROLE])
    verdicts = [m for m, p in found.items() if p["role"] == VERDICT_ROLE]
    return [(method, found[method]) for method in verdicts + diagnostics]


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
    collection_auc: pd.DataFrame,
    references: dict[str, str | None] | None = None,
    controls: frozenset[str] = frozenset(),
    methods: Sequence[str] = METHODS,
) -> dict:
    """The study's headline numbers for results/metrics.json (read by `dvc metrics`).

    collection_auc: the DI AUC of member against non-member collections per n (tables.
    COLLECTION_AUC); references: each model's reference model (params.yaml
    `models.<name>.reference`); controls: the models trained on no evaluated artist;
    methods: params.yaml's di.methods, whose first gives the verdict. Each model's procedures
    come in that order, the verdict's first, each with its role."""
    references = references or {}
    by_n, intervals = {}, {}
    for key, group in collection_auc.groupby(["model", "method"], sort=True):
        by_n[key] = {str(r.n): round(float(r.auc), 4) for r in group.itertuples()}
        intervals[key] = {
            str(r.n): [round(float(r.auc_lo), 4), round(float(r.auc_hi), 4)]
            for r in group.itertuples()
        }
    within = calibrated.set_index(["model", "method"])["within_bound"].astype(bool).to_dict()
    models = {}
    for model, group in mia.groupby("model", sort=True):
        best = group.loc[group["auc"].idxmax()]
        procedures = {}
        own = verdicts[verdicts["model"] == model]
        for method in in_verdict_order(own["method"], methods):
            v = own[own["method"] == method]
            member = v[v["artist_status"] == "member"]
            nonmember = v[v["artist_status"] == "nonmember"]
            procedures[method] = {
                "role": role(method, methods),
                "member_artists": _outcomes(member),
                "nonmember_artists": _outcomes(nonmember),
                "max_member_p_value": float(member["p_value"].max()) if len(member) else None,
                "max_p_mc_error": round(float(v["p_mc_error"].max()), 5),
                "permutations": int(v["permutations"].max()),
                "fold_draws": int(v["fold_draws"].max()),
                "shift_detected": int((v["shift_p"] < calibrated["alpha"].iloc[0]).sum()),
                # Works a side -> AUC of member vs non-member collections by DI p-value.
                "collection_auc": by_n.get((model, method), {}),
                # Its 95% interval from resampling artists.
                "collection_auc_ci": intervals.get((model, method), {}),
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
            "dataset_inference": procedures,
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
    method, the verdict's first and each named by its role, the best per-clip AUC, the
    artists detected, the claim and the calibration."""
    rows = []
    for model, m in metrics["models"].items():
        lo, hi = m["best_auc_ci"]
        auc = f"{m['best_auc']:.3f} [{lo:.3f}, {hi:.3f}] ({m['best_feature']})"
        for method, found in procedures(m):
            failed = claim_failures(found["claim"])
            rate = metrics["null_false_positive_rate"].get(f"{model}/{method}")
            calibration = "no null trials"
            if found["calibrated"] is not None:
                calibration = f"{rate:.3f}" + ("" if found["calibrated"] else " (off alpha)")
            claim = "holds" if found["claim"]["holds"] else "fails: " + "; ".join(failed)
            members, nonmembers = (
                _detected(found[side]) for side in ("member_artists", "nonmember_artists")
            )
            collection = ", ".join(
                f"{value:.3f} [{found['collection_auc_ci'][n][0]:.2f}, "
                f"{found['collection_auc_ci'][n][1]:.2f}] ({n})"
                for n, value in found["collection_auc"].items()
            )
            procedure = f"{method} ({found['role']})"
            rows.append(
                (model, auc, procedure, collection or "none", members, nonmembers, claim,
                 calibration)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(HEADLINE.columns))


def headline_text(metrics: dict) -> str:
    """The headline in a few lines for the console: per model, the best per-clip AUC, the
    member and non-member artists each procedure detects, the verdict's first, and the claim
    under the verdict's test; then calibration."""
    width = max(map(len, metrics["models"]))
    lines = [
        "Headline (results/metrics.json), artists detected per procedure, the verdict's first:"
    ]
    for model, m in metrics["models"].items():
        ordered = procedures(m)
        members, nonmembers = (
            ", ".join(
                f"{found[side]['detected']}/{found[side]['of']} {method}"
                for method, found in ordered
            )
            for side in ("member_artists", "nonmember_artists")
        )
        (verdict, first), diagnostics = ordered[0], ordered[1:]
        claim = "reference claim (detects none)" if "detects_none" in first["claim"] else "claim"
        outcome = "holds" if first["claim"]["holds"] else "fails"
        held = [method for method, found in diagnostics if found["claim"]["holds"]]
        beside = f"; diagnostics: holds under {', '.join(held)}" if held else ""
        collection = first["collection_auc"]
        largest = (
            f"  collection AUC {collection[max(collection, key=int)]:.3f}" if collection else ""
        )
        lines.append(
            f"  {model:<{width}}  per-clip AUC {m['best_auc']:.3f}{largest}  members {members}  "
            f"non-members {nonmembers}  {claim} {outcome} under the verdict's test ({verdict})"
            f"{beside}"
        )
    warnings = metrics["calibration_warning"]
    lines += [f"  calibration: {w}" for w in warnings] or [
        "  calibration: every procedure's null false-positive rate is consistent with alpha"
    ]
    return "\n".join(lines)


def _whose(artist: str) -> str:
    if artist == "catalogue":
        return "The catalogue"
    if artist == UNCONDITIONAL:
        return "The works without an artist (scored unconditionally)"
    return f"The catalogue of {artist}"


def verdict_sentence(verdicts: pd.DataFrame, model: str, methods: Sequence[str] = METHODS) -> str:
    """One sentence per artist and method, the verdict's first: the outcome and its reason, on
    how many works and clips, and what the blind shift test found (where the collection was
    tested). The diagnostics' sentences say they are diagnostics."""
    rank = {method: i for i, method in enumerate(in_verdict_order(verdicts["method"], methods))}
    ordered = verdicts.assign(_rank=verdicts["method"].map(rank)).sort_values(["artist", "_rank"])
    sentences = []
    for r in ordered.itertuples():
        p, shift = "", ""
        if r.permutations:
            p = f"; p = {r.p_value:.3g} +/- {r.p_mc_error:.1g} from {r.permutations} relabellings"
            shift = f"; blind audio-statistics test p = {r.shift_p:.3g}"
        label = "the verdict" if role(r.method, methods) == VERDICT_ROLE else "a diagnostic"
        sentences.append(
            f"{_whose(r.artist)}: {r.verdict} in {model} by {r.method}, {label} "
            f"({r.reason}{p}) on "
            f"{r.works_suspect} suspect works ({r.clips_suspect} clips) and "
            f"{r.works_validation} validation works ({r.clips_validation} clips){shift}."
        )
    return "\n".join(sentences)


def family_line(verdicts: pd.DataFrame, method: str, alpha: float) -> str:
    """One method's family in a line: its artists, the correction and the outcomes, e.g.
    "family (oriented): 12 artists, Holm at alpha 0.05: 3 detected, 8 not detected, 1
    inconclusive"."""
    rows = verdicts[verdicts["method"] == method]
    correction = CORRECTIONS[rows["correction"].iloc[0]]
    counts = ", ".join(
        f"{(rows['verdict'] == outcome).sum()} {outcome}"
        for outcome in (DETECTED, NOT_DETECTED, INCONCLUSIVE)
    )
    artists = f"{len(rows)} artist" + ("s" if len(rows) != 1 else "")
    return f"family ({method}): {artists}, {correction} at alpha {alpha:g}: {counts}"
