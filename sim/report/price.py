"""RunResult x energy table -> report rows (``Table``; ``.frame`` is the pandas DataFrame). The only
place counts meet pJ (count first, price later). A run prices and writes without importing pandas."""
from __future__ import annotations

import numpy as np

from ..engine.result import STALL_CAUSES, RunResult
from ..engine.dataflows import action_energies, bits_of
from ..hardware.spec import HardwareConfig
from .table import Table, column_sum, group_sums

SUMMARY_COLUMNS = ["model", "hwconfig", "batch", "accuracy", "model_accuracy", "cycles", "latency_s", "energy_pj",
                   "energy_per_inference_pj", "power_w", "fps", "fps_per_w", "energy_per_bit_pj",
                   "weight_storage_bytes"]
LAYER_COLUMNS = ["layer", "type", "weight_density", "act_density", "macs", "effectual_macs", "cycles",
                 "compute_cycles", "bound_cycles", "latency_s", "stall_cycles"] + [f"stall_{c}_cycles" for c in STALL_CAUSES] + [
                 "energy_pj", "dram_bytes", "sram_bytes", "utilization", "output_error_rms",
                 "sampled", "sample_fraction", "effectual_macs_ci_low", "effectual_macs_ci_high"]
ENERGY_COLUMNS = ["layer", "component", "action", "count", "pj_per_action", "energy_pj"]
NETWORK_ROW = "(network)"  # energy rows not tied to one layer


def energy_table(result: RunResult, hw: HardwareConfig) -> Table:
    """Long format: one row per (layer, component, action)."""
    table = action_energies(hw)
    rows = []
    groups = [(lr.name, lr.counts) for lr in result.layers]
    if result.global_counts:
        groups.append((NETWORK_ROW, result.global_counts))
    for layer, counts in groups:
        for (comp, action) in sorted(counts):
            n = counts[(comp, action)]
            if (comp, action) not in table:
                raise KeyError(f"no energy for ({comp!r}, {action!r}) in the {hw.energy.table} table of {hw.name}")
            pj = table[(comp, action)]
            rows.append((layer, comp, action, int(n), float(pj), float(n) * float(pj)))
    return Table(ENERGY_COLUMNS, rows)


def layer_table(result: RunResult, profile, energy: Table, output_errors=()) -> Table:
    """One row per layer. output_errors: per layer, the relative RMS error of its output on the
    design's numerics against the float execution (NaN where not measured)."""
    by_layer = group_sums(energy.column("layer"), energy.column("energy_pj"))  # correctly rounded
    rows = []
    errors = list(output_errors) + [np.nan] * (len(result.layers) - len(output_errors))
    for lr, lw, err in zip(result.layers, profile.layers, errors):
        rows.append({
            "layer": lr.name, "type": lr.kind,
            "weight_density": lw.weight_density if lw.weight_count else np.nan,
            "act_density": lw.act_density,
            "macs": lw.macs, "effectual_macs": lw.effectual_macs,
            "cycles": lr.cycles, "compute_cycles": lr.compute_cycles, "bound_cycles": lr.bound_cycles,
            "latency_s": lr.cycles / (result.clock_ghz * 1e9), "stall_cycles": lr.stall_cycles,
            **{f"stall_{c}_cycles": int(lr.stalls.get(c, 0)) for c in STALL_CAUSES},
            "energy_pj": float(by_layer.get(lr.name, 0.0)),
            "dram_bytes": lr.dram_bytes, "sram_bytes": lr.sram_bytes, "utilization": lr.utilization,
            "output_error_rms": float(err),
            "sampled": bool(lw.sampled), "sample_fraction": float(lw.sample_fraction),
            "effectual_macs_ci_low": int(lw.effectual_ci[0]) if lw.effectual_ci else int(lw.effectual_macs),
            "effectual_macs_ci_high": int(lw.effectual_ci[1]) if lw.effectual_ci else int(lw.effectual_macs),
        })
    return Table(LAYER_COLUMNS, [tuple(row[c] for c in LAYER_COLUMNS) for row in rows])


def summary_table(result: RunResult, hw: HardwareConfig, energy: Table, accuracy: float | None,
                  weight_storage_bytes: int, model: str, hwconfig: str,
                  model_accuracy: float | None = None) -> Table:
    """One row. accuracy: on the design's numerics; model_accuracy: the network as given (float). energy_per_bit_pj = energy / bits of weights and activations processed, i.e. each
    MAC slot the hardware spent (an optical element, an array MAC) consumes one weight and one
    activation at the design's bit widths (SONIC/CrossLight's EPB)."""
    energy_pj = column_sum(energy.column("energy_pj"))
    latency_s = result.latency_s
    wbits, abits = bits_of(hw)
    processed_bits = sum(lr.macs_performed for lr in result.layers) * (wbits + abits)
    power_w = energy_pj * 1e-12 / latency_s if latency_s > 0 else np.nan
    fps = result.batch / latency_s if latency_s > 0 else np.nan
    row = {
        "model": model, "hwconfig": hwconfig, "batch": result.batch,
        "accuracy": np.nan if accuracy is None else float(accuracy),
        "model_accuracy": np.nan if model_accuracy is None else float(model_accuracy),
        "cycles": result.cycles, "latency_s": latency_s, "energy_pj": energy_pj,
        "energy_per_inference_pj": energy_pj / result.batch, "power_w": power_w, "fps": fps,
        "fps_per_w": fps / power_w if power_w and power_w > 0 else np.nan,
        "energy_per_bit_pj": energy_pj / processed_bits if processed_bits else np.nan,
        "weight_storage_bytes": int(weight_storage_bytes),
    }
    return Table(SUMMARY_COLUMNS, [tuple(row[c] for c in SUMMARY_COLUMNS)])
