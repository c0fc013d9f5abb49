"""The mapper: one layer on one design -> a list of tiles the SimPy model moves and computes.

A ``Tile`` is the unit of every event: the bytes DRAM must bring into which buffer before it can
start, the cycles each PE group needs for its work (the tile ends when the slowest group ends),
the weight reprogramming that cannot overlap compute, the bytes written back after it, and the
(component, action) counts of its compute. Reuse across tiles decides DRAM traffic: the first use
of a block of weights or inputs is compulsory (when it lives in DRAM at all); a later use is a
refetch unless the layer's whole tensor fits its buffer and stays.

Dataflows:
- systolic ``ws``/``os``/``is``: SCALE-Sim folds (``pe.py``), one tile per fold. When a fold's
  partial sums (T x columns x accumulator bits) exceed half the output buffer, the streamed
  dimension T is cut into chunks and the folds are repeated per chunk, each paying fill and drain
  again (SCALE-Sim ignores capacity, so parity holds only when no chunking is needed).
- ``eie``: per sample, column blocks of 4096 activations (EIE's 64 PEs x 64-entry activation
  register files, published.md §2.1) run through the per-PE activation-queue model of ``pe.py``.
- photonic: ``photonic.photonic_layer_work`` gives the layer's compute, reprogramming and passes;
  each pass is a tile.
"""
from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from ..hardware.energy import bits_of
from ..hardware.spec import HardwareConfig
from ..workload.network import Layer
from .buffers import buffer_capacity_bytes
from .precision import reduction_length, weight_read_bits
from .cost import (POINTER_BITS, Traffic, activation_lanes, eie_pe_loads, electronic_layer, layer_traffic,
                   performed_macs, photonic_layer)
from .pe import (SYSTOLIC_DATAFLOWS, eie_column_work, fill_drain_cycles, queue_finish_cycles,
                 scalesim_operands)
from .photonic import photonic_layer_work
from .profile import LayerWork
from .result import LayerResult

EIE_ACT_BLOCK = 64 * 64  # activations held at once: 64 PEs x a 64-entry register file (published.md §2.1)
PREFETCH_TILES = 2  # double buffering: one tile computes while the next one loads
# Tile-level events only: consecutive tiles are merged so that a layer has at most this many
# (VGG-16 on SONIC has ~3000 weight passes per conv layer). With 256 tiles the exposed first
# load is under 0.4% of a layer's transfers.
MAX_TILES = 256


@dataclass
class Tile:
    """One unit of work. ``pe_cycles``: cycles each PE group needs, from the tile's start;
    ``balanced_cycles``: what the slowest group would need if the tile's work were spread evenly
    (the gap is load imbalance)."""

    label: str
    pe_cycles: np.ndarray
    balanced_cycles: int
    loads: tuple[tuple[str, int], ...] = ()  # (buffer, bytes) DRAM -> buffer before compute
    stores: tuple[tuple[str, int], ...] = ()  # (buffer, bytes) buffer -> DRAM after compute
    reprogram_cycles: int = 0
    counts: Counter = field(default_factory=Counter)
    groups: tuple[str, ...] = ()  # timeline name of each PE group (default pe[i])

    @property
    def compute_cycles(self) -> int:
        return int(self.pe_cycles.max()) if self.pe_cycles.size else 0


@dataclass
class LayerSchedule:
    """A layer's tiles, the analytical estimate of the same layer (its bound is the floor), and
    counts not tied to one tile (photonic device events)."""

    name: str
    kind: str
    tiles: list[Tile]
    floor: LayerResult
    counts: Counter = field(default_factory=Counter)
    mapping: str = ""

    @property
    def dram_bytes(self) -> int:
        return int(sum(n for t in self.tiles for _, n in t.loads + t.stores))


@dataclass(frozen=True)
class LayerIO:
    """Where a layer's operands live: DRAM or on chip (cost.layer_traffic's rules)."""

    traffic: Traffic
    weights_from_dram: bool
    inputs_from_dram: bool
    outputs_to_dram: bool


def layer_io(layer: Layer, lw: LayerWork, hw: HardwareConfig, first: bool, last: bool, resident: float,
             storage_bits: int | None = None) -> LayerIO:
    """resident: fraction of the layer's weights held on chip (cost.weights_on_chip)."""
    t = layer_traffic(layer, lw, hw, first, last, resident, storage_bits)
    return LayerIO(t, layer.is_weighted and t.weight_dram_bits > 0,
                   (first or t.spill) and t.in_bits > 0, last or t.spill)


def coalesce(tiles: list[Tile], hw: HardwareConfig, max_tiles: int = MAX_TILES) -> list[Tile]:
    """Merge runs of consecutive single-group tiles towards ``max_tiles`` tiles: cycles, bytes
    and counts add up, so totals (and SCALE-Sim parity) are unchanged. A run stops growing
    before its loads exceed half of any buffer, so double buffering still works."""
    if len(tiles) <= max_tiles or any(t.pe_cycles.size != 1 for t in tiles):
        return tiles
    half = {b.name: buffer_capacity_bytes(b, hw) // 2 for b in hw.memory.buffers}
    per_run = -(-len(tiles) // max_tiles)
    runs, run, loads = [], [], Counter()
    for t in tiles:
        nxt = loads + Counter(dict(t.loads))
        if run and (len(run) >= per_run or any(n > half.get(b, 0) for b, n in nxt.items())):
            runs.append(run)
            run, nxt = [], Counter(dict(t.loads))
        run.append(t)
        loads = nxt
    runs.append(run)
    merged = []
    for run in runs:
        if len(run) == 1:
            merged.append(run[0])
            continue
        loads, stores, counts = Counter(), Counter(), Counter()
        for t in run:
            loads.update(dict(t.loads))
            stores.update(dict(t.stores))
            counts.update(t.counts)
        cycles = sum(int(t.pe_cycles[0]) for t in run)
        merged.append(Tile(f"{run[0].label}..{run[-1].label}", np.array([cycles], dtype=np.int64),
                           sum(t.balanced_cycles for t in run), tuple(loads.items()), tuple(stores.items()),
                           sum(t.reprogram_cycles for t in run), counts))
    return merged


def split(total: int, weights) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to exactly ``total``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        return np.zeros(0, dtype=np.int64)
    s = w.sum()
    if s <= 0:
        out = np.zeros(w.size, dtype=np.int64)
        out[0] = total
        return out
    cum = np.rint(np.cumsum(w) * (int(total) / s)).astype(np.int64)
    cum[-1] = int(total)
    return np.diff(np.r_[0, cum])


def nbytes(bits: int) -> int:
    return -(-int(bits) // 8)


def map_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, io: LayerIO, fused: bool) -> LayerSchedule:
    """Tiles of one layer for ``hw``'s dataflow (module docstring)."""
    photonic = hw.kind == "photonic"
    floor = (photonic_layer if photonic else electronic_layer)(layer, lw, hw, io.traffic, fused)
    if not layer.is_weighted:
        return map_elementwise(layer, lw, hw, io, fused, floor)
    if photonic:
        return map_photonic(layer, lw, hw, io, floor)
    if hw.pe_array.dataflow == "eie":
        return map_eie(layer, lw, hw, io, floor)
    if hw.pe_array.dataflow in SYSTOLIC_DATAFLOWS:
        return map_systolic(layer, lw, hw, io, floor)
    raise ValueError(f"no mapping for dataflow {hw.pe_array.dataflow!r}")


def _buffers(hw: HardwareConfig):
    mem = hw.memory
    return mem.buffer_for("weights"), mem.buffer_for("inputs"), mem.buffer_for("outputs")


def _cap(buf, hw) -> int:
    return buffer_capacity_bytes(buf, hw) if buf is not None else 0


def streamed_weights(t: Traffic, wbuf, hw) -> tuple[int, bool]:
    """(bytes of the layer's weights that come from DRAM, whether they stay in the weight buffer
    once loaded). A partly resident layer has filled the buffer with its resident part, so what
    it streams must come again on every use."""
    w_bytes = nbytes(t.weight_dram_bits)
    return w_bytes, t.weight_dram_bits == t.weight_bits and w_bytes <= _cap(wbuf, hw)


def map_elementwise(layer, lw, hw, io: LayerIO, fused: bool, floor: LayerResult) -> LayerSchedule:
    """Activation / pooling / flatten: one tile on the activation unit (a relu right after a
    weighted layer runs in that layer's output pipeline: no cycles)."""
    _, ibuf, obuf = _buffers(hw)
    t = io.traffic
    ops = lw.in_act_count if layer.kind != "flatten" else 0
    cycles = 0 if (fused or layer.kind == "flatten") else -(-ops // activation_lanes(hw))
    counts = Counter()
    counts[("activation_unit", "op")] += ops
    counts[(ibuf.name, "read_bits")] += t.in_bits
    counts[(obuf.name, "write_bits")] += t.out_bits
    loads = ((ibuf.name, nbytes(t.in_bits)),) if io.inputs_from_dram else ()
    stores = ((obuf.name, nbytes(t.out_bits)),) if io.outputs_to_dram and t.out_bits else ()
    tile = Tile(layer.name, np.array([cycles], dtype=np.int64), cycles, loads, stores, counts=+counts)
    return LayerSchedule(layer.name, layer.kind, [tile], floor, mapping="activation unit")


def gemm_shape(layer: Layer, batch: int) -> tuple[int, int, int, int]:
    """(groups, Npix, K, M) of the layer's GEMM per group (SCALE-Sim's view of a convolution)."""
    if layer.kind == "fc":
        out_f = layer.weight.shape[0]
        return 1, batch, int(layer.weight.size // out_f), out_f
    oc, icg, kh, kw = layer.weight.shape
    n_pix = int(layer.out_shape[1] * layer.out_shape[2]) * batch
    return layer.groups, n_pix, icg * kh * kw, oc // layer.groups


def _slices(total: int, size: int) -> list[int]:
    return [min(size, total - s) for s in range(0, total, size)]


def map_systolic(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult) -> LayerSchedule:
    pe = hw.pe_array
    rows, cols, df = pe.rows, pe.cols, pe.dataflow
    wbits, abits = bits_of(hw)
    wbuf, ibuf, obuf = _buffers(hw)
    t = io.traffic
    groups, n_pix, k, m = gemm_shape(layer, lw.batch)
    k = reduction_length(layer, hw, k)  # sparse tensor cores walk the N:M-compressed reduction
    wbits = weight_read_bits(layer, hw)  # packed narrow weights; N:M positions read with each weight
    sr, sc, big_t = scalesim_operands(df, n_pix, k, m)
    fd = fill_drain_cycles(df, rows, cols)
    # Partial sums of one fold: ws/is send T x columns of them to the output buffer; os keeps
    # them in the PEs. They must fit half the output buffer (the other half drains).
    n_chunks = 1
    if df != "os":
        psum_bytes = big_t * min(sc, cols) * pe.acc_bits / 8
        n_chunks = max(1, math.ceil(psum_bytes / max(1.0, _cap(obuf, hw) / 2)))
    row_sizes, col_sizes = _slices(sr, rows), _slices(sc, cols)
    t_sizes = [int(x) for x in split(big_t, np.ones(min(n_chunks, big_t)))]
    w_total, weights_stay = streamed_weights(t, wbuf, hw)
    in_total, out_total = nbytes(t.in_bits), nbytes(t.out_bits)
    inputs_stay = in_total <= _cap(ibuf, hw)
    macs = performed_macs(lw, hw, layer)
    # Each tile = (group, chunk, column fold, row fold): its GEMM extents along K, M and Npix.
    specs = []
    for g in range(groups):
        for ci, tc in enumerate(t_sizes):
            for fc, cu in enumerate(col_sizes):
                for fr, ru in enumerate(row_sizes):
                    if df == "ws":
                        ext, ids = (ru, cu, tc), ((g, fr), (g, fc), (g, ci))
                    elif df == "os":
                        ext, ids = (tc, cu, ru), ((g, 0), (g, fc), (g, fr))
                    else:  # is
                        ext, ids = (ru, tc, cu), ((g, fr), (g, ci), (g, fc))
                    final = fr == len(row_sizes) - 1 if df != "os" else True
                    specs.append((ext, ids, final, tc, f"g{g}.t{ci}.c{fc}.r{fr}"))
    ext = np.array([s[0] for s in specs], dtype=np.int64)  # (tiles, 3): k_used, m_used, pix_used
    mac_parts = split(macs, ext[:, 0] * ext[:, 1] * ext[:, 2])
    w_share = _block_shares(w_total, [s[1][:2] for s in specs], ext[:, 0] * ext[:, 1])
    in_share = _block_shares(in_total, [(s[1][0], s[1][2]) for s in specs], ext[:, 0] * ext[:, 2])
    out_share = split(out_total, ext[:, 1] * ext[:, 2] * np.array([s[2] for s in specs]))
    seen_w, seen_in = set(), set()
    tiles = []
    for i, ((ku, mu, pu), (kid, mid, pid), final, tc, label) in enumerate(specs):
        loads = []
        wkey, ikey = (kid, mid), (kid, pid)
        if io.weights_from_dram and (wkey not in seen_w or not weights_stay):
            loads.append((wbuf.name, int(w_share[i])))
        if io.inputs_from_dram and (ikey not in seen_in or not inputs_stay):
            loads.append((ibuf.name, int(in_share[i])))
        first_k = kid[1] == 0 or df == "os"
        seen_w.add(wkey)
        seen_in.add(ikey)
        c = Counter()
        c[("pe_array", "mac")] += int(mac_parts[i])
        c[(wbuf.name, "read_bits")] += ku * mu * wbits  # the array reads each operand once per fold
        c[(ibuf.name, "read_bits")] += ku * pu * abits
        c[(obuf.name, "write_bits")] += mu * pu * pe.acc_bits
        if not first_k:
            c[(obuf.name, "read_bits")] += mu * pu * pe.acc_bits  # accumulate onto earlier folds
        stores = ()
        if final and out_share[i]:
            if io.outputs_to_dram:
                stores = ((obuf.name, int(out_share[i])),)
            else:  # activations stay on chip as the next layer's input
                c[(obuf.name, "read_bits")] += 8 * int(out_share[i])
                c[(ibuf.name, "write_bits")] += 8 * int(out_share[i])
        cycles = tc + fd
        tiles.append(Tile(label, np.array([cycles], dtype=np.int64), cycles, tuple(x for x in loads if x[1] > 0),
                          stores, counts=+c))
    note = (f"{df} {rows}x{cols}: {groups} group(s) x {len(t_sizes)} chunk(s) x {len(col_sizes)} x "
            f"{len(row_sizes)} folds of T={big_t} (+{fd} fill/drain each)")
    return LayerSchedule(layer.name, layer.kind, coalesce(tiles, hw), floor, mapping=note)


def _block_shares(total: int, keys: list, sizes: np.ndarray) -> np.ndarray:
    """Bytes of each tile's block when ``total`` bytes are cut into the distinct blocks ``keys``
    name (a block used by several tiles has the same share in each)."""
    first = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    idx = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    per_block = dict(zip(first, split(total, sizes[idx])))
    return np.array([per_block[key] for key in keys], dtype=np.int64)


def _draw_columns(layer: Layer, in_f: int, nnz: int, sample: int) -> np.ndarray:
    """Positions of a sample's nonzero input activations when the profile does not record them:
    all columns when dense, otherwise a seeded uniform draw of that many."""
    if nnz >= in_f:
        return np.arange(in_f, dtype=np.int64)
    rng = np.random.default_rng([zlib.crc32(layer.name.encode()), sample])
    return np.sort(rng.choice(in_f, size=nnz, replace=False)).astype(np.int64)


def map_eie(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult) -> LayerSchedule:
    """EIE column broadcast (module docstring): every sample's real nonzero activation positions
    (``LayerWork.in_nz_cols``) select the weight columns each PE works through, column by column,
    so per-PE totals, per-column imbalance and the queue stalls are exact. A profile without
    positions falls back to a seeded draw of the right count, corrected to the real per-PE totals."""
    pe = hw.pe_array
    n_pes, depth = pe.count, pe.act_queue_depth
    wbits, abits = bits_of(hw)
    span = 2 ** pe.index_bits if pe.index_bits else 1 << 62
    wbuf, ibuf, obuf = _buffers(hw)
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
    if layer.kind != "fc":
        return _map_eie_conv(layer, lw, hw, io, floor, real, nnz, out_per_sample)
    weight = layer.weight.reshape(layer.weight.shape[0], -1)
    in_f = weight.shape[1]
    starts = list(range(0, in_f, EIE_ACT_BLOCK))
    w_block = split(w_total, [min(EIE_ACT_BLOCK, in_f - s) for s in starts])
    in_bytes_block = [nbytes(min(EIE_ACT_BLOCK, in_f - s) * abits) for s in starts]
    group_names = tuple(f"pe[{p}]" for p in range(n_pes)) + ("lnzd",)  # + the leading-nonzero detector
    tiles = []
    exact = len(lw.in_nz_cols) == b  # the executor recorded the real nonzero positions
    for s in range(b):
        cols = lw.in_nz_cols[s] if exact else _draw_columns(layer, in_f, int(nnz[s]), s)
        target = -(-real * int(nnz[s]) // total_nnz) if b > 1 else real  # this sample's share, per PE
        drawn_eff = np.zeros(n_pes, dtype=np.int64)
        for bi, start in enumerate(starts):
            bc = cols[(cols >= start) & (cols < start + EIE_ACT_BLOCK)]
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
            c[(ptr_buf.name, "read_bits")] += 2 * POINTER_BITS * n_pes * bc.size  # p[j], p[j+1] per PE
            c[(ibuf.name, "read_bits")] += min(EIE_ACT_BLOCK, in_f - start) * abits  # the detector scans them all
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
    note = (f"eie: {n_pes} PEs, queue depth {depth}, {len(starts)} column block(s) of {EIE_ACT_BLOCK} x {b} sample(s)")
    return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping=note)


def _map_eie_conv(layer, lw, hw, io, floor, real, nnz, out_per_sample) -> LayerSchedule:
    """A convolution on an EIE-style array: output channels interleaved over PEs, one tile per
    sample holding that sample's share of each PE's real work (no per-column queue model)."""
    pe = hw.pe_array
    wbits, abits = bits_of(hw)
    wbuf, ibuf, obuf = _buffers(hw)
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
    wbuf, ibuf, obuf = _buffers(hw)
    t = io.traffic
    passes = max(1, int(pw.passes))
    w_total, stay = streamed_weights(t, wbuf, hw)
    in_total, out_total = nbytes(t.in_bits), nbytes(t.out_bits)
    pieces = fc_stream_pieces(w_total, hw) if layer.kind == "fc" else 1
    n = passes * pieces
    compute = split(pw.compute_cycles, np.ones(n))
    reprogram = split(pw.reprogram_cycles, np.ones(n))
    if layer.kind == "fc":  # every sample needs every weight: kept if the layer fits the buffer
        w_tile = np.concatenate([split(w_total if (p == 0 or not stay) else 0, np.ones(pieces))
                                 for p in range(passes)])
        in_pass = split(in_total, np.ones(passes))  # a sample's activations arrive with its first piece
    else:
        w_tile = split(w_total, np.ones(n))
        in_pass = np.r_[in_total, np.zeros(passes - 1, dtype=np.int64)]
    tiles = []
    for i in range(n):
        p, piece = divmod(i, pieces)
        loads = []
        if io.weights_from_dram:
            loads.append((wbuf.name, int(w_tile[i])))
        if io.inputs_from_dram and piece == 0:
            loads.append((ibuf.name, int(in_pass[p])))
        stores = ((obuf.name, out_total),) if i == n - 1 and io.outputs_to_dram and out_total else ()
        cyc = int(compute[i])
        tiles.append(Tile(f"pass{p}.{piece}", np.array([cyc], dtype=np.int64), cyc,
                          tuple(x for x in loads if x[1] > 0), stores, reprogram_cycles=int(reprogram[i])))
    counts = Counter(pw.counts)
    counts[(ibuf.name, "read_bits")] += pw.act_read_bits
    counts[(wbuf.name, "read_bits")] += pw.weight_read_bits
    counts[(obuf.name, "write_bits")] += t.out_bits
    group = "fc" if layer.kind == "fc" else "conv"
    note = f"photonic {group} VDUs: {passes} pass(es) x {pieces} tile(s), op {pw.op_cycles} cycles"
    return LayerSchedule(layer.name, layer.kind, coalesce(tiles, hw), floor, counts=+counts, mapping=note)
