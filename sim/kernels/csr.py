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

from .arith import mac, weight_at, zero_like

# Reassociation lets LLVM split each row's sum over SIMD lanes (gathers of x); results stay
# allclose to the sequential sum. No 'nnan'/'ninf': NaN and inf inputs propagate as in numpy.
FASTMATH = {"reassoc", "nsz", "contract"}
ROW_TILE = 32  # rows per task of the batched kernel: their outputs (ROW_TILE x batch) stay in L1/L2


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
def csr_matmul(blkptr, indices, values, codebook, xT, outT, out_work):
    """Batched fc on transposed activations: ``outT[r, b] = sum_k w_k * xT[indices[k], b]``.

    Rows are split into tiles of ``ROW_TILE`` (one parallel task each); a tile walks the
    columns in blocks so that the block of ``xT`` it gathers from stays in cache: ``blkptr[r, i]``
    is the first stored weight of row r in column block i (``blkptr[r, -1]`` ends the row).
    Each stored weight is read once per call and applied to the whole batch.

    Parameters
    ----------
    blkptr : (n_rows, n_blocks + 1) int64.
    xT : (n_in, batch) activations, contiguous per input (float32, or int8 for the integer path).
    outT : (n_rows, batch) float32 or int32, overwritten.
    out_work : (n_rows,) int64, overwritten with effectual MACs per row summed over the batch.

    Returns
    -------
    Effectual MACs of the layer, summed over the batch.
    """
    n_rows = blkptr.shape[0]
    n_blocks = blkptr.shape[1] - 1
    n_in, batch = xT.shape
    # Nonzero activations per input over the batch: a stored weight's effectual MACs.
    col_nnz = np.empty(n_in, dtype=np.int64)
    for c in prange(n_in):
        n = 0
        for b in range(batch):
            n += xT[c, b] != 0
        col_nnz[c] = n
    n_tiles = (n_rows + ROW_TILE - 1) // ROW_TILE
    for t in prange(n_tiles):
        r0 = t * ROW_TILE
        r1 = min(r0 + ROW_TILE, n_rows)
        for r in range(r0, r1):
            outT[r, :] = zero_like(outT)
            out_work[r] = 0
        for blk in range(n_blocks):
            for r in range(r0, r1):
                vals = values[blkptr[r, blk]:blkptr[r, blk + 1]]
                idx = indices[blkptr[r, blk]:blkptr[r, blk + 1]]
                o = outT[r]
                hits = 0
                for j in range(vals.shape[0]):
                    w = weight_at(vals, codebook, j)
                    xr = xT[idx[j]]
                    hits += col_nnz[idx[j]]
                    for b in range(batch):
                        o[b] = mac(o[b], w, xr[b])
                out_work[r] += hits
    return out_work.sum()
