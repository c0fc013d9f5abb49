"""Photonic vector dot-product units (SONIC, CrossLight): ``kind: photonic``.

The device model is ``engine/photonic.py``; this module is what the pipeline asks of the kind.
Mapping: conv, one tile per pass (each pass tunes its own weight tile, loaded before it starts);
fc, activation-stationary, the rings retuned row after row, so each pass (sample) is cut into up
to ``FC_STREAM_PIECES`` tiles whose weights stream in while the previous piece computes.
A matmul of two activations runs weight-stationary on the conv VDUs, its (K x N) operand
programmed onto the rings at run time (every element a weight-DAC conversion and an EO tune).
Storage: the relative-index format when conv or fc compression is on. Time-based counts: static
power, thermo-optic ring holding, the external laser and the TIAs. Energy: converters, VCSELs,
photodetectors, tuning and laser (published.md §1), and the electronic side at the widths of
``photonic.electronic_*_bits``.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ...hardware import spec as S
from ...hardware.photonics import laser_power_mw
from ...hardware.schema import REQUIRED, Field, Record, flag, nonneg, pos, posint
from ...hardware.spec import HardwareConfig
from ...hardware.ted import hold_power_mw_per_ring
from ..photonic import calibration, group_for, photonic_layer_work, time_based_counts
from ..result import LayerResult
from ..tiles import (MAX_TILES, LayerIO, LayerSchedule, Tile, buffers_of, coalesce, nbytes, run_first, run_starts, split,
                     streamed_weights)
from ..traffic import Traffic, ceil_div, charge_memory, dram_bytes_per_cycle, elementwise_layer, relative_index_storage_bits
from .base import Dataflow


# The kind's own hwconfig section (units and devices: SONIC Table 2 / CrossLight Table II, published.md §1).
DEVICE = Record(S.DeviceSpec, {
    "latency_ns": pos("ns"), "power_mw": nonneg("mW"), "bits": Field("int", 0, min=0, max=32),
})
OPTIONAL_DEVICE = Record(S.DeviceSpec, DEVICE.fields, optional=True)


PHOTONIC = Record(S.PhotonicSpec, {
    "conv_units": Record(S.UnitGroupSpec, {"count": posint(), "vector_width": posint()}),
    "fc_units": Record(S.UnitGroupSpec, {"count": posint(), "vector_width": posint()}),
    "act_dac": DEVICE, "weight_dac": DEVICE, "weight_dac_dense": DEVICE, "adc": DEVICE,
    "vcsel": DEVICE, "photodetector": DEVICE, "tia": OPTIONAL_DEVICE,
    "tuning": Record(S.TuningSpec, {
        "eo_latency_ns": pos("ns"), "eo_power_uw_per_nm": nonneg("uW/nm"), "eo_shift_nm": nonneg("nm"),
        "to_latency_ns": pos("ns"), "to_power_mw_per_fsr": nonneg("mW/FSR"),
        "to_hold_fsr_fraction": Field("number", REQUIRED, min=0, max=1),
        "mode": Field("choice", "independent", choices=("independent", "ted"),
                      doc="TO holding: independent heaters or TED collective tuning (hardware/ted.py)"),
        "fsr_nm": pos("nm", default=18.0), "eo_range_nm": nonneg("nm", default=0.0),
        "rings_per_bank": posint(default=15), "ring_spacing_um": pos("um", default=5.0),
        "crosstalk_decay_um": nonneg("um", default=0.0),
        "to_hold": Field("choice", "continuous", choices=("continuous", "boot"),
                         doc="continuous: TO holding power charged x time (physics); boot: TO charged once at "
                             "boot calibration only (the papers' accounting)"),
    }),
    "optics": Record(S.OpticsSpec, {
        "propagation_db_per_cm": nonneg("dB/cm"), "waveguide_length_cm": nonneg("cm"),
        "splitter_db": nonneg("dB"), "combiner_db": nonneg("dB"), "mr_through_db": nonneg("dB"),
        "mr_modulation_db": nonneg("dB"), "eo_tuning_db_per_cm": nonneg("dB/cm"),
        "to_tuning_db_per_cm": nonneg("dB/cm"), "tuning_length_cm": nonneg("cm"),
        "pd_sensitivity_dbm": Field("number", REQUIRED, min=-60, max=10, unit="dBm"),
        "laser_wall_plug_efficiency": Field("number", REQUIRED, min=0, max=1, exclusive_min=True),
        "external_laser": flag(False),
    }),
    "sparsity": Record(S.SparsitySpec, {
        "fc_compression": flag(True), "conv_compression": flag(True),
        "vcsel_power_gating": flag(True), "weight_clustering": flag(True),
    }, optional=True, fill=True),
    "broadband_mr_per_unit": Field("int", 1, min=0),
    "input_modulation": Field("choice", "vcsel", choices=("vcsel", "mrr"),
                              doc="vcsel: per-element VCSELs (SONIC); mrr: laser + EO input rings (CrossLight)"),
    "adcs_per_unit": posint(default=1, doc="time-interleaved ADCs per unit output"),
    "index_bits": Field("int", 8, min=1, max=32, unit="bits",
                        doc="relative-index bits per stored entry when compression is on; default 8 "
                            "(Deep Compression, published.md §3.4)"),
    "pointer_bits": Field("int", 16, min=1, max=64, unit="bits", doc="column-pointer width; default 16 (EIE)"),
    "activation_lanes": Field("int", 0, min=0, unit="elements/cycle",
                              doc="electronic activation unit width; 0 = one lane per VDU output (ASSUMPTION)"),
    "electronic_act_bits": Field("int", 16, min=1, max=64, unit="bits",
                                 doc="width of the electronic activation unit; default 16, SONIC's 16-bit "
                                     "activations (published.md §1.1)"),
    "electronic_acc_bits": Field("int", 32, min=1, max=64, unit="bits",
                                 doc="width of the electronic partial-sum accumulators; default 32 (ASSUMPTION: "
                                     "16-bit ADC codes summed without overflow)"),
}, optional=True)


class Photonic(Dataflow):
    key = "photonic"
    design_kind = "photonic"
    sections = ("photonic",)
    schema_sections = {"photonic": PHOTONIC}
    device_classes = ("dac", "adc", "vcsel", "photodetector", "tia", "tuning", "laser")
    device_map = {"act_dac": "dac", "weight_dac": "dac", "adc": "adc", "vcsel": "vcsel",
                  "photodetector": "photodetector", "tia": "tia", "mrr": "tuning", "input_mrr": "tuning",
                  "laser": "laser"}

    def describe(self, data):
        return "photonic"

    def bits(self, hw):
        ph = hw.photonic
        wbits = ph.weight_dac.bits if ph.sparsity.weight_clustering else ph.weight_dac_dense.bits
        return wbits, ph.act_dac.bits

    def is_sparse(self, hw):
        sp = hw.photonic.sparsity
        return sp.conv_compression or sp.fc_compression

    def weight_storage_bits(self, layer, hw):
        if not layer.is_weighted:
            return 0
        wbits, _ = self.bits(hw)
        if not self.is_sparse(hw):
            return layer.weight_count * wbits
        ph = hw.photonic
        return relative_index_storage_bits(layer, wbits, ph.index_bits, ph.pointer_bits)

    def activation_lanes(self, hw):
        """0 in the config means one lane per VDU output (the electronic side handles each unit's results)."""
        ph = hw.photonic
        return ph.activation_lanes or ph.conv_units.count + ph.fc_units.count

    def floor(self, layer, lw, hw, t, fused):
        return photonic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw))

    def map_weighted(self, layer, lw, hw, io, floor):
        return map_photonic(layer, lw, hw, io, floor)

    def map_act_matmul(self, layer, lw, hw, io, floor):
        """The (K x N) operand programmed onto the conv VDUs' rings at run time, the other on the
        VCSELs (``engine/photonic.py``, decision 8)."""
        return map_photonic(layer, lw, hw, io, floor)

    def time_based_counts(self, hw, cycles):
        return time_based_counts(hw, cycles)

    def calibration(self, hw):
        return calibration(hw)

    def energy_entries(self, hw, table, f):
        ph = hw.photonic
        cycle_ns = 1.0 / hw.clock_ghz
        e = {("accumulator", "add"): table["int_add_pj_per_bit"] * ph.electronic_acc_bits * f,
             ("activation_unit", "op"): table["int_add_pj_per_bit"] * ph.electronic_act_bits * f}
        weight_dac = ph.weight_dac if ph.sparsity.weight_clustering else ph.weight_dac_dense
        e[("act_dac", "convert")] = ph.act_dac.energy_pj
        e[("weight_dac", "convert")] = weight_dac.energy_pj
        e[("vcsel", "symbol")] = ph.vcsel.energy_pj  # on for one symbol (its latency): published.md §1.3
        e[("photodetector", "detect")] = ph.photodetector.energy_pj
        e[("adc", "convert")] = ph.adc.energy_pj
        if ph.tia is not None:
            e[("tia", "sample")] = ph.tia.energy_pj
            e[("tia", "on_unit_cycles")] = ph.tia.power_mw * cycle_ns  # biased all the time, per TIA
        t = ph.tuning
        # EO: power per nm of shift x mean shift x the tuning latency (uW x ns = 1e-3 pJ).
        e[("mrr", "eo_tune")] = t.eo_power_uw_per_nm * t.eo_shift_nm * t.eo_latency_ns * 1e-3
        e[("input_mrr", "eo_tune")] = e[("mrr", "eo_tune")]  # activation-imprinting ring (mrr input mode)
        # TO: one calibration event per ring, and holding power per ring per cycle.
        hold_mw = hold_power_mw_per_ring(t)  # independent or TED (hardware/ted.py)
        e[("mrr", "to_calibrate")] = hold_mw * t.to_latency_ns
        e[("mrr", "to_hold_ring_cycles")] = hold_mw * cycle_ns if t.to_hold == "continuous" else 0.0
        e[("laser", "on_cycles")] = laser_power_mw(hw) * cycle_ns
        return e


def photonic_layer(layer, lw, hw: HardwareConfig, t: Traffic, fused: bool, lanes: int) -> LayerResult:
    """First-fidelity photonic cost: ``photonic.photonic_layer_work`` (the same device model the
    event model uses) plus DRAM at full bandwidth; compute and memory overlap."""
    memory_cycles = math.ceil((t.dram_read_bytes + t.dram_write_bytes) / dram_bytes_per_cycle(hw))
    if not (layer.is_weighted or layer.category == "act_matmul"):
        return elementwise_layer(layer, lw, hw, t, fused, lanes, mem_cycles=memory_cycles)
    pw = photonic_layer_work(layer, lw, hw)
    group = group_for(layer, hw)
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
    if layer.category == "act_matmul":  # both operands come from the activation buffer
        lr.add(mem.buffer_for("inputs").name, "read_bits",
               max(0, pw.act_read_bits + run_time_operand_bits(pw, hw) - t.in_bits))
        return lr
    lr.add(mem.buffer_for("inputs").name, "read_bits", max(0, pw.act_read_bits - t.in_bits))
    lr.add(mem.buffer_for("weights").name, "read_bits", max(0, pw.weight_read_bits - t.weight_bits))
    return lr


def run_time_operand_bits(pw, hw: HardwareConfig) -> int:
    """Bits of a run-time (K x N) operand read from the activation buffer to program the rings."""
    return pw.weight_loads * hw.photonic.act_dac.bits



FC_STREAM_PIECES = 8  # an fc pass streams its weights row by row: at most this many tiles, so loads overlap


def fc_stream_pieces(weight_bytes: int, hw: HardwareConfig) -> int:
    """Tiles per fc pass: up to ``FC_STREAM_PIECES``, but each piece's weights must take at least
    one DRAM latency to transfer, or double buffering could not hide the latency of the next."""
    d = hw.memory.dram
    latency_bytes = max(1.0, d.latency_ns * d.bandwidth_gbps)  # ns x GB/s = bytes in flight
    return int(max(1, min(FC_STREAM_PIECES, weight_bytes // latency_bytes)))


def map_photonic(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult) -> LayerSchedule:
    """Tiles from ``photonic_layer_work``. Conv: one tile per pass (each pass tunes its own weight
    tile, which must be loaded before it starts). FC: activation-stationary, the rings are retuned
    row after row, so each pass (sample) is cut into ``FC_STREAM_PIECES`` tiles whose weights
    stream in while the previous piece computes."""
    pw = photonic_layer_work(layer, lw, hw)
    wbuf, ibuf, obuf = buffers_of(hw)
    t = io.traffic
    passes = max(1, int(pw.passes))
    w_total, stay = streamed_weights(t, wbuf, hw)
    in_total, out_total = nbytes(t.in_bits), nbytes(t.out_bits)
    pieces = fc_stream_pieces(w_total, hw) if layer.map_kind == "fc" else 1
    n = passes * pieces
    compute = split(pw.compute_cycles, np.ones(n))
    reprogram = split(pw.reprogram_cycles, np.ones(n))
    if layer.map_kind == "fc":  # every sample needs every weight: kept if the layer fits the buffer
        first = split(w_total, np.ones(pieces))
        w_tile = np.tile(first, passes) if not stay else np.r_[first, np.zeros(n - pieces, dtype=np.int64)]
        in_pass = split(in_total, np.ones(passes))  # a sample's activations arrive with its first piece
    else:
        w_tile = split(w_total, np.ones(n))
        in_pass = np.r_[in_total, np.zeros(passes - 1, dtype=np.int64)]
    w_load = w_tile if io.weights_from_dram else np.zeros(n, dtype=np.int64)
    in_load = np.zeros(n, dtype=np.int64)
    if io.inputs_from_dram:
        in_load[::pieces] = in_pass
    store = out_total if io.outputs_to_dram and out_total else 0
    bufs = (wbuf, ibuf, obuf)
    if n > MAX_TILES and wbuf.name != ibuf.name:  # no object per pass: memory independent of the batch
        tiles = merged_tiles(n, pieces, compute, reprogram, w_load, in_load, store, bufs, hw)
    else:
        tiles = coalesce(pass_tiles(n, pieces, compute, reprogram, w_load, in_load, store, bufs), hw)
    counts = Counter(pw.counts)
    counts[(ibuf.name, "read_bits")] += pw.act_read_bits
    if layer.category == "act_matmul":
        counts[(ibuf.name, "read_bits")] += run_time_operand_bits(pw, hw)
    else:
        counts[(wbuf.name, "read_bits")] += pw.weight_read_bits
    counts[(obuf.name, "write_bits")] += t.out_bits
    group = "fc" if layer.map_kind == "fc" else "conv"
    note = f"photonic {group} VDUs: {passes} pass(es) x {pieces} tile(s), op {pw.op_cycles} cycles"
    if layer.category == "act_matmul":
        note += f"; act x act: {pw.weight_loads} ring updates programmed at run time"
    return LayerSchedule(layer.name, layer.kind, tiles, floor, counts=+counts, mapping=note)


def pass_tiles(n, pieces, compute, reprogram, w_load, in_load, store, bufs) -> list[Tile]:
    """One Tile per piece of a pass (``map_photonic``), in order: what ``coalesce`` merges."""
    wbuf, ibuf, obuf = bufs
    tiles = []
    for i in range(n):
        p, piece = divmod(i, pieces)
        loads = ((wbuf.name, int(w_load[i])), (ibuf.name, int(in_load[i])))
        stores = ((obuf.name, store),) if i == n - 1 and store else ()
        cyc = int(compute[i])
        tiles.append(Tile(f"pass{p}.{piece}", np.array([cyc], dtype=np.int64), cyc,
                          tuple(x for x in loads if x[1] > 0), stores, reprogram_cycles=int(reprogram[i])))
    return tiles


def merged_tiles(n, pieces, compute, reprogram, w_load, in_load, store, bufs, hw) -> list[Tile]:
    """``coalesce(pass_tiles(...))`` with arrays, run by run: the same tiles (labels, loads in
    the order they first appear in a run, stores, cycles), and no object per pass, so a layer's
    memory does not grow with the batch. The weight and input buffers must differ."""
    wbuf, ibuf, obuf = bufs
    starts = run_starts(n, ((wbuf.name, w_load), (ibuf.name, in_load)), hw)
    ends = np.r_[starts[1:], n]
    cyc, rep, w_sum, in_sum = (np.add.reduceat(a, starts) for a in (compute, reprogram, w_load, in_load))
    w_first, in_first = run_first(w_load, starts), run_first(in_load, starts)
    tiles = []
    for r, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
        label = f"pass{a // pieces}.{a % pieces}"
        if b - a > 1:
            label += f"..pass{(b - 1) // pieces}.{(b - 1) % pieces}"
        loads = [(w_first[r], 0, wbuf.name, int(w_sum[r])), (in_first[r], 1, ibuf.name, int(in_sum[r]))]
        loads = tuple((name, nb) for _, _, name, nb in sorted(x for x in loads if x[3] > 0))
        stores = ((obuf.name, store),) if b == n and store else ()
        c = int(cyc[r])
        tiles.append(Tile(label, np.array([c], dtype=np.int64), c, loads, stores, reprogram_cycles=int(rep[r])))
    return tiles
