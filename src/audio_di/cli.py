"""`audio-di`: audit one model against one catalogue from the command line."""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime
from pathlib import Path


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every option's default; where it is None, the help says in words what it is."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    # Defaults come from the settings objects, whose defaults are params.yaml's.
    from audio_di.audit import Clipping, Scoring
    from audio_di.di.engine import METHODS, DISettings
    from audio_di.di.verdict import CORRECTIONS

    choices = {"methods": sorted(METHODS), "multiple": sorted(CORRECTIONS)}
    clipping, scoring = Clipping(), Scoring()

    parser = argparse.ArgumentParser(prog="audio-di", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser(
        "audit",
        help="dataset inference: is this catalogue in that model's training data?",
        formatter_class=_HelpFormatter,
        description="Cuts both sets into clips, scores every clip with the model's membership "
        "attacks, and tests whether the suspect works look more trained-on than the "
        "validation works per artist. The verdict is an exact one-sided test (oriented); "
        "two-sided tests are printed after it as diagnostics, beside a model-free baseline "
        "that flags a distribution shift between the sets.",
    )
    audit.add_argument(
        "--model",
        required=True,
        metavar="KIND:SOURCE",
        help="model kind and its hub id or local folder, e.g. musicgen:facebook/musicgen-small",
    )
    audit.add_argument(
        "--suspect",
        required=True,
        metavar="DIR_OR_CSV",
        help="works that may have been trained on: a folder of audio files (each file one "
        "work of --artist) or a manifest CSV (path, work_id, optional artist, caption): one "
        "verdict per artist, the works with a blank or no artist scored unconditionally",
    )
    audit.add_argument(
        "--validation",
        required=True,
        metavar="DIR_OR_CSV",
        help="works known not to be in the training data (e.g. released after the model)",
    )
    audit.add_argument(
        "--artist",
        metavar="NAME",
        help="the artist of a folder set's works; a model conditioned on artists scores them "
        "under this one (default: catalogue)",
    )
    audit.add_argument(
        "--out",
        default="audit",
        help="folder for the verdict, figure, tables, features and log; a rerun there with "
        "other DI settings reuses the features",
    )
    audit.add_argument(
        "--keep-clips",
        action="store_true",
        help="keep the clips cut from the catalogue in OUT/clips (else they live in a "
        "temporary folder during the run, so that OUT holds no copy of the audio)",
    )
    audit.add_argument(
        "--name", help="the model's name in the tables (default: the last part of SOURCE)"
    )
    audit.add_argument(
        "--revision", help="hub revision: branch, tag or commit (default: the hub's main)"
    )
    audit.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "float16", "bfloat16"],
        help="precision of a published checkpoint's weights (embedded models are float32)",
    )
    audit.add_argument(
        "--weights",
        metavar="CSV",
        help="feature weights from a shadow model of the same family (a study's "
        "results/di/weights/<shadow>.csv, or your own shadow's): the weighted one-sided test "
        "then runs first and gives the verdict (default: none, and the verdict is the first "
        "of --methods)",
    )
    audit.add_argument(
        "--attacks",
        metavar="STUDY_YAML",
        help="take the attack settings from a study config's features.attacks "
        "(default: the attacks and settings of the study's params.yaml)",
    )
    audit.add_argument(
        "--device", default=scoring.device, help="where the model runs; auto: CUDA if there is one"
    )
    audit.add_argument(
        "--batch-size", type=int, default=scoring.batch_size, help="clips scored at once"
    )
    audit.add_argument(
        "--clip-seconds",
        type=float,
        default=clipping.clip_seconds,
        help="length of a clip; a file's shorter tail is left out",
    )
    audit.add_argument(
        "--sample-rate", type=int, default=clipping.sample_rate, help="rate the clips are kept at"
    )
    audit.add_argument(
        "--max-clips-per-file",
        type=int,
        default=clipping.max_clips_per_file,
        help="at most this many clips of one file (default: all of them)",
    )
    # Every DI setting is an option, with DISettings' default; an audit has no known
    # members, so no contamination ablation.
    group = audit.add_argument_group("dataset inference (params.yaml di)")
    for setting in fields(DISettings):
        if setting.name == "contamination":
            continue
        flag, default = "--" + setting.name.replace("_", "-"), setting.default
        where = f"di.{setting.name}" if setting.name != "seed" else "seed"
        if isinstance(default, bool):
            group.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=where
            )
        elif isinstance(default, tuple):
            group.add_argument(
                flag,
                nargs="+",
                type=type(default[0]),
                default=list(default),
                choices=choices.get(setting.name),
                help=where,
            )
        else:
            group.add_argument(
                flag,
                type=type(default),
                default=default,
                choices=choices.get(setting.name),
                help=where,
            )
    return parser


def audit_weights(path: str | None, settings):
    """The shadow weights of --weights (or None) and the settings they allow: with weights,
    the weighted test first; without, the others, the first of which gives the verdict. The
    weighted test alone without weights is an error that names the flag."""
    from audio_di.di.engine import WEIGHTED
    from audio_di.io import read_table
    from audio_di.tables import SHADOW_WEIGHTS

    if path is not None:
        others = tuple(m for m in settings.methods if m != WEIGHTED)
        return read_table(path, SHADOW_WEIGHTS), replace(settings, methods=(WEIGHTED, *others))
    kept = tuple(m for m in settings.methods if m != WEIGHTED)
    if not kept:
        raise ValueError(
            "--methods weighted: the weighted test needs --weights, a shadow model's weights "
            "table (results/di/weights/<shadow>.csv of a study)"
        )
    return None, replace(settings, methods=kept)


def model_spec(text: str, revision: str | None, dtype: str | None) -> dict:
    """`kind:source` (the source may itself hold colons) as a load_adapter spec."""
    from audio_di.models import MODELS

    kind, colon, source = text.partition(":")
    if not colon or not source:
        raise ValueError(
            f"--model {text!r}: give KIND:SOURCE, e.g. musicgen:facebook/musicgen-small"
        )
    if kind not in MODELS:
        raise ValueError(f"--model {text!r}: unknown kind {kind!r}; known kinds: {sorted(MODELS)}")
    extra = {"revision": revision, "dtype": dtype}
    return {"kind": kind, "source": source, **{k: v for k, v in extra.items() if v is not None}}


def study_attacks(path: str | None) -> dict | None:
    """features.attacks of a study config, or None for the defaults."""
    if path is None:
        return None
    import yaml

    try:
        attacks = yaml.safe_load(Path(path).read_text())["features"]["attacks"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as err:
        raise ValueError(f"--attacks {path}: no features.attacks to read ({err!r})") from err
    return attacks


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        print(f"audio-di: --out {out}: {err}", file=sys.stderr)
        return 2
    from audio_di.audit import audit_log

    with audit_log(out / "audit.log"):
        try:
            run_audit(args, out, sys.argv[1:] if argv is None else argv)
        except (ValueError, FileNotFoundError) as err:
            print(f"audio-di: {err}", file=sys.stderr)
            return 2
    return 0


def run_audit(args: argparse.Namespace, out: Path, argv: list[str]) -> None:
    """The audit the arguments ask for, its tables, verdict.json (the verdict and its
    provenance) and figure written to `out`, the verdict printed."""
    from audio_di import __version__
    from audio_di.audit import Clipping, Scoring, audit_catalogue
    from audio_di.di.engine import DISettings
    from audio_di.di.verdict import DETECTED
    from audio_di.io import write_json, write_table
    from audio_di.plots import audit_figure
    from audio_di.steps.analysis import calibration
    from audio_di.steps.reporting import family_line, verdict_sentence
    from audio_di.tables import AUDIT_PVALUE_VS_N, AUDIT_VERDICTS

    started = datetime.now(UTC)
    spec = model_spec(args.model, args.revision, args.dtype)
    name = args.name or re.sub(r"\W+", "_", Path(spec["source"]).name).strip("_")
    settings = DISettings(
        **{
            f.name: tuple(value) if isinstance(value, list) else value
            for f in fields(DISettings)
            if (value := getattr(args, f.name, None)) is not None
        },
        contamination=(),
    )
    weights, settings = audit_weights(args.weights, settings)
    clipping = Clipping(args.clip_seconds, args.sample_rate, args.max_clips_per_file)
    audit = audit_catalogue(
        spec,
        name,
        args.suspect,
        args.validation,
        out,
        clipping,
        Scoring(args.batch_size, args.device),
        settings,
        attacks=study_attacks(args.attacks),
        keep_clips=args.keep_clips,
        artist=args.artist,
        weights=weights,
    )
    verdicts = audit.tables["verdicts"].drop(columns="artist_status")
    # The audit's null: the same procedure on halves of the validation works, where nothing
    # differs in training.
    null = audit.tables["null"]
    calibrated = calibration(null, args.alpha)
    sentence = verdict_sentence(verdicts, name, settings.methods)
    family = family_line(verdicts, settings.methods[0], args.alpha)
    primary = next(verdicts[verdicts["method"] == settings.methods[0]].itertuples())
    write_table(verdicts, out / "verdicts.csv", AUDIT_VERDICTS)
    curves = audit.tables["curves"].drop(columns="artist_status")
    write_table(curves, out / "pvalue_vs_n.csv", AUDIT_PVALUE_VS_N)
    write_json(
        {
            "suspect": str(args.suspect),
            "validation": str(args.validation),
            "alpha": args.alpha,
            "clips": int(len(audit.manifest)),
            "rejected": int(len(audit.rejected)),
            "works": {
                "suspect": int(verdicts["works_suspect"].iloc[0]),
                "validation": int(verdicts["works_validation"].iloc[0]),
            },
            # One verdict at alpha: the first method's; the others are reported beside it,
            # not pooled, which would test at more than alpha.
            "method": primary.method,
            "verdict": primary.verdict,
            "reason": primary.reason,
            "detected": primary.verdict == DETECTED,
            "verdicts": verdicts.to_dict(orient="records"),
            "null_false_positive_rate": calibrated.to_dict(orient="records"),
            "summary": sentence,
            "family": family,
            # Provenance: what gave this verdict, enough to run it again.
            "audio_di_version": __version__,
            "started": started.isoformat(timespec="seconds"),
            "command": ["audio-di", *argv],
            "model": {**audit.model, "name": name},
            "attacks": audit.attacks,
            "weights": args.weights and str(args.weights),
            "features": audit.features,
            "clipping": asdict(clipping),
            # di_settings.permutations is B, the relabellings behind each p-value.
            "di_settings": asdict(settings),
            "seeds": {
                "di": settings.seed,
                **{a: s["seed"] for a, s in audit.attacks.items() if "seed" in s},
            },
        },
        out / "verdict.json",
    )
    audit_figure(curves, null, verdicts, args.alpha, settings.methods[0], out / "audit.png")
    print(audit.features)
    if len(audit.rejected):
        print(f"{len(audit.rejected)} file(s) or clip(s) rejected: see {out / 'rejected.csv'}")
    print(sentence)
    print(family)


if __name__ == "__main__":
    sys.exit(main())
