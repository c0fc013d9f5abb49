"""EIE column broadcast (Han et al., ISCA 2016): ``pe_array.dataflow: eie``.

Mapping: per sample, column blocks of ``PEs x act_regfile_entries`` activations (EIE: 64 PEs x
64-entry activation register files, published.md §2.1) run through the per-PE activation-queue
model of ``pe.py``: each nonzero input activation is broadcast to every PE, PE ``p`` owns the
output rows ``r mod P == p``. Convolutions interleave output channels over PEs. Storage: the
relative-index format with ``index_bits`` per entry and ``pointer_bits`` column pointers. The
bound is effectual MACs at full utilization; the first-fidelity cost adds the slowest PE.

A matmul of two activations has no weights encoded ahead of time: per (sample, head) its
(K x N) operand is encoded into the relative-index format in the weight SRAM at run time (a
reprogramming stall, counted and priced), then the other operand's rows are broadcast
(``eie_act_matmul_plan``).
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ...hardware.spec import HardwareConfig
from ...workload.network import Layer
from ..pe import eie_column_work, queue_finish_cycles
from ..profile import LayerWork
from ..result import LayerResult
from ..tiles import LayerIO, LayerSchedule, Tile, act_gemm, buffers_of, nbytes, split, streamed_weights
from ..traffic import ceil_div, electronic_layer
from .base import Dataflow


class EIE(Dataflow):
    key = "eie"
    buffer_data = ("weights", "inputs", "outputs", "pointers")

    def validate(self, data, problems):
        super().validate(data, problems)
        pe = data.get("pe_array") or {}
        if not (pe.get("skip_zero_acts") and pe.get("skip_zero_weights")):
            problems.append("pe_array.dataflow: 'eie' skips zero weights and activations; set "
                            "skip_zero_weights and skip_zero_acts to true")

    def activation_lanes(self, hw):
        """0 in the config means one lane per PE (each PE applies its own rows' activation)."""
        return hw.pe_array.activation_lanes or hw.pe_array.count

    def floor(self, layer, lw, hw, t, fused):
        pe = hw.pe_array
        actual = None
        if layer.category == "act_matmul":
            plan = eie_act_matmul_plan(layer, lw, hw)
            actual = sum(p.encode_cycles + int(p.pe_cycles.max(initial=0)) for p in plan)
            lr = electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw), actual_cycles=actual)
            for p in plan:
                lr.counts.update(p.encode_counts)
            lr.stalls["reprogramming"] = sum(p.encode_cycles for p in plan)
            return lr
        if layer.is_weighted:
            loads = eie_pe_loads(lw, pe.count)
            actual = ceil_div(int(loads.max()), pe.macs_per_pe_per_cycle)
        return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw), actual_cycles=actual)

    def map_weighted(self, layer, lw, hw, io, floor):
        return map_eie(layer, lw, hw, io, floor, self.bits(hw))

    def map_act_matmul(self, layer, lw, hw, io, floor):
        return map_eie_act_matmul(layer, lw, hw, io, floor)


@dataclass
class EncodedOperand:
    """One (sample, head) of a matmul of activations on EIE: the cycles and counts of encoding
    its (K x N) operand into the relative-index format at run time, and each PE's MAC cycles."""

    encode_cycles: int
    encode_counts: Counter
    pe_cycles: np.ndarray
    macs: int
    a_nnz: int


def eie_act_matmul_plan(layer, lw: LayerWork, hw: HardwareConfig) -> list[EncodedOperand]:
    """EIE computes y = W x with W sparse and encoded ahead of time; a matmul of two activations
    (M x K) @ (K x N) has no such W. Per (sample, head) the (K x N) operand becomes W = B^T
    (N rows interleaved over the PEs, K columns): the vector unit scans its K x N elements at
    ``vector_unit.lanes`` (or the activation lanes) per cycle and writes the nonzeros with their
    relative indices and K + 1 column pointers into the weight SRAM (counted: a vector op per
    element, the input-buffer read, the SRAM writes; the scan cannot overlap compute that needs
    it: ``reprogramming`` stall). The M rows of the other operand are then broadcast as EIE's
    input vectors: each nonzero activation meets the nonzeros of its column. Operand densities
    come from the execution's counts (zero skips of each operand); filler zeros are not modelled."""
    pe = hw.pe_array
    abits = pe.act_bits
    g, m, k, n = act_gemm(layer, lw.batch)
    lanes = hw.vector_unit.lanes or pe.activation_lanes or pe.count
    computed = lw.macs - lw.padding_macs
    b_nz_cells = lw.effectual_macs + lw.skipped_zero_act  # MAC cells where the (K x N) operand is nonzero
    b_density = b_nz_cells / computed if computed else 0.0
    a_density = lw.effectual_macs / b_nz_cells if b_nz_cells else 0.0
    b_entries = split(int(round(b_density * g * k * n)), np.ones(g))
    a_nnz = split(int(round(a_density * g * m * k)), np.ones(g))
    macs = split(lw.effectual_macs, np.ones(g))
    wbuf, ibuf, _ = buffers_of(hw)
    ptr_buf = hw.memory.buffer_for("pointers") or wbuf
    plan = []
    for i in range(g):
        c = Counter()
        c[("activation_unit", "op")] += k * n  # compare-and-compact every element
        c[(ibuf.name, "read_bits")] += k * n * abits
        c[(wbuf.name, "write_bits")] += int(b_entries[i]) * (abits + pe.index_bits)
        c[(ptr_buf.name, "write_bits")] += (k + 1) * pe.pointer_bits
        per_pe = split(int(macs[i]), np.ones(pe.count))
        plan.append(EncodedOperand(-(-k * n // lanes), +c, -(-per_pe // pe.macs_per_pe_per_cycle), int(macs[i]),
                                   int(a_nnz[i])))
    return plan


def map_eie_act_matmul(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult) -> LayerSchedule:
    """One tile per (sample, head): encode the (K x N) operand (``eie_act_matmul_plan``), then
    the PEs work through the broadcast rows of the other operand, balanced over the PEs."""
    pe = hw.pe_array
    abits = pe.act_bits
    wbuf, ibuf, obuf = buffers_of(hw)
    ptr_buf = hw.memory.buffer_for("pointers") or wbuf
    t = io.traffic
    plan = eie_act_matmul_plan(layer, lw, hw)
    g, m, k, n = act_gemm(layer, lw.batch)
    in_share = split(nbytes(t.in_bits), np.ones(g))
    out_share = split(nbytes(t.out_bits), np.ones(g))
    tiles = []
    for i, p in enumerate(plan):
        c = Counter(p.encode_counts)
        c[("pe_array", "mac")] += p.macs
        c[(wbuf.name, "read_bits")] += p.macs * (abits + pe.index_bits)
        c[(ptr_buf.name, "read_bits")] += 2 * pe.pointer_bits * pe.count * p.a_nnz
        c[(ibuf.name, "read_bits")] += m * k * abits  # the detector scans every broadcast element
        c[(obuf.name, "write_bits")] += 8 * int(out_share[i])
        loads = ((ibuf.name, int(in_share[i])),) if io.inputs_from_dram and in_share[i] else ()
        stores = ((obuf.name, int(out_share[i])),) if io.outputs_to_dram and out_share[i] else ()
        tiles.append(Tile(f"g{i}", p.pe_cycles.astype(np.int64), -(-p.macs // (pe.count * pe.macs_per_pe_per_cycle)),
                          loads, stores, reprogram_cycles=p.encode_cycles, counts=+c))
    note = (f"eie act x act: {g} (sample, head) operand(s) of {k}x{n} encoded at run time "
            f"({sum(p.encode_cycles for p in plan)} cycles), rows of {m} broadcast")
    return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping=note)


def act_block(hw: HardwareConfig) -> int:
    """Activations held at once: every PE's activation register file."""
    pe = hw.pe_array
    return pe.count * pe.act_regfile_entries


def eie_pe_loads(lw: LayerWork, n_pes: int) -> np.ndarray:
    """Effectual MACs per PE when output rows are interleaved over PEs (row i on PE i mod N)."""
    work = lw.out_work
    if work.size == 0:
        return np.zeros(n_pes, dtype=np.int64)
    pad = (-work.size) % n_pes
    return np.r_[work, np.zeros(pad, dtype=np.int64)].reshape(-1, n_pes).sum(axis=0)


def _draw_columns(layer: Layer, in_f: int, nnz: int, sample: int) -> np.ndarray:
    """Positions of a sample's nonzero input activations when the profile does not record them:
    all columns when dense, otherwise a seeded uniform draw of that many."""
    if nnz >= in_f:
        return np.arange(in_f, dtype=np.int64)
    rng = np.random.default_rng([zlib.crc32(layer.name.encode()), sample])
    return np.sort(rng.choice(in_f, size=nnz, replace=False)).astype(np.int64)


def map_eie(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult, bits: tuple[int, int]) -> LayerSchedule:
    """EIE column broadcast (module docstring): every sample's real nonzero activation positions
    (``LayerWork.in_nz_cols``) select the weight columns each PE works through, column by column,
    so per-PE totals, per-column imbalance and the queue stalls are exact. A profile without
    positions falls back to a seeded draw of the right count, corrected to the real per-PE totals."""
    pe = hw.pe_array
    n_pes, depth = pe.count, pe.act_queue_depth
    wbits, abits = bits
    span = 2 ** pe.index_bits if pe.index_bits else 1 << 62
    wbuf, ibuf, obuf = buffers_of(hw)
    ptr_buf = hw.memory.buffer_for("pointers") or wbuf
    t = io.traffic
    real = eie_pe_loads(lw, n_pes).astype(np.int64)  # effectual MACs per PE over the batch
    (w_total, weights_stay), out_total = streamed_weights(t, wbuf, hw), nbytes(t.out_bits)
    b = lw.batch
    nnz = np.asarray(lw.in_nnz_per_sample, dtype=np.int64)
    if nnz.size != b:
        nnz = np.full(b, lw.in_act_nnz // max(b, 1), dtype=np.int64)
    total_nnz = max(1, int(nnz.sum()))
    out_per_sample = split(out_total, np.ones(b))
    if layer.map_kind != "fc":
        return _map_eie_conv(layer, lw, hw, io, floor, real, nnz, out_per_sample, bits)
    weight = layer.weight.reshape(layer.weight.shape[0], -1)
    in_f = weight.shape[1]
    block = act_block(hw)
    starts = list(range(0, in_f, block))
    w_block = split(w_total, [min(block, in_f - s) for s in starts])
    in_bytes_block = [nbytes(min(block, in_f - s) * abits) for s in starts]
    group_names = tuple(f"pe[{p}]" for p in range(n_pes)) + ("lnzd",)  # + the leading-nonzero detector
    tiles = []
    exact = len(lw.in_nz_cols) == b  # the executor recorded the real nonzero positions
    for s in range(b):
        cols = lw.in_nz_cols[s] if exact else _draw_columns(layer, in_f, int(nnz[s]), s)
        target = -(-real * int(nnz[s]) // total_nnz) if b > 1 else real  # this sample's share, per PE
        drawn_eff = np.zeros(n_pes, dtype=np.int64)
        for bi, start in enumerate(starts):
            bc = cols[(cols >= start) & (cols < start + block)]
            entries = np.zeros((n_pes, bc.size), dtype=np.int64)
            fillers = np.zeros(n_pes, dtype=np.int64)
            eie_column_work(weight, n_pes, span, bc, entries, fillers)
            finish = np.zeros(n_pes, dtype=np.int64)
            detector_end = queue_finish_cycles(entries, depth, finish)
            per_pe = entries.sum(axis=1)
            drawn_eff += per_pe - fillers
            last_block = bi == len(starts) - 1
            if last_block and not exact:  # real per-PE totals replace the drawn ones
                delta = target - drawn_eff
                finish = np.maximum(finish + delta, 0)
                per_pe = np.maximum(per_pe + delta, 0)
            work = int(per_pe.sum())
            c = Counter()
            c[("pe_array", "mac")] += work  # padding zeros take a MAC slot too
            if pe.codebook_bits:
                c[("codebook", "lookup")] += work
            c[(wbuf.name, "read_bits")] += work * (wbits + pe.index_bits)
            c[(ptr_buf.name, "read_bits")] += 2 * pe.pointer_bits * n_pes * bc.size  # p[j], p[j+1] per PE
            c[(ibuf.name, "read_bits")] += min(block, in_f - start) * abits  # the detector scans them all
            loads = []
            if io.weights_from_dram and (s == 0 or not weights_stay):
                loads.append((wbuf.name, int(w_block[bi])))
            if io.inputs_from_dram:
                loads.append((ibuf.name, in_bytes_block[bi]))
            stores = ()
            if last_block and out_per_sample[s]:
                c[(obuf.name, "write_bits")] += 8 * int(out_per_sample[s])
                if io.outputs_to_dram:
                    stores = ((obuf.name, int(out_per_sample[s])),)
            pe_cycles = np.r_[finish, detector_end]
            balanced = max(-(-work // n_pes), int(bc.size))  # even work, one broadcast per cycle
            tiles.append(Tile(f"s{s}.b{bi}", pe_cycles, balanced, tuple(x for x in loads if x[1] > 0), stores,
                              counts=+c, groups=group_names))
    note = (f"eie: {n_pes} PEs, queue depth {depth}, {len(starts)} column block(s) of {block} x {b} sample(s)")
    return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping=note)


def _map_eie_conv(layer, lw, hw, io, floor, real, nnz, out_per_sample, bits) -> LayerSchedule:
    """A convolution on an EIE-style array: output channels interleaved over PEs, one tile per
    sample holding that sample's share of each PE's real work (no per-column queue model)."""
    pe = hw.pe_array
    wbits, abits = bits
    wbuf, ibuf, obuf = buffers_of(hw)
    t = io.traffic
    b = lw.batch
    total_nnz = max(1, int(nnz.sum()))
    (w_total, weights_stay), in_total = streamed_weights(t, wbuf, hw), nbytes(t.in_bits)
    in_per_sample = split(in_total, np.ones(b))
    tiles = []
    for s in range(b):
        per_pe = -(-real * int(nnz[s]) // total_nnz) if b > 1 else real
        work = int(per_pe.sum())
        c = Counter({("pe_array", "mac"): work, (wbuf.name, "read_bits"): work * (wbits + pe.index_bits),
                     (ibuf.name, "read_bits"): int(nnz[s]) * abits,
                     (obuf.name, "write_bits"): 8 * int(out_per_sample[s])})
        if pe.codebook_bits:
            c[("codebook", "lookup")] += work
        loads = []
        if io.weights_from_dram and (s == 0 or not weights_stay):
            loads.append((wbuf.name, w_total))
        if io.inputs_from_dram:
            loads.append((ibuf.name, int(in_per_sample[s])))
        stores = ((obuf.name, int(out_per_sample[s])),) if io.outputs_to_dram and out_per_sample[s] else ()
        tiles.append(Tile(f"s{s}", per_pe.astype(np.int64), -(-work // pe.count),
                          tuple(x for x in loads if x[1] > 0), stores, counts=+c))
    return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping="eie conv: output channels interleaved")
