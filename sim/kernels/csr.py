"""Fully-connected layers in CSR, row-parallel (output-stationary): each output row owns an
accumulator and walks its stored weights.

Layout (built by ``formats.csr_tiles_from_dense``): CSR cut into row tiles (one parallel task
each) and column blocks (the block's activations stay in L1 while the tile's rows gather from
them), stored as one sequential stream per tile: ``tile_ptr``, ``counts`` per (tile, block,
row), ``indices`` the column within the block as uint8 / uint16 (1-2 bytes per weight; unsigned
indices also spare numba's negative-index wraparound, which otherwise blocks vectorization),
``values`` the stored weight words (float32, int8 ``qvalues`` or uint8/uint16 k-means codes;
see ``arith``).

Per-row scales of linear quantization are applied by the caller, once per output.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from .arith import mac, mac4, weight_at, zero_like
from .simd import TILE_LANES, dot_tile

# No fast-math: LLVM must neither reassociate a sum (its split would follow the CPU's vector
# width) nor contract a * b + c into an FMA (only where the CPU has one), so an output's bits are
# the same on every machine. Batch-1 rows get their SIMD lanes explicitly instead (``ROW_LANES``).
FASTMATH = False
ROW_LANES = 8  # partial sums per row run in csr_matvec: lane l takes stored weights l, l + 8, ...


@njit(cache=True, inline="always")
def row_run_sum(vals, idx, xb, codebook, out):
    """(``sum_j w_j * xb[idx[j]]``, nonzero ``xb[idx[j]]`` met) over one row's run, the sum in a fixed order: lane ``l`` of ``ROW_LANES``
    accumulates weights ``l, l + 8, l + 16, ...`` of the whole groups of eight, the lanes combine
    pairwise ((0+1)+(2+3))+((4+5)+(6+7)), then the leftover weights add in order. The eight lanes
    are independent chains, so LLVM runs them as one SIMD gather without reassociating anything."""
    n = vals.shape[0]
    n8 = n - n % ROW_LANES
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = zero_like(out)
    h = 0
    for j in range(0, n8, ROW_LANES):
        x0, x1, x2, x3 = xb[idx[j]], xb[idx[j + 1]], xb[idx[j + 2]], xb[idx[j + 3]]
        x4, x5, x6, x7 = xb[idx[j + 4]], xb[idx[j + 5]], xb[idx[j + 6]], xb[idx[j + 7]]
        a0 = mac(a0, weight_at(vals, codebook, j), x0)
        a1 = mac(a1, weight_at(vals, codebook, j + 1), x1)
        a2 = mac(a2, weight_at(vals, codebook, j + 2), x2)
        a3 = mac(a3, weight_at(vals, codebook, j + 3), x3)
        a4 = mac(a4, weight_at(vals, codebook, j + 4), x4)
        a5 = mac(a5, weight_at(vals, codebook, j + 5), x5)
        a6 = mac(a6, weight_at(vals, codebook, j + 6), x6)
        a7 = mac(a7, weight_at(vals, codebook, j + 7), x7)
        h += (((x0 != 0) + (x1 != 0)) + ((x2 != 0) + (x3 != 0))) + (((x4 != 0) + (x5 != 0)) + ((x6 != 0) + (x7 != 0)))
    a = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
    for j in range(n8, n):
        xv = xb[idx[j]]
        a = mac(a, weight_at(vals, codebook, j), xv)
        h += xv != 0
    return a, h


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def csr_matvec(tile_ptr, counts, indices, values, codebook, x, out, out_work):
    """Batch-1 fc: ``out[r] = sum_k w_k * x[col_k]`` over row r's stored weights.

    Same tiled layout as ``csr_matmul`` (``formats.csr_tiles_from_dense`` with
    ``csr_tile_shape(..., batch=1)``): one parallel task per row tile, and while a tile is on a
    column block, the block of ``x`` (4096 float32 = 16 KB) stays in L1, so the gathers of ``x``
    hit L1 instead of L2 (1.75x on VGG-16 fc6, whose 25088 inputs are 100 KB). Each row's run of
    stored weights in a block is summed in ``ROW_LANES`` fixed partial sums (``row_run_sum``: SIMD
    gathers of ``x``, the same order on every CPU) and added to the row's accumulator.

    Parameters
    ----------
    tile_ptr, counts, indices, values : ``formats.csr_tiles_from_dense`` layout.
    codebook : float32 k-means codebook (empty for other encodings; see ``arith``).
    x : (n_in,) activations (float32, or int8 for the integer path).
    out : (n_rows,) float32 or int32 (accumulator type), overwritten.
    out_work : (n_rows,) int64, overwritten with the effectual MACs of each row (stored
        weight met a nonzero activation).

    Returns
    -------
    Effectual MACs of the layer. Every stored weight is read once, with one column index
    and one activation; zero activations are multiplied, not skipped (output-stationary).
    """
    n_tiles, n_blocks, row_tile = counts.shape
    n_rows = out.shape[0]
    n_in = x.shape[0]
    cols_per_block = max(1, -(-n_in // n_blocks))
    for t in prange(n_tiles):
        r0 = t * row_tile
        r1 = min(r0 + row_tile, n_rows)
        acc = np.zeros(r1 - r0, dtype=out.dtype)
        hits = np.zeros(r1 - r0, dtype=np.int64)
        k = tile_ptr[t]
        for blk in range(n_blocks):
            c0 = blk * cols_per_block
            xb = x[c0:min(c0 + cols_per_block, n_in)]
            for i in range(r1 - r0):
                n = np.int64(counts[t, blk, i])
                if n == 0:
                    continue
                vals = values[k:k + n]
                idx = indices[k:k + n]
                k += n
                a, h = row_run_sum(vals, idx, xb, codebook, out)
                acc[i] += a
                hits[i] += h
        out[r0:r1] = acc
        out_work[r0:r1] = hits
    return out_work.sum()


def accumulate_rows(o, xb, xflat, idx, vals, codebook):
    """``o[b] += sum_j w_j * xb[idx[j], b]`` over one row's stored weights in one column block
    (``xflat``: the same block flattened).

    Float32 weights, activations and accumulators take the register-tiled path (``simd``) on
    each 64-lane tile of the batch; every other encoding, and the lanes past the last full
    tile, take ``accumulate_lanes``.
    """
    accumulate_lanes(o, xb, idx, vals, codebook, 0)


def accumulate_lanes(o, xb, idx, vals, codebook, lane0):
    """Lanes ``lane0:`` of ``accumulate_rows``, four stored weights per accumulator update (``mac4``)."""
    n = vals.shape[0]
    n4 = n - n % 4
    batch = o.shape[0]
    for j in range(0, n4, 4):
        w0 = weight_at(vals, codebook, j)
        w1 = weight_at(vals, codebook, j + 1)
        w2 = weight_at(vals, codebook, j + 2)
        w3 = weight_at(vals, codebook, j + 3)
        x0, x1, x2, x3 = xb[idx[j]], xb[idx[j + 1]], xb[idx[j + 2]], xb[idx[j + 3]]
        for b in range(lane0, batch):
            o[b] = mac4(o[b], w0, x0[b], w1, x1[b], w2, x2[b], w3, x3[b])
    for j in range(n4, n):
        w0 = weight_at(vals, codebook, j)
        x0 = xb[idx[j]]
        for b in range(lane0, batch):
            o[b] = mac(o[b], w0, x0[b])


_accumulate_lanes = njit(cache=True, fastmath=FASTMATH)(accumulate_lanes)


@overload(accumulate_rows, inline="always")
def _accumulate_rows(o, xb, xflat, idx, vals, codebook):
    if o.dtype == xb.dtype == vals.dtype == types.float32:
        def register_tiled(o, xb, xflat, idx, vals, codebook):
            batch = o.shape[0]
            full = batch - batch % TILE_LANES
            for lane0 in range(0, full, TILE_LANES):
                dot_tile(o, xflat, idx, vals, batch, lane0)
            if full < batch:
                _accumulate_lanes(o, xb, idx, vals, codebook, full)
        return register_tiled
    return lambda o, xb, xflat, idx, vals, codebook: _accumulate_lanes(o, xb, idx, vals, codebook, 0)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def csr_matmul(tile_ptr, counts, indices, values, codebook, xT, outT, out_work):
    """Batched fc on transposed activations: ``outT[r, b] = sum_k w_k * xT[col_k, b]``.

    One parallel task per row tile. A tile walks the column blocks; while it is on a block, the
    block's rows of ``xT`` (``formats.L1_BUDGET_BYTES``) stay in L1 and every row of the tile
    gathers from them, so each activation row is brought from L2/L3 once per tile rather than
    once per stored weight. Each row's run of stored weights in a block is applied by
    ``accumulate_rows``: float32 in 64-lane register tiles (``simd.dot_tile``), other encodings
    four weights per accumulator update (``mac4``).

    Parameters
    ----------
    tile_ptr, counts, indices, values : ``formats.csr_tiles_from_dense`` layout.
    codebook : float32 k-means codebook (empty for other encodings; see ``arith``).
    xT : (n_in, batch) C-contiguous activations (float32, or int8 for the integer path).
    outT : (n_rows, batch) float32 or int32, overwritten.
    out_work : (n_rows,) int64, overwritten with effectual MACs per row summed over the batch.

    Returns
    -------
    Effectual MACs of the layer, summed over the batch. Each stored weight is read once per
    call and applied to the whole batch.
    """
    n_tiles, n_blocks, row_tile = counts.shape
    n_rows = outT.shape[0]
    n_in, batch = xT.shape
    cols_per_block = max(1, -(-n_in // n_blocks))
    x_flat = xT.reshape(n_in * batch)
    # Nonzero activations per input over the batch: a stored weight's effectual MACs.
    col_nnz = np.empty(n_in, dtype=np.int64)
    for c in prange(n_in):
        n = 0
        for b in range(batch):
            n += xT[c, b] != 0
        col_nnz[c] = n
    for t in prange(n_tiles):
        r0 = t * row_tile
        r1 = min(r0 + row_tile, n_rows)
        # The tile's accumulators in a fresh array: LLVM then knows they do not overlap xT, so
        # the four-weight updates need no overlap checks (1.4x at 10% density).
        acc = np.zeros((r1 - r0, batch), dtype=outT.dtype)
        out_work[r0:r1] = 0
        k = tile_ptr[t]
        for blk in range(n_blocks):
            c0 = blk * cols_per_block
            c1 = min(c0 + cols_per_block, n_in)
            xb = xT[c0:c1]
            xb_flat = x_flat[c0 * batch:c1 * batch]
            nzb = col_nnz[c0:c1]
            for i in range(r1 - r0):
                n = np.int64(counts[t, blk, i])
                if n == 0:
                    continue
                idx = indices[k:k + n]
                accumulate_rows(acc[i], xb, xb_flat, idx, values[k:k + n], codebook)
                k += n
                hits = 0
                for j in range(n):
                    hits += nzb[idx[j]]
                out_work[r0 + i] += hits
        outT[r0:r1] = acc
    return out_work.sum()
