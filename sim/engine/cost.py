"""Analytical cost: the roofline bound of every layer, and first-fidelity cycles and counts.

The bound (DESIGN.md, "Bounds") is ``max(compute cycles at full utilization, DRAM cycles at full
bandwidth)``, computed from the same counts the event model uses; no simulated result may beat it.
Compute work is dense MACs on hardware that cannot skip zeros and effectual MACs on hardware that
can. The first-fidelity cost below is what runs when no event model is chosen: the bound, plus the
real load imbalance of PE assignments that the WorkProfile already knows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..hardware.energy import bits_of
from ..compression.nm import nm_storage_bits
from ..kernels.relindex import csc_relative_entries
from ..hardware.spec import HardwareConfig
from ..workload.network import Layer, Network
from .photonic import group_for as photonic_group_for
from .photonic import photonic_layer_work, time_based_counts
from .buffers import buffer_capacity_bytes
from .precision import mac_slots, nm_mode, stored_weight_bits
from .profile import LayerWork, WorkProfile
from .result import LayerResult, RunResult

POINTER_BITS = 16  # EIE's column pointers are 16-bit (published.md §2.1)


def ceil_div(a: int, b: int) -> int:
    return -(-int(a) // int(b))


def dram_bytes_per_cycle(hw: HardwareConfig) -> float:
    return hw.memory.dram.bandwidth_gbps / hw.clock_ghz  # GB/s / Gcycles/s


def is_sparse(hw: HardwareConfig) -> bool:
    """Does the design store and skip zero weights?"""
    if hw.pe_array is not None:
        return hw.pe_array.skip_zero_weights
    sp = hw.photonic.sparsity
    return sp.conv_compression or sp.fc_compression


def weight_storage_bits(layer: Layer, hw: HardwareConfig) -> int:
    """Bits the design stores for this layer's weights, in its own format.

    Dense designs store every weight at the weight width. Sparse designs store the nonzeros at
    the code width plus a relative index per entry, with Deep Compression / EIE filler zeros
    when a gap exceeds the index range, plus a column pointer per input column (EIE).
    """
    if not layer.is_weighted:
        return 0
    wbits = stored_weight_bits(layer, hw)  # packed when the model's integers are narrower
    mode = nm_mode(layer, hw)
    if mode:
        return nm_storage_bits(layer.weight, *mode, wbits)
    if not is_sparse(hw):
        return layer.weight_count * wbits
    index_bits = hw.pe_array.index_bits if hw.pe_array is not None and hw.pe_array.index_bits else 8
    entries = relative_index_entries(layer.weight, index_bits)
    pointers = layer.weight.reshape(layer.weight.shape[0], -1).shape[1] + 1
    return entries * (wbits + index_bits) + pointers * POINTER_BITS


def relative_index_entries(weight: np.ndarray, index_bits: int) -> int:
    """Stored entries of the column-wise relative-index format: nonzeros plus filler zeros
    inserted whenever a run of zeros is longer than the index can encode (2**bits - 1)."""
    w = np.ascontiguousarray(weight.reshape(weight.shape[0], -1))
    return int(csc_relative_entries(w, int(index_bits)))


@dataclass(frozen=True)
class Traffic:
    dram_read_bytes: int
    dram_write_bytes: int
    weight_bits: int  # the layer's weights in the design's storage format
    in_bits: int
    out_bits: int
    weight_dram_bits: int = 0  # the part of weight_bits not resident on chip: streamed from DRAM
    spill: bool = False  # input + output activations do not fit the activation buffer: both go via DRAM


def layer_traffic(layer: Layer, lw: LayerWork, hw: HardwareConfig, first: bool, last: bool,
                  resident: float, storage_bits: int | None = None) -> Traffic:
    """DRAM traffic of one layer at first fidelity: the weights once per batch, less the fraction
    ``resident`` on chip; activations spill to DRAM when input + output do not fit the activation
    buffer. storage_bits: ``weight_storage_bits(layer, hw)`` when the caller already has it."""
    _, abits = bits_of(hw)
    wbits = weight_storage_bits(layer, hw) if storage_bits is None else storage_bits
    in_bits = lw.in_act_count * abits
    out_bits = lw.out_act_count * abits
    spill = (in_bits + out_bits) > _capacity_bits(hw.memory.buffer_for("inputs"), hw)
    streamed = wbits - int(round(float(resident) * wbits))
    dram_read = streamed
    if first or spill:
        dram_read += in_bits
    dram_write = out_bits if (last or spill) else 0
    return Traffic(ceil_div(dram_read, 8), ceil_div(dram_write, 8), wbits, in_bits, out_bits, streamed, spill)


def _capacity_bits(buf, hw: HardwareConfig) -> int:
    """Total bits of a buffer (per-PE buffers summed over the PEs); 0 when there is none."""
    return 0 if buf is None else 8 * buffer_capacity_bytes(buf, hw)


def weights_on_chip(net: Network, hw: HardwareConfig, storage_bits: list[int] | None = None) -> list[float]:
    """Per layer: the fraction of its weights resident on chip (0 when the design streams weights).

    A design that keeps its model on chip (EIE) holds as much as its weight SRAM allows; what
    does not fit streams from DRAM on every use, in proportion, rather than all or nothing. An
    independent-layer network is a set of separate benchmarks (EIE Table III), each loaded on its
    own; otherwise the whole network shares the SRAM. storage_bits: per-layer
    ``weight_storage_bits`` when the caller already has them."""
    if not hw.memory.weights_resident:
        return [0.0] * len(net.layers)
    if storage_bits is None:
        storage_bits = [weight_storage_bits(lay, hw) for lay in net.layers]
    cap = _capacity_bits(hw.memory.buffer_for("weights"), hw)
    if not net.independent:
        total = sum(storage_bits)
        return [min(1.0, cap / total) if total else 1.0] * len(net.layers)
    return [min(1.0, cap / bits) if bits else 1.0 for bits in storage_bits]


def performed_macs(lw: LayerWork, hw: HardwareConfig, layer: Layer | None = None) -> int:
    """MACs an electronic array really spends cycles on (given the layer: fewer MAC-unit
    cycles under sparse-tensor-core N:M mode or sub-word parallelism, sim/engine/precision.py)."""
    pe = hw.pe_array
    if pe.skip_zero_weights and pe.skip_zero_acts:
        work = lw.effectual_macs
    elif pe.skip_zero_weights:
        work = lw.effectual_macs + lw.skipped_zero_act
    else:
        work = lw.macs
    return work if layer is None else mac_slots(layer, hw, work)


def eie_pe_loads(lw: LayerWork, n_pes: int) -> np.ndarray:
    """Effectual MACs per PE when output rows are interleaved over PEs (row i on PE i mod N)."""
    work = lw.out_work
    if work.size == 0:
        return np.zeros(n_pes, dtype=np.int64)
    pad = (-work.size) % n_pes
    return np.r_[work, np.zeros(pad, dtype=np.int64)].reshape(-1, n_pes).sum(axis=0)


def activation_lanes(hw: HardwareConfig) -> int:
    """Elements per cycle of the electronic activation/pooling unit. ASSUMPTION: one lane per
    systolic column (TPU's activation pipeline is as wide as the array), one per EIE PE, and one
    per photonic VDU output (the electronic side handles each unit's results)."""
    if hw.pe_array is not None:
        pe = hw.pe_array
        return pe.count if pe.dataflow == "eie" else pe.cols
    ph = hw.photonic
    return ph.conv_units.count + ph.fc_units.count


def charge_memory(lr: LayerResult, hw: HardwareConfig, t: Traffic) -> None:
    """Count DRAM and SRAM bits moved by one layer (each datum written into its buffer once and
    read from it once at first fidelity)."""
    mem = hw.memory
    lr.add("dram", "read_bits", 8 * t.dram_read_bytes)
    lr.add("dram", "write_bits", 8 * t.dram_write_bytes)
    wbuf, ibuf, obuf = mem.buffer_for("weights"), mem.buffer_for("inputs"), mem.buffer_for("outputs")
    if t.weight_bits:
        lr.add(wbuf.name, "write_bits", t.weight_dram_bits)  # what streamed in during this run
        lr.add(wbuf.name, "read_bits", t.weight_bits)
    lr.add(ibuf.name, "read_bits", t.in_bits)
    lr.add(obuf.name, "write_bits", t.out_bits)
    lr.dram_bytes = t.dram_read_bytes + t.dram_write_bytes
    lr.sram_bytes = ceil_div(t.weight_bits + t.in_bits + t.out_bits, 8)


def electronic_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic, fused: bool) -> LayerResult:
    pe = hw.pe_array
    peak = pe.count * pe.macs_per_pe_per_cycle
    memory_cycles = math.ceil(t.dram_read_bytes / dram_bytes_per_cycle(hw) + t.dram_write_bytes / dram_bytes_per_cycle(hw))
    if layer.is_weighted:
        work = performed_macs(lw, hw, layer)
        compute = ceil_div(work, peak)
        if pe.dataflow == "eie":
            loads = eie_pe_loads(lw, pe.count)
            actual = ceil_div(int(loads.max()), pe.macs_per_pe_per_cycle)
        else:
            actual = compute
        lr = LayerResult(layer.name, layer.kind, cycles=max(actual, memory_cycles),
                         bound_cycles=max(compute, memory_cycles), compute_cycles=compute,
                         memory_cycles=memory_cycles, macs_performed=work, peak_macs_per_cycle=peak)
        lr.stalls["load_imbalance"] = max(0, min(actual, lr.cycles) - compute) if actual > memory_cycles else 0
        lr.stalls["dram_bandwidth"] = max(0, memory_cycles - actual)
        lr.add("pe_array", "mac", work)
        if pe.codebook_bits:
            lr.add("codebook", "lookup", work)
    else:
        ops = lw.in_act_count if layer.kind != "flatten" else 0
        compute = 0 if (fused or layer.kind == "flatten") else ceil_div(ops, activation_lanes(hw))
        lr = LayerResult(layer.name, layer.kind, cycles=max(compute, memory_cycles),
                         bound_cycles=max(compute, memory_cycles), compute_cycles=compute,
                         memory_cycles=memory_cycles, peak_macs_per_cycle=peak)
        lr.add("activation_unit", "op", ops)
    charge_memory(lr, hw, t)
    return lr


def photonic_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic, fused: bool) -> LayerResult:
    """First-fidelity photonic cost: ``photonic.photonic_layer_work`` (the same device model the
    event model uses) plus DRAM at full bandwidth; compute and memory overlap."""
    memory_cycles = math.ceil((t.dram_read_bytes + t.dram_write_bytes) / dram_bytes_per_cycle(hw))
    if not layer.is_weighted:
        ops = lw.in_act_count if layer.kind != "flatten" else 0
        compute = 0 if (fused or layer.kind == "flatten") else ceil_div(ops, activation_lanes(hw))
        lr = LayerResult(layer.name, layer.kind, cycles=max(compute, memory_cycles),
                         bound_cycles=max(compute, memory_cycles), compute_cycles=compute, memory_cycles=memory_cycles)
        lr.add("activation_unit", "op", ops)
        charge_memory(lr, hw, t)
        return lr
    pw = photonic_layer_work(layer, lw, hw)
    group = photonic_group_for(layer, hw)
    peak = group.count * group.vector_width
    bound = max(ceil_div(pw.elements, peak) * pw.op_cycles, memory_cycles)
    lr = LayerResult(layer.name, layer.kind, cycles=max(pw.cycles, memory_cycles), bound_cycles=bound,
                     compute_cycles=pw.compute_cycles, memory_cycles=memory_cycles, macs_performed=pw.elements,
                     peak_macs_per_cycle=pw.peak_elements_per_cycle)
    lr.stalls["reprogramming"] = pw.reprogram_cycles
    lr.stalls["dram_bandwidth"] = max(0, memory_cycles - pw.cycles)
    lr.counts.update(pw.counts)
    charge_memory(lr, hw, t)
    # The DACs read an operand code per conversion: charge the buffer reads beyond the one pass
    # charge_memory counted (fc activations reused per unit, weights reloaded per sample).
    mem = hw.memory
    lr.add(mem.buffer_for("inputs").name, "read_bits", max(0, pw.act_read_bits - t.in_bits))
    lr.add(mem.buffer_for("weights").name, "read_bits", max(0, pw.weight_read_bits - t.weight_bits))
    return lr


def fused_flags(net: Network) -> list[bool]:
    """A relu right after a weighted layer is applied in that layer's output pipeline (no cycles)."""
    flags = []
    prev = None
    for layer in net.layers:
        flags.append(layer.kind in ("relu", "relu6") and prev is not None and prev.is_weighted and not layer.inputs)
        prev = layer
    return flags


def estimate(net: Network, profile: WorkProfile, hw: HardwareConfig) -> RunResult:
    """First-fidelity cost of a whole run."""
    storage = [weight_storage_bits(layer, hw) for layer in net.layers]  # computed once: it walks every weight
    resident = weights_on_chip(net, hw, storage)
    results = []
    fused = fused_flags(net)
    n = len(net.layers)
    for i, (layer, lw) in enumerate(zip(net.layers, profile.layers)):
        first = i == 0 or net.independent
        last = i == n - 1 or net.independent
        t = layer_traffic(layer, lw, hw, first, last, resident[i], storage[i])
        fn = photonic_layer if hw.kind == "photonic" else electronic_layer
        results.append(fn(layer, lw, hw, t, fused[i]))
    add_time_based(results, hw)
    return RunResult(hw.name, net.name, profile.batch, hw.clock_ghz, results, weight_storage_bits=sum(storage))


def add_time_based(results: list[LayerResult], hw: HardwareConfig) -> None:
    """Static power (and, on photonic designs, ring holding, laser and TIAs) x each layer's cycles."""
    for lr in results:
        if hw.photonic is not None:
            lr.counts.update(time_based_counts(hw, lr.cycles))
        else:
            lr.add("static", "cycles", lr.cycles)
