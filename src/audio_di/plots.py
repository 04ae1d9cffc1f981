"""Figures of the study (seaborn on a non-interactive backend)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from audio_di.di.verdict import in_verdict_order, role  # noqa: E402


def _save(fig: plt.Figure, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Fixed metadata keeps the PNG bytes reproducible.
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def roc_figure(roc: pd.DataFrame, metrics: pd.DataFrame, path: str | Path, top: int = 4) -> None:
    """Log-log ROC curves per model for its `top` features by AUC; low FPR is what matters."""
    models = list(dict.fromkeys(roc["model"]))
    cols = min(2, len(models))
    rows = int(np.ceil(len(models) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 4.4 * rows), squeeze=False, layout="constrained"
    )
    floor = 1e-3
    for ax, model in zip(axes.flat, models, strict=False):
        best = metrics[metrics["model"] == model].nlargest(top, "auc")
        for _, row in best.iterrows():
            curve = roc[(roc["model"] == model) & (roc["feature"] == row["feature"])]
            ax.plot(
                curve["fpr"].clip(lower=floor),
                curve["tpr"].clip(lower=floor),
                label=f"{row['feature']} (AUC {row['auc']:.2f})",
            )
        ax.plot([floor, 1], [floor, 1], color="grey", linestyle=":", label="chance")
        ax.set(xscale="log", yscale="log", xlim=(floor, 1), ylim=(floor, 1.05), title=model)
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate")
        ax.legend(fontsize=7, loc="lower right")
    for ax in axes.flat[len(models) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Per-clip membership inference (members: trained clips; non-members: held-out works)"
    )
    _save(fig, path)


def headline_figure(
    artists: pd.DataFrame, verdicts: pd.DataFrame, alpha: float, path: str | Path
) -> None:
    """Per model (rows) and evaluated artist: the per-clip AUC of the model's best feature with
    its interval (left) beside each procedure's DI p-value (right), alpha and 0.01 marked.
    Filled markers are detections, open ones not, crosses inconclusive."""
    models = list(dict.fromkeys(artists["model"]))
    order = artists.sort_values(["artist_status", "artist"])[["artist", "artist_status"]]
    order = order.drop_duplicates()
    y = {artist: i for i, artist in enumerate(order["artist"])}
    labels = [f"{a} ({'member' if s == 'member' else 'non-member'})" for a, s in order.values]
    colour = {"member": "tab:red", "nonmember": "tab:blue"}
    methods = in_verdict_order(verdicts["method"])
    markers = dict(zip(methods, "osD^v", strict=False))
    offset = dict(zip(methods, np.linspace(-0.15, 0.15, len(methods)), strict=True))
    floor = min(1e-4, verdicts["p_value"].min()) / 2
    fig, axes = plt.subplots(
        len(models), 2, figsize=(11, (0.32 * len(y) + 1.1) * len(models)), squeeze=False,
        sharey=True, layout="constrained", width_ratios=[1, 1.3],
    )  # fmt: skip
    for (auc_ax, p_ax), model in zip(axes, models, strict=True):
        rows = artists[artists["model"] == model]
        for r in rows.itertuples():
            auc_ax.errorbar(
                r.auc, y[r.artist], xerr=[[r.auc - r.auc_lo], [r.auc_hi - r.auc]], fmt="o",
                color=colour[r.artist_status], capsize=3,
            )  # fmt: skip
        auc_ax.axvline(0.5, color="grey", linestyle=":", linewidth=1)
        auc_ax.set(xlim=(0, 1), xlabel="per-clip AUC (95% CI over works)")
        auc_ax.set_title(f"{model}: per-clip MIA ({rows['feature'].iloc[0]})", fontsize=9)
        for r in verdicts[verdicts["model"] == model].itertuples():
            style = {"color": colour[r.artist_status], "marker": markers[r.method]}
            if r.verdict == "inconclusive":
                style |= {"marker": "x", "color": "grey"}
            elif r.verdict != "detected":
                style |= {"markerfacecolor": "none"}
            p_ax.plot(max(r.p_value, floor), y[r.artist] + offset[r.method], linestyle="", **style)
        p_ax.axvline(alpha, color="black", linestyle="--", linewidth=1)
        p_ax.axvline(0.01, color="black", linestyle=":", linewidth=1)
        p_ax.set(xscale="log", xlim=(floor, 1.5), xlabel="DI p-value (smaller: more evidence)")
        p_ax.set_title(f"{model}: dataset inference, per procedure", fontsize=9)
    axes[0, 0].set_yticks(range(len(labels)), labels)
    axes[0, 0].invert_yaxis()
    handles = [
        matplotlib.lines.Line2D(
            [], [], color="black", marker=markers[m], linestyle="", label=f"{m} ({role(m)})"
        )
        for m in methods
    ] + [
        matplotlib.lines.Line2D([], [], color="black", linestyle="--", label=f"alpha = {alpha}"),
        matplotlib.lines.Line2D([], [], color="black", linestyle=":", label="p = 0.01"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize=8)
    fig.suptitle(
        "Per-clip membership inference beside dataset inference, per artist "
        "(filled: detected, open: not detected, x: inconclusive)",
        fontsize=10,
    )
    _save(fig, path)


def curve_ticks(curves: pd.DataFrame) -> list[int]:
    """The works a side that the p-value-vs-n axes label: every grid size, which more than
    one artist's curve reaches (each artist's own largest set would crowd the axis), and the
    largest of all."""
    artists = curves.groupby("n")["artist"].nunique()
    shared = artists.index[artists >= min(2, curves["artist"].nunique())]
    return sorted(int(n) for n in {*shared, curves["n"].max()})


def pvalue_vs_n_figure(curves: pd.DataFrame, alpha: float, path: str | Path) -> None:
    """Median DI p-value against works a side, per model and method, one line per artist;
    the top axis gives the clips a side those works held (mean over resamples)."""
    data = curves.assign(
        panel=curves["model"] + " / " + curves["method"],
        p_median=curves["p_median"].clip(lower=1e-12),
    )
    grid = sns.relplot(
        data=data,
        x="n",
        y="p_median",
        hue="artist",
        style="artist_status",
        style_order=["member", "nonmember"],
        col="panel",
        col_wrap=min(2, data["panel"].nunique()),
        kind="line",
        markers=True,
        height=3.6,
        aspect=1.25,
        facet_kws={"sharey": True},
    )
    ticks = curve_ticks(data)
    for panel, ax in grid.axes_dict.items():
        ax.axhline(alpha, color="black", linestyle="--", linewidth=1)
        ax.set(xscale="log", yscale="log")
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        clips = data.groupby("n")["clips"].mean().reindex(ticks)
        top = ax.secondary_xaxis("top")
        top.set_xticks(ticks, [f"{c:.0f}" for c in clips])
        top.minorticks_off()
        # The panel's name goes above the top axis, where a title would cover its label.
        top.set_xlabel(f"{panel}\n(top axis: clips a side)", fontsize=9)
    grid.set_axis_labels("works a side n", "median p-value")
    grid.set_titles("")
    grid.tight_layout()  # again, now that the top axes have labels
    grid.figure.suptitle(
        f"Dataset inference: p-value vs set size (dashed: alpha = {alpha})", y=1.03
    )
    _save(grid.figure, path)


def auc_heatmap(metrics: pd.DataFrame, path: str | Path) -> None:
    """Feature x model AUC; blank where a feature does not apply to a model's family."""
    table = metrics.pivot(index="feature", columns="model", values="auc")
    table = table.reindex(list(dict.fromkeys(metrics["feature"])))
    fig, ax = plt.subplots(
        figsize=(1.4 + 1.1 * table.shape[1], 1.0 + 0.32 * table.shape[0]), layout="constrained"
    )
    sns.heatmap(
        table, annot=True, fmt=".2f", cmap="vlag", center=0.5, vmin=0.3, vmax=1.0, ax=ax,
        cbar_kws={"label": "AUC (0.5 = chance)"},
    )  # fmt: skip
    ax.set(xlabel="", ylabel="", title="Per-clip membership AUC by feature and model")
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    _save(fig, path)


def null_qq_figure(null: pd.DataFrame, alpha: float, path: str | Path) -> None:
    """Null p-values against the uniform, per model and method, on log axes where the
    small p-values that decide verdicts are visible. Above the diagonal is conservative."""
    data = null.assign(panel=null["model"] + " / " + null["method"])
    panels = list(dict.fromkeys(data["panel"]))
    cols = min(4, len(panels))
    rows = int(np.ceil(len(panels) / cols))
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False, layout="constrained"
    )
    for ax, panel in zip(axes.flat, panels, strict=False):
        p = np.sort(data.loc[data["panel"] == panel, "p"].to_numpy())
        expected = (np.arange(1, len(p) + 1) - 0.5) / len(p)
        rate = (p < alpha).mean()
        ax.plot(expected, p.clip(min=1e-6), ".", markersize=2)
        ax.plot([1e-4, 1], [1e-4, 1], color="grey", linestyle=":")
        ax.axhline(alpha, color="black", linestyle="--", linewidth=0.8)
        ax.set(xscale="log", yscale="log", xlim=(1e-4, 1), ylim=(1e-6, 1.1))
        ax.set_title(f"{panel}\nFPR at {alpha}: {rate:.3f} (n={len(p)})", fontsize=8)
        ax.set(xlabel="uniform quantile", ylabel="null p-value")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle("Null calibration: DI p-values where nothing was trained on")
    _save(fig, path)


def contamination_figure(curves: pd.DataFrame, path: str | Path) -> None:
    """Detection rate of member artists as non-member works replace part of the suspect set."""
    if curves.empty:
        # The ablation needs four held-out works per artist; say so instead of failing.
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "No member artist has the held-out works the ablation needs.",
                ha="center", va="center")  # fmt: skip
        ax.axis("off")
        _save(fig, path)
        return
    data = curves.assign(panel=curves["model"] + " / " + curves["method"])
    grid = sns.relplot(
        data=data, x="fraction", y="detect_rate", hue="artist", col="panel",
        col_wrap=min(4, data["panel"].nunique()), kind="line", marker="o", height=3.0,
    )  # fmt: skip
    grid.set_axis_labels("fraction replaced by non-members", "detection rate")
    grid.set_titles("{col_name}")
    grid.set(ylim=(-0.02, 1.02))
    grid.figure.suptitle("Contamination ablation (member artists)", y=1.02)
    _save(grid.figure, path)


# Verdict colours of the audit's labels.
VERDICT_COLOURS = {"detected": "#b2182b", "not detected": "#1a7837", "inconclusive": "#636363"}


def audit_figure(
    curves: pd.DataFrame,
    null: pd.DataFrame,
    verdicts: pd.DataFrame,
    alpha: float,
    method: str,
    path: str | Path,
) -> None:
    """The audit on one page: per artist, the verdict of `method` in large type with its
    reason, the p-value of every method and the blind shift test's; below, the p-value
    against the number of works (median and quartiles, per artist and method) and, where
    there were null trials, the null p-values against the uniform. Axes span the data."""
    artists = sorted(verdicts["artist"].unique())
    panels = 2 if len(null) else 1
    width = 6.5 * panels + 1.5
    fig = plt.figure(figsize=(width, 1.2 * len(artists) + 4.4), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2 * len(artists), 4.4])
    for ax, artist in zip(np.atleast_1d(top.subplots(len(artists), 1)), artists, strict=True):
        rows = verdicts[verdicts["artist"] == artist].set_index("method")
        chosen = rows.loc[method]
        who = "The catalogue" if artist == "catalogue" else artist
        ax.axis("off")
        colour = VERDICT_COLOURS[chosen["verdict"]]
        label = f"{who}: {chosen['verdict']}"
        ax.text(
            0,
            1,
            label,
            transform=ax.transAxes,
            va="top",
            fontsize=22,
            fontweight="bold",
            color=colour,
        )
        shift = "the sets differ" if chosen["shift_p"] < alpha else "no shift found"
        details = [
            # About 12 characters of 10-point text to the inch.
            *textwrap.wrap(f"{method}: {chosen['reason']}", int(12 * width)),
            ", ".join(f"{m} p = {r.p_value:.3g}" for m, r in rows.iterrows())
            + f"; blind audio-statistics test p = {chosen['shift_p']:.3g} ({shift})",
        ]
        # Below the label, whatever the height of the figure.
        ax.annotate(
            "\n".join(details), (0, 1), xycoords="axes fraction", xytext=(0, -32),
            textcoords="offset points", va="top", fontsize=10,
        )  # fmt: skip
    axes = np.atleast_1d(bottom.subplots(1, panels))
    curve_ax = axes[0]
    for (artist, how), group in curves.groupby(["artist", "method"], sort=True):
        group = group.sort_values("n")
        line = curve_ax.plot(group["n"], group["p_median"], marker="o", label=f"{artist} / {how}")
        colour = line[0].get_color()
        curve_ax.fill_between(group["n"], group["p_q25"], group["p_q75"], color=colour, alpha=0.2)
    curve_ax.axhline(alpha, color="black", linestyle="--", linewidth=1, label=f"alpha {alpha}")
    # p-values are at least 1/(B+1) > 0, so the log axis starts below the smallest one.
    low = min(curves[["p_median", "p_q25"]].min().min(), alpha) / 2
    curve_ax.set(xscale="log", yscale="log", ylim=(low, 1.1))
    curve_ax.set(xlabel="works a side n", ylabel="p-value")
    sizes = sorted(curves["n"].unique())
    curve_ax.set_xticks(sizes, [str(n) for n in sizes])
    curve_ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    curve_ax.set_title("p-value vs set size (median, quartiles)")
    curve_ax.legend(fontsize=7)
    if len(null):
        null_ax = axes[1]
        first = 1.0
        for how, group in null.groupby("method", sort=True):
            p = np.sort(group["p"].to_numpy())
            expected = (np.arange(1, len(p) + 1) - 0.5) / len(p)
            null_ax.plot(expected, p, ".", markersize=4, label=how)
            first = min(first, expected[0], p[0])
        low = min(first, alpha) / 2
        null_ax.plot([low, 1], [low, 1], color="grey", linestyle=":", label="uniform")
        null_ax.axhline(alpha, color="black", linestyle="--", linewidth=0.8)
        null_ax.set(xscale="log", yscale="log", xlim=(low, 1.1), ylim=(low, 1.1))
        null_ax.set(xlabel="uniform quantile", ylabel="null p-value")
        null_ax.set_title("Null: halves of the validation works")
        null_ax.legend(fontsize=7)
    _save(fig, path)
