"""A plain CSR product for outputs only (no counting), over every row of a packed weight."""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True, parallel=True)
def csr_product(indptr, cols, values, x, out):
    """out[b, r] = sum over row r's stored weights k of values[k] * x[b, cols[k]] (float32 in,
    float64 accumulated in index order, one row per task: the same bits for any thread count)."""
    n_rows = indptr.shape[0] - 1
    batch = x.shape[0]
    for r in prange(n_rows):
        lo, hi = indptr[r], indptr[r + 1]
        for b in range(batch):
            acc = 0.0
            for k in range(lo, hi):
                acc += np.float64(values[k]) * np.float64(x[b, cols[k]])
            out[b, r] = acc
