"""PNG plots of a sweep: the Pareto front, and each metric against each axis."""
from __future__ import annotations

import os
import re
import tempfile
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from .execute import STATUS_OK
from .pareto import feasible, pareto_front
from .store import FILE_MODE

DEFAULT_METRICS = ("energy_per_inference_pj", "latency_s", "power_w", "fps_per_w", "accuracy",
                   "weight_storage_bytes")
LOG_SPAN = 20.0  # use a log axis when positive values span more than this factor
MAX_GROUPS = 8  # a categorical axis with at most this many values gets one marker per value


def _figure(**kwargs):
    """A Figure not registered with pyplot: no display needed, a notebook shows it once, nothing to close."""
    from matplotlib.figure import Figure
    return Figure(**kwargs)


def _save(fig, path: Path) -> None:
    """savefig to a temporary name, then rename: a kill never leaves a half-written PNG."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100, metadata={"Software": None})  # no version stamp: same sweep, same bytes
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _log_if_wide(ax, values: np.ndarray, which: str) -> None:
    v = values[np.isfinite(values)]
    if v.size and v.min() > 0 and v.max() / v.min() > LOG_SPAN:
        (ax.set_yscale if which == "y" else ax.set_xscale)("log")


def metrics_of(df: pd.DataFrame, objectives: dict, constraints: dict) -> list[str]:
    """Objectives, constrained columns, then the usual summary metrics, leaving out those that are
    empty or the same for every finished point."""
    ordered = list(dict.fromkeys(list(objectives) + list(constraints) + list(DEFAULT_METRICS)))
    ok = df[df["status"] == STATUS_OK]
    # a metric no point changes (accuracy over hardware-only axes) would only add flat panels
    return [m for m in ordered if m in ok and pd.to_numeric(ok[m], errors="coerce").dropna().nunique() > 1]


def _label(value) -> str:
    """A short legend label: a design file's stem, else the value."""
    text = str(value)
    return Path(text).stem if text.endswith((".yaml", ".yml")) else text


def group_axis(df: pd.DataFrame, axes: list[str]) -> str | None:
    """The first non-numeric axis with few values (e.g. the design file): points get a marker per value."""
    for axis in axes:
        values = df[axis].dropna()
        if len(values) and pd.to_numeric(values, errors="coerce").isna().any() and values.nunique() <= MAX_GROUPS:
            return axis
    return None


def pareto_figure(df: pd.DataFrame, objectives: dict, constraints: dict, axes: list[str] = ()):
    """Scatter of every finished point for each pair of objectives (grey: fails a constraint),
    with the front in red; with one objective, the objective against the point number. Feasible
    points get one marker per value of the first categorical axis, if any."""
    ok = df[df["status"] == STATUS_OK]
    fits = feasible(ok, constraints)
    front = pareto_front(ok, objectives, constraints)
    group = group_axis(ok, list(axes))
    names = list(objectives)
    pairs = list(combinations(names, 2))[:3] or [(None, names[0])]
    fig = _figure(figsize=(5.5 * len(pairs), 4.5))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    for ax, (xname, yname) in zip(axes[0], pairs):
        def xs(frame):
            return (np.arange(len(df))[df.index.get_indexer(frame.index)] if xname is None
                    else pd.to_numeric(frame[xname], errors="coerce").to_numpy(float))

        def ys(frame):
            return pd.to_numeric(frame[yname], errors="coerce").to_numpy(float)

        ax.scatter(xs(ok[~fits]), ys(ok[~fits]), s=12, c="0.75", label="fails a constraint")
        good = ok[fits]
        parts = [(None, good)] if group is None else [(v, good[good[group] == v]) for v in good[group].unique()]
        for i, (value, part) in enumerate(parts):
            ax.scatter(xs(part), ys(part), s=14, alpha=0.6, marker="os^Dvx<>"[i % 8],
                       label="feasible" if value is None else f"feasible, {_label(value)}")
        fx, fy = xs(front), ys(front)
        order = np.argsort(fx, kind="stable")
        ax.plot(fx[order], fy[order], "-o", c="tab:red", ms=5, lw=1.2, label=f"Pareto front ({len(front)})")
        ax.set_xlabel(f"{xname} ({objectives[xname]})" if xname else "point")
        ax.set_ylabel(f"{yname} ({objectives[yname]})")
        _log_if_wide(ax, xs(ok), "x")
        _log_if_wide(ax, ys(ok), "y")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{len(ok)} finished points, {int(fits.sum())} feasible")
    fig.tight_layout()
    return fig


def plot_pareto(df: pd.DataFrame, objectives: dict, constraints: dict, path: Path, axes: list[str] = ()) -> Path:
    """``pareto_figure`` as a PNG file."""
    _save(pareto_figure(df, objectives, constraints, axes), path)
    return path


def _axis_positions(values: pd.Series) -> tuple[np.ndarray, list | None]:
    """Numeric axis values as they are; anything else as category positions (in first-seen order)."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(float), None
    labels = list(dict.fromkeys(values.astype(str)))
    return values.astype(str).map({v: i for i, v in enumerate(labels)}).to_numpy(float), labels


def axis_figure(df: pd.DataFrame, axis: str, metrics: list[str]):
    """One panel per metric against ``axis``: every finished point, and the median per axis value."""
    ok = df[df["status"] == STATUS_OK]
    x, labels = _axis_positions(ok[axis])
    cols = min(3, len(metrics))
    rows = -(-len(metrics) // cols)
    fig = _figure(figsize=(4.5 * cols, 3.6 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        y = pd.to_numeric(ok[metric], errors="coerce").to_numpy(float)
        ax.scatter(x, y, s=10, alpha=0.5, c="tab:blue")
        med = pd.Series(y).groupby(x).median()
        ax.plot(med.index.to_numpy(), med.to_numpy(), "-", c="tab:red", lw=1.2, label="median")
        ax.set_xlabel(axis)
        ax.set_ylabel(metric)
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
        else:
            _log_if_wide(ax, x, "x")
        _log_if_wide(ax, y, "y")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_axis(df: pd.DataFrame, axis: str, metrics: list[str], path: Path) -> Path:
    """``axis_figure`` as a PNG file."""
    _save(axis_figure(df, axis, metrics), path)
    return path


def axis_file_name(axis: str) -> str:
    return "vs_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", axis) + ".png"


def sweep_figures(df: pd.DataFrame, axes: list[str], objectives: dict, constraints: dict) -> dict:
    """{file name: Figure}: pareto.png and one vs_<axis>.png per axis; empty when no point finished."""
    ok = df[df["status"] == STATUS_OK]
    if ok.empty:
        return {}
    figures = {"pareto.png": pareto_figure(df, objectives, constraints, axes)}
    metrics = metrics_of(df, objectives, constraints)
    for axis in axes:
        if metrics and ok[axis].notna().any():
            figures[axis_file_name(axis)] = axis_figure(df, axis, metrics)
    return figures


def plot_sweep(df: pd.DataFrame, axes: list[str], objectives: dict, constraints: dict, out_dir: Path) -> list[Path]:
    """``sweep_figures`` written into ``out_dir`` as PNG files; their paths."""
    files = []
    for name, fig in sweep_figures(df, axes, objectives, constraints).items():
        _save(fig, out_dir / name)
        files.append(out_dir / name)
    return files
