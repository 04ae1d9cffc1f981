"""Every table the study and the audit write or read: where it lives, what a row is, and its
columns, in order.

Writers hand the table to `io.write_table`, which refuses a frame whose columns differ, and
readers to `io.read_table`, which names the file and the columns it lacks. The contracts in
docs/architecture.md are these definitions (tests/test_tables.py checks that they agree).
This module imports nothing heavy: every stage depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    name: str
    # Where the workflow or the audit writes it (or where a user keeps it).
    paths: tuple[str, ...]
    row: str
    columns: tuple[str, ...]
    # What the columns after `columns` hold, for tables that have more (the features).
    more: str = ""
    # Keys of the frame's attrs that the file keeps beside its columns (parquet only).
    attrs: tuple[str, ...] = ()

    def without(self, column: str, name: str, *paths: str) -> Table:
        """The same table less one column, written elsewhere."""
        kept = tuple(c for c in self.columns if c != column)
        return Table(name, paths, self.row, kept, self.more, self.attrs)

    def check_columns(self, columns: Iterable[str], where: object) -> None:
        """Raise ValueError naming `where` unless `columns` are this table's, in order (with
        more after them where the table has more)."""
        columns = list(columns)
        head = columns[: len(self.columns)]
        if head != list(self.columns) or (len(columns) > len(self.columns) and not self.more):
            raise ValueError(
                f"{where}: the {self.name} table has columns {list(self.columns)}"
                f"{' then ' + self.more if self.more else ''}, not {columns}"
            )

    def missing(self, columns: Iterable[str]) -> list[str]:
        present = set(columns)
        return [c for c in self.columns if c not in present]


# Parts that a library function computes and a table then labels with model, artist, ...
# n is works a side; clips, the clips those works held (mean over resamples).
PVALUE_CURVE = ("n", "clips", "p_median", "p_q25", "p_q75", "detect_rate")
CONTAMINATION_CURVE = ("fraction", "n", "p_median", "detect_rate")
BLIND_STATISTICS = (
    "power_db",
    "centroid_hz",
    "bandwidth_hz",
    "mel_mean",
    "mel_var",
    "duration_s",
    "silence_ratio",
)
# What the shift test sees: the covariates and a finer view of the spectrum, where codecs,
# filters and mastering leave their marks. Only the test takes these; residualising the
# membership features on so many columns would eat the test's power on a few dozen works.
BANDS = 8
SHIFT_STATISTICS = (
    *BLIND_STATISTICS,
    *(f"band{k}_db" for k in range(BANDS)),
    "flatness_db",
    "cutoff_hz",
)

# The features' member signs, {column: -1 where lower values mean member, else +1}, kept with
# them: the analysis reads them there, without the attack registry.
MEMBER_SIGNS = "member_signs"

CORPUS_MANIFEST = Table(
    "corpus manifest",
    ("data/corpus/<corpus>/manifest.csv", "data/corpus/<corpus>/manifests/<artist>.csv"),
    "clip",
    ("clip_id", "artist", "work_id", "path", "seconds", "sample_rate", "sha256", "caption"),
)
# A folder corpus's or an audit's clips: the user's role for the clip (train, heldout or
# blank) and the file it was cut from.
CATALOGUE_MANIFEST = Table(
    "catalogue manifest",
    ("data/corpus/<folder corpus>/manifest.csv", "<audit out>/manifest.csv"),
    "clip",
    (*CORPUS_MANIFEST.columns, "role", "source"),
)
FAILURES = Table(
    "render failures",
    ("data/corpus/<corpus>/failures.csv", "data/corpus/<corpus>/failures/<artist>.csv"),
    "work that could not be rendered",
    ("artist", "work_id", "reason"),
)
REJECTED = Table(
    "rejected files",
    ("results/corpus/<corpus>_rejected.csv", "<audit out>/rejected.csv"),
    "file (clip empty) or clip left out",
    ("path", "artist", "work_id", "clip", "reason"),
)
SPLITS = Table(
    "splits",
    ("results/splits/<corpus>.csv", "results/splits/models/<model>.csv"),
    "clip",
    ("clip_id", "artist", "work_id", "artist_status", "role", "filler"),
)
TRAIN_CLIPS = Table(
    "training clips",
    ("results/models/<model>/train_clips.csv",),
    "clip the model was trained on",
    SPLITS.columns,
)
TRAINING_LOSS = Table(
    "training loss", ("results/models/<model>/loss.csv",), "epoch", ("epoch", "loss")
)
FEATURES = Table(
    "features",
    (
        "results/features/<model>.parquet",
        "results/features/shards/<model>/<k>.parquet",
        "<audit out>/features.parquet",
    ),
    "evaluated clip",
    ("clip_id",),
    more="one float column per feature, `<attack>__<setting>`; each one's member sign kept "
    "in the parquet's metadata",
    attrs=(MEMBER_SIGNS,),
)
AUDIO_STATISTICS = Table(
    "audio statistics",
    ("results/blind/<corpus>_stats.parquet",),
    "evaluated clip",
    ("clip_id", *SHIFT_STATISTICS),
)
MIA_METRICS = Table(
    "membership metrics",
    ("results/mia/metrics.csv",),
    "model x feature",
    (
        "model",
        "feature",
        "auc",
        "auc_lo",
        "auc_hi",
        "tpr_at_1pct_fpr",
        "tpr_at_01pct_fpr",
        "n_members",
        "n_nonmembers",
        "n_missing",
        "member_sign",
    ),
)
# Per-clip AUC within each evaluated artist, on the feature with the model's best pooled AUC:
# the artist's train clips against its held-out clips (for a non-member, neither trained on).
ARTIST_AUC = Table(
    "per-artist AUC",
    ("results/mia/artists.csv",),
    "model x evaluated artist",
    (
        "model",
        "artist",
        "artist_status",
        "feature",
        "auc",
        "auc_lo",
        "auc_hi",
        "clips_suspect",
        "clips_validation",
    ),
)
ROC = Table(
    "ROC points",
    ("results/mia/roc.csv",),
    "model x feature x threshold",
    ("model", "feature", "fpr", "tpr"),
)
VERDICTS = Table(
    "verdicts",
    ("results/di/verdicts.csv", "results/di/models/<model>/verdicts.csv"),
    "model x artist x method",
    (
        "model",
        "artist",
        "artist_status",
        "method",
        "works_suspect",
        "works_validation",
        "clips_suspect",
        "clips_validation",
        "p_value",
        "p_adjusted",
        "correction",
        "p_two_sided",
        "p_mc_error",
        "permutations",
        "fold_draws",
        "verdict",
        "reason",
        "detected",
        "shift_p",
        "n_missing",
    ),
)
PVALUE_VS_N = Table(
    "p-value vs n",
    ("results/di/pvalue_vs_n.csv", "results/di/models/<model>/pvalue_vs_n.csv"),
    "model x artist x method x n",
    ("model", "artist", "method", *PVALUE_CURVE, "artist_status"),
)
COLLECTION_AUC = Table(
    "collection AUC",
    ("results/di/collection_auc.csv", "results/di/models/<model>/collection_auc.csv"),
    "model x method x n (works a side that every evaluated artist can supply)",
    ("model", "method", "n", "auc", "auc_lo", "auc_hi", "member_collections",
     "nonmember_collections"),
)  # fmt: skip
SHADOW_WEIGHTS = Table(
    "shadow weights",
    ("results/di/weights/<shadow model>.csv",),
    "feature of the shadow model (auc: its oriented work means, trained against held-out "
    "shadow works; weight: max(0, auc - 0.5))",
    ("feature", "auc", "weight", "works_trained", "works_heldout"),
)
NULL_PVALUES = Table(
    "null p-values",
    ("results/di/null_pvalues.csv", "results/di/models/<model>/null_pvalues.csv"),
    "null trial (source: validation_split or nonmember_pool; n_works: works in the trial)",
    ("model", "artist", "artist_status", "method", "source", "n_works", "p"),
)
CALIBRATION = Table(
    "calibration",
    ("results/di/calibration.csv",),
    "model x method",
    (
        "model",
        "method",
        "alpha",
        "null_trials",
        "false_positive_rate",
        "fpr_ci_high",
        "fpr_ci_low",
        "within_bound",
    ),
)
CONTAMINATION = Table(
    "contamination",
    ("results/di/contamination.csv", "results/di/models/<model>/contamination.csv"),
    "model x member artist x method x fraction",
    ("model", "artist", "artist_status", "method", *CONTAMINATION_CURVE),
)
# The report's landing table: metrics.json in words, read by a person, so the columns are too.
HEADLINE = Table(
    "headline",
    ("results/summary/headline.csv",),
    "model x method",
    (
        "model",
        "best per-clip AUC [95% CI]",
        "procedure",
        "collection AUC [95% CI] (works a side)",
        "member artists",
        "non-member artists",
        "claim",
        "null false-positive rate",
    ),
)
SEED_SPREAD = Table(
    "seed spread",
    ("results/seed_spread.csv",),
    "model x method",
    (
        "model",
        "procedure",
        "seeds",
        "best per-clip AUC",
        "collection AUC (works a side)",
        "member artists detected",
        "largest member p",
        "non-member artists detected",
        "claim holds",
    ),
)
# An audit has no known members, so its tables leave artist_status out.
AUDIT_VERDICTS = VERDICTS.without("artist_status", "audit verdicts", "<audit out>/verdicts.csv")
AUDIT_PVALUE_VS_N = PVALUE_VS_N.without(
    "artist_status", "audit p-value vs n", "<audit out>/pvalue_vs_n.csv"
)


# A user's manifest (corpora.<name>.manifest of a folder corpus, or an audit's suspect or
# validation CSV): one row per audio file, every cell read as text. It is checked with this
# JSON schema row by row, as params.yaml is with workflow/schemas/params.schema.yaml, so an
# unknown column is an error too.
USER_MANIFEST_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "description": "One row of a user's manifest CSV: an audio file and the work it holds.",
    "type": "object",
    "additionalProperties": False,
    "required": ["path", "artist", "work_id"],
    "properties": {
        "path": {
            "description": "Audio file, relative to the manifest's folder (or the corpus path).",
            "type": "string",
            "pattern": r"\S",
        },
        "artist": {
            "description": "Whose work it is; dataset inference runs per artist.",
            "type": "string",
            "pattern": r"\S",
        },
        "work_id": {
            "description": "The piece; several files may share one.",
            "type": "string",
            "pattern": r"\S",
        },
        "caption": {
            "description": "Text condition; blank means the model's prompt template.",
            "type": "string",
        },
        "role": {
            "description": "train or heldout where the user knows what went into training.",
            "enum": ["", "train", "heldout"],
        },
    },
}
# An audit's manifest may leave the artist blank, or out: those clips are scored
# unconditionally (the model's null class or empty prompt), and make one collection, named
# UNCONDITIONAL in the tables.
AUDIT_MANIFEST_SCHEMA = {
    **USER_MANIFEST_SCHEMA,
    "required": ["path", "work_id"],
    "properties": {
        **USER_MANIFEST_SCHEMA["properties"],
        "artist": {
            "description": "Whose work it is; blank or absent: scored unconditionally.",
            "type": "string",
        },
    },
}
UNCONDITIONAL = "(unconditional)"

USER_MANIFEST = Table(
    "user manifest",
    ("corpora.<name>.manifest", "audio-di audit --suspect / --validation"),
    "audio file (caption and role may be left out)",
    tuple(USER_MANIFEST_SCHEMA["properties"]),
)

TABLES = (
    USER_MANIFEST,
    CORPUS_MANIFEST,
    CATALOGUE_MANIFEST,
    FAILURES,
    REJECTED,
    SPLITS,
    TRAIN_CLIPS,
    TRAINING_LOSS,
    FEATURES,
    AUDIO_STATISTICS,
    MIA_METRICS,
    ROC,
    ARTIST_AUC,
    VERDICTS,
    PVALUE_VS_N,
    SHADOW_WEIGHTS,
    NULL_PVALUES,
    CALIBRATION,
    CONTAMINATION,
    COLLECTION_AUC,
    HEADLINE,
    SEED_SPREAD,
    AUDIT_VERDICTS,
    AUDIT_PVALUE_VS_N,
)
