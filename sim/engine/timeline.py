"""Per-component busy intervals of one layer: a long-format CSV and a Gantt-style PNG.

The event model records ``(component, start_cycle, end_cycle, label)`` for every DRAM channel
hold, SRAM port hold, weight reprogramming and PE group's work (``LayerResult.intervals``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import ConfigError

TIMELINE_COLUMNS = ["layer", "component", "start_cycle", "end_cycle", "cycles", "start_s", "end_s", "label"]


def timeline_frame(layer_result, clock_ghz: float) -> pd.DataFrame:
    """One row per busy interval, sorted by component then start; times in cycles and seconds."""
    rows = [(layer_result.name, comp, s, e, e - s, s / (clock_ghz * 1e9), e / (clock_ghz * 1e9), label)
            for comp, s, e, label in layer_result.intervals]
    df = pd.DataFrame(rows, columns=TIMELINE_COLUMNS)
    return df.sort_values(["component", "start_cycle"], kind="stable").reset_index(drop=True)


def find_layer(run, layer: str):
    for lr in run.layers:
        if lr.name == layer:
            return lr
    names = ", ".join(lr.name for lr in run.layers)
    raise ConfigError("--timeline", f"unknown layer {layer!r}; expected one of {names}")


def timeline_writers(result, layer: str) -> dict:
    """{"timeline.csv": writer(path), "timeline.png": writer(path)} for ``layer`` of a
    ``sim.run.Result`` simulated by the event model."""
    lr = find_layer(result.run, layer)
    if not lr.intervals and lr.cycles > 0:
        raise ConfigError("--timeline", f"layer {layer!r} has no recorded intervals; use --engine event")
    df = timeline_frame(lr, result.run.clock_ghz)

    def write_csv(path):
        from ..report.write import write_csv as atomic_csv
        atomic_csv(df, path)

    def write_png(path):
        plot_timeline(df, lr, Path(path))

    return {"timeline.csv": write_csv, "timeline.png": write_png}


def plot_timeline(df: pd.DataFrame, lr, path: Path) -> None:
    """Gantt chart: one row per component, a bar per busy interval."""
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    comps = sorted(df["component"].unique(), key=_component_order) if len(df) else []
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.22 * max(1, len(comps))))
    colors = {"dram": "tab:red", "sram": "tab:blue", "pe": "tab:green", "reprogram": "tab:purple",
              "lnzd": "tab:orange"}
    for y, comp in enumerate(comps):
        part = df[df["component"] == comp]
        kind = next((k for k in colors if comp.startswith(k)), "pe")
        ax.broken_barh(list(zip(part["start_cycle"], part["cycles"])), (y - 0.4, 0.8), color=colors[kind])
    ax.set_yticks(range(len(comps)))
    ax.set_yticklabels(comps, fontsize=6 if len(comps) > 20 else 8)
    ax.set_ylim(-0.8, max(1, len(comps)) - 0.2)
    ax.set_xlim(0, max(1, lr.cycles))
    ax.set_xlabel("cycle")
    stalls = ", ".join(f"{k} {v}" for k, v in lr.stalls.items() if v)
    ax.set_title(f"{lr.name}: {lr.cycles} cycles (bound {lr.bound_cycles}); stalls: {stalls or 'none'}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _component_order(name: str):
    for i, prefix in enumerate(("dram", "sram", "reprogram", "lnzd", "pe")):
        if name.startswith(prefix):
            tail = name[name.find("[") + 1:-1] if "[" in name else ""
            return (i, int(tail) if tail.isdigit() else -1, name)
    return (9, 0, name)
