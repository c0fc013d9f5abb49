"""Row stationary (Eyeriss: Chen, Emer, Sze, ISCA 2016; Chen et al., JSSC 2017): ``dataflow: rs``.

Mapping (ISCA 2016 §V). A 2D convolution of an R x S filter over an ifmap giving E x F outputs is
a *PE set* of R x E logical PEs: PE (i, j) keeps filter row i in its filter scratchpad, receives
ifmap row i + j*U, and runs a 1D convolution, S x F MACs at one MAC per cycle; the psums of
column j accumulate upwards through the R PEs. Sets are folded onto the rows x cols array:

    e = min(E, cols) output rows per strip, strips = ceil(E / e)
    R <= rows: sets_v = floor(rows / R) sets stacked, else the filter rows fold: ceil(R / rows)
    sets_h = floor(cols / e) sets side by side;  parallel sets = sets_v x sets_h
    jobs = batch x groups x M x C x strips x row folds  (one 2D convolution each)
    compute cycles = ceil(jobs / parallel sets) x S x F

A PE interleaves q channels and p filters in its scratchpads (q = ifmap entries // S, p = min(psum
entries, filter entries // (q S))): one ifmap row serves p filters, and psums leave the PE once per
q channels. An fc layer is a 1 x 1 convolution on a 1 x 1 map; a matmul of two activations a
1 x 1 convolution on an M x 1 map (``rs_shape``), its (K x N) operand filled as filters at run time. Counts per layer (bits):

- RF: per MAC slot one ifmap read, and unless the ifmap is zero (data gating, JSSC §IV-C) one
  filter read and one psum read + write; scratchpad fills: ifmap rows (Win = (F-1) U + S elements
  per PE and job, shared by p filters) and filter rows (S per PE and job).
- array: every scratchpad fill arrives over the array (multicast from the global buffer), psums
  hop R-1 times up each column, and go to / come back from the global buffer between channel passes.
- global buffer: the multicast sources (ifmap rows once per p x parallel filters, filter rows once
  per strip), psum spills, the final ofmap, and whatever comes from or goes to DRAM.
- DRAM: as every kind (``traffic.layer_traffic``): weights once per batch, activations when they
  do not fit the global buffer.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ...hardware.schema import Field, Record, flag, posint
from ...hardware.spec import HardwareConfig
from ..result import LayerResult
from ..tiles import LayerSchedule, Tile, act_gemm, nbytes, split
from ..traffic import ceil_div, electronic_layer, memory_cycles
from .base import Dataflow

import numpy as np


@dataclass(frozen=True)
class RowStationarySpec:
    array_pj_per_bit: float = 0.0  # 0: twice the RF's pJ per bit (Eyeriss's normalized hierarchy)
    data_gating: bool = True
    max_tiles: int = 64


ROW_STATIONARY = Record(RowStationarySpec, {
    "array_pj_per_bit": Field("number", 0.0, min=0, unit="pJ/bit",
                              doc="one PE-to-PE / buffer-to-PE transfer on the array network; 0 = 2x the "
                                  "filter scratchpad's read pJ/bit (Eyeriss ISCA 2016: array ~2x RF)"),
    "data_gating": flag(True, "skip the filter read, psum update and MAC of a zero ifmap (JSSC 2017 §IV-C)"),
    "max_tiles": posint(default=64, doc="event-model tiles per layer (a fidelity knob, not hardware)"),
}, optional=True, fill=True)


class RowStationary(Dataflow):
    key = "rs"
    schema_sections = {"row_stationary": ROW_STATIONARY}
    device_classes = ("register_file", "array_network")
    device_map = {"array": "array_network"}
    buffers_per_data = 2  # a per-PE scratchpad and the global buffer for each data kind

    def validate(self, data, problems):
        super().validate(data, problems)
        for h in ("weights", "inputs", "outputs"):
            per_pe = [n for n, b in data["memory"]["buffers"].items() if h in _held(b) and b.get("per_pe")]
            shared = [n for n, b in data["memory"]["buffers"].items() if h in _held(b) and not b.get("per_pe")]
            if len(per_pe) != 1 or len(shared) != 1:
                problems.append(f"memory.buffers: a row-stationary design keeps {h} in one per-PE scratchpad "
                                f"(per_pe: true) and one global buffer; got scratchpads {per_pe or 'none'} and "
                                f"global buffers {shared or 'none'}")

    def spads(self, hw):
        """(filter, ifmap, psum) scratchpads: the per-PE buffers holding weights, inputs, outputs."""
        return tuple(next(b for b in hw.memory.buffers if b.per_pe and h in b.holds)
                     for h in ("weights", "inputs", "outputs"))

    def buffers(self, hw):
        """The global buffer (for each data kind): where DRAM traffic lands."""
        return tuple(next(b for b in hw.memory.buffers if not b.per_pe and h in b.holds)
                     for h in ("weights", "inputs", "outputs"))

    def activation_lanes(self, hw):
        """0 in the config means one lane per array column."""
        return hw.pe_array.activation_lanes or hw.pe_array.cols

    def spec(self, hw) -> RowStationarySpec:
        return hw.option("row_stationary") or RowStationarySpec()

    def floor(self, layer, lw, hw, t, fused):
        if not (layer.is_weighted or layer.category == "act_matmul"):
            return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw), bufs=self.buffers(hw))
        work = rs_work(layer, lw, hw, self)
        pe = hw.pe_array
        peak = pe.count * pe.macs_per_pe_per_cycle
        m = memory_cycles(hw, t)
        real = lw.macs - lw.padding_macs  # padding taps are not computed
        compute = ceil_div(real, peak)
        lr = LayerResult(layer.name, layer.kind, cycles=max(work.cycles, m), bound_cycles=max(compute, m),
                         compute_cycles=compute, memory_cycles=m, macs_performed=real, peak_macs_per_cycle=peak,
                         mapping=work.note)
        lr.stalls["load_imbalance"] = max(0, work.cycles - compute) if work.cycles > m else 0
        lr.stalls["dram_bandwidth"] = max(0, m - work.cycles)
        lr.counts.update(work.counts)
        # DRAM, and the global buffer's fills from it and drains to it (as the event model moves them)
        glb_w, glb_i, glb_o = self.buffers(hw)
        lr.add("dram", "read_bits", 8 * t.dram_read_bytes)
        lr.add("dram", "write_bits", 8 * t.dram_write_bytes)
        lr.add(glb_w.name, "write_bits", 8 * nbytes(t.weight_dram_bits))
        lr.add(glb_i.name, "write_bits", 8 * t.dram_read_bytes - 8 * nbytes(t.weight_dram_bits))
        lr.add(glb_o.name, "write_bits", 8 * nbytes(t.out_bits))
        lr.add(glb_o.name, "read_bits", 8 * t.dram_write_bytes)
        lr.dram_bytes = t.dram_read_bytes + t.dram_write_bytes
        return lr

    def map_weighted(self, layer, lw, hw, io, floor):
        """Tiles: the layer's jobs in up to ``max_tiles`` equal slices, each with its share of the
        counts, of the weights and inputs DRAM brings into the global buffer, and of the outputs."""
        work = rs_work(layer, lw, hw, self)
        glb_w, glb_i, glb_o = self.buffers(hw)
        t = io.traffic
        n = max(1, min(self.spec(hw).max_tiles, work.rounds))
        cycles = split(work.cycles, np.ones(n))
        w_load = split(nbytes(t.weight_dram_bits), np.ones(n)) if io.weights_from_dram else np.zeros(n, int)
        in_load = split(nbytes(t.in_bits), np.ones(n)) if io.inputs_from_dram else np.zeros(n, int)
        out = split(nbytes(t.out_bits), np.ones(n))
        parts = {key: split(v, np.ones(n)) for key, v in work.counts.items()}
        tiles = []
        for i in range(n):
            c = Counter({key: int(v[i]) for key, v in parts.items() if v[i]})
            c[(glb_o.name, "write_bits")] += 8 * int(out[i])  # the finished ofmap lands in the global buffer
            loads = tuple(x for x in ((glb_w.name, int(w_load[i])), (glb_i.name, int(in_load[i]))) if x[1] > 0)
            stores = ((glb_o.name, int(out[i])),) if io.outputs_to_dram and out[i] else ()
            cyc = int(cycles[i])
            tiles.append(Tile(f"r{i}", np.array([cyc], dtype=np.int64), cyc, loads, stores, counts=+c))
        return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping=work.note)

    def map_act_matmul(self, layer, lw, hw, io, floor):
        """A matmul of two activations as a 1 x 1 convolution (``rs_shape``): the (K x N) operand
        takes the filters' place, filled into the filter scratchpads from the global buffer at
        run time (it is an activation: read from where the inputs live)."""
        return self.map_weighted(layer, lw, hw, io, floor)

    def energy_entries(self, hw, table, f):
        e = super().energy_entries(hw, table, f)
        spec = self.spec(hw)
        if spec.array_pj_per_bit:
            e[("array", "transfer_bits")] = spec.array_pj_per_bit
        else:
            from ...hardware.energy import buffer_pj_per_bit
            pj, scaled = buffer_pj_per_bit(self.spads(hw)[0], False, table)
            e[("array", "transfer_bits")] = 2 * pj * (f if scaled else 1.0)
        return e

    def device_of(self, component, hw):
        if any(b.name == component and b.per_pe for b in hw.memory.buffers):
            return "register_file"
        return super().device_of(component, hw)


def _held(b: dict) -> list:
    return [b["holds"]] if isinstance(b["holds"], str) else list(b["holds"])


@dataclass
class RSWork:
    cycles: int
    rounds: int  # sequential rounds of parallel PE sets
    counts: Counter
    note: str


def rs_shape(layer, batch: int) -> dict:
    """The layer as Eyeriss's shape parameters (N, G, M, C, R, S, E, F, U, H, W). A matmul of two
    activations, (M x K) @ (K x N) per sample and head, is a 1 x 1 convolution of K channels on an
    M x 1 map with N filters, one image per (sample, head)."""
    if layer.category == "act_matmul":
        g, m, k, n = act_gemm(layer, batch)
        return dict(N=g, G=1, M=n, C=k, R=1, S=1, E=m, F=1, U=1, H=m, W=1)
    if layer.map_kind == "fc":
        out_f = layer.weight.shape[0]
        return dict(N=batch, G=1, M=out_f, C=int(layer.weight.size // out_f), R=1, S=1, E=1, F=1, U=1, H=1, W=1)
    oc, icg, r, s = layer.weight.shape
    return dict(N=batch, G=layer.groups, M=oc // layer.groups, C=icg, R=r, S=s, E=int(layer.out_shape[1]),
                F=int(layer.out_shape[2]), U=layer.stride, H=int(layer.in_shape[1]) + 2 * layer.padding,
                W=int(layer.in_shape[2]) + 2 * layer.padding)


def rs_work(layer, lw, hw: HardwareConfig, kind: RowStationary) -> RSWork:
    """Cycles and on-chip counts of one conv / fc layer (module docstring)."""
    pe = hw.pe_array
    spec = kind.spec(hw)
    fsp, isp, psp = kind.spads(hw)
    glb_w, glb_i, glb_o = kind.buffers(hw)
    wbits, abits = kind.bits(hw)
    if layer.category == "act_matmul":  # the filter operand is an activation, from the inputs' buffer
        wbits, glb_w = abits, glb_i
    accbits = pe.acc_bits
    d = rs_shape(layer, lw.batch)
    N, G, M, C, R, S, E, F, U, H = (d[k] for k in "N G M C R S E F U H".split())
    e = min(E, pe.cols)
    strips = ceil_div(E, e)
    strip_rows = [min(e, E - s * e) for s in range(strips)]
    if R <= pe.rows:
        folds, sets_v = 1, pe.rows // R
    else:
        folds, sets_v = ceil_div(R, pe.rows), 1
    sets_h = max(1, pe.cols // e)
    par = sets_v * sets_h
    entries = lambda b, bits: int(b.size_kb * 1024 * 8 // bits)  # noqa: E731
    q = max(1, min(C, entries(isp, abits) // S))
    p = max(1, min(M, entries(psp, accbits), entries(fsp, wbits) // (q * S)))
    jobs = N * G * M * C * strips * folds
    # A recurrent cell's time steps run in sequence (step t + 1 needs h_t): rounds per step.
    steps = layer.tokens if layer.category == "recurrent" else 1
    rounds = steps * ceil_div(jobs // steps, par)
    cycles = rounds * ceil_div(S * F, pe.macs_per_pe_per_cycle)
    macs = lw.macs - lw.padding_macs  # padding taps are not computed
    active = macs - lw.skipped_zero_act if spec.data_gating else macs
    w_in = (F - 1) * U + S
    ifmap_fills = N * G * C * ceil_div(M, p) * R * E * w_in  # elements into ifmap scratchpads
    filter_fills = N * G * M * C * R * S * E  # elements into filter scratchpads (multicast along a row)
    psum_hops = N * G * M * C * (R - folds) * E * F  # psums passed up the columns
    out_el = N * G * M * E * F
    psum_spills = out_el * ceil_div(C, q) * folds  # psums leaving the array per channel pass
    ifmap_src = N * G * C * ceil_div(M, p * par) * sum(min(H, (r - 1) * U + R) for r in strip_rows) * d["W"]
    filter_src = N * G * M * C * R * S * strips
    c = Counter()
    c[("pe_array", "mac")] += active
    c[(isp.name, "read_bits")] += macs * abits
    c[(fsp.name, "read_bits")] += active * wbits
    c[(psp.name, "read_bits")] += active * accbits
    c[(psp.name, "write_bits")] += active * accbits
    c[(isp.name, "write_bits")] += ifmap_fills * abits
    c[(fsp.name, "write_bits")] += filter_fills * wbits
    c[("array", "transfer_bits")] += (ifmap_fills * abits + filter_fills * wbits + psum_hops * accbits
                                      + (2 * psum_spills - out_el) * accbits)
    c[(glb_i.name, "read_bits")] += ifmap_src * abits
    c[(glb_w.name, "read_bits")] += filter_src * wbits
    c[(glb_o.name, "write_bits")] += (psum_spills - out_el) * accbits  # partial sums parked between passes
    c[(glb_o.name, "read_bits")] += (psum_spills - out_el) * accbits
    note = (f"rs {pe.rows}x{pe.cols}: sets {R}x{e} ({sets_v}x{sets_h} at once, {folds} row fold(s)), {strips} strip(s), "
            f"p={p} q={q}, {rounds} rounds of {S}x{F} MACs")
    return RSWork(int(cycles), int(rounds), +c, note)
