"""Systolic arrays, output-, weight- and input-stationary (``os``, ``ws``, ``is``): one module, since
the three share SCALE-Sim's fold formulas.

Systolic arrays follow SCALE-Sim v2's compute model (scalesim/compute/systolic_compute_{os,ws,is}.py,
read, not copied). A layer is a GEMM ``ifmap (Npix x K) @ filter (K x M)`` with ``Npix`` output
pixels (x batch), ``K`` the filter window (C/groups x kh x kw) and ``M`` filters. Each dataflow
keeps one operand in the R x C array, folds the spatial dimensions ``Sr`` (over rows) and ``Sc``
(over columns) onto it, and streams the temporal dimension ``T`` through it:

    dataflow  Sr    Sc    T     cycles per fold (fill + stream + drain)
    os        Npix  M     K     R + C + T - 2        (operands skewed in, outputs shifted out)
    ws        K     M     Npix  2R + C + T - 2       (R cycles to load the weights, then as os)
    is        K     Npix  M     2R + C + T - 2       (R cycles to load the inputs, then as os)

    folds = ceil(Sr / R) * ceil(Sc / C)        (partial folds still pay the full R and C skew)
    compute cycles = folds * cycles per fold

SCALE-Sim prints ``compute cycles - 1`` (its "Total Cycles" is the 0-based index of the cycle of
the last output write): its golden test, AlexNet conv1 on a 32 x 32 WS array (Npix 3025, K 363,
M 96: 12 x 3 folds of 64 + 32 + 3025 - 2 = 3119 cycles), reports 112283 = 36 x 3119 - 1.

Mapping: one tile per fold. When a fold's partial sums (T x columns x accumulator bits) exceed
half the output buffer, the streamed dimension T is cut into chunks and the folds are repeated
per chunk, each paying fill and drain again (SCALE-Sim ignores capacity, so parity holds only
when no chunking is needed). Storage: dense at the weight width, or the relative-index format
when the array skips zero weights. Time-based counts: static power.

A matmul of two activations is the same GEMM with one group per (sample, head): nothing is
compressed ahead of time, the stationary operand (ws: K x N, is: M x K, os: the outputs) is
filled from the input buffer once per fold and each fill is counted (``pe_array.operand_fill``).
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from ...hardware.spec import HardwareConfig
from ..result import LayerResult
from ..tiles import (MAX_TILES, LayerIO, LayerSchedule, Recent, Tile, act_gemm, block_shares, buffers_of, cap, coalesce, gemm_shape, nbytes,
                     run_first, run_starts, slices, split, step_gemm, streamed_weights)
from ..precision import reduction_length, weight_read_bits
from ..traffic import performed_macs
from .base import Dataflow


SYSTOLIC_DATAFLOWS = ("os", "ws", "is")
MAX_MEMO_LAYERS = 4  # distinct tile lists kept (``map_systolic``)
_TILES = Recent(MAX_MEMO_LAYERS)


def scalesim_operands(dataflow: str, n_pix: int, k: int, m: int) -> tuple[int, int, int]:
    """(Sr, Sc, T) of SCALE-Sim for a GEMM of ``n_pix`` x ``k`` by ``k`` x ``m``."""
    if dataflow == "os":
        return n_pix, m, k
    if dataflow == "ws":
        return k, m, n_pix
    if dataflow == "is":
        return k, n_pix, m
    raise ValueError(f"unknown systolic dataflow {dataflow!r}; expected one of {SYSTOLIC_DATAFLOWS}")


def fill_drain_cycles(dataflow: str, rows: int, cols: int) -> int:
    """Cycles of one fold beyond its T streaming cycles: skew fill and drain (plus the R cycles to
    preload the stationary operand in ws/is)."""
    if dataflow == "os":
        return rows + cols - 2
    return 2 * rows + cols - 2


def fold_counts(dataflow: str, rows: int, cols: int, n_pix: int, k: int, m: int) -> tuple[int, int, int]:
    """(row folds, column folds, T) of one GEMM on a ``rows`` x ``cols`` array."""
    sr, sc, t = scalesim_operands(dataflow, n_pix, k, m)
    return -(-sr // rows), -(-sc // cols), t


def scalesim_compute_cycles(dataflow: str, rows: int, cols: int, n_pix: int, k: int, m: int) -> int:
    """SCALE-Sim's stall-free compute cycles of one GEMM (one more than its printed "Total Cycles")."""
    row_folds, col_folds, t = fold_counts(dataflow, rows, cols, n_pix, k, m)
    return row_folds * col_folds * (t + fill_drain_cycles(dataflow, rows, cols))


class Systolic(Dataflow):
    key = "os"
    aliases = ("ws", "is")

    def map_weighted(self, layer, lw, hw, io, floor):
        # Packed narrow weights and sparse-tensor-core N:M mode (sim/engine/precision.py): the array
        # reads each weight at its stored width plus its N:M position, and walks the compressed K.
        # Recurrent cells run one GEMM per time step (tiles.step_gemm).
        wbits, abits = self.bits(hw)
        groups, n_pix, k, m = step_gemm(layer, lw.batch)
        return map_systolic(layer, lw, hw, io, floor, (weight_read_bits(layer, hw, wbits), abits),
                            gemm=(groups, n_pix, reduction_length(layer, hw, k), m),
                            macs=performed_macs(lw, hw, layer))

    def map_act_matmul(self, layer, lw, hw, io, floor):
        return map_act_matmul_systolic(layer, lw, hw, io, floor, hw.pe_array.dataflow)

    def tiles_bound(self, layer, batch, hw):
        """One tile per fold before coalescing (folds whose loads exceed half a buffer stay apart)."""
        if layer.weight is None:
            return 0
        pe = hw.pe_array
        groups, n_pix, k, m = step_gemm(layer, batch)
        sr, sc, big_t = scalesim_operands(pe.dataflow, n_pix, k, m)
        chunks = min(big_t, psum_chunks(pe.dataflow, big_t, sc, pe.cols, pe.acc_bits, cap(buffers_of(hw)[2], hw)))
        return groups * chunks * -(-sr // pe.rows) * -(-sc // pe.cols)


def map_act_matmul_systolic(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult,
                            dataflow: str) -> LayerSchedule:
    """A matmul of two activations, (M x K) @ (K x N) per sample and head, as a GEMM with
    Npix = M, K, M_filters = N and one group per (sample, head): both operands stream from the
    input buffer at the activation width, the dataflow's stationary operand is filled once per
    fold (counted), every MAC slot of the dense product is spent (masked outputs are not)."""
    abits = hw.pe_array.act_bits
    g, m, k, n = act_gemm(layer, lw.batch)
    sched = map_systolic(layer, lw, hw, io, floor, (abits, abits), gemm=(g, m, k, n), macs=lw.macs - lw.padding_macs,
                         dataflow=dataflow, run_time_operand=True)
    role = {"ws": "the (K x N) operand", "is": "the (M x K) operand"}.get(dataflow, "the outputs")
    sched.mapping = f"act x act: {role} stationary, filled per fold; " + sched.mapping
    return sched


def psum_chunks(df: str, big_t: int, sc: int, cols: int, acc_bits: int, obuf_bytes: int) -> int:
    """Chunks of T a fold is cut into so that its partial sums (ws/is: T x columns) fit half the
    output buffer (os keeps them in the PEs: one chunk)."""
    if df == "os":
        return 1
    psum_bytes = big_t * min(sc, cols) * acc_bits / 8
    return max(1, math.ceil(psum_bytes / max(1.0, obuf_bytes / 2)))


def map_systolic(layer, lw, hw: HardwareConfig, io: LayerIO, floor: LayerResult, bits: tuple[int, int],
                 gemm: tuple[int, int, int, int] | None = None, macs: int | None = None,
                 dataflow: str | None = None, meta: tuple[str, int] | None = None,
                 run_time_operand: bool = False) -> LayerSchedule:
    """SCALE-Sim folds (``pe.py``), one tile per fold (module docstring). A kind built on these
    folds passes gemm: (groups, Npix, K, M) when it changes the GEMM (N:M sparsity compresses K);
    macs: MAC slots spent; dataflow: os | ws | is (default ``pe_array.dataflow``); meta: (buffer,
    bits per stored weight) of metadata the array reads beside each weight; run_time_operand: the
    "weight" operand is an activation (matmul of two activations): it is read from the input
    buffer, and every element written into a PE's stationary register is counted as an
    ``operand_fill`` (ws: the K x N operand, is: the M x K operand, os: the outputs held)."""
    pe = hw.pe_array
    rows, cols, df = pe.rows, pe.cols, dataflow or pe.dataflow
    wbits, abits = bits
    wbuf, ibuf, obuf = buffers_of(hw)
    t = io.traffic
    groups, n_pix, k, m = gemm if gemm is not None else gemm_shape(layer, lw.batch)
    sr, sc, big_t = scalesim_operands(df, n_pix, k, m)
    fd = fill_drain_cycles(df, rows, cols)
    # Partial sums of one fold: ws/is send T x columns of them to the output buffer; os keeps
    # them in the PEs. They must fit half the output buffer (the other half drains).
    n_chunks = psum_chunks(df, big_t, sc, cols, pe.acc_bits, cap(obuf, hw))
    row_sizes, col_sizes = slices(sr, rows), slices(sc, cols)
    t_sizes = [int(x) for x in split(big_t, np.ones(min(n_chunks, big_t)))]
    w_total, weights_stay = streamed_weights(t, wbuf, hw)
    in_total, out_total = nbytes(t.in_bits), nbytes(t.out_bits)
    inputs_stay = in_total <= cap(ibuf, hw)
    macs = performed_macs(lw, hw) if macs is None else macs
    note = (f"{df} {rows}x{cols}: {groups} group(s) x {len(t_sizes)} chunk(s) x {len(col_sizes)} x "
            f"{len(row_sizes)} folds of T={big_t} (+{fd} fill/drain each)")
    # The tiles are a function of these alone: equal layers (a transformer's repeated blocks) share
    # one list, built once (and simulated once: engine/simulate.py keeps runs by tile list).
    key = (rows, cols, df, wbits, abits, pe.acc_bits, groups, n_pix, k, m, int(macs), n_chunks, w_total,
           weights_stay, in_total, inputs_stay, out_total, io.weights_from_dram, io.inputs_from_dram,
           io.outputs_to_dram, wbuf.name, ibuf.name, obuf.name, meta, run_time_operand, MAX_TILES,
           tuple((b.name, cap(b, hw)) for b in hw.memory.buffers))
    tiles = _TILES.get(key)
    if tiles is None:
        tiles = systolic_tiles(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay,
                               in_total, inputs_stay, out_total, io, (wbuf, ibuf, obuf), pe.acc_bits, meta,
                               run_time_operand, hw)
        _TILES.put(key, tiles)
    return LayerSchedule(layer.name, layer.kind, tiles, floor, mapping=note)


def systolic_tiles(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total,
                   inputs_stay, out_total, io, bufs, acc_bits, meta, run_time_operand, hw) -> list[Tile]:
    """One tile per fold (``map_systolic``), coalesced: built with numpy, run by run (the folds
    themselves are never objects). Buffers sharing a name (one SRAM holding two operands) take
    the fold-by-fold path, whose merge rules the vector one reproduces exactly."""
    args = (df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total, inputs_stay,
            out_total, io, bufs, acc_bits, meta, run_time_operand, hw)
    wbuf, ibuf, obuf = bufs
    keys = [("pe_array", "mac"), ("pe_array", "operand_fill"), (wbuf.name, "read_bits"), (ibuf.name, "read_bits"), (obuf.name, "write_bits"), (obuf.name, "read_bits"),
            (ibuf.name, "write_bits")] + ([(meta[0], "read_bits")] if meta is not None else [])
    if len(set(keys)) < len(keys) or (run_time_operand and meta is not None):
        return fold_tiles(*args)
    return vector_tiles(*args)


def vector_tiles(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total,
                 inputs_stay, out_total, io, bufs, acc_bits, meta, run_time_operand, hw) -> list[Tile]:
    """``fold_tiles`` with arrays: the same tiles, labels, loads, stores and counts (in the same order)."""
    wbuf, ibuf, obuf = bufs
    (names, starts, ends, run_cycles, sums, w_sum, in_sum, st_sum, first, w_first_run, in_first_run, fa,
     fb) = _fold_runs(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total,
                      inputs_stay, out_total, io, bufs, acc_bits, meta, run_time_operand, hw)
    n = int(ends[-1]) if ends.size else 0
    fa, fb = fa.T.copy(), fb.T.copy()  # (runs, 4): read run by run (lists of them would outweigh the tiles)
    tiles = []
    # Equal parts are one object (tiles are never mutated): a big layer's runs repeat a few shapes.
    shared: dict = {}
    for r, (a, b) in enumerate(zip(starts.tolist(), ends.tolist())):
        label = "g{}.t{}.c{}.r{}".format(*fa[r].tolist())
        if b - a > 1:
            label += "..g{}.t{}.c{}.r{}".format(*fb[r].tolist())
        order = sorted((int(first[q, r]), q) for q in range(len(names)) if first[q, r] < n)
        items = tuple((names[q], int(sums[q, r])) for _, q in order)
        counts = shared.get(items)
        if counts is None:
            counts = shared[items] = Counter(dict(items))
        loads = [(wbuf.name, int(w_sum[r]), int(w_first_run[r]), 0), (ibuf.name, int(in_sum[r]), int(in_first_run[r]), 1)]
        loads = tuple((name, nb) for name, nb, _, _ in sorted(
            (x for x in loads if x[1] > 0), key=lambda x: (x[2], x[3])))
        loads = shared.setdefault(("loads", loads), loads)
        stores = ((obuf.name, int(st_sum[r])),) if st_sum[r] > 0 else ()
        stores = shared.setdefault(("stores", stores), stores)
        c = int(run_cycles[r])
        pe = shared.get(("pe", c))
        if pe is None:
            pe = shared[("pe", c)] = np.array([c], dtype=np.int64)
        tiles.append(Tile(label, pe, c, loads, stores, counts=counts))
    return tiles


def _fold_runs(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total,
               inputs_stay, out_total, io, bufs, acc_bits, meta, run_time_operand, hw):
    """Per fold arrays reduced to per run ones (``vector_tiles``); the fold arrays are freed on return.
    fa, fb: (group, chunk, column fold, row fold) of each run's first and last fold."""
    wbits, abits = bits
    wbuf, ibuf, obuf = bufs
    nr, nc, nt = len(row_sizes), len(col_sizes), len(t_sizes)
    g, ci, fc, fr = (a.ravel() for a in np.meshgrid(np.arange(groups), np.arange(nt), np.arange(nc), np.arange(nr),
                                                    indexing="ij"))
    ru, cu, tc = (np.asarray(row_sizes, dtype=np.int64)[fr], np.asarray(col_sizes, dtype=np.int64)[fc],
                  np.asarray(t_sizes, dtype=np.int64)[ci])
    if df == "ws":
        (ku, mu, pu), (kid, mid, pid) = (ru, cu, tc), (fr, fc, ci)
    elif df == "os":
        (ku, mu, pu), (kid, mid, pid) = (tc, cu, ru), (np.zeros_like(fr), fc, fr)
    else:  # is
        (ku, mu, pu), (kid, mid, pid) = (ru, tc, cu), (fr, ci, fc)
    final = (fr == nr - 1) if df != "os" else np.ones(fr.size, dtype=bool)
    n = fr.size
    span = max(nr, nc, nt) + 1
    mac_parts = split(macs, ku * mu * pu)
    w_share, w_first = _block_shares(w_total, (g * span + kid) * span + mid, ku * mu)
    in_share, in_first = _block_shares(in_total, (g * span + kid) * span + pid, ku * pu)
    out_share = split(out_total, mu * pu * final)
    w_load = np.where(io.weights_from_dram & (w_first | (not weights_stay)), w_share, 0)
    in_load = np.where(io.inputs_from_dram & (in_first | (not inputs_stay)), in_share, 0)
    first_k = (kid == 0) | (df == "os")
    has_out = final & (out_share > 0)
    store = np.where(has_out & io.outputs_to_dram, out_share, 0)
    on_chip = np.where(has_out & (not io.outputs_to_dram), 8 * out_share, 0)
    cols = [(("pe_array", "mac"), mac_parts),
            ((ibuf.name if run_time_operand else wbuf.name, "read_bits"), ku * mu * wbits)]
    if run_time_operand:
        cols.append((("pe_array", "operand_fill"), {"ws": ku * mu, "is": ku * pu}.get(df, mu * pu)))
    if meta is not None:
        cols.append(((meta[0], "read_bits"), ku * mu * meta[1]))
    read_i = ku * pu * abits
    if run_time_operand:  # the K x N operand and the inputs are both read from the input buffer
        cols[1] = (cols[1][0], cols[1][1] + read_i)
    else:
        cols.append(((ibuf.name, "read_bits"), read_i))
    cols += [((obuf.name, "write_bits"), mu * pu * acc_bits),
             ((obuf.name, "read_bits"), np.where(first_k, 0, mu * pu * acc_bits) + on_chip),
             ((ibuf.name, "write_bits"), on_chip)]
    names = [k for k, _ in cols]
    values = np.stack([np.asarray(v, dtype=np.int64) for _, v in cols])  # (keys, folds)
    cycles = tc + fd
    starts = run_starts(n, ((wbuf.name, w_load), (ibuf.name, in_load)), hw)  # names differ (systolic_tiles)
    ends = np.r_[starts[1:], n]
    run_cycles = np.add.reduceat(cycles, starts)
    sums = np.add.reduceat(values, starts, axis=1)
    w_sum, in_sum, st_sum = (np.add.reduceat(a, starts) for a in (w_load, in_load, store))
    # First fold of each run where a key is counted: keys enter a merged Counter in that order.
    first = np.stack([run_first(row, starts) for row in values])
    del values  # (keys x folds): the largest array of a big layer
    w_first_run, in_first_run = run_first(w_load, starts), run_first(in_load, starts)
    fold = np.stack([g, ci, fc, fr])
    return (names, starts, ends, run_cycles, sums, w_sum, in_sum, st_sum, first, w_first_run, in_first_run,
            fold[:, starts], fold[:, ends[:starts.size] - 1])


def _block_shares(total: int, codes: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``tiles.block_shares`` of each fold, whether the fold is its block's first use), by block code."""
    uniq, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # blocks in order of first use
    per_block = np.empty(uniq.size, dtype=np.int64)
    per_block[order] = split(total, sizes[first[order]])
    is_first = np.zeros(codes.size, dtype=bool)
    is_first[first] = True
    return per_block[inverse.ravel()], is_first


def fold_tiles(df, fd, row_sizes, col_sizes, t_sizes, groups, macs, bits, w_total, weights_stay, in_total,
               inputs_stay, out_total, io, bufs, acc_bits, meta, run_time_operand, hw) -> list[Tile]:
    """One Tile per fold, then ``tiles.coalesce``."""
    wbits, abits = bits
    wbuf, ibuf, obuf = bufs
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
    w_share = block_shares(w_total, [s[1][:2] for s in specs], ext[:, 0] * ext[:, 1])
    in_share = block_shares(in_total, [(s[1][0], s[1][2]) for s in specs], ext[:, 0] * ext[:, 2])
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
        c[(ibuf.name if run_time_operand else wbuf.name, "read_bits")] += ku * mu * wbits  # each operand once per fold
        if run_time_operand:
            c[("pe_array", "operand_fill")] += {"ws": ku * mu, "is": ku * pu}.get(df, mu * pu)
        if meta is not None:
            c[(meta[0], "read_bits")] += ku * mu * meta[1]
        c[(ibuf.name, "read_bits")] += ku * pu * abits
        c[(obuf.name, "write_bits")] += mu * pu * acc_bits
        if not first_k:
            c[(obuf.name, "read_bits")] += mu * pu * acc_bits  # accumulate onto earlier folds
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
    return coalesce(tiles, hw)
