"""Fully-connected layers in CSR, row-parallel (output-stationary): each output row owns an
accumulator and walks its stored weights.

Layout (built by ``formats.csr_from_dense``): ``indptr`` int64 row pointers, ``indices`` column
indices as uint16 when the layer has at most 65536 inputs (2 bytes per weight instead of 4:
the kernel is bandwidth-bound at batch 1, and unsigned indices also spare numba's
negative-index wraparound, which otherwise blocks vectorization), ``values`` the stored weight
words (float32, int8 ``qvalues`` or uint8/uint16 k-means codes; see ``arith``).

Per-row scales of linear quantization are applied by the caller, once per output.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .arith import mac, mac4, weight_at, zero_like

# Reassociation lets LLVM split each row's sum over SIMD lanes (gathers of x); results stay
# allclose to the sequential sum. No 'nnan'/'ninf': NaN and inf inputs propagate as in numpy.
FASTMATH = {"reassoc", "nsz", "contract"}


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def csr_matvec(indptr, indices, values, codebook, x, out, out_work):
    """Batch-1 fc: ``out[r] = sum_k w_k * x[indices[k]]`` over row r's stored weights.

    Parameters
    ----------
    indptr, indices, values, codebook : CSR arrays (see the module docstring).
    x : (n_in,) activations (float32, or int8 for the integer path).
    out : (n_rows,) float32 or int32 (accumulator type), overwritten.
    out_work : (n_rows,) int64, overwritten with the effectual MACs of each row (stored
        weight met a nonzero activation).

    Returns
    -------
    Effectual MACs of the layer. Every stored weight is read once, with one column index
    and one activation; zero activations are multiplied, not skipped (output-stationary).
    """
    n_rows = indptr.shape[0] - 1
    for r in prange(n_rows):
        vals = values[indptr[r]:indptr[r + 1]]
        idx = indices[indptr[r]:indptr[r + 1]]
        acc = zero_like(out)
        hits = 0
        for j in range(vals.shape[0]):
            xv = x[idx[j]]
            acc = mac(acc, weight_at(vals, codebook, j), xv)
            hits += xv != 0
        out[r] = acc
        out_work[r] = hits
    return out_work.sum()


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def csr_matmul(tile_ptr, counts, indices, values, codebook, xT, outT, out_work):
    """Batched fc on transposed activations: ``outT[r, b] = sum_k w_k * xT[col_k, b]``.

    One parallel task per row tile. A tile walks the column blocks; while it is on a block, the
    block's rows of ``xT`` (``formats.L1_BUDGET_BYTES``) stay in L1 and every row of the tile
    gathers from them, so each activation row is brought from L2/L3 once per tile rather than
    once per stored weight. A row's stored weights in a block are applied four at a time
    (``mac4``): one load and store of the row's accumulators per four weights, not per weight
    (numba keeps array elements in memory, not registers, across the loop over weights).

    Parameters
    ----------
    tile_ptr, counts, indices, values : ``formats.csr_tiles_from_dense`` layout.
    codebook : float32 k-means codebook (empty for other encodings; see ``arith``).
    xT : (n_in, batch) activations, contiguous per input (float32, or int8 for the integer path).
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
        # the four-weight update below needs no per-call overlap checks (1.4x at 10% density).
        acc = np.zeros((r1 - r0, batch), dtype=outT.dtype)
        for r in range(r0, r1):
            out_work[r] = 0
        k = tile_ptr[t]
        for blk in range(n_blocks):
            c0 = blk * cols_per_block
            xb = xT[c0:min(c0 + cols_per_block, n_in)]
            nzb = col_nnz[c0:min(c0 + cols_per_block, n_in)]
            for i in range(r1 - r0):
                n = np.int64(counts[t, blk, i])
                vals = values[k:k + n]
                idx = indices[k:k + n]
                k += n
                o = acc[i]
                hits = 0
                n4 = n - n % 4
                for j in range(0, n4, 4):
                    w0 = weight_at(vals, codebook, j)
                    w1 = weight_at(vals, codebook, j + 1)
                    w2 = weight_at(vals, codebook, j + 2)
                    w3 = weight_at(vals, codebook, j + 3)
                    x0, x1, x2, x3 = xb[idx[j]], xb[idx[j + 1]], xb[idx[j + 2]], xb[idx[j + 3]]
                    hits += nzb[idx[j]] + nzb[idx[j + 1]] + nzb[idx[j + 2]] + nzb[idx[j + 3]]
                    for b in range(batch):
                        o[b] = mac4(o[b], w0, x0[b], w1, x1[b], w2, x2[b], w3, x3[b])
                for j in range(n4, n):
                    w0 = weight_at(vals, codebook, j)
                    x0 = xb[idx[j]]
                    hits += nzb[idx[j]]
                    for b in range(batch):
                        o[b] = mac(o[b], w0, x0[b])
                out_work[r0 + i] += hits
        outT[r0:r1] = acc
    return out_work.sum()
