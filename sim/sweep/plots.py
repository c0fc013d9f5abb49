"""PNG plots of a sweep: the Pareto front, and each metric against each axis (report/style.py's look)."""
from __future__ import annotations

import re
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..report import style
from .execute import STATUS_OK
from .pareto import feasible, pareto_front

DEFAULT_METRICS = ("energy_per_inference_pj", "latency_s", "power_w", "fps_per_w", "accuracy",
                   "weight_storage_bytes")
MAX_GROUPS = 8  # a categorical axis with at most this many values gets one marker per value
MAX_VALUE_TICKS = 12  # a numeric axis with at most this many distinct values gets a tick at each


def metrics_of(df: pd.DataFrame, objectives: dict, constraints: dict) -> list[str]:
    """Objectives, constrained columns, then the usual summary metrics, leaving out those that are
    empty or the same for every finished point."""
    ordered = list(dict.fromkeys(list(objectives) + list(constraints) + list(DEFAULT_METRICS)))
    ok = df[df["status"] == STATUS_OK]
    # a metric no point changes (accuracy over hardware-only axes) would only add flat panels
    return [m for m in ordered if m in ok and pd.to_numeric(ok[m], errors="coerce").dropna().nunique() > 1]


def group_axis(df: pd.DataFrame, axes: list[str]) -> str | None:
    """The first non-numeric axis with few values (e.g. the design file): points get a marker per value."""
    for axis in axes:
        values = df[axis].dropna()
        if len(values) and pd.to_numeric(values, errors="coerce").isna().any() and values.nunique() <= MAX_GROUPS:
            return axis
    return None


def _title(fig: Figure, ok: pd.DataFrame, detail: str, model: str | None) -> None:
    if model is None:
        model = style.names(style.model_name(m) for m in ok["model"]) if "model" in ok else ""
    style.title(fig, model, list(ok["hwconfig"]) if "hwconfig" in ok else [], detail)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(float)


def pareto_figure(df: pd.DataFrame, objectives: dict, constraints: dict, axes: list[str] = (),
                  model: str | None = None) -> Figure:
    """Scatter of every finished point for each pair of objectives (grey: fails a constraint),
    with the front in red; with one objective, the objective against the point number. Feasible
    points get one marker per value of the first categorical axis, if any."""
    ok = df[df["status"] == STATUS_OK]
    fits = feasible(ok, constraints)
    front = pareto_front(ok, objectives, constraints)
    group = group_axis(ok, list(axes))
    names = list(objectives)
    pairs = list(combinations(names, 2))[:3] or [(None, names[0])]
    fig, panels = style.figure(1, len(pairs), size=(5.2 * len(pairs), 4.8))
    for ax, (xname, yname) in zip(panels[0], pairs):
        def xs(frame):
            return (np.arange(len(df))[df.index.get_indexer(frame.index)].astype(float) if xname is None
                    else _numbers(frame, xname))

        ax.scatter(xs(ok[~fits]), _numbers(ok[~fits], yname), s=12, c="0.75", label="fails a constraint")
        good = ok[fits]
        parts = [(None, good)] if group is None else [(v, good[good[group] == v]) for v in good[group].unique()]
        for i, (value, part) in enumerate(parts):
            ax.scatter(xs(part), _numbers(part, yname), s=14, alpha=0.6, marker=style.MARKERS[i % 10],
                       color=style.COLORS[i % 10],
                       label="feasible" if value is None else f"feasible, {style.short_label(value)}")
        fx, fy = xs(front), _numbers(front, yname)
        order = np.argsort(fx, kind="stable")
        ax.plot(fx[order], fy[order], "-o", c="tab:red", ms=5, lw=1.2, label=f"Pareto front ({len(front)} point{'' if len(front) == 1 else 's'})")
        if xname is None:
            ax.set_xlabel("point")
            ax.set_title(f"{objectives[yname]} {style.quantity(yname).label}", fontsize=10)
        else:
            style.set_quantity(ax, "x", xname, xs(ok))
            ax.set_title(f"{objectives[xname]} {style.quantity(xname).label}, "
                         f"{objectives[yname]} {style.quantity(yname).label}", fontsize=10)
        style.set_quantity(ax, "y", yname, _numbers(ok, yname))
        ax.grid(True, alpha=0.3)
    style.legend_below(fig, panels, ncols=2 * len(pairs))
    _title(fig, ok, f"{len(ok)} finished points, {int(fits.sum())} feasible", model)
    return style.finish(fig)


def _set_axis_values(ax, x: np.ndarray, axis: str) -> None:
    """A numeric sweep axis: log when wide; a tick at each value when there are few."""
    log = style.set_quantity(ax, "x", style.Quantity(axis), x)
    values = np.unique(x[np.isfinite(x)])
    if len(values) <= MAX_VALUE_TICKS:
        ax.set_xticks(values, [style._plain(v) for v in values])
        ax.minorticks_off()
    if log:
        ax.set_xlabel(f"{axis} (log scale)")


def _spread(codes: np.ndarray, y: np.ndarray, width: float = 0.5) -> np.ndarray:
    """Category positions with the points of each category spread evenly across ``width``,
    in order of value (deterministic, unlike random jitter)."""
    out = codes.astype(float).copy()
    for c in np.unique(codes):
        idx = np.flatnonzero(codes == c)
        order = idx[np.argsort(y[idx], kind="stable")]
        if len(order) > 1:
            out[order] += np.linspace(-width / 2, width / 2, len(order))
    return out


def axis_figure(df: pd.DataFrame, axis: str, metrics: list[str], model: str | None = None,
                group: str | None = None) -> Figure:
    """One panel per metric against ``axis``: every finished point and the median per axis value.
    A numeric axis joins the medians with a line, one line per value of the categorical axis
    ``group`` if given (two designs' medians pooled would describe neither); a categorical axis
    (design files) draws each value as a category with its points spread across it and the
    median as a bar, no line."""
    ok = df[df["status"] == STATUS_OK]
    numeric = pd.to_numeric(ok[axis], errors="coerce")
    categorical = numeric.isna().any()
    cols = 2 if len(metrics) in (2, 4) else min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig, panels = style.figure(rows, cols)
    if categorical:
        labels = list(dict.fromkeys(ok[axis].astype(str)))
        codes = ok[axis].astype(str).map({v: i for i, v in enumerate(labels)}).to_numpy(int)
    else:
        x = numeric.to_numpy(float)
    for ax, metric in zip(panels.flat, metrics):
        y = _numbers(ok, metric)
        if categorical:
            pos = style.categories(ax, labels)
            ax.scatter(_spread(codes, y), y, s=10, alpha=0.5, c="tab:blue", label="point")
            med = pd.Series(y).groupby(codes).median().reindex(range(len(labels)))
            ax.scatter(pos, med.to_numpy(), marker="_", s=900, linewidths=2, c="tab:red", zorder=3, label="median")
            ax.set_xlabel(axis)
        else:
            parts = [(None, np.ones(len(ok), bool))] if group is None else \
                [(v, (ok[group] == v).to_numpy()) for v in ok[group].unique()]
            for i, (value, mask) in enumerate(parts):
                name = "" if value is None else f", {style.short_label(value)}"
                dots, line = ("tab:blue", "tab:red") if value is None else (style.COLORS[i % 10],) * 2
                ax.scatter(x[mask], y[mask], s=10, alpha=0.5, c=dots, marker=style.MARKERS[i % 10],
                           label=f"point{name}")
                med = pd.Series(y[mask]).groupby(x[mask]).median()
                ax.plot(med.index.to_numpy(), med.to_numpy(), "-", c=line, lw=1.2, label=f"median{name}")
            _set_axis_values(ax, x, axis)
        style.set_quantity(ax, "y", metric, y)
        ax.grid(True, alpha=0.3)
    for ax in list(panels.flat)[len(metrics):]:
        ax.set_visible(False)
    style.legend_below(fig, panels[:1, :1], ncols=4)
    _title(fig, ok, f"metrics against {axis}", model)
    return style.finish(fig)


def plot_pareto(df: pd.DataFrame, objectives: dict, constraints: dict, path: Path, axes: list[str] = (),
                model: str | None = None) -> Path:
    """Write ``pareto_figure`` as a PNG."""
    return style.save(pareto_figure(df, objectives, constraints, axes, model), path)


def plot_axis(df: pd.DataFrame, axis: str, metrics: list[str], path: Path, model: str | None = None,
              group: str | None = None) -> Path:
    """Write ``axis_figure`` as a PNG."""
    return style.save(axis_figure(df, axis, metrics, model, group), path)


def axis_file_name(axis: str) -> str:
    return "vs_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", axis) + ".png"


def sweep_figures(df: pd.DataFrame, axes: list[str], objectives: dict, constraints: dict,
                  model: str | None = None) -> dict[str, Figure]:
    """{"pareto.png": Figure, "vs_<axis>.png": Figure, ...}; empty when no point finished."""
    ok = df[df["status"] == STATUS_OK]
    if ok.empty:
        return {}
    figs = {"pareto.png": pareto_figure(df, objectives, constraints, axes, model)}
    metrics = metrics_of(df, objectives, constraints)
    for axis in axes:
        if metrics and ok[axis].notna().any():
            group = group_axis(ok, [a for a in axes if a != axis])
            figs[axis_file_name(axis)] = axis_figure(df, axis, metrics, model, group)
    return figs


def plot_sweep(df: pd.DataFrame, axes: list[str], objectives: dict, constraints: dict, out_dir: Path,
               model: str | None = None) -> list[Path]:
    """pareto.png and one vs_<axis>.png per axis; nothing when no point finished."""
    return [style.save(fig, Path(out_dir) / name)
            for name, fig in sweep_figures(df, axes, objectives, constraints, model).items()]
