"""Figures of compression results: ``*_figure`` returns a matplotlib Figure (no pyplot, no display
needed), ``plot_*`` writes it as a PNG."""
from __future__ import annotations

import pandas as pd

VARIANT_STYLE = {"ticket": ("tab:blue", "o"), "reinit": ("tab:orange", "s"), "random_mask": ("tab:green", "^")}


def lottery_figure(summary: pd.DataFrame):
    """Test accuracy and early-stop iteration (mean +- std over seeds) vs weights remaining."""
    from matplotlib.figure import Figure

    speed = "target_iteration_mean" in summary and summary["target_reached"].any()
    fig = Figure(figsize=(15 if speed else 10, 4))
    axes = fig.subplots(1, 3 if speed else 2)
    ax_acc, ax_it = axes[:2]
    for variant, group in summary.groupby("variant", sort=False):
        color, marker = VARIANT_STYLE.get(variant, ("black", "x"))
        x = 100 * group["weights_remaining_fraction"]
        ax_acc.errorbar(x, 100 * group["accuracy_mean"], yerr=100 * group["accuracy_std"], label=variant,
                        color=color, marker=marker, capsize=3, ms=4)
        ax_it.errorbar(x, group["early_stop_iteration_mean"], yerr=group["early_stop_iteration_std"], label=variant,
                       color=color, marker=marker, capsize=3, ms=4)
        if speed:
            axes[2].errorbar(x, group["target_iteration_mean"], yerr=group["target_iteration_std"], label=variant,
                             color=color, marker=marker, capsize=3, ms=4)
    from matplotlib.ticker import FixedLocator, NullFormatter

    for ax in axes:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(FixedLocator([100, 50, 20, 10, 5, 2, 1]))
        ax.xaxis.set_major_formatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.invert_xaxis()  # pruning proceeds to the right, as in Frankle & Carbin's figures
        ax.set_xlabel("weights remaining (%)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    ax_acc.set_ylabel("test accuracy at early stop (%)")
    ax_it.set_ylabel("early-stop iteration (min val loss)")
    if speed:
        axes[2].set_ylabel("iterations to the validation-loss target")
    fig.suptitle(f"Lottery tickets vs controls, mean +- std over {int(summary['seeds'].max())} seeds")
    fig.tight_layout()
    return fig


def plot_lottery(summary: pd.DataFrame, path: str) -> None:
    """``lottery_figure`` as a PNG file."""
    lottery_figure(summary).savefig(path, dpi=110, metadata={"Software": None})


def storage_figure(stages: pd.DataFrame):
    """Storage in bytes per stage (log scale), labelled with the compression ratio and accuracy."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    bars = ax.bar(stages["stage"], stages["storage_bytes"], color="tab:blue")
    for bar, ratio, acc in zip(bars, stages["compression_ratio"], stages["accuracy"]):
        ax.annotate(f"{ratio:.1f}x\n{100 * acc:.2f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("storage (bytes)")
    ax.set_title("Storage by stage (ratio vs 32-bit dense, test accuracy)")
    ax.margins(y=0.25)
    fig.tight_layout()
    return fig


def plot_storage(stages: pd.DataFrame, path: str) -> None:
    """``storage_figure`` as a PNG file."""
    storage_figure(stages).savefig(path, dpi=110, metadata={"Software": None})
