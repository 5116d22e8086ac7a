"""The report's figures, drawn with matplotlib's Agg backend and returned as PNG bytes."""

from __future__ import annotations

import io
import textwrap
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display, no GUI toolkit

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

MODEL_COLOUR = "#3b5ba9"
BASELINE_COLOUR = "#9aa5b1"
GOLD_COLOUR = "#e0a030"
ERROR_COLOUR = "#c4453c"
DPI = 110

plt.rcParams.update(
    {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": DPI,
    }
)


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _wrapped(labels: list[str], width: int = 14) -> list[str]:
    return ["\n".join(textwrap.wrap(label.replace("_", " "), width)) or label for label in labels]


def _heatmap(axes, matrix: np.ndarray, labels: list[str], title: str, as_share: bool) -> None:
    shown = np.nan_to_num(matrix.astype(float))
    axes.imshow(shown, cmap="Blues", vmin=0, vmax=max(shown.max(), 1e-9))
    axes.set_xticks(range(len(labels)), _wrapped(labels), rotation=0)
    axes.set_yticks(range(len(labels)), _wrapped(labels))
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    axes.set_title(title)
    axes.spines[:].set_visible(False)
    threshold = shown.max() / 2
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            value = matrix[row, column]
            text = "–" if np.isnan(value) else (f"{value:.2f}" if as_share else f"{int(value)}")
            axes.text(
                column,
                row,
                text,
                ha="center",
                va="center",
                color="white" if shown[row, column] > threshold else "#222",
            )


def confusion_heatmaps(matrix: list[list[int]], labels: list[str]) -> bytes:
    """Counts and row-normalised shares (recall on the diagonal) side by side."""
    counts = np.asarray(matrix, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = counts / counts.sum(axis=1, keepdims=True)
    size = 1.4 + 0.7 * len(labels)
    figure, (left, right) = plt.subplots(1, 2, figsize=(2 * size + 0.6, size))
    _heatmap(left, counts, labels, "Counts", as_share=False)
    _heatmap(right, shares, labels, "Share of each gold row (recall on the diagonal)", True)
    figure.tight_layout()
    return _png(figure)


def multilabel_confusion(matrices: dict[str, list[list[int]]]) -> bytes:
    """One 2x2 matrix (absent/present) per label, for multi-label runs."""
    names = list(matrices)
    columns = min(4, len(names))
    rows = int(np.ceil(len(names) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.5 * rows), squeeze=False)
    for axes, name in zip(grid.ravel(), names, strict=False):
        _heatmap(axes, np.asarray(matrices[name], dtype=float), ["no", "yes"], name, False)
    for axes in grid.ravel()[len(names) :]:
        axes.axis("off")
    figure.tight_layout()
    return _png(figure)


def reliability_diagram(bins: list[dict[str, Any]], ece: float, temperature: float) -> bytes:
    """Accuracy against confidence per bin, with the share of rows in each bin beneath."""
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.2, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    width = bins[0]["upper"] - bins[0]["lower"]
    lowers = np.array([bin_["lower"] for bin_ in bins])
    filled = [bin_ for bin_ in bins if bin_["count"]]
    top.plot([0, 1], [0, 1], linestyle="--", color="#888", linewidth=1, label="perfect calibration")
    top.bar(
        [bin_["lower"] for bin_ in filled],
        [bin_["accuracy"] for bin_ in filled],
        width=width,
        align="edge",
        color=MODEL_COLOUR,
        edgecolor="white",
        label="accuracy in bin",
    )
    gaps = [bin_["mean_confidence"] - bin_["accuracy"] for bin_ in filled]
    top.bar(
        [bin_["lower"] for bin_ in filled],
        [abs(gap) for gap in gaps],
        bottom=[min(bin_["accuracy"], bin_["mean_confidence"]) for bin_ in filled],
        width=width,
        align="edge",
        color="none",
        edgecolor=ERROR_COLOUR,
        hatch="////",
        linewidth=0.8,
        label="gap to mean confidence",
    )
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    calibrated = f", temperature {temperature:.2f}" if temperature != 1.0 else ", uncalibrated"
    top.set_title(f"Reliability: ECE {ece:.3f} ({len(bins)} bins{calibrated})")
    top.legend(loc="upper left", frameon=False)
    counts = np.array([bin_["count"] for bin_ in bins], dtype=float)
    bottom.bar(lowers, counts, width=width, align="edge", color="#777")
    for lower, count in zip(lowers, counts, strict=True):
        if count:
            bottom.text(
                lower + width / 2, count, f"{int(count)}", ha="center", va="bottom", fontsize=7
            )
    # Most rows of a good model sit in the top bin: a log axis keeps the others visible.
    bottom.set_yscale("log")
    bottom.set_ylim(0.8, max(counts.max(), 1) * 4)
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (top score)")
    bottom.set_ylabel("rows (log)")
    figure.tight_layout()
    return _png(figure)


def score_histograms(scores: np.ndarray, gold: np.ndarray, labels: list[str], multi_label: bool):
    """For each label, its score on rows that carry it (gold) and on rows that do not, each as a
    share of its own group so that a rare label stays visible."""
    columns = min(4, len(labels))
    rows = int(np.ceil(len(labels) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(2.9 * columns, 2.3 * rows), squeeze=False)
    edges = np.linspace(0, 1, 21)
    for index, (axes, label) in enumerate(zip(grid.ravel(), labels, strict=False)):
        carries = gold[:, index].astype(bool) if multi_label else gold == index
        for members, colour, name in (
            (~carries, BASELINE_COLOUR, "other rows"),
            (carries, MODEL_COLOUR, f"gold {label}"),
        ):
            values = scores[members, index]
            if len(values):
                weights = np.full(len(values), 1 / len(values))
                axes.hist(
                    values,
                    bins=edges,
                    weights=weights,
                    histtype="stepfilled",
                    alpha=0.75,
                    color=colour,
                    label=name,
                )
        axes.set_title(label)
        axes.set_xlim(0, 1)
        axes.set_xlabel(f"score of {label}")
        if index % columns == 0:
            axes.set_ylabel("share of the group")
        axes.legend(frameon=False, loc="upper center", fontsize=7)
    for axes in grid.ravel()[len(labels) :]:
        axes.axis("off")
    figure.tight_layout()
    return _png(figure)


def label_distribution(distribution: dict[str, dict[str, int]]) -> bytes:
    labels = list(distribution["gold"])
    positions = np.arange(len(labels))
    figure, axes = plt.subplots(figsize=(1.4 + 1.3 * len(labels), 2.8))
    gold = [distribution["gold"][label] for label in labels]
    predicted = [distribution["predicted"][label] for label in labels]
    axes.bar(positions - 0.2, gold, width=0.4, color=GOLD_COLOUR, label="gold")
    axes.bar(positions + 0.2, predicted, width=0.4, color=MODEL_COLOUR, label="predicted")
    for position, (gold_count, predicted_count) in enumerate(zip(gold, predicted, strict=True)):
        axes.text(position - 0.2, gold_count, str(gold_count), ha="center", va="bottom", fontsize=8)
        axes.text(
            position + 0.2,
            predicted_count,
            str(predicted_count),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.set_xticks(positions, _wrapped(labels))
    axes.set_ylabel("rows")
    axes.set_title("Label distribution")
    axes.legend(frameon=False)
    figure.tight_layout()
    return _png(figure)


def model_against_baselines(rows: list[dict[str, Any]]) -> bytes:
    """Macro-F1 with its 95% interval for the model and each baseline, best at the top."""
    names = [row["name"] for row in rows]
    values = np.array([row["macro_f1"] for row in rows])
    lows = values - np.array([row["low"] for row in rows])
    highs = np.array([row["high"] for row in rows]) - values
    colours = [MODEL_COLOUR if row.get("is_model") else BASELINE_COLOUR for row in rows]
    positions = np.arange(len(rows))[::-1]
    figure, axes = plt.subplots(figsize=(6.4, 0.55 * len(rows) + 0.9))
    axes.barh(positions, values, color=colours, height=0.6)
    axes.errorbar(
        values, positions, xerr=[lows, highs], fmt="none", ecolor="#222", capsize=3, linewidth=1
    )
    for position, value, high in zip(positions, values, highs, strict=True):
        axes.text(value + high + 0.01, position, f"{value:.3f}", va="center", fontsize=8)
    axes.set_yticks(positions, names)
    axes.set_xlim(0, 1.08)
    axes.set_xlabel("macro-F1 (bars: 95% bootstrap interval)")
    axes.set_title("What the model buys over simple baselines")
    figure.tight_layout()
    return _png(figure)


def group_shares(
    labels: list[str],
    groups: list[str],
    corrected: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    raw: np.ndarray,
    small: list[bool],
) -> bytes:
    """One panel per label: each group's corrected share with its 95% interval (a bar), and the
    raw counted share (a hollow mark); groups too small to trust are drawn grey.

    corrected, low, high, raw: [groups, labels].
    """
    columns = min(2, len(labels))
    rows = int(np.ceil(len(labels) / columns))
    height = 0.9 + 0.28 * len(groups)
    figure, grid = plt.subplots(
        rows, columns, figsize=(5.4 * columns, height * rows), squeeze=False, sharey=True
    )
    positions = np.arange(len(groups))[::-1]
    colours = [BASELINE_COLOUR if is_small else MODEL_COLOUR for is_small in small]
    for index, (axes, label) in enumerate(zip(grid.ravel(), labels, strict=False)):
        for position, colour, centre, left, right in zip(
            positions, colours, corrected[:, index], low[:, index], high[:, index], strict=True
        ):
            axes.plot([left, right], [position, position], color=colour, linewidth=2.4, alpha=0.55)
            axes.plot(centre, position, "o", color=colour, markersize=5)
        axes.plot(
            raw[:, index], positions, "D", markerfacecolor="none", markeredgecolor=ERROR_COLOUR,
            markersize=4.5, linestyle="none", label="counted (raw)",
        )  # fmt: skip
        axes.set_yticks(positions, groups)
        axes.set_xlim(
            0, max(0.05, float(np.nanmax([high[:, index].max(), raw[:, index].max()])) * 1.1)
        )
        axes.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        axes.set_title(label.replace("_", " "))
        axes.grid(axis="x", color="#e4e7eb", linewidth=0.8)
        axes.set_axisbelow(True)
        if index == 0:
            axes.legend(frameon=False, loc="lower right", fontsize=7)
    for axes in grid.ravel()[len(labels) :]:
        axes.axis("off")
    figure.tight_layout()
    return _png(figure)


def shares_over_time(
    labels: list[str],
    periods: list[str],
    series: dict[str, dict[str, np.ndarray]],
) -> bytes:
    """One panel per label: a line per group over the periods (corrected share) with its 95% band.

    series: group -> {"corrected", "low", "high"} arrays [periods, labels], NaN where the group has
    no sentences in a period.
    """
    columns = min(2, len(labels))
    rows = int(np.ceil(len(labels) / columns))
    figure, grid = plt.subplots(
        rows, columns, figsize=(5.6 * columns, 2.9 * rows), squeeze=False, sharex=True
    )
    x = np.arange(len(periods))
    palette = plt.get_cmap("tab10")
    for index, (axes, label) in enumerate(zip(grid.ravel(), labels, strict=False)):
        for number, (group, values) in enumerate(series.items()):
            colour = palette(number % 10)
            axes.fill_between(
                x, values["low"][:, index], values["high"][:, index], color=colour, alpha=0.15,
                linewidth=0,
            )  # fmt: skip
            axes.plot(x, values["corrected"][:, index], marker="o", markersize=3, color=colour,
                      label=group)  # fmt: skip
        axes.set_title(label.replace("_", " "))
        axes.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0, decimals=0))
        axes.set_ylim(bottom=0)
        step = max(1, len(periods) // 8)
        axes.set_xticks(x[::step], [periods[i] for i in x[::step]], rotation=30, ha="right")
        axes.grid(axis="y", color="#e4e7eb", linewidth=0.8)
        if index == 0:
            axes.legend(frameon=False, fontsize=7, loc="upper left")
    for axes in grid.ravel()[len(labels) :]:
        axes.axis("off")
    figure.tight_layout()
    return _png(figure)
