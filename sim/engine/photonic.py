"""Device-level model of a non-coherent WDM microring accelerator (SONIC, CrossLight).

One layer's real work (a ``LayerWork`` from an execution) is folded onto the design's vector
dot-product units (VDUs) and turned into cycles and device events. Both cost paths use it: the
first-fidelity estimate (``cost.photonic_layer``) and the SimPy event model, which takes
``compute_cycles`` / ``reprogram_cycles`` / ``passes`` as the unit work of a layer and adds
memory timing around it. Terms (mrr, pd, vdu, vcsel) are defined atop ``hardware/energy.py``.

Modeling decisions (each is an assumption where the papers are silent):

1. **One VDU op** = one dot product of up to ``vector_width`` elements: each element's value is
   converted by a DAC and put on one wavelength, the weights sit on the unit's microring bank,
   one photodetector sums the wavelengths, one ADC digitises the sum. The stages are pipelined,
   so a unit issues one op per *op period* = the slowest stage: ``max(ADC latency / ADCs per
   unit, activation DAC, VCSEL symbol, PD)``. With SONIC's Table 2 this is the 16-bit ADC at
   14 ns; the 0.33 ns DAC and 0.07 ns VCSEL are 40-200x faster. In CrossLight-style designs
   (``input_modulation: mrr``) the activations are imprinted by EO-tuned input rings, so the
   20 ns EO latency joins the op period whenever the activations change every op.
2. **Weight reprogramming.** Loading new weights EO-tunes the unit's rings in parallel (each
   ring has its own driver) in ``eo_latency_ns``. The ring bank cannot change while light is
   being weighted, but the ADC's track-and-hold has already sampled the previous op, so the
   retune overlaps that op's conversion: each reload stalls the unit for
   ``max(0, eo_latency - op period)`` (SONIC: 20 - 14 = 6 ns). This stall is ``reprogram_cycles``.
3. **Conv layers: weight-stationary.** Each output channel's kernel, unrolled and (with conv
   compression) stripped of its zero weights, is cut into ``vector_width`` chunks. A chunk is
   tuned onto a unit once and every output position of every sample streams past it, so retuning
   happens once per chunk, not per position. When there are fewer chunks than units, chunks are
   replicated and the positions split among the replicas (one extra weight load per replica).
   Activations are gathered per chunk (a compressed kernel picks its own input elements), so each
   element of each op is one activation DAC conversion.
4. **FC layers: activation-stationary, per sample.** With fc compression each sample keeps only
   its nonzero activations and the matching weight columns, so the column set changes per sample
   and weights cannot stay on the rings across samples. A unit holds a chunk of the (compressed)
   activation vector on its DACs and VCSELs and retunes its rings for each output row: the
   16-bit activation is converted once per unit that uses the chunk and reused across rows; the
   cheap 6-bit weights are converted per row. Ops are dealt to units in chunk-major contiguous
   blocks (balanced to one op), which keeps the number of units sharing a chunk small. Every fc op
   is therefore a weight reload (SONIC fc ops take 20 ns: the EO latency, not the ADC, bounds them).
5. **Power gating** (SONIC §IV.B): a VCSEL emits a symbol only when both its activation and its
   weight are nonzero; otherwise it is dark (no energy). Without gating, every driven element
   emits. DACs still convert every driven element (gating changes only the light). In ``mrr``
   input mode the light comes from a shared continuous-wave laser, so gating has nothing to switch.
6. **Electronics**: one accumulator add per op (partial sums of a row's chunks and of a kernel's
   chunks are summed digitally); activation and pooling layers are charged by ``cost.py``.
8. **Matmul of two activations** (attention QK^T, AV): no weights exist ahead of time, so the
   (K x N) operand is programmed onto the conv VDUs' rings at run time, one weight-DAC conversion
   and one EO tune per element (x replicas), and the other operand drives the VCSELs. The rings
   take the operand at the weight DAC's resolution (ASSUMPTION: a wider operand is rounded to it).
7. **Time-based power** (``time_based_counts``): the design's static power, thermo-optic holding
   power of every ring (weight rings, batch-norm rings, input rings), the external laser sized by
   CrossLight's Eq. 7, and TIAs, all x the simulated cycles. TO *calibration* (4 us, all rings in
   parallel) happens at boot (CrossLight §IV.B: TO at boot, rarely afterwards), so it is reported
   by ``calibration`` as a one-time cost and not charged per inference.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..hardware.spec import HardwareConfig, UnitGroupSpec
from ..workload.network import Layer
from .profile import LayerWork


@dataclass(frozen=True)
class OpTiming:
    """Per-op timing of one VDU group, in ns and in core cycles."""

    op_ns: float  # period between ops of one unit (slowest pipeline stage)
    op_cycles: int
    reload_stall_ns: float  # EO retune time not hidden behind the previous op's ADC conversion
    reload_stall_cycles: int


@dataclass
class PhotonicLayerWork:
    """One weighted layer on one photonic design.

    compute_cycles: the busiest unit's ops x op period (all VDU rounds of the layer).
    reprogram_cycles: the busiest unit's EO weight-retuning stalls that cannot overlap compute.
    passes: sequential rounds in which each unit holds one assignment (conv: weight-tile rounds;
        fc: samples, because each sample's compressed column set is a new assignment). >= 1.
    counts: device events keyed (component, action), priced by ``hardware.energy``.
    """

    compute_cycles: int
    reprogram_cycles: int
    passes: int
    counts: Counter = field(default_factory=Counter)
    ops: int = 0  # VDU dot products (one PD detection + one ADC conversion each)
    elements: int = 0  # element slots driven (activation DAC conversions in vcsel mode); the "MACs" of EPB
    weight_loads: int = 0  # ring weight updates (weight DAC conversion + EO tune each)
    act_conversions: int = 0  # activation DAC conversions
    reloads_per_unit: int = 0  # weight reloads on the busiest unit
    ops_per_unit: int = 0  # ops on the busiest unit
    op_cycles: int = 1
    peak_elements_per_cycle: int = 1  # units x width / op period, for utilization
    act_read_bits: int = 0  # activation codes the DACs pull from the activation buffer
    weight_read_bits: int = 0  # weight codes the weight DACs pull from the weight buffer

    @property
    def cycles(self) -> int:
        return self.compute_cycles + self.reprogram_cycles


def ceil_div(a, b) -> int:
    return -(-int(a) // int(b))


def group_for(layer: Layer, hw: HardwareConfig) -> UnitGroupSpec:
    """FC layers run on the fc VDUs, convolutions on the conv VDUs (SONIC §IV.C)."""
    ph = hw.photonic
    return ph.fc_units if layer.map_kind == "fc" else ph.conv_units


def op_timing(hw: HardwareConfig, acts_change_every_op: bool) -> OpTiming:
    """Op period and reload stall of a unit (decisions 1 and 2 of the module docstring).

    acts_change_every_op: conv ops bring new activations each op; in ``mrr`` input mode those
    must be EO-tuned onto input rings, which puts the EO latency into the op period.
    """
    ph = hw.photonic
    cycle_ns = 1.0 / hw.clock_ghz
    # vcsel mode: one VCSEL symbol per element per op; mrr mode: the VCSEL re-emits the op's sum.
    stages = [ph.adc.latency_ns / ph.adcs_per_unit, ph.act_dac.latency_ns, ph.photodetector.latency_ns,
              ph.vcsel.latency_ns]
    if ph.input_modulation == "mrr" and acts_change_every_op:
        stages.append(ph.tuning.eo_latency_ns)
    op_ns = max(stages)
    stall_ns = max(0.0, ph.tuning.eo_latency_ns - op_ns)
    return OpTiming(op_ns, max(1, math.ceil(op_ns / cycle_ns - 1e-9)), stall_ns,
                    math.ceil(stall_ns / cycle_ns - 1e-9) if stall_ns > 0 else 0)


def photonic_layer_work(layer: Layer, lw: LayerWork, hw: HardwareConfig) -> PhotonicLayerWork:
    """Fold one weighted layer onto its VDU group; cycles and device events (see module docstring)."""
    if layer.map_kind == "fc":
        work = _fc_work(layer, lw, hw)
    elif layer.map_kind == "conv2d":
        work = _conv_work(layer, lw, hw)
    elif layer.category == "act_matmul":
        work = _act_matmul_work(layer, lw, hw)
    else:
        raise ValueError(f"layer {layer.name!r} of kind {layer.kind!r} has no photonic mapping")
    _charge_devices(work, lw, hw)
    return work


def _fc_work(layer: Layer, lw: LayerWork, hw: HardwareConfig) -> PhotonicLayerWork:
    ph = hw.photonic
    group = ph.fc_units
    width, units = group.vector_width, group.count
    out_f, in_f = layer.weight.shape[0], int(np.prod(layer.weight.shape[1:]))
    b = lw.batch
    if ph.sparsity.fc_compression:
        lengths = np.asarray(lw.in_nnz_per_sample, dtype=np.int64)
        if lengths.size != b:
            raise ValueError(f"layer {layer.name!r}: profile has no per-sample nonzero counts")
    else:
        lengths = np.full(b, in_f, dtype=np.int64)
    timing = op_timing(hw, acts_change_every_op=False)
    ops = act_conv = busiest = 0
    for length in lengths:
        n_ops, per_unit, conversions = fc_sample_schedule(int(length), out_f, units, width)
        ops += n_ops
        busiest += per_unit
        act_conv += conversions
    elements = int(out_f * lengths.sum())
    return PhotonicLayerWork(
        compute_cycles=busiest * timing.op_cycles,
        reprogram_cycles=busiest * timing.reload_stall_cycles,  # every fc op is a reload (decision 4)
        passes=max(1, b), ops=ops, elements=elements, weight_loads=elements,
        act_conversions=act_conv, reloads_per_unit=busiest, ops_per_unit=busiest, op_cycles=timing.op_cycles,
        peak_elements_per_cycle=max(1, units * width // timing.op_cycles))


def fc_sample_schedule(length: int, out_f: int, units: int, width: int) -> tuple[int, int, int]:
    """One sample of an fc layer whose (compressed) activation vector has ``length`` elements.

    The out_f x chunks ops are dealt to ``units`` in chunk-major contiguous blocks of
    q = ceil(ops / units). Returns (ops, ops on the busiest unit, activation DAC conversions), the
    last being each chunk's length x the number of units whose block touches that chunk.
    """
    if length <= 0 or out_f <= 0:
        return 0, 0, 0
    chunks = ceil_div(length, width)
    ops = out_f * chunks
    q = ceil_div(ops, units)
    c = np.arange(chunks, dtype=np.int64)
    first_unit = (c * out_f) // q
    last_unit = ((c + 1) * out_f - 1) // q
    sharing = last_unit - first_unit + 1
    chunk_len = np.full(chunks, width, dtype=np.int64)
    chunk_len[-1] = length - (chunks - 1) * width
    return ops, q, int((chunk_len * sharing).sum())


def _conv_work(layer: Layer, lw: LayerWork, hw: HardwareConfig) -> PhotonicLayerWork:
    ph = hw.photonic
    group = ph.conv_units
    width, units = group.vector_width, group.count
    w = layer.weight.reshape(layer.weight.shape[0], -1)
    if ph.sparsity.conv_compression:
        k_len = np.count_nonzero(w, axis=1).astype(np.int64)
        # Elements really driven: MACs with a nonzero weight (padding cells are not MACs).
        elements = lw.effectual_macs + lw.skipped_zero_act
    else:
        k_len = np.full(w.shape[0], w.shape[1], dtype=np.int64)
        elements = lw.macs - lw.padding_macs  # padding taps are not driven
    n_chunks = int(np.sum(-(-k_len // width)))
    stream = int(np.prod(layer.out_shape[1:])) * lw.batch  # output positions x samples per chunk
    timing = op_timing(hw, acts_change_every_op=True)
    if n_chunks == 0 or stream == 0:
        return PhotonicLayerWork(0, 0, 1, op_cycles=timing.op_cycles)
    replicas = max(1, units // n_chunks)  # spread the position stream over idle units (decision 3)
    tiles = n_chunks * replicas
    passes = ceil_div(tiles, units)
    ops_per_tile = ceil_div(stream, replicas)
    busiest = passes * ops_per_tile
    return PhotonicLayerWork(
        compute_cycles=busiest * timing.op_cycles,
        reprogram_cycles=passes * timing.reload_stall_cycles,
        passes=passes, ops=n_chunks * stream, elements=int(elements),
        weight_loads=int(k_len.sum()) * replicas, act_conversions=int(elements),
        reloads_per_unit=passes, ops_per_unit=busiest, op_cycles=timing.op_cycles,
        peak_elements_per_cycle=max(1, units * width // timing.op_cycles))


def _act_matmul_work(layer: Layer, lw: LayerWork, hw: HardwareConfig) -> PhotonicLayerWork:
    """A matmul of two activations, (M x K) @ (K x N) per sample and head (decision 8): the conv
    VDUs run it weight-stationary with the (K x N) operand on the rings, programmed at run time:
    each of its N columns is cut into ``vector_width`` chunks, every element of a chunk is
    converted by the weight DAC and EO-tuned onto a ring (no compression: the operand is not
    known ahead of time), and the M rows of the other operand stream past the chunk on the
    VCSELs (one activation DAC conversion per element of each op). Chunks, replicas and passes
    are dealt as conv chunks are (decision 3)."""
    ph = hw.photonic
    group = ph.conv_units
    width, units = group.vector_width, group.count
    lead = int(np.prod(layer.out_shape[:-2])) if len(layer.out_shape) > 2 else 1
    g, m, k, n = lw.batch * lead, int(layer.out_shape[-2]), int(layer.attrs["k"]), int(layer.out_shape[-1])
    timing = op_timing(hw, acts_change_every_op=True)
    n_chunks = g * n * ceil_div(k, width)
    elements = lw.macs - lw.padding_macs  # causally masked outputs are not driven
    if n_chunks == 0 or m == 0:
        return PhotonicLayerWork(0, 0, 1, op_cycles=timing.op_cycles)
    replicas = max(1, units // n_chunks)
    passes = ceil_div(n_chunks * replicas, units)
    busiest = passes * ceil_div(m, replicas)
    return PhotonicLayerWork(
        compute_cycles=busiest * timing.op_cycles,
        reprogram_cycles=passes * timing.reload_stall_cycles,
        passes=passes, ops=n_chunks * m, elements=int(elements),
        weight_loads=g * k * n * replicas, act_conversions=int(elements),
        reloads_per_unit=passes, ops_per_unit=busiest, op_cycles=timing.op_cycles,
        peak_elements_per_cycle=max(1, units * width // timing.op_cycles))


def _charge_devices(work: PhotonicLayerWork, lw: LayerWork, hw: HardwareConfig) -> None:
    """Device events of a mapped layer (decisions 1, 5 and 6)."""
    ph = hw.photonic
    c = work.counts
    wbits = ph.weight_dac.bits if ph.sparsity.weight_clustering else ph.weight_dac_dense.bits
    c[("act_dac", "convert")] += work.act_conversions
    c[("weight_dac", "convert")] += work.weight_loads
    c[("mrr", "eo_tune")] += work.weight_loads
    if ph.input_modulation == "vcsel":
        lit = min(lw.effectual_macs, work.elements) if ph.sparsity.vcsel_power_gating else work.elements
        c[("vcsel", "symbol")] += lit
        c[("photodetector", "detect")] += work.ops
    else:
        # CrossLight: an EO-tuned input ring imprints each converted activation on the laser light;
        # a VCSEL re-emits each op's partial sum for optical accumulation at a second PD.
        c[("input_mrr", "eo_tune")] += work.act_conversions
        c[("vcsel", "symbol")] += work.ops
        c[("photodetector", "detect")] += 2 * work.ops
    c[("adc", "convert")] += work.ops
    c[("accumulator", "add")] += work.ops
    for key in [k for k, v in c.items() if v == 0]:
        del c[key]
    work.act_read_bits = work.act_conversions * ph.act_dac.bits
    work.weight_read_bits = work.weight_loads * wbits


def ring_count(hw: HardwareConfig) -> int:
    """Rings held at their calibrated resonance: weight rings, batch-norm rings, input rings."""
    ph = hw.photonic
    per_unit_extra = ph.broadband_mr_per_unit
    total = 0
    for g in (ph.conv_units, ph.fc_units):
        input_rings = g.vector_width if ph.input_modulation == "mrr" else 0
        total += g.count * (g.vector_width + per_unit_extra + input_rings)
    return total


def unit_count(hw: HardwareConfig) -> int:
    ph = hw.photonic
    return ph.conv_units.count + ph.fc_units.count


def time_based_counts(hw: HardwareConfig, cycles: int) -> Counter:
    """Power drawn regardless of work over ``cycles``: static power, TO holding of every ring,
    the external laser (Eq. 7) and one TIA per unit's photodetector."""
    c = Counter()
    if cycles <= 0:
        return c
    c[("static", "cycles")] += cycles
    ph = hw.photonic
    if ph is None:
        return c
    c[("mrr", "to_hold_ring_cycles")] += ring_count(hw) * cycles
    if ph.optics.external_laser:
        c[("laser", "on_cycles")] += cycles
    if ph.tia is not None:
        c[("tia", "on_unit_cycles")] += unit_count(hw) * cycles
    return c


@dataclass(frozen=True)
class Calibration:
    """One-time TO calibration at boot: every ring tuned in parallel (TED tunes a bank at once)."""

    cycles: int
    counts: Counter


def calibration(hw: HardwareConfig) -> Calibration:
    ph = hw.photonic
    cycles = math.ceil(ph.tuning.to_latency_ns * hw.clock_ghz - 1e-9)
    return Calibration(cycles, Counter({("mrr", "to_calibrate"): ring_count(hw)}))
