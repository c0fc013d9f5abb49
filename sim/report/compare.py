"""The rows of a comparison (``sim.compare``): one row per design of ``comparison.csv`` (the summary
columns, the energy per inference of each device class, and the one-time calibration), and the
variants of ``ablation.csv``: for every photonic design, SONIC's sparsity techniques all on, each
switched off in turn, and all off. ``sim.api`` costs the designs and builds the tables from these.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..engine import dataflows
from ..engine.dataflows import action_energies
from ..hardware.spec import HardwareConfig
from .price import SUMMARY_COLUMNS

# Device classes of the energy breakdown, in report order (every dataflow kind's own, then SRAM
# -- every named on-chip buffer -- DRAM, electronic MACs and static power).
DEVICES = dataflows.device_classes()
SWITCHES = ("fc_compression", "conv_compression", "vcsel_power_gating", "weight_clustering")
BREAKDOWN_COLUMNS = [f"energy_{d}_pj" for d in DEVICES]
CALIBRATION_COLUMNS = ["calibration_latency_s", "calibration_energy_pj"]
COMPARISON_COLUMNS = (["hwconfig"] + [c for c in SUMMARY_COLUMNS if c != "hwconfig"] + BREAKDOWN_COLUMNS
                      + CALIBRATION_COLUMNS)
ABLATION_COLUMNS = ["hwconfig", "variant"] + list(SWITCHES) + COMPARISON_COLUMNS[1:]


def device_of(component: str, hw: HardwareConfig) -> str:
    """Device class of a counted component (its dataflow kind decides; buffers by their names)."""
    device = dataflows.get(hw).device_of(component, hw)
    if device is None:
        raise KeyError(f"component {component!r} of {hw.name} has no device class in its dataflow kind")
    return device


def device_breakdown(energy: pd.DataFrame, hw: HardwareConfig, batch: int = 1) -> dict[str, float]:
    """Energy per inference (pJ) of each device class; the classes sum to the run's total / batch."""
    out = dict.fromkeys(DEVICES, 0.0)
    for comp, pj in energy.groupby("component")["energy_pj"].sum().items():
        out[device_of(comp, hw)] += float(pj) / batch
    return out


def calibration_cost(hw: HardwareConfig) -> tuple[float, float]:
    """(latency s, energy pJ) of the one-time calibration at boot (photonic TO tuning); NaN when
    the design's kind has none."""
    cal = dataflows.get(hw).calibration(hw)
    if cal is None:
        return float("nan"), float("nan")
    prices = action_energies(hw)
    return cal.cycles / (hw.clock_ghz * 1e9), float(sum(n * prices[k] for k, n in cal.counts.items()))


def comparison_row(result) -> dict:
    """One design's row: summary, breakdown per device class, calibration (a sim.run.Result in)."""
    row = result.summary.iloc[0].to_dict()
    breakdown = device_breakdown(result.energy, result.hw, int(row["batch"]))
    row.update({f"energy_{d}_pj": v for d, v in breakdown.items()})
    row["calibration_latency_s"], row["calibration_energy_pj"] = calibration_cost(result.hw)
    return row


def ablation_variants(hw: HardwareConfig) -> list[tuple[str, HardwareConfig]]:
    """All techniques on, each switched off in turn, all off (photonic designs only)."""
    sp = hw.photonic.sparsity

    def with_switches(**flags):
        return replace(hw, photonic=replace(hw.photonic, sparsity=replace(sp, **flags)))

    all_on = dict.fromkeys(SWITCHES, True)
    variants = [("all_on", with_switches(**all_on))]
    variants += [(f"no_{s}", with_switches(**{**all_on, s: False})) for s in SWITCHES]
    variants.append(("all_off", with_switches(**dict.fromkeys(SWITCHES, False))))
    return variants
