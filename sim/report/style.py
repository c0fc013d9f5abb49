"""The one look of every sim plot: figures, titles, units on axes, legends, category ticks, saving.

Every plot module (report/plots.py, report/timeline.py, sweep/plots.py, compression/plots.py)
builds its figures here, so they share these rules:

- figures are ``matplotlib.figure.Figure`` objects with constrained layout, made without pyplot,
  so a notebook can show them and nothing global (the backend, open-figure lists) changes;
- titles name the model and the design (``title``), with a file stem for generic graph names;
- energy, time, power and bytes are labelled with an SI prefix chosen from the data (µJ, ms,
  kB): linear axes carry it in the label, log axes on each tick (``1 µJ``, ``10 µJ``) and say
  "log scale"; no axis shows a bare ``1e10`` offset;
- legends sit outside the axes (``legend_below``, ``legend_right``);
- tick labels that would overlap are rotated, then thinned (``finish`` / ``fit_ticks``).
"""
from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib import ticker
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100  # PNGs are meant to be read at 100% zoom: 10 pt text is 14 px
PANEL_IN = (4.6, 3.4)  # width, height of one panel in inches
COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray",
          "tab:olive", "tab:cyan")
MARKERS = "os^Dv<>px*"
LOG_SPAN = 20.0  # a log axis when positive values span more than this factor
FILE_MODE = 0o644
# ONNX exporters' default graph names, which say nothing about the model
GENERIC_MODEL_NAMES = {"", "main_graph", "graph", "model", "network", "torch-jit-export", "torch_jit", "tf2onnx",
                       "onnx_model", "test"}
_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""), (1e3, "k"), (1e6, "M"),
             (1e9, "G"), (1e12, "T"))
_MULTIPLIERS = ((1.0, ""), (1e3, "thousands"), (1e6, "millions"), (1e9, "billions"), (1e12, "trillions"))


# ---------------------------------------------------------------- names and titles

def model_name(name, path: str | os.PathLike | None = None) -> str:
    """The model's name for a title: the file stem of ``path`` when ``name`` is a generic graph
    name (``main_graph``), else ``name``."""
    text = "" if name is None or (isinstance(name, float) and math.isnan(name)) else str(name)
    if text.strip().lower() in GENERIC_MODEL_NAMES and path is not None:
        return Path(path).stem
    return text


def short_label(value) -> str:
    """A short tick or legend label: a file path becomes its stem (``../hwconfigs/sonic.yaml`` -> ``sonic``)."""
    text = str(value)
    if text.endswith((".yaml", ".yml", ".onnx", ".csv", ".npz")) or "/" in text:
        return Path(text).stem
    return text


def names(values) -> str:
    """Distinct values in first-seen order as short labels, comma-separated."""
    return ", ".join(dict.fromkeys(short_label(v) for v in values if v is not None and str(v) != "nan"))


def title(fig: Figure, model: str, designs, detail: str = "") -> None:
    """Figure title ``<model> on <design, design>: <detail>``."""
    designs = names([designs] if isinstance(designs, str) else designs)
    text = " on ".join(t for t in (model, designs) if t)
    fig.suptitle(f"{text}: {detail}" if text and detail else (text or detail))


# ---------------------------------------------------------------- figures, legends, saving

def figure(nrows: int = 1, ncols: int = 1, size: tuple[float, float] | None = None, **gridspec) -> tuple:
    """(Figure, 2-D array of axes), sized ``PANEL_IN`` per panel unless ``size`` is given."""
    size = size or (PANEL_IN[0] * ncols, PANEL_IN[1] * nrows + 0.6)
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)  # a renderer for text extents and PNGs, without pyplot or a display
    axes = fig.subplots(nrows, ncols, squeeze=False, gridspec_kw=gridspec or None)
    return fig, axes


def legend_below(fig: Figure, axes, ncols: int | None = None) -> None:
    """One legend for the whole figure, below the panels (its entries gathered from ``axes``, once each)."""
    handles, labels = {}, []
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in handles:
                handles[lab] = h
                labels.append(lab)
    if labels:
        fig.legend([handles[lab] for lab in labels], labels, loc="outside lower center",
                   ncols=ncols or min(len(labels), 5), frameon=False)


def legend_right(ax, **kwargs) -> None:
    """The axes' legend outside its right edge (constrained layout reserves the room)."""
    if ax.get_legend_handles_labels()[1]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False, **kwargs)


def fit_ticks(fig: Figure, passes: int = 4) -> None:
    """Rotate, then thin, the x tick labels of every axes until none overlaps its neighbour."""
    for _ in range(passes):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        changed = False
        for ax in fig.axes:
            labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
            if len(labels) < 2 or not _overlapping(ax, labels, renderer):
                continue
            changed = True
            angle = labels[0].get_rotation()
            if angle < 30:
                ax.tick_params(axis="x", labelrotation=30)
                for t in ax.get_xticklabels():
                    t.set_horizontalalignment("right")
                    t.set_rotation_mode("anchor")
            elif angle < 90:
                ax.tick_params(axis="x", labelrotation=90)
                for t in ax.get_xticklabels():
                    t.set_horizontalalignment("center")
                    t.set_rotation_mode("default")
            else:  # already vertical: show every other label
                for t in labels[1::2]:
                    t.set_visible(False)
        if not changed:
            return


def _overlapping(ax, texts, renderer) -> bool:
    """Whether neighbouring tick labels collide. Unrotated: their boxes overlap. Rotated: the
    parallel text lines are closer than a line height (their axis-aligned boxes may overlap
    without the glyphs touching)."""
    angle = texts[0].get_rotation() % 180
    if angle < 1:
        gap_px = 0.5 * texts[0].get_fontsize() * ax.figure.dpi / 72  # half an em: words must not run together
        boxes = sorted((t.get_window_extent(renderer) for t in texts), key=lambda b: b.x0)
        return any(a.x1 + gap_px > b.x0 for a, b in zip(boxes, boxes[1:]))
    xs = np.sort(ax.transData.transform([(t.get_position()[0], 0) for t in texts])[:, 0])
    line_px = 1.25 * texts[0].get_fontsize() * ax.figure.dpi / 72
    return bool(np.min(np.diff(xs)) * math.sin(math.radians(angle)) < line_px)


def finish(fig: Figure) -> Figure:
    """The last step of every figure function: lay it out once and fit the tick labels."""
    fit_ticks(fig)
    return fig


def save(fig: Figure, path: str | os.PathLike) -> Path:
    """Write a PNG via a temporary name and rename (a kill never leaves half a file); no version
    stamp in the metadata, so the same data gives the same bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".png", dir=path.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=DPI, format="png", metadata={"Software": None})
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return path


# ---------------------------------------------------------------- quantities and axes

@dataclass(frozen=True)
class Quantity:
    """How a report column is shown: ``label``; ``unit`` (SI base, '' for counts, '%' for
    fractions); ``to_unit`` multiplies a column value into that unit (pJ -> J is 1e-12)."""
    label: str
    unit: str = ""
    to_unit: float = 1.0


_SPECIAL = {
    "energy_per_bit_pj": Quantity("energy per bit", "J/bit", 1e-12),
    "fps": Quantity("frames per second"),
    "fps_per_w": Quantity("FPS/W"),
    "accuracy": Quantity("accuracy", "%", 100.0),
    "cycles": Quantity("cycles"),
}
_SUFFIXES = (("_pj", "J", 1e-12), ("_s", "s", 1.0), ("_w", "W", 1.0), ("_bytes", "B", 1.0), ("_kb", "B", 1e3),
             ("_bits", "bit", 1.0), ("_ghz", "Hz", 1e9), ("_fraction", "%", 100.0), ("_cycles", "", 1.0))


def quantity(column: str) -> Quantity:
    """The label, SI unit and scale of a report column, from its unit suffix (STYLE.md naming)."""
    if column in _SPECIAL:
        return _SPECIAL[column]
    for suffix, unit, to_unit in _SUFFIXES:
        if column.endswith(suffix):
            base = column[: -len(suffix)] + ("_cycles" if suffix == "_cycles" else "")
            return Quantity(base.replace("_", " "), unit, to_unit)
    return Quantity(column.replace("_", " "))


def si_prefix(magnitude: float) -> tuple[float, str]:
    """(factor, prefix) putting ``magnitude`` (in base units) in [1, 1000): 3.2e-5 -> (1e-6, 'µ')."""
    if not np.isfinite(magnitude) or magnitude <= 0:
        return 1.0, ""
    for factor, prefix in reversed(_PREFIXES):
        if magnitude >= factor * (1 - 1e-9):
            return factor, prefix
    return _PREFIXES[0]


def _multiplier(magnitude: float) -> tuple[float, str]:
    for factor, word in reversed(_MULTIPLIERS):
        if magnitude >= factor * 10:  # plain numbers up to 10,000
            return factor, word
    return 1.0, ""


def wide(values) -> bool:
    """True when the finite positive values span more than ``LOG_SPAN`` (draw them on a log axis)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size and v.min() > 0 and v.max() / v.min() > LOG_SPAN)


def set_quantity(ax, which: str, q: Quantity | str, values, log: bool | None = None) -> bool:
    """Label and format the ``which`` ('x' or 'y') axis of ``ax`` for ``values`` (in column units)
    of quantity ``q``; log scale when ``log`` (default: when the values are ``wide``). Returns
    whether the axis is logarithmic."""
    q = quantity(q) if isinstance(q, str) else q
    v = np.abs(np.asarray(values, dtype=float)) * q.to_unit
    v = v[np.isfinite(v) & (v > 0)]
    log = wide(values) if log is None else log
    axis = ax.yaxis if which == "y" else ax.xaxis
    if log:
        (ax.set_yscale if which == "y" else ax.set_xscale)("log")
        span = v.max() / v.min() if v.size else 1.0
        axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0) if span < 100 else (1.0,)))
        axis.set_minor_formatter(ticker.NullFormatter())
        if q.unit and q.unit != "%":
            axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: eng(x * q.to_unit, q.unit)))
            text = f"{q.label} ({q.unit}, log scale)"
        else:
            axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: _compact(x * q.to_unit)))
            text = f"{q.label} ({q.unit}, log scale)" if q.unit else f"{q.label} (log scale)"
    else:
        top = v.max() if v.size else 1.0
        if q.unit in ("", "%"):
            factor, word = (1.0, "") if q.unit == "%" else _multiplier(top)
            unit = q.unit or word
        else:
            factor, prefix = si_prefix(top)
            unit = prefix + q.unit
        scale = q.to_unit / factor
        axis.set_major_formatter(ticker.FuncFormatter(lambda x, _: _plain(x * scale)))
        text = f"{q.label} ({unit})" if unit else q.label
    (ax.set_ylabel if which == "y" else ax.set_xlabel)(text)
    return log


def eng(value: float, unit: str) -> str:
    """``value`` (base units) with an SI prefix: eng(3.2e-5, 'J') -> '32 µJ'."""
    if value == 0 or not np.isfinite(value):
        return f"0 {unit}"
    factor, prefix = si_prefix(abs(value))
    return f"{_plain(value / factor)} {prefix}{unit}"


def _compact(x: float) -> str:
    """A count on a log tick: 500, 2000, 50k, 1M (no exponent)."""
    if abs(x) < 1e4:
        return _plain(x)
    factor, prefix = si_prefix(abs(x))
    return f"{_plain(x / factor)}{prefix}"


def _plain(x: float) -> str:
    """A tick number without exponent or float noise: 0.30000000000000004 -> '0.3', 2e4 -> '20000'."""
    if x == 0:
        return "0"
    text = f"{x:.6g}"
    if "e" in text:
        text = np.format_float_positional(float(f"{x:.6g}"), trim="-")
    return text


def categories(ax, labels, which: str = "x") -> np.ndarray:
    """Put category positions 0..n-1 on the axis with short labels; returns the positions."""
    pos = np.arange(len(labels))
    short = [short_label(lab) for lab in labels]
    if which == "x":
        ax.set_xticks(pos, short)
        ax.set_xlim(-0.6, len(labels) - 0.4)
    else:
        ax.set_yticks(pos, short)
    return pos
