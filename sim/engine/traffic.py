"""What every dataflow kind shares: DRAM traffic of a layer, on-chip residency of weights, the
relative-index storage rule, and the first-fidelity cost of an electronic PE array and of the
activation unit. Nothing here depends on a kind: each kind (``engine/dataflows``) passes in what
is its own (bit widths, activation lanes, per-PE loads).

The bound (DESIGN.md, "Bounds") is ``max(compute cycles at full utilization, DRAM cycles at full
bandwidth)``, computed from the same counts the event model uses; no simulated result may beat it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..hardware.spec import HardwareConfig
from ..kernels.relindex import csc_relative_entries
from ..workload.network import Layer, Network
from ..workload.ops import BINARY
from .buffers import buffer_capacity_bytes
from .precision import mac_slots
from .profile import LayerWork
from .result import LayerResult


def ceil_div(a: int, b: int) -> int:
    return -(-int(a) // int(b))


def dram_bytes_per_cycle(hw: HardwareConfig) -> float:
    return hw.memory.dram.bandwidth_gbps / hw.clock_ghz  # GB/s / Gcycles/s


def relative_index_entries(weight: np.ndarray, index_bits: int) -> int:
    """Stored entries of the column-wise relative-index format: nonzeros plus filler zeros
    inserted whenever a run of zeros is longer than the index can encode (2**bits - 1)."""
    w = np.ascontiguousarray(weight.reshape(weight.shape[0], -1))
    return int(csc_relative_entries(w, int(index_bits)))


def relative_index_storage_bits(layer: Layer, value_bits: int, index_bits: int, pointer_bits: int) -> int:
    """Deep Compression / EIE storage: every stored entry (nonzeros and filler zeros) at the value
    width plus a relative index, and one column pointer per input column (+1)."""
    entries = relative_index_entries(layer.weight, index_bits)
    pointers = layer.weight.reshape(layer.weight.shape[0], -1).shape[1] + 1
    return entries * (value_bits + index_bits) + pointers * pointer_bits


@dataclass(frozen=True)
class Traffic:
    dram_read_bytes: int
    dram_write_bytes: int
    weight_bits: int  # the layer's weights in the design's storage format
    in_bits: int
    out_bits: int
    weight_dram_bits: int = 0  # the part of weight_bits not resident on chip: streamed from DRAM
    spill: bool = False  # input + output activations do not fit the activation buffer: both go via DRAM


def capacity_bits(buf, hw: HardwareConfig) -> int:
    """Total bits of a buffer (per-PE buffers summed over the PEs); 0 when there is none."""
    return 0 if buf is None else 8 * buffer_capacity_bytes(buf, hw)


def layer_traffic(layer: Layer, lw: LayerWork, hw: HardwareConfig, first: bool, last: bool,
                  resident: float, storage_bits: int, act_bits: int, act_buffer=None) -> Traffic:
    """DRAM traffic of one layer at first fidelity: the weights once per batch, less the fraction
    ``resident`` on chip; activations spill to DRAM when input + output do not fit the activation
    buffer (``act_buffer``, by default the one holding inputs)."""
    in_bits = lw.in_act_count * act_bits
    out_bits = lw.out_act_count * act_bits
    buf = act_buffer if act_buffer is not None else hw.memory.buffer_for("inputs")
    spill = (in_bits + out_bits) > capacity_bits(buf, hw)
    streamed = storage_bits - int(round(float(resident) * storage_bits))
    dram_read = streamed
    if first or spill:
        dram_read += in_bits
    dram_write = out_bits if (last or spill) else 0
    return Traffic(ceil_div(dram_read, 8), ceil_div(dram_write, 8), storage_bits, in_bits, out_bits, streamed, spill)


def weights_on_chip(net: Network, hw: HardwareConfig, storage_bits: list[int]) -> list[float]:
    """Per layer: the fraction of its weights resident on chip (0 when the design streams weights).

    A design that keeps its model on chip (EIE) holds as much as its weight SRAM allows; what
    does not fit streams from DRAM on every use, in proportion, rather than all or nothing. An
    independent-layer network is a set of separate benchmarks (EIE Table III), each loaded on its
    own; otherwise the whole network shares the SRAM. storage_bits: per-layer storage of the
    design's weight format (its kind's ``weight_storage_bits``)."""
    if not hw.memory.weights_resident:
        return [0.0] * len(net.layers)
    cap = capacity_bits(hw.memory.buffer_for("weights"), hw)
    if not net.independent:
        total = sum(storage_bits)
        return [min(1.0, cap / total) if total else 1.0] * len(net.layers)
    return [min(1.0, cap / bits) if bits else 1.0 for bits in storage_bits]


def performed_macs(lw: LayerWork, hw: HardwareConfig, layer: Layer | None = None) -> int:
    """MACs an electronic array really spends cycles on (given the layer: fewer MAC-unit cycles
    under sparse-tensor-core N:M mode or sub-word parallelism, ``precision.mac_slots``)."""
    pe = hw.pe_array
    if pe.skip_zero_weights and pe.skip_zero_acts:
        work = lw.effectual_macs
    elif pe.skip_zero_weights:
        work = lw.effectual_macs + lw.skipped_zero_act
    else:
        work = lw.macs - lw.padding_macs  # a dense array spends no cycles on padding taps
    return work if layer is None else mac_slots(layer, hw, work)


def memory_cycles(hw: HardwareConfig, t: Traffic) -> int:
    bpc = dram_bytes_per_cycle(hw)
    return math.ceil(t.dram_read_bytes / bpc + t.dram_write_bytes / bpc)


def charge_memory(lr: LayerResult, hw: HardwareConfig, t: Traffic, bufs=None) -> None:
    """Count DRAM and SRAM bits moved by one layer (each datum written into its buffer once and
    read from it once at first fidelity). bufs: the (weights, inputs, outputs) buffers, by
    default the first holding each."""
    mem = hw.memory
    lr.add("dram", "read_bits", 8 * t.dram_read_bytes)
    lr.add("dram", "write_bits", 8 * t.dram_write_bytes)
    wbuf, ibuf, obuf = bufs or (mem.buffer_for("weights"), mem.buffer_for("inputs"), mem.buffer_for("outputs"))
    if t.weight_bits:
        lr.add(wbuf.name, "write_bits", t.weight_dram_bits)  # what streamed in during this run
        lr.add(wbuf.name, "read_bits", t.weight_bits)
    lr.add(ibuf.name, "read_bits", t.in_bits)
    lr.add(obuf.name, "write_bits", t.out_bits)
    lr.dram_bytes = t.dram_read_bytes + t.dram_write_bytes
    lr.sram_bytes = ceil_div(t.weight_bits + t.in_bits + t.out_bits, 8)


# Data-movement kinds and the elements each reads: everything (transpose, pad, concat) or only
# what it selects (slice, gather). Reshape and flatten of contiguous data change only the view.
MOVE_READS = {"transpose": "in", "pad": "in", "concat": "in", "slice": "out", "gather": "out"}


@dataclass(frozen=True)
class VectorWork:
    """A layer on the vector / post-processing unit: ALU ops, elements the unit's lanes pass
    (its cycles at one per lane per cycle), and buffer bits read and written."""

    ops: int
    lane_elements: int
    read_bits: int
    write_bits: int


def vector_work(layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic) -> VectorWork:
    """Ops and buffer traffic of a non-matmul layer (elementwise, normalization, pooling, data
    movement). Ops per element come from ``vector_unit.ops_per_element``: unary and normalization
    kinds per input element, pools per input element (one compare / add), binary kinds per output
    element (an n-operand sum takes n - 1 ops). Data movement costs no ALU op but the lanes move
    every element it writes, reading what it selects; a reshape or flatten of contiguous data is a
    new view (reshape moves nothing; flatten keeps its historical one read and write of the layer)."""
    abits = t.in_bits // lw.in_act_count if lw.in_act_count else 0
    kind, cat = layer.kind, layer.category
    per = hw.vector_unit.ops_per_element
    if kind == "reshape":
        return VectorWork(0, 0, 0, 0)
    if kind == "flatten":
        return VectorWork(0, 0, t.in_bits, t.out_bits)
    if cat == "data_movement":
        read = lw.in_act_count if MOVE_READS.get(kind, "in") == "in" else lw.out_act_count
        ops = lw.in_act_count if kind == "concat" else 0  # concat: one pass per element, as it always counted
        return VectorWork(ops, lw.out_act_count, read * abits, t.out_bits)
    if kind in BINARY:
        operands = len(layer.inputs) + (1 if ("operand" in layer.consts or kind == "where") else 0)
        ops = math.ceil(lw.out_act_count * per.of(kind) * max(1, operands - 1))
    else:
        ops = math.ceil(lw.in_act_count * per.of(kind))
    return VectorWork(ops, ops, t.in_bits, t.out_bits)


def elementwise_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic, fused: bool, lanes: int,
                      peak: int = 1, mem_cycles: int | None = None, bufs=None) -> LayerResult:
    """Elementwise / normalization / pooling / data movement on the vector unit of ``lanes`` ops
    per cycle (``vector_unit.lanes`` when set; a relu fused into the previous weighted layer's
    output pipeline takes no cycles). Ops and traffic: ``vector_work``."""
    m = memory_cycles(hw, t) if mem_cycles is None else mem_cycles
    vw = vector_work(layer, lw, hw, t)
    lanes = hw.vector_unit.lanes or lanes
    compute = 0 if fused else ceil_div(vw.lane_elements, lanes)
    lr = LayerResult(layer.name, layer.kind, cycles=max(compute, m), bound_cycles=max(compute, m),
                     compute_cycles=compute, memory_cycles=m, peak_macs_per_cycle=peak)
    lr.add("activation_unit", "op", vw.ops)
    charge_memory(lr, hw, replace(t, in_bits=vw.read_bits, out_bits=vw.write_bits), bufs)
    return lr


def electronic_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic, fused: bool, lanes: int,
                     actual_cycles: int | None = None, work: int | None = None, bufs=None) -> LayerResult:
    """First-fidelity cost of a layer on an electronic PE array: the bound, plus the real load
    imbalance ``actual_cycles`` (slowest PE) when the kind knows it. work: MAC slots spent
    (default ``performed_macs``)."""
    pe = hw.pe_array
    peak = pe.count * pe.macs_per_pe_per_cycle
    m = memory_cycles(hw, t)
    if not (layer.is_weighted or layer.category == "act_matmul"):
        return elementwise_layer(layer, lw, hw, t, fused, lanes, peak, m, bufs)
    work = performed_macs(lw, hw, layer) if work is None else work
    compute = ceil_div(work, peak)
    actual = compute if actual_cycles is None else actual_cycles
    lr = LayerResult(layer.name, layer.kind, cycles=max(actual, m), bound_cycles=max(compute, m),
                     compute_cycles=compute, memory_cycles=m, macs_performed=work, peak_macs_per_cycle=peak)
    lr.stalls["load_imbalance"] = max(0, min(actual, lr.cycles) - compute) if actual > m else 0
    lr.stalls["dram_bandwidth"] = max(0, m - actual)
    lr.add("pe_array", "mac", work)
    if pe.codebook_bits and layer.is_weighted:  # a run-time operand has no codebook
        lr.add("codebook", "lookup", work)
    charge_memory(lr, hw, t, bufs)
    return lr


def fused_flags(net: Network) -> list[bool]:
    """A relu right after a weighted layer is applied in that layer's output pipeline (no cycles)."""
    flags = []
    prev = None
    for layer in net.layers:
        flags.append(layer.kind in ("relu", "relu6") and prev is not None and prev.is_weighted and not layer.inputs)
        prev = layer
    return flags
