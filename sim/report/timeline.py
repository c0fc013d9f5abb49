"""Gantt chart of one layer's busy intervals (timeline.png) and its writers next to timeline.csv.

The table comes from ``engine.timeline.timeline_frame``; the figure takes that DataFrame and plain
values, so the engine never needs this module.
"""
from __future__ import annotations

import dataclasses
import textwrap

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..engine.timeline import find_layer, timeline_frame
from ..errors import ConfigError
from . import style
from .write import write_csv

# Component families by name prefix, in the order the rows are drawn (top to bottom)
KINDS = (("dram", "tab:red"), ("sram", "tab:blue"), ("reprogram", "tab:purple"), ("lnzd", "tab:orange"),
         ("pe", "tab:green"))


def _kind(component: str) -> int:
    return next((i for i, (prefix, _) in enumerate(KINDS) if component.startswith(prefix)), len(KINDS) - 1)


def component_order(name: str):
    """Sort key: family (DRAM, SRAM, reprogramming, LNZD, PEs), then the index in ``name[i]``."""
    tail = name[name.find("[") + 1:-1] if "[" in name else ""
    return (_kind(name), int(tail) if tail.isdigit() else -1, name)


def timeline_figure(df: pd.DataFrame, layer: str, cycles: int, bound_cycles: int, clock_ghz: float,
                    stalls: dict | None = None, model: str = "", design: str = "") -> Figure:
    """One row per component, one bar per busy interval (``df``: ``timeline_frame`` rows), on a
    time axis with an SI prefix; the title gives the layer's cycles, its bound and its stalls."""
    comps = sorted(df["component"].unique(), key=component_order) if len(df) else []
    rows = max(1, len(comps))
    font = 7 if rows > 24 else 8
    fig, axes = style.figure(1, 1, size=(10.0, 1.9 + rows * (0.15 if rows > 24 else 0.2)))
    ax = axes[0, 0]
    seconds = 1.0 / (clock_ghz * 1e9)
    for y, comp in enumerate(comps):
        part = df[df["component"] == comp]
        ax.broken_barh(list(zip(part["start_s"], part["end_s"] - part["start_s"])), (y - 0.4, 0.8),
                       color=KINDS[_kind(comp)][1])
    ax.set_yticks(range(len(comps)), comps, fontsize=font)
    ax.set_ylim(rows - 0.4, -0.6)  # first family on top
    end_s = max(1, cycles) * seconds
    ax.set_xlim(0, end_s)
    style.set_quantity(ax, "x", style.Quantity("time", "s"), [end_s], log=False)
    ax.set_ylabel("component")
    ax.grid(True, axis="x", alpha=0.3)
    present = sorted({_kind(c) for c in comps})
    ax.legend([Patch(color=KINDS[i][1]) for i in present], [KINDS[i][0] for i in present],
              loc="upper left", bbox_to_anchor=(1.01, 1.0),
              borderaxespad=0.0, frameon=False, fontsize=8)
    stall_text = ", ".join(f"{k} {v:,}" for k, v in (stalls or {}).items() if v) or "none"
    ax.set_title(textwrap.fill(f"{cycles:,} cycles (bound {bound_cycles:,}) at {clock_ghz:g} GHz; "
                               f"stalls: {stall_text}", 110), fontsize=9)
    style.title(fig, model, [design] if design else [], f"layer {layer}")
    return style.finish(fig)


def layer_timeline(result, layer: str) -> tuple[pd.DataFrame, Figure]:
    """(timeline table, Gantt figure) of ``layer`` of a ``sim.run.Result`` simulated by the event model."""
    lr = find_layer(result.run, layer)
    if not lr.intervals and lr.cycles > 0:
        if not lr.events:
            raise ConfigError("timeline", f"layer {layer!r} has no recorded intervals; only the event model "
                                          "records them (engine 'event')")
        # The event model keeps intervals only for the layer it was asked for: run this one again.
        from ..engine.simulate import layer_intervals
        lr = dataclasses.replace(lr, intervals=layer_intervals(result.net, result.profile, result.hw, lr))
    df = timeline_frame(lr, result.run.clock_ghz)
    model = style.model_name(result.summary["model"].iloc[0]) if "model" in result.summary else ""
    return df, timeline_figure(df, lr.name, lr.cycles, lr.bound_cycles, result.run.clock_ghz, lr.stalls, model,
                               result.hw.name)


def timeline_writers(result, layer: str) -> dict:
    """{"timeline.csv": writer(path), "timeline.png": writer(path)} for ``layer`` of a
    ``sim.run.Result`` simulated by the event model."""
    df, fig = layer_timeline(result, layer)
    return {"timeline.csv": lambda path: write_csv(df, path), "timeline.png": lambda path: style.save(fig, path)}
