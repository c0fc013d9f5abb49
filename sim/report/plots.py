"""Grouped bar charts of a comparison and an ablation (matplotlib, Agg backend: no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (backend chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .compare import BREAKDOWN_COLUMNS, DEVICES  # noqa: E402


def _device_columns(df: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(breakdown columns with any energy in them, their device names), in report order."""
    keep = [(c, d) for c, d in zip(BREAKDOWN_COLUMNS, DEVICES) if c in df and df[c].fillna(0).gt(0).any()]
    return [c for c, _ in keep], [d for _, d in keep]


def _bars(ax, labels, values, title, ylabel, log=True):
    x = np.arange(len(labels))
    ax.bar(x, values, color=plt.cm.tab10(np.arange(len(labels)) % 10))
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    if log and np.all(np.asarray(values) > 0):
        ax.set_yscale("log")


def comparison_chart(table: pd.DataFrame, path) -> None:
    """FPS/W, energy per bit, and the energy per inference of each device class, grouped by design."""
    names = table["hwconfig"].astype(str).tolist()
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.8), gridspec_kw={"width_ratios": [1, 1, 1, 3]})
    _bars(axes[0], names, table["fps_per_w"].to_numpy(float), "FPS/W (higher is better)", "frames/s/W")
    _bars(axes[1], names, table["energy_per_bit_pj"].to_numpy(float), "energy per bit", "pJ/bit")
    _bars(axes[2], names, table["accuracy"].to_numpy(float), "accuracy on the design's numerics", "accuracy",
          log=False)
    if "model_accuracy" in table and np.isfinite(table["model_accuracy"].to_numpy(float)).any():
        axes[2].axhline(float(np.nanmax(table["model_accuracy"].to_numpy(float))), color="grey", lw=0.8,
                        ls="--", label="float model")
        axes[2].legend(fontsize="small")
    axes = [axes[0], axes[1], axes[3]]
    cols, devices = _device_columns(table)
    x = np.arange(len(cols))
    width = 0.8 / max(1, len(names))
    ax = axes[2]
    for i, name in enumerate(names):
        vals = table.iloc[i][cols].to_numpy(float)
        ax.bar(x + (i - (len(names) - 1) / 2) * width, np.where(vals > 0, vals, np.nan), width, label=name)
    ax.set_xticks(x, devices, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("pJ per inference")
    ax.set_title("energy per inference by device")
    ax.legend(fontsize="small")
    model = table["model"].iloc[0] if len(table) else ""
    fig.suptitle(f"{model}: batch {int(table['batch'].iloc[0]) if len(table) else 0}")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def ablation_chart(abl: pd.DataFrame, path) -> None:
    """Energy per inference and FPS/W of each sparsity variant, grouped by photonic design."""
    variants = list(dict.fromkeys(abl["variant"]))
    designs = list(dict.fromkeys(abl["hwconfig"]))
    fig, axes = plt.subplots(1, 2, figsize=(14, 4.8))
    x = np.arange(len(variants))
    width = 0.8 / max(1, len(designs))
    for metric, ax, label in (("energy_per_inference_pj", axes[0], "pJ per inference"),
                              ("fps_per_w", axes[1], "FPS/W")):
        for i, d in enumerate(designs):
            sub = abl[abl["hwconfig"] == d].set_index("variant").reindex(variants)
            ax.bar(x + (i - (len(designs) - 1) / 2) * width, sub[metric].to_numpy(float), width, label=d)
        ax.set_xticks(x, variants, rotation=30, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel(label)
        ax.set_title(f"{label} by sparsity variant")
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)
