"""Energy per action (pJ), from a named table, scaled to the design's technology node.

Terms used across sim (defined once here):
  mrr  = microring resonator (a weight element of a photonic bank; tuned electro-optically (EO,
         fast, per weight update) or thermo-optically (TO, slow, at calibration, then held))
  pd   = photodetector (sums a VDU's wavelengths into one photocurrent)
  vdu  = vector dot-product unit (one waveguide of ``vector_width`` wavelengths, one pd, one adc)
  vcsel = vertical-cavity surface-emitting laser (SONIC's per-element light source, power-gated on zeros)
  dac / adc = digital-to-analog / analog-to-digital converter
  tia  = transimpedance amplifier after a pd (CrossLight)

The engine counts ``(component, action)`` pairs; ``sim.engine.dataflows.action_energies`` prices
every pair a design can produce from ``base_energies`` here and its kind's own entries. Sources: reference/published.md §5 (Horowitz 45 nm, EIE Table I) and §1 (SONIC
Table 2, CrossLight Table II).
"""
from __future__ import annotations

import math

import numpy as np

from .spec import BufferSpec, HardwareConfig

# Horowitz, ISSCC 2014, 45 nm, 0.9 V (published.md §5.1). Integer adders scale linearly with width and
# multipliers with the product of operand widths, fitted through the table's 8- and 32-bit points:
# add: 0.1 pJ at 32 bits (8-bit: 0.025, table 0.03); mult: 3.1 pJ at 32x32 (8x8: 0.19, table 0.2).
HOROWITZ45 = {
    "int_add_pj_per_bit": 0.1 / 32,
    "int_mult_pj_per_bit2": 3.1 / (32 * 32),
    "fp32_add_pj": 0.9,
    "fp32_mult_pj": 3.7,
    "fp16_add_pj": 0.4,
    "fp16_mult_pj": 1.1,
    # SRAM, pJ per 64-bit access by capacity (8 KB, 32 KB, 1 MB).
    "sram_points": ((8.0, 10.0), (32.0, 20.0), (1024.0, 100.0)),
    # Register file per bit: Horowitz gives none; Aladdin's 40 nm register, 0.009 pJ/bit (published.md §5.2).
    "register_pj_per_bit": 0.009,
}
TABLES = {"horowitz45": HOROWITZ45}

# Stillmaker & Baas 2017 energy factors relative to 45 nm (published.md §5.3).
_NODES = (130, 90, 65, 45, 32, 20, 16, 14, 10, 7)
_SCALING = {
    0.8: (3.07, 1.90, 1.24, 1.00, 0.66, 0.22, 0.17, 0.14, 0.12, 0.094),
    0.9: (3.17, 1.95, 1.25, 1.00, 0.64, 0.24, 0.19, 0.15, 0.13, 0.10),
    1.0: (3.31, 2.04, 1.31, 1.00, 0.63, 0.25, 0.20, 0.16, 0.14, 0.11),
}


def node_factor(node_nm: float, vdd_v: float = 0.9) -> float:
    """Dynamic-energy factor of ``node_nm`` relative to 45 nm (log-log interpolation; beyond the
    table, the end factor is extrapolated with sqrt of the node ratio as hwcomponents does)."""
    factors = _SCALING[vdd_v]
    nodes = np.log(np.array(_NODES[::-1], dtype=float))
    vals = np.log(np.array(factors[::-1], dtype=float))
    if node_nm < _NODES[-1]:
        return factors[-1] * math.sqrt(node_nm / _NODES[-1])
    if node_nm > _NODES[0]:
        return factors[0] * math.sqrt(node_nm / _NODES[0])
    return float(np.exp(np.interp(math.log(node_nm), nodes, vals)))


def sram_pj_per_bit(size_kb: float, table: dict = HOROWITZ45) -> float:
    """Per-bit access energy of an SRAM of ``size_kb`` (piecewise log-log through the table)."""
    pts = table["sram_points"]
    xs = [math.log(s) for s, _ in pts]
    ys = [math.log(e) for _, e in pts]
    x = math.log(max(size_kb, 1e-3))
    if x <= xs[0]:
        i = 0
    elif x >= xs[-1]:
        i = len(xs) - 2
    else:
        i = max(j for j in range(len(xs) - 1) if xs[j] <= x)
    slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
    return math.exp(ys[i] + slope * (x - xs[i])) / 64.0


def int_mac_pj(weight_bits: int, act_bits: int, acc_bits: int, table: dict = HOROWITZ45) -> float:
    """One integer multiply (w x a bits) plus one accumulate (acc bits), 45 nm."""
    return table["int_mult_pj_per_bit2"] * weight_bits * act_bits + table["int_add_pj_per_bit"] * acc_bits


def buffer_pj_per_bit(buf: BufferSpec, write: bool, table: dict = HOROWITZ45) -> tuple[float, bool]:
    """(pJ/bit, from_table). Explicit config values are taken as given (not node-scaled)."""
    explicit = buf.write_pj_per_bit if write else buf.read_pj_per_bit
    if explicit is not None:
        return explicit, False
    bank_kb = buf.size_kb / buf.banks  # an access touches one bank
    return sram_pj_per_bit(bank_kb, table), True


def base_energies(hw: HardwareConfig, table: dict, f: float) -> dict[tuple[str, str], float]:
    """pJ of what every design has: its on-chip buffers (by size from the table, node-scaled by
    ``f``, unless the config gives pJ/bit), DRAM, and static power per cycle. Each dataflow kind
    adds its own entries (``sim.engine.dataflows``)."""
    cycle_ns = 1.0 / hw.clock_ghz
    e: dict[tuple[str, str], float] = {}
    for buf in hw.memory.buffers:
        for write, action in ((False, "read_bits"), (True, "write_bits")):
            pj, scaled = buffer_pj_per_bit(buf, write, table)
            e[(buf.name, action)] = pj * (f if scaled else 1.0)
    e[("dram", "read_bits")] = hw.memory.dram.read_pj_per_bit
    e[("dram", "write_bits")] = hw.memory.dram.write_pj_per_bit
    e[("static", "cycles")] = hw.static_power_w * 1e3 * cycle_ns  # W -> mW; mW x ns = pJ
    return e
