"""Plots of a compression comparison (sim.sweep.bench): accuracy vs compression ratio per method,
accuracy vs measured speed-up and energy per design, theoretical vs measured speed-up."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def _per_seed(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(["method", "target_weights_kept", "seed"], sort=False).first().reset_index()


MARKERS = "osD^vPX*<>hp"


def styles(methods) -> dict:
    """One (colour, marker) per method, distinct for up to 20 methods (tab20's dark shades first)."""
    cmap = plt.get_cmap("tab20")
    order = list(range(0, 20, 2)) + list(range(1, 20, 2))
    return {m: {"color": cmap(order[i % 20]), "marker": MARKERS[i % len(MARKERS)]} for i, m in enumerate(methods)}


def plot_bench(df: pd.DataFrame, out_dir: str, name: str) -> list[str]:
    files = []
    seeds = _per_seed(df)
    style = styles(dict.fromkeys(df["method"]))
    fig, ax = plt.subplots(figsize=(7.6, 4.4))
    for method, g in seeds.groupby("method", sort=False):
        s = g.groupby("target_weights_kept").agg(ratio=("weights_kept_fraction", lambda v: 1 / v.mean()),
                                                 mean=("accuracy", "mean"), std=("accuracy", "std")).reset_index()
        ax.errorbar(s["ratio"], s["mean"], yerr=s["std"].fillna(0), capsize=3, label=method, **style[method])
    ax.set_xscale("log")
    ax.set_xlabel("compression ratio (dense weights / weights kept)")
    ax.set_ylabel("test accuracy (mean +- std over seeds)")
    ax.set_title(f"{name}: accuracy vs compression")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    files.append(_save(fig, out_dir, "accuracy_vs_compression.png"))

    designs = list(dict.fromkeys(df["hwconfig"]))
    for col, label, fname in (("measured_speedup", "measured speed-up over dense (cycles)", "accuracy_vs_speedup.png"),
                              ("energy_reduction", "energy reduction over dense (x)", "accuracy_vs_energy.png")):
        fig, axes = plt.subplots(1, len(designs), figsize=(3.6 * len(designs), 3.6), squeeze=False, sharey=True)
        for ax, hw in zip(axes[0], designs):
            g = df[df["hwconfig"] == hw]
            for method, m in g.groupby("method", sort=False):
                ax.scatter(m[col], m["accuracy"], s=14, label=method, **style[method])
            ax.set_xscale("log")
            ax.set_title(hw)
            ax.set_xlabel(label, fontsize=8)
        axes[0][0].set_ylabel("test accuracy")
        axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        files.append(_save(fig, out_dir, fname))

    fig, axes = plt.subplots(1, len(designs), figsize=(3.6 * len(designs), 3.6), squeeze=False)
    for ax, hw in zip(axes[0], designs):
        g = df[df["hwconfig"] == hw]
        for method, m in g.groupby("method", sort=False):
            ax.scatter(m["theoretical_speedup"], m["measured_speedup"], s=14, label=method, **style[method])
        top = max(g["theoretical_speedup"].max(), g["measured_speedup"].max())
        ax.plot([1, top], [1, top], color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(hw)
        ax.set_xlabel("theoretical speed-up (dense MACs / effectual MACs)", fontsize=7)
    axes[0][0].set_ylabel("measured speed-up (cycles)")
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    files.append(_save(fig, out_dir, "speedup_theoretical_vs_measured.png"))
    return files


def _save(fig, out_dir: str, name: str) -> str:
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return path
