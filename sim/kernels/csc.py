"""Fully-connected layers in EIE-style CSC: column broadcast that skips zero activations.

EIE (Han et al., ISCA 2016) broadcasts each nonzero activation x[c] to all PEs; every PE walks
its stored weights of column c and updates the accumulators of the output rows it owns (rows
interleaved: row r on PE r mod N). A zero activation costs one read and nothing else.

Layout (``formats.csc_from_dense``): ``partptr`` (n_in, n_parts + 1) int64, ``rows`` uint16 /
uint32 row indices, ``values`` weight words (see ``arith``). The kernel runs one thread task per
part (a contiguous row range), so parts never write the same accumulator. Per-PE work comes
from ``col_pe`` (``formats.column_pe_counts``): a PE's effectual MACs for a nonzero activation
x[c] are its stored weights in column c, so the kernel adds one row of ``col_pe`` per broadcast.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .arith import mac, weight_at, zero_like


@njit(cache=True, parallel=True)
def csc_spmv(partptr, rows, values, codebook, x, out, out_work):
    """``out[b, r] = sum_c w[r, c] * x[b, c]`` over nonzero ``x[b, c]``, one sample at a time.

    Parameters
    ----------
    partptr, rows, values, codebook : CSC arrays (see the module docstring).
    x : (batch, n_in) activations (float32, or int8 for the integer path).
    out : (batch, n_rows) float32 or int32, overwritten.
    out_work : (n_rows,) int64, overwritten with effectual MACs per row summed over the batch
        (one accumulator update per stored weight of a nonzero column).

    Returns
    -------
    Effectual MACs, summed over the batch.
    """
    batch, n_in = x.shape
    n_rows = out.shape[1]
    n_parts = partptr.shape[1] - 1
    for p in prange(n_parts):
        r0 = (p * n_rows) // n_parts
        r1 = ((p + 1) * n_rows) // n_parts
        for r in range(r0, r1):
            out_work[r] = 0
        for b in range(batch):
            o = out[b]
            for r in range(r0, r1):
                o[r] = zero_like(out)
            for c in range(n_in):
                xv = x[b, c]
                if xv == 0:
                    continue
                vals = values[partptr[c, p]:partptr[c, p + 1]]
                idx = rows[partptr[c, p]:partptr[c, p + 1]]
                for j in range(vals.shape[0]):
                    o[idx[j]] = mac(o[idx[j]], weight_at(vals, codebook, j), xv)
                    out_work[idx[j]] += 1
    return out_work.sum()


@njit(cache=True, parallel=True)
def csc_pe_work(col_pe, x, pe_work):
    """Per-PE effectual MACs of the column broadcast: ``pe_work[b, p] = sum_c [x[b, c] != 0] * col_pe[c, p]``.

    Parameters
    ----------
    col_pe : (n_in, n_pes) int64 stored weights per column and PE.
    x : (batch, n_in) activations.
    pe_work : (batch, n_pes) int64, overwritten.

    Returns
    -------
    Nonzero activations broadcast, summed over the batch.
    """
    batch, n_in = x.shape
    n_pes = col_pe.shape[1]
    broadcasts = np.zeros(batch, dtype=np.int64)
    for b in prange(batch):
        for p in range(n_pes):
            pe_work[b, p] = 0
        for c in range(n_in):
            if x[b, c] != 0:
                broadcasts[b] += 1
                for p in range(n_pes):
                    pe_work[b, p] += col_pe[c, p]
    return broadcasts.sum()
