"""`audio-di`: audit one model against one catalogue from the command line."""

from __future__ import annotations

import argparse
import sys

from audio_di.io import write_table


def _parser() -> argparse.ArgumentParser:
    from audio_di.di import METHODS
    from audio_di.models import MODELS

    parser = argparse.ArgumentParser(prog="audio-di", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    audit = commands.add_parser(
        "audit",
        help="dataset inference: was this catalogue's suspect set trained on?",
        description="Scores every clip of the catalogue with the model's membership attacks, "
        "then tests, per artist, whether the suspect clips look more trained-on than the "
        "validation clips (cross-fitted on whole works, Welch test on work means).",
    )
    audit.add_argument("--model", required=True, help="model folder (or hub id for hub kinds)")
    audit.add_argument("--kind", required=True, choices=sorted(MODELS))
    audit.add_argument(
        "--catalogue",
        required=True,
        help="CSV with columns path (relative to the CSV), artist, work_id, set "
        "(suspect or validation)",
    )
    audit.add_argument("--out", help="write the verdicts here (.csv)")
    audit.add_argument("--curves", help="write p-value vs number of clips here (.csv)")
    audit.add_argument("--device", default="auto")
    audit.add_argument("--batch-size", type=int, default=16)
    audit.add_argument("--methods", nargs="+", default=sorted(METHODS), choices=sorted(METHODS))
    audit.add_argument("--folds", type=int, default=5)
    audit.add_argument("--null-trials", type=int, default=1000)
    audit.add_argument("--alpha", type=float, default=0.05)
    audit.add_argument("--n-grid", type=int, nargs="+", default=[5, 10, 20, 50, 100, 200])
    audit.add_argument("--resamples", type=int, default=200)
    audit.add_argument("--bootstrap", type=int, default=1000)
    audit.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from audio_di.study import DISettings, audit_catalogue, calibration, read_catalogue

    try:
        catalogue = read_catalogue(args.catalogue)
        result = audit_catalogue(
            {"kind": args.kind, "source": args.model},
            catalogue,
            device=args.device,
            batch_size=args.batch_size,
            di=DISettings(
                methods=args.methods,
                folds=args.folds,
                alpha=args.alpha,
                n_grid=args.n_grid,
                resamples=args.resamples,
                null_trials=args.null_trials,
                contamination=[],  # needs known members; an audit has none
                bootstrap=args.bootstrap,
                seed=args.seed,
            ),  # fmt: skip
        )
    except (ValueError, FileNotFoundError) as err:
        print(f"audio-di: {err}", file=sys.stderr)
        return 2
    verdicts, curves = result["verdicts"], result["curves"]
    columns = ["artist", "method", "n_suspect", "n_validation", "p_value", "detected"]
    print(verdicts[columns + ["blind_auc", "shift_flag"]].to_string(index=False))
    # The same procedure on splits of the validation works alone: how often it cries wolf.
    for row in calibration(result["null"], args.alpha).itertuples():
        print(
            f"{row.method}: false-positive rate on {row.null_trials} null splits of the "
            f"validation works: {row.false_positive_rate:.3f} (alpha {row.alpha})"
        )
    for row in verdicts.itertuples():
        if row.shift_flag:
            print(
                f"warning: {row.artist}: audio statistics alone separate the two sets "
                f"(blind AUC {row.blind_auc:.2f}); the verdict may reflect a distribution "
                "shift rather than training",
                file=sys.stderr,
            )
    if args.out:
        write_table(verdicts, args.out)
    if args.curves:
        write_table(curves, args.curves)
    return 0


if __name__ == "__main__":
    sys.exit(main())
