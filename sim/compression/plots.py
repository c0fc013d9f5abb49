"""PNG figures of compression results (report/style.py's look): storage by stage, lottery tickets."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullFormatter

from ..report import style

VARIANT_STYLE = {"ticket": ("tab:blue", "o"), "reinit": ("tab:orange", "s"), "random_mask": ("tab:green", "^")}
REMAINING_TICKS = (100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1)  # weights remaining (%), as Frankle & Carbin plot them


def _detail(what: str, recipe: str) -> str:
    return f"{what} (recipe {recipe})" if recipe else what


def lottery_figure(summary: pd.DataFrame, model: str = "", recipe: str = "") -> Figure:
    """Test accuracy and early-stop iteration (mean +- std over seeds) vs weights remaining
    (``lth_summary.csv``), and the iterations to the validation-loss target when any run reached it."""
    speed = "target_iteration_mean" in summary and summary["target_reached"].any()
    fig, axes = style.figure(1, 3 if speed else 2, size=(14.4 if speed else 9.8, 4.6))
    panels = list(axes[0])
    columns = [("accuracy", "test accuracy at early stop (%)", 100.0),
               ("early_stop_iteration", "early-stop iteration (min val loss)", 1.0)]
    if speed:
        columns.append(("target_iteration", "iterations to the validation-loss target", 1.0))
    for variant, group in summary.groupby("variant", sort=False):
        color, marker = VARIANT_STYLE.get(variant, ("black", "x"))
        x = 100 * group["weights_remaining_fraction"]
        for ax, (col, _, scale) in zip(panels, columns):
            ax.errorbar(x, scale * group[f"{col}_mean"], yerr=scale * group[f"{col}_std"], label=variant,
                        color=color, marker=marker, capsize=3, ms=4)
    remaining = 100 * summary["weights_remaining_fraction"].to_numpy(float)
    ticks = [t for t in REMAINING_TICKS if remaining.min() * 0.8 <= t <= remaining.max() * 1.2]
    for ax, (_, label, _) in zip(panels, columns):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(lambda v, _: style._plain(v))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()  # pruning proceeds to the right, as in Frankle & Carbin's figures
        ax.set_xlabel("weights remaining (%, log scale)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    style.legend_below(fig, panels[:1])
    style.title(fig, model, [], _detail(f"lottery tickets vs controls, mean ± std over "
                                        f"{int(summary['seeds'].max())} seeds", recipe))
    return style.finish(fig)


def storage_figure(stages: pd.DataFrame, model: str = "", recipe: str = "") -> Figure:
    """Storage per stage (``compression.csv``, log scale), each bar labelled with its compression
    ratio against 32-bit dense and its test accuracy."""
    fig, axes = style.figure(1, 1, size=(max(5.5, 1.3 * len(stages) + 1.5), 4.6))
    ax = axes[0, 0]
    x = style.categories(ax, list(stages["stage"]))
    nbytes = stages["storage_bytes"].to_numpy(float)
    bars = ax.bar(x, nbytes, color="tab:blue", width=0.6)
    for bar, ratio, acc in zip(bars, stages["compression_ratio"], stages["accuracy"]):
        ax.annotate(f"{ratio:.1f}x\n{100 * acc:.2f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    style.set_quantity(ax, "y", "storage_bytes", nbytes, log=True)
    top = np.nanmax(nbytes) if len(nbytes) else 1.0
    ax.set_ylim(top=top * 3.0)  # room for the labels above the tallest bar
    ax.set_xlabel("stage")
    ax.set_title("bars: compression ratio vs 32-bit dense, test accuracy", fontsize=9)
    style.title(fig, model, [], _detail("storage by stage", recipe))
    return style.finish(fig)


def plot_lottery(summary: pd.DataFrame, path: str, model: str = "", recipe: str = "") -> None:
    """Write ``lottery_figure`` as a PNG."""
    style.save(lottery_figure(summary, model, recipe), path)


def plot_storage(stages: pd.DataFrame, path: str, model: str = "", recipe: str = "") -> None:
    """Write ``storage_figure`` as a PNG."""
    style.save(storage_figure(stages, model, recipe), path)
