"""Integer multiply-accumulate at a design's accumulator width: exact, in integers.

``int_csr_matmul`` multiplies integer weight codes (CSR, stored nonzeros in column order) by
integer activation codes (zero point already subtracted) and accumulates the way a fixed-width
datapath does: each product is shifted right to the accumulator's binary point (``shift``
bits, rounded as the design says), added, and the sum saturates or wraps at ``bits`` after every
addition. Skipping zero weights or zero activations cannot change the result: adding 0 to an
accumulator already in range leaves it unchanged, so the kernel equals a dense sequential
accumulation over k = 0..K-1 (``tests/reference.int_matmul`` is that oracle).

``arith`` packs the datapath as int64[3]: (accumulator bits, overflow 0 = saturate / 1 = wrap,
rounding 0 = nearest even / 1 = nearest away from zero / 2 = floor).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

SATURATE, WRAP = 0, 1
NEAREST_EVEN, NEAREST_AWAY, FLOOR = 0, 1, 2


@njit(cache=True, nogil=True)
def shift_round(p, s, rounding):
    """``p / 2**s`` rounded to an integer (s >= 0), in integer arithmetic only."""
    if s <= 0:
        return p
    q = p >> s  # floor for negative p too (arithmetic shift)
    if rounding == FLOOR:
        return q
    r = p - (q << s)
    half = np.int64(1) << (s - 1)
    if r > half:
        return q + 1
    if r == half:
        if rounding == NEAREST_AWAY:
            return q + 1 if p > 0 else q
        return q + (q & 1)
    return q


@njit(cache=True, nogil=True)
def clamp(v, bits, overflow):
    """``v`` into a signed ``bits``-bit register: saturate at the ends, or wrap (two's complement)."""
    if bits >= 64:
        return v
    hi = (np.int64(1) << (bits - 1)) - 1
    lo = -hi - 1
    if lo <= v <= hi:
        return v
    if overflow == SATURATE:
        return hi if v > hi else lo
    span = np.int64(1) << bits
    return ((v - lo) & (span - 1)) + lo


@njit(cache=True, nogil=True, parallel=True)
def int_csr_matmul(indptr, indices, values, x, init, shift, arith, out):
    """out[b, r] = accumulate over row r's stored weights of (values[j] * x[b, indices[j]]) >> shift[r],
    starting from init[r] (the bias on the accumulator's scale), at the width in ``arith``.

    indptr, indices: int64 CSR of the weight codes ``values`` (int64); x: (batch, K) int64;
    init, shift: int64 per row; out: (batch, rows) int64. Returns the effectual MACs done."""
    bits, overflow, rounding = arith[0], arith[1], arith[2]
    n_rows = indptr.shape[0] - 1
    done = 0
    # (sample, row) pairs are independent: threads split them and the result does not change.
    for i in prange(x.shape[0] * n_rows):
        b, r = i // n_rows, i % n_rows
        acc = clamp(init[r], bits, overflow)
        s = shift[r]
        for j in range(indptr[r], indptr[r + 1]):
            a = x[b, indices[j]]
            if a == 0:
                continue
            acc = clamp(acc + shift_round(values[j] * a, s, rounding), bits, overflow)
            done += 1
        out[b, r] = acc
    return done
