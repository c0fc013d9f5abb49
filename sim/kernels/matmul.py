"""Matmul of two activations (attention's QK^T and AV), batched, with an optional causal mask.

Neither operand is known ahead of time, so nothing is compressed: the kernel skips products
where either operand is zero and counts them, and a causal layer computes only the outputs
j <= i + (N - M) (the mask after it overwrites the rest).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def act_matmul(a, b, causal, out, work):
    """out[g] = a[g] @ b[g] for a (G, M, K), b (G, K, N), out (G, M, N) (float32 or float64).

    work: (G * M, 3) int64, overwritten per output row: effectual MACs (both operands nonzero),
    MACs whose B operand is nonzero, MACs computed (K per unmasked output).

    Returns
    -------
    Effectual MACs.
    """
    g_n, m, k = a.shape
    n = b.shape[2]
    for t in prange(g_n * m):
        g = t // m
        i = t % m
        row = out[g, i]
        row[:] = 0
        hi = n if not causal else min(n, i + (n - m) + 1)
        eff = 0
        b_nz = 0
        for kk in range(k):
            av = a[g, i, kk]
            brow = b[g, kk]
            for j in range(hi):
                bv = brow[j]
                if bv != 0:
                    b_nz += 1
                    if av != 0:
                        eff += 1
                        row[j] += av * bv
        work[t, 0] = eff
        work[t, 1] = b_nz
        work[t, 2] = max(hi, 0) * k
    return work[:, 0].sum()
