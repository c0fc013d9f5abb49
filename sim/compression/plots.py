"""PNG figures of compression results (matplotlib, Agg backend)."""
from __future__ import annotations

import pandas as pd

VARIANT_STYLE = {"ticket": ("tab:blue", "o"), "reinit": ("tab:orange", "s"), "random_mask": ("tab:green", "^")}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_lottery(summary: pd.DataFrame, path: str) -> None:
    """Test accuracy and early-stop iteration (mean +- std over seeds) vs weights remaining."""
    plt = _pyplot()
    speed = "target_iteration_mean" in summary and summary["target_reached"].any()
    fig, axes = plt.subplots(1, 3 if speed else 2, figsize=(15 if speed else 10, 4))
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
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_storage(stages: pd.DataFrame, path: str) -> None:
    """Storage in bytes per stage (log scale), labelled with the compression ratio and accuracy."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    bars = ax.bar(stages["stage"], stages["storage_bytes"], color="tab:blue")
    for bar, ratio, acc in zip(bars, stages["compression_ratio"], stages["accuracy"]):
        ax.annotate(f"{ratio:.1f}x\n{100 * acc:.2f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("storage (bytes)")
    ax.set_title("Storage by stage (ratio vs 32-bit dense, test accuracy)")
    ax.margins(y=0.25)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
