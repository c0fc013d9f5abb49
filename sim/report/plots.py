"""Bar charts of a comparison and an ablation. They take the tables (``comparison.csv``,
``ablation.csv`` as DataFrames) and plain values, never objects of ``report.compare``."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from . import style

# Columns of energy per inference that are totals or rates, not one device class's share
_NOT_DEVICES = {"energy_pj", "energy_per_inference_pj", "energy_per_bit_pj", "calibration_energy_pj"}


def device_columns(table: pd.DataFrame) -> list[str]:
    """The ``energy_<device>_pj`` columns with energy in any row, in table order."""
    return [c for c in table.columns
            if c.startswith("energy_") and c.endswith("_pj") and c not in _NOT_DEVICES
            and pd.to_numeric(table[c], errors="coerce").fillna(0).gt(0).any()]


def _model(table: pd.DataFrame, model: str | None) -> str:
    return model if model is not None else (style.model_name(table["model"].iloc[0]) if len(table) else "")


def _design_bars(ax, designs: list[str], values: np.ndarray, column: str) -> None:
    x = style.categories(ax, designs)
    ax.bar(x, np.where(values > 0, values, np.nan), color=[style.COLORS[i % 10] for i in range(len(designs))],
           width=0.7)
    style.set_quantity(ax, "y", column, values)
    ax.set_xlabel("design")
    ax.grid(True, axis="y", alpha=0.3)


def _grouped_bars(ax, groups: list[str], series: list[tuple[str, np.ndarray]], column: str, log: bool) -> None:
    """Bars of each series side by side at each group; zero values leave a gap (log axes)."""
    x = style.categories(ax, groups)
    width = 0.8 / max(1, len(series))
    for i, (name, vals) in enumerate(series):
        vals = np.asarray(vals, dtype=float)
        ax.bar(x + (i - (len(series) - 1) / 2) * width, np.where(vals > 0, vals, np.nan), width,
               label=style.short_label(name), color=style.COLORS[i % 10])
    every = np.concatenate([np.asarray(v, float) for _, v in series]) if series else np.array([])
    style.set_quantity(ax, "y", column, every[every > 0], log=log)
    ax.grid(True, axis="y", alpha=0.3)


def comparison_figure(table: pd.DataFrame, model: str | None = None) -> Figure:
    """FPS/W, energy per bit, and the energy per inference of each device class, for every design
    of ``table`` (one row per design, as ``comparison.csv``). ``model`` overrides the title's name."""
    designs = [style.short_label(h) for h in table["hwconfig"]]
    cols = device_columns(table)
    fig, axes = style.figure(1, 3, size=(2 * 3.2 + 0.65 * max(len(cols), 4) + 1.0, 5.0),
                             width_ratios=[1, 1, max(1.5, 0.45 * max(len(cols), 4))])
    _design_bars(axes[0, 0], designs, table["fps_per_w"].to_numpy(float), "fps_per_w")
    axes[0, 0].set_title("FPS/W (higher is better)")
    _design_bars(axes[0, 1], designs, table["energy_per_bit_pj"].to_numpy(float), "energy_per_bit_pj")
    axes[0, 1].set_title("energy per bit (lower is better)")
    devices = [c[len("energy_"):-len("_pj")] for c in cols]
    series = [(name, table.iloc[i][cols].to_numpy(float)) for i, name in enumerate(designs)]
    ax = axes[0, 2]
    _grouped_bars(ax, devices, series, "energy_per_inference_pj", log=True)
    ax.set_title("energy per inference by device class")
    ax.set_xlabel("device class")
    style.legend_below(fig, [ax])
    batch = int(table["batch"].iloc[0]) if len(table) else 0
    style.title(fig, _model(table, model), designs, f"batch {batch}")
    return style.finish(fig)


def ablation_figure(abl: pd.DataFrame, model: str | None = None) -> Figure:
    """Energy per inference and FPS/W of each sparsity variant (``ablation.csv``), one bar per design."""
    variants = list(dict.fromkeys(abl["variant"]))
    designs = list(dict.fromkeys(abl["hwconfig"]))
    width = max(5.0, 0.55 * len(variants) * max(1, len(designs)) + 1.5)
    fig, axes = style.figure(1, 2, size=(2 * width, 5.0))
    for ax, metric, what in ((axes[0, 0], "energy_per_inference_pj", "energy per inference (lower is better)"),
                             (axes[0, 1], "fps_per_w", "FPS/W (higher is better)")):
        series = [(d, abl[abl["hwconfig"] == d].set_index("variant").reindex(variants)[metric].to_numpy(float))
                  for d in designs]
        every = np.concatenate([v for _, v in series]) if series else np.array([])
        _grouped_bars(ax, variants, series, metric, log=style.wide(every))
        ax.set_title(what)
        ax.set_xlabel("sparsity techniques")
    style.legend_below(fig, axes)
    style.title(fig, _model(abl, model), designs, "sparsity ablation")
    return style.finish(fig)


def comparison_chart(table: pd.DataFrame, path, model: str | None = None) -> None:
    """Write ``comparison_figure`` as a PNG."""
    style.save(comparison_figure(table, model), path)


def ablation_chart(abl: pd.DataFrame, path, model: str | None = None) -> None:
    """Write ``ablation_figure`` as a PNG."""
    style.save(ablation_figure(abl, model), path)
