"""Per-component busy intervals of one layer as a long-format table (the plot is in report/timeline.py).

The event model records ``(component, start_cycle, end_cycle, label)`` for every DRAM channel
hold, SRAM port hold, weight reprogramming and PE group's work (``LayerResult.intervals``).
"""
from __future__ import annotations

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
    raise ConfigError("timeline", f"unknown layer {layer!r}; expected one of {names}")
