"""``sampled`` execution: large fc layers are counted on a seeded, stratified sample of output rows.

Where full execution spends its time
------------------------------------
Measured on VGG-16 (batch 1, warm numba cache, systolic): of ~4 s of execution, 2.8 s are fc6
(25088 x 4096), almost all of it converting the 102M-weight dense matrix into the kernel's tiled
CSR format and walking it; the 13 conv layers together take ~1 s. Counting, not arithmetic, is
what costs: numpy's BLAS computes fc6's output in ~0.05 s.

ResNet-50 (dense synthesized weights, systolic, warm; cProfile, 2 busy cores): at batch 1 the
float execution takes ~6.5 s, of which ~4 s convert the 25.6M conv weights into the kernel's
layout and ~1.9 s are the conv kernel; the integer design numerics (a calibration pass that
re-executes in float, ~3.3 s, and the int8 execution, ~10 s, mostly ``int_csr_matmul``) take
two thirds of the run. At batch 8 the design numerics are ~85% (int8 execution ~92 s of ~142 s
under the profiler), the float execution ~22 s (conv kernel ~11 s per pass, layouts ~7 s); the
event model and pricing take under 1 s. A sampled run skips the design numerics and the layouts.

Model
-----
An fc layer whose dense weight count is at least ``threshold`` weights is *sampled*:

- **Outputs** are computed for every row with BLAS (``x @ W.T + bias`` on the layer's float
  weights, i.e. the dequantized values the reference uses), so the next layer gets its real
  input; the rows in the sample are then overwritten with the kernel's own outputs.
- **Counting**: output rows are cut into ``strata`` contiguous blocks (the row-interleaved PE /
  tile assignment the mappers use); from each block ``n_h = max(2, ceil(f N_h))`` rows are drawn
  without replacement (seeded). The sampled rows are converted and run through the same numba
  kernel (``csr_matvec`` / ``csr_matmul``) with the full layer's tile geometry, which gives each
  sampled row's effectual MACs.
- **Exact from geometry** (not estimated): macs, weight_count, weight_nnz (and every stored
  weight count per row), skipped_zero_weight, weight_words_read, index_words_read, act_reads,
  codebook_lookups, input and output activation counts and nonzeros (the output exists).
- **Estimated**: effectual MACs per row (``out_work``) by a separate ratio estimator per stratum,
  ``R_h = sum_s eff_r / sum_s nnz_r`` and ``eff_r ~= R_h nnz_r * batch`` for unsampled rows (the
  per-row stored-weight counts are exact, so per-PE imbalance from uneven rows is kept; only the
  activation-dependent part is extrapolated); the layer's effectual MACs are ``sum(out_work)``
  and skipped_zero_act = stored - effectual. psum_writes: per-row writes of the sampled rows
  (the kernel's formula on their (row, column block) runs) expanded by the stratified estimator.
- **Interval**: 95% CI of effectual MACs from the ratio estimator's stratified variance,
  ``sum_h N_h^2 (1 - n_h/N_h) s_eh^2 / n_h`` (``e_r = eff_r - R_h x_r``, finite-population
  corrected), clipped to [0, stored MACs]. With fraction 1 the variance is 0 and every counter
  equals full execution's.

The statistical assumption is that within a block of contiguous rows the fraction of a row's
stored weights meeting a nonzero activation is exchangeable across rows (true for any fixed input
when the sample is uniform within the stratum: the estimator is design-unbiased to first order,
whatever the weights). Accuracy is not reported from a sampled run.

Conv layers: counted exactly, outputs by BLAS
---------------------------------------------
A conv layer (square kernel, one stride / dilation, symmetric padding: not ``general_window``) of
at least ``COUNT_CONV_MACS`` = 2**23 dense MACs per sample may be *counted* instead, exactly, without
the sparse kernel's arithmetic (``counted_conv``). Below that size the kernel costs under about
10 ms per sample and runs as in full execution; every ResNet-50 and VGG-16 conv is above it.

- **Counters** are the kernel's own counts (``kernels.conv.window_tables``: per input channel and
  window start, the nonzero cells and the in-bounds cells of the lattice of output positions). A
  stored weight at tap (kh, kw) of channel c has ``window_nz[b, c, kh d, kw d]`` effectual MACs;
  ``tap_counts`` counts just those k x k entries per channel directly (one strided slice of the
  nonzero indicator per tap: faster than the tables' summed-area pass), so an output channel's effectual MACs are
  the weights' nonzero mask times those counts: one float64 matrix-vector product per group
  (integers below 2**53, so exact). The layout's run lengths (``np.diff(ptr)`` of
  ``formats.conv_from_dense``) come from the mask per (channel block, output channel). Every
  counter, ``out_work`` per output channel and the activation counts equal full execution's
  (``tests/test_sampled_conv.py``); no layout is built (full execution's conversion costs more
  than its arithmetic on dense weights).
- **Outputs**: ``blas_conv``, an im2col of chunks of output rows (a view for 1x1 stride-1
  kernels) times the group's float weights, per sample and group, plus bias. They equal the
  kernel's up to float32 rounding (allclose, rtol 1e-4), so a later layer's activation nonzeros
  can differ from full execution's only where an output lies within rounding of 0 (before a ReLU).
- **Which**: a conv of at least ``COUNT_CONV_MACS`` dense MACs per sample is counted when BLAS on
  its dense weights is estimated faster than the sparse kernel (``is_counted_conv``: BLAS at
  ``BLAS_S_PER_DENSE_MAC`` per dense MAC against the kernel at ``KERNEL_S_PER_STORED_MAC`` per
  stored-weight MAC plus its layout conversion, ``KERNEL_S_PER_STORED_WEIGHT``; measured). Dense
  layers (ResNet-50's synthesized weights) are counted; pruned ones below about 40-50% density
  on large planes (most of VGG-16's Deep Compression densities) keep the kernel, which is exact too.
- In ``layers.csv`` such a layer has ``sampled`` False, ``sample_fraction`` 1 and an interval
  equal to its effectual MACs: nothing about it is estimated.

matmul, recurrent, general-window conv and per-token fc layers run in full (not sampled yet).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from numpy.lib.stride_tricks import sliding_window_view

from ..kernels import formats
from ..kernels.csr import csr_matmul, csr_matvec
from ..kernels.simd import TILE_LANES
from ..kernels.threads import threads, threads_for
from ..workload.network import Layer, Network
from .execute import _finish, _unpacked, _words, conv_counters, execute_layer
from .profile import LayerWork, WorkProfile
from .reference import rows_of, run_layers

SAMPLE_THRESHOLD = 1 << 22  # dense weights of an fc layer above which it is sampled
COUNT_CONV_MACS = 1 << 23  # dense MACs per sample of a conv layer above which it may be counted, outputs by BLAS
# Measured on this project's 2-core machine (ResNet-50 and VGG-16 layers, batch 1): the sparse kernel's
# cost per stored-weight MAC and its layout conversion per stored weight, and BLAS's per dense MAC.
KERNEL_S_PER_STORED_MAC = 0.2e-9
KERNEL_S_PER_STORED_WEIGHT = 50e-9
BLAS_S_PER_DENSE_MAC = 0.1e-9
_COLS_ELEMS = 1 << 23  # im2col elements of one chunk of output rows (32 MB of float32)
SAMPLE_WEIGHTS = 1 << 21  # weights a sampled layer's sample aims at (fraction = this / weights)
MIN_FRACTION = 0.02
STRATA = 64
Z95 = 1.959963984540054


def sample_fraction_for(layer: Layer, threshold: int = SAMPLE_THRESHOLD) -> float:
    """The fraction of output rows a layer's sample takes (1.0: the layer is executed in full)."""
    if layer.kind != "fc" or layer.weight is None or int(layer.weight.size) < threshold:
        return 1.0
    return min(1.0, max(MIN_FRACTION, SAMPLE_WEIGHTS / int(layer.weight.size)))


def stratified_rows(n_rows: int, fraction: float, strata: int, rng: np.random.Generator):
    """(rows, stratum of each row, block bounds): a sorted sample of ``n_rows`` rows, ``max(2,
    ceil(fraction N_h))`` (at most N_h) per contiguous block."""
    h = max(1, min(strata, n_rows // 2 or 1))
    bounds = np.linspace(0, n_rows, h + 1).round().astype(np.int64)
    rows, which = [], []
    for s in range(h):
        lo, hi = int(bounds[s]), int(bounds[s + 1])
        size = hi - lo
        n = size if fraction >= 1.0 else min(size, max(2, int(np.ceil(fraction * size))))
        pick = np.sort(rng.choice(size, n, replace=False)) + lo if n < size else np.arange(lo, hi)
        rows.append(pick)
        which.append(np.full(n, s, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(which), bounds


def ratio_estimate(y_s, x_s, x_all, strata_s, bounds):
    """Per-row estimates of ``y`` for all rows and the variance of their total.

    y_s, x_s: the sampled rows' values and auxiliary (exactly known) values; x_all: the
    auxiliary value of every row; strata_s: each sampled row's stratum; bounds: block limits.
    Sampled rows keep their own value; the others get ``R_h x_r``."""
    est = np.empty(x_all.shape[0], dtype=np.float64)
    var = 0.0
    for h in range(bounds.size - 1):
        lo, hi = int(bounds[h]), int(bounds[h + 1])
        sel = strata_s == h
        ys, xs = y_s[sel].astype(np.float64), x_s[sel].astype(np.float64)
        big_n, n = hi - lo, int(sel.sum())
        r = ys.sum() / xs.sum() if xs.sum() > 0 else (ys.mean() if n else 0.0)
        est[lo:hi] = r * x_all[lo:hi] if xs.sum() > 0 else r
        if n > 1 and n < big_n:
            e = ys - r * xs if xs.sum() > 0 else ys - ys.mean()
            var += big_n ** 2 * (1.0 - n / big_n) * e.var(ddof=1) / n
    return est, var


def stratified_total(y_s, strata_s, bounds):
    """Stratified expansion estimate of the total of ``y`` over all rows."""
    total = 0.0
    for h in range(bounds.size - 1):
        sel = strata_s == h
        if sel.any():
            total += (bounds[h + 1] - bounds[h]) * float(np.mean(y_s[sel]))
    return total


def _row_writes(sub_mask: np.ndarray, cols_per_block: int, batch: int, register_tiles: bool) -> np.ndarray:
    """Per row: the accumulator writes ``csr_matvec`` / ``csr_matmul`` make (``execute._fc``)."""
    n_in = sub_mask.shape[1]
    starts = np.arange(0, n_in, cols_per_block)
    counts = np.add.reduceat(sub_mask.astype(np.int64), starts, axis=1) if n_in else np.zeros((sub_mask.shape[0], 0), np.int64)
    runs = np.count_nonzero(counts, axis=1)
    if batch == 1:
        return runs.astype(np.int64)
    grouped = (counts // 4 + counts % 4).sum(axis=1)
    tiled = batch - batch % TILE_LANES if register_tiles else 0
    return runs * tiled + grouped * (batch - tiled)


def _rows_of_layer(layer: Layer, rows: np.ndarray) -> Layer:
    """``layer`` restricted to output ``rows``: its weights and their encoding (codes, integer
    values, per-row scales), for the weight-word conversion of the sample."""
    q = layer.quant
    if q is not None:
        sliced = {name: getattr(q, name)[rows] for name in ("codes", "qvalues") if getattr(q, name) is not None}
        if q.scale is not None and np.size(q.scale) == layer.weight.shape[0]:
            sliced["scale"] = np.asarray(q.scale).ravel()[rows]
        q = dataclasses.replace(q, **sliced)
    return layer.replace(weight=layer.weight[rows], quant=q)


def _packed_rows(layer: Layer, packed, pcol, indptr, rows) -> Layer:
    """``_rows_of_layer`` of a packed fc layer (no quantization): the sampled rows made dense.
    indptr: where each row's stored weights start in the packed (row-major) order."""
    sub = np.zeros((rows.size, int(np.prod(packed.shape[1:]))), dtype=np.float32)
    for i, r in enumerate(rows):
        lo, hi = indptr[r], indptr[r + 1]
        sub[i, pcol[lo:hi]] = packed.values[lo:hi]
    return layer.replace(weight=sub, attrs={k: v for k, v in layer.attrs.items() if k != "packed"})


def _sparse_product(packed, pcol, indptr, x2: np.ndarray) -> np.ndarray:
    """``x2 @ W.T`` (float32) of a packed weight, row by row over its stored weights."""
    from ..kernels.spmm import csr_product

    out = np.empty((x2.shape[0], indptr.size - 1), dtype=np.float64)
    with threads(threads_for(int(indptr[-1]) * x2.shape[0])):
        csr_product(indptr, pcol, packed.values, np.ascontiguousarray(x2, dtype=np.float32), out)
    return out.astype(np.float32)


def sampled_fc(layer: Layer, xs: list[np.ndarray], fraction: float, seed: int,
               strata: int = STRATA) -> tuple[np.ndarray, LayerWork]:
    """Output (every row) and extrapolated LayerWork of an fc layer counted on a row sample."""
    x = xs[0]
    samples = x.shape[0]
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=samples, in_act_count=int(x.size),
                   in_act_nnz=int(np.count_nonzero(x)))
    x2 = np.ascontiguousarray(rows_of(layer, x), dtype=np.float32)
    batch = x2.shape[0]
    lw.batch = batch
    n_rows, n_in = layer.weight.shape[0], int(np.prod(layer.weight.shape[1:]))
    packed = layer.attrs.get("packed")
    if packed is not None:  # compressed form: per-row counts and the sample's rows from the positions
        prow, pcol = packed.rows_cols()
        nnz_rows = np.bincount(prow, minlength=n_rows).astype(np.int64)
        indptr = np.zeros(n_rows + 1, dtype=np.int64)
        np.cumsum(nnz_rows, out=indptr[1:])
    else:
        nnz_rows = np.count_nonzero(layer.weight, axis=1).astype(np.int64)
    nnz = int(nnz_rows.sum())
    rng = np.random.default_rng([seed, 104729, n_rows, n_in])
    rows, strata_of, bounds = stratified_rows(n_rows, fraction, strata, rng)
    if packed is not None:
        mask, words, codebook, row_scale = _words(_packed_rows(layer, packed, pcol, indptr, rows))
    else:
        mask, words, codebook, row_scale = _words(_rows_of_layer(layer, rows))
    row_tile, block_cols = formats.csr_tile_shape(n_rows, n_in, nnz, batch)  # the full layer's geometry
    tiles = formats.csr_tiles_from_dense(mask, words, row_tile, block_cols)
    work = np.empty(rows.size, dtype=np.int64)
    acc_dtype = np.float32
    with threads(threads_for(int(mask.sum()) * batch)):
        if batch == 1:
            out1 = np.empty(rows.size, dtype=acc_dtype)
            csr_matvec(*tiles[:3], tiles[3], codebook, x2[0], out1, work)
            out_s = out1[None, :]
        else:
            outT = np.empty((rows.size, batch), dtype=acc_dtype)
            csr_matmul(*tiles[:3], tiles[3], codebook, np.ascontiguousarray(x2.T), outT, work)
            out_s = outT.T
    bias_s = None if layer.bias is None else layer.bias[rows]
    y_s = _finish(out_s, row_scale, 1.0, False, bias_s, (1, -1))
    if packed is not None:
        y = _sparse_product(packed, pcol, indptr, x2)
    else:
        y = x2 @ layer.weight.T.astype(np.float32, copy=False)
    if layer.bias is not None:
        y += layer.bias.reshape(1, -1)
    y[:, rows] = y_s
    # exact counters
    n_blocks = max(1, -(-n_in // max(1, block_cols)))
    cols_per_block = max(1, -(-n_in // n_blocks))
    n_tiles = max(1, -(-n_rows // row_tile))
    lw.macs = batch * n_rows * n_in
    stored = nnz * batch
    lw.skipped_zero_weight = lw.macs - stored
    lw.weight_count, lw.weight_nnz = layer.weight_count, nnz
    lw.weight_words_read = nnz
    lw.index_words_read = nnz + (n_tiles + 1) + n_tiles * n_blocks * row_tile
    lw.act_reads = stored
    lw.codebook_lookups = lw.weight_words_read if codebook.size else 0
    # estimated counters
    est, var = ratio_estimate(work, nnz_rows[rows] * batch, nnz_rows * batch, strata_of, bounds)
    out_work = np.rint(est).astype(np.int64)
    out_work[rows] = work
    lw.out_work = out_work
    lw.effectual_macs = int(out_work.sum())
    lw.skipped_zero_act = stored - lw.effectual_macs
    writes = _row_writes(mask, cols_per_block, batch, words.dtype == np.float32)
    lw.psum_writes = int(round(stratified_total(writes, strata_of, bounds)))
    half = Z95 * float(np.sqrt(var))
    lw.sampled = rows.size < n_rows
    lw.sample_fraction = rows.size / n_rows
    lw.effectual_ci = (max(0, int(np.floor(lw.effectual_macs - half))), min(stored, int(np.ceil(lw.effectual_macs + half))))
    y = y.reshape((samples,) + tuple(layer.out_shape))
    lw.out_act_count = int(y.size)
    lw.out_act_nnz = int(np.count_nonzero(y))
    return y, lw


def is_counted_conv(layer: Layer, threshold: int = COUNT_CONV_MACS, density: float | None = None) -> bool:
    """A conv layer ``sampled`` mode counts exactly with outputs by BLAS (``counted_conv``):
    square-kernel geometry (not ``general_window``) of at least ``threshold`` dense MACs per sample,
    where BLAS on the dense weights is estimated faster than the sparse kernel with its layout
    conversion (at ``density``, default the weights' own; ``threshold`` 0: every such conv)."""
    if layer.kind != "conv2d" or layer.weight is None or layer.general_window:
        return False
    dense = int(layer.dense_macs)
    if dense < threshold:
        return False
    if threshold == 0:
        return True
    d = layer.weight_density if density is None else float(density)
    kernel = d * (dense * KERNEL_S_PER_STORED_MAC + int(layer.weight.size) * KERNEL_S_PER_STORED_WEIGHT)
    return dense * BLAS_S_PER_DENSE_MAC < kernel


def blas_conv(xp: np.ndarray, w: np.ndarray, stride: int, dilation: int, groups: int,
              out_hw: tuple) -> np.ndarray:
    """Float32 grouped, strided, dilated cross-correlation of the zero-padded ``xp`` (B, C, Hp, Wp)
    with ``w`` (O, C // groups, k, k), no bias: per group and chunk of output rows, one im2col of
    the chunk over the whole batch times the group's weights (one BLAS sgemm: a wide product is
    several times faster than one per sample)."""
    batch = xp.shape[0]
    out_c, cg, k, _ = w.shape
    og = out_c // groups
    oh, ow = out_hw
    span = (k - 1) * dilation + 1
    out = np.empty((batch, out_c, oh, ow), dtype=np.float32)
    w2 = np.ascontiguousarray(w, dtype=np.float32).reshape(out_c, cg * k * k)
    rows = max(1, min(oh, _COLS_ELEMS // max(1, batch * cg * k * k * ow)))
    for g in range(groups):
        xg = xp[:, g * cg:(g + 1) * cg]
        wg = w2[g * og:(g + 1) * og]
        if k == 1:
            win = xg[:, :, ::stride, ::stride][:, :, :oh, :ow, None, None]
        else:
            win = sliding_window_view(xg, (span, span), axis=(2, 3))[:, :, ::stride, ::stride, ::dilation, ::dilation]
        for y0 in range(0, oh, rows):
            y1 = min(oh, y0 + rows)
            cols = win[:, :, y0:y1, :ow].transpose(1, 4, 5, 0, 2, 3).reshape(cg * k * k, batch * (y1 - y0) * ow)
            y = (wg @ cols).reshape(og, batch, y1 - y0, ow)
            out[:, g * og:(g + 1) * og, y0:y1] = y.transpose(1, 0, 2, 3)
    return out


def conv_runs(mask: np.ndarray, layer: Layer) -> np.ndarray:
    """Stored weights per (input-channel block, output channel) of ``formats.conv_from_dense``'s
    layout (its ``np.diff(ptr)``), from the weights' nonzero mask alone."""
    out_c, cg, k, _ = mask.shape
    og = max(1, out_c // layer.groups)
    bc = formats.conv_block_channels(layer.in_shape, k, layer.dilation, layer.padding)
    n_blocks = max(1, -(-int(layer.in_shape[0]) // bc))
    per_channel = np.count_nonzero(mask.reshape(out_c, cg, k * k), axis=2)  # (out_c, cg)
    o = np.arange(out_c)[:, None]
    ci = (o // og) * cg + np.arange(cg)[None, :]
    seg = (ci // bc) * out_c + o
    return np.bincount(seg.ravel(), weights=per_channel.ravel(), minlength=n_blocks * out_c).astype(np.int64)


def tap_counts(xp: np.ndarray, stride: int, padding: int, dilation: int, k: int, out_hw: tuple, in_hw: tuple):
    """(nz (C, k, k) int64, valid (k, k) int64): per input channel and tap (kh, kw), the nonzero
    cells of the padded input ``xp`` (B, C, Hp, Wp) on the lattice of output positions the tap
    reads, summed over the batch (the conv kernel's ``window_tables`` entry at (kh d, kw d)), and
    the lattice's cells inside the unpadded ``in_hw`` extent. Counted directly, one strided
    slice per tap."""
    oh, ow = out_hw
    h, w = in_hw
    nzm = xp != 0
    span_y, span_x = (oh - 1) * stride + 1, (ow - 1) * stride + 1
    nz = np.empty((xp.shape[1], k, k), dtype=np.int64)
    for kh in range(k):
        for kw in range(k):
            y0, x0 = kh * dilation, kw * dilation
            nz[:, kh, kw] = np.count_nonzero(nzm[:, :, y0:y0 + span_y:stride, x0:x0 + span_x:stride], axis=(0, 2, 3))
    taps = np.arange(k) * dilation
    ys = taps[:, None] + np.arange(oh)[None, :] * stride  # padded row each (tap, output row) reads
    xs = taps[:, None] + np.arange(ow)[None, :] * stride
    ny = ((ys >= padding) & (ys < padding + h)).sum(axis=1)
    nx = ((xs >= padding) & (xs < padding + w)).sum(axis=1)
    return nz, np.outer(ny, nx).astype(np.int64)


def counted_conv(layer: Layer, xs: list[np.ndarray]) -> tuple[np.ndarray, LayerWork]:
    """Output and exact LayerWork of a conv layer without the sparse kernel's arithmetic.

    Counters: per input channel and tap, the nonzero and the in-bounds cells of the lattice of
    output positions the tap reads (``tap_counts``: the kernel's ``window_tables`` entries, counted
    directly) summed over the stored weights of every output channel, as one float64
    matrix-vector product per group (integers below 2**53: exact); the layout's run lengths from
    the mask (``conv_runs``). Every counter equals ``execute_layer``'s. Outputs:
    ``blas_conv`` on the layer's float weights plus bias (float32 rounding differs from the
    kernel's: allclose, not bit-equal)."""
    if "packed" in layer.attrs:
        layer = _unpacked(layer)
    x = xs[0]
    batch = x.shape[0]
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=batch, in_act_count=int(x.size),
                   in_act_nnz=int(np.count_nonzero(x)))
    lw.in_nnz_per_sample = np.count_nonzero(x.reshape(batch, -1), axis=1).astype(np.int64)
    p, s, d, g = layer.padding, layer.stride, layer.dilation, layer.groups
    out_c, oh, ow = layer.out_shape
    xin = np.ascontiguousarray(x, dtype=np.float32)
    xp = np.pad(xin, ((0, 0), (0, 0), (p, p), (p, p))) if p else xin
    mask, words, codebook, _ = _words(layer)
    cg, k = mask.shape[1], mask.shape[2]
    og = out_c // g
    nz_taps, valid = tap_counts(xp, s, p, d, k, (oh, ow), layer.in_shape[1:])
    nz_taps = nz_taps.astype(np.float64)
    valid_taps = np.tile(valid.astype(np.float64).ravel(), cg)  # (cg k k,)
    out_work = np.empty(out_c, dtype=np.int64)
    stored = 0
    for gi in range(g):
        m = mask[gi * og:(gi + 1) * og].reshape(og, cg * k * k).astype(np.float64)
        out_work[gi * og:(gi + 1) * og] = np.rint(m @ nz_taps[gi * cg:(gi + 1) * cg].ravel()).astype(np.int64)
        stored += int(np.rint(m @ valid_taps).astype(np.int64).sum())
    conv_counters(lw, layer, batch, xp.shape[3], conv_runs(mask, layer), words.dtype == np.float32,
                  codebook.size > 0, out_work, stored * batch)
    y = blas_conv(xp, layer.weight, s, d, g, (oh, ow))
    if layer.bias is not None:
        y += np.asarray(layer.bias, dtype=np.float32).reshape(1, -1, 1, 1)
    lw.out_act_count = int(y.size)
    lw.out_act_nnz = int(np.count_nonzero(y))
    return y, lw


def execute_sampled(net: Network, inputs, seed: int = 0, threshold: int = SAMPLE_THRESHOLD,
                    fraction: float | None = None, conv_threshold: int = COUNT_CONV_MACS) -> tuple[object, WorkProfile]:
    """Run ``net`` like ``execute.execute`` (csr fc dataflow), sampling large fc layers and counting
    large conv layers without their arithmetic (``counted_conv``).

    fraction: force this sample fraction on every fc layer of at least ``threshold`` weights
    (default: ``sample_fraction_for``). conv_threshold: dense MACs per sample from which a conv
    layer is counted (``is_counted_conv``)."""

    def step(layer: Layer, xs):
        if layer.kind == "fc" and layer.weight is not None and layer.weight.size >= threshold:
            f = sample_fraction_for(layer, threshold) if fraction is None else float(fraction)
            if f < 1.0 or fraction is not None:
                return sampled_fc(layer, xs, f, seed)
        if is_counted_conv(layer, conv_threshold):
            return counted_conv(layer, xs)
        return execute_layer(layer, xs)

    return run_layers(net, inputs, step)


def has_sampled_layers(net: Network, threshold: int = SAMPLE_THRESHOLD) -> bool:
    """Does ``sampled`` mode do anything for ``net`` beyond full execution (a sampled fc layer or a
    counted conv layer)?"""
    return any(sample_fraction_for(l, threshold) < 1.0 or is_counted_conv(l) for l in net.layers)


def sampled_summary(net: Network, threshold: int = SAMPLE_THRESHOLD) -> str:
    """What ``sampled`` mode does to ``net``'s layers, in a phrase (``choose_mode``'s reason)."""
    n_fc = sum(sample_fraction_for(l, threshold) < 1.0 for l in net.layers)
    n_conv = sum(is_counted_conv(l) for l in net.layers)
    parts = []
    if n_fc:
        parts.append(f"{n_fc} large fc layer{'s' * (n_fc > 1)} counted on a stratified row sample")
    if n_conv:
        parts.append(f"{n_conv} large conv layer{'s' * (n_conv > 1)} counted exactly with outputs by BLAS")
    return "; ".join(parts) or "no layer large enough to sample"


__all__ = ["blas_conv", "counted_conv", "execute_sampled", "has_sampled_layers", "is_counted_conv", "ratio_estimate",
           "sample_fraction_for", "sampled_fc", "sampled_summary", "stratified_rows", "stratified_total"]
