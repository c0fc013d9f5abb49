"""Dense numpy versions of the kernels, written for clarity (like stumpy's tests/naive.py).

Integer references compute in int64, so comparing them exactly with the kernels' int32
accumulators also checks that nothing overflowed.
"""
from __future__ import annotations

import numpy as np

from sim.engine.reference import conv2d, pool2d  # noqa: F401  (re-exported for the tests)


def sparse_array(rng, shape, density, dtype=np.float32, low=-8, high=8):
    """Random array with exactly round(density * size) nonzeros (floats or ints in [low, high))."""
    size = int(np.prod(shape))
    keep = int(round(density * size))
    if np.issubdtype(dtype, np.integer):
        vals = rng.integers(low, high, size=size)
        vals[vals == 0] = 1  # stored weights are nonzero
    else:
        vals = rng.standard_normal(size)
    out = np.zeros(size, dtype=dtype)
    pos = rng.permutation(size)[:keep]
    out[pos] = vals[pos]
    return out.reshape(shape)


def matmul_int(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(out, in) int x (batch, in) int -> (batch, out) int64, exact."""
    return x.astype(np.int64) @ w.astype(np.int64).T


def conv2d_int(x: np.ndarray, w: np.ndarray, stride: int, padding: int, groups: int, dilation: int) -> np.ndarray:
    """Exact integer grouped convolution (float64 holds these small integer sums exactly)."""
    return np.rint(conv2d(x.astype(np.float64), w.astype(np.float64), stride, padding, groups, dilation)).astype(np.int64)


def fc_counts(w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Brute force: effectual MACs per output row (summed over the batch) and stored-weight MACs."""
    wnz = (w != 0).astype(np.int64)
    xnz = (x.reshape(x.shape[0], -1) != 0).astype(np.int64)
    return (xnz @ wnz.T).sum(axis=0), int(wnz.sum()) * x.shape[0]


def conv_counts(x, w, stride, padding, groups, dilation) -> tuple[np.ndarray, int]:
    """Brute force: effectual MACs per output channel and stored-weight MACs on non-padding cells."""
    wnz = (w != 0).astype(np.float64)
    xnz = (x != 0).astype(np.float64)
    args = (stride, padding, groups, dilation)
    eff = np.rint(conv2d(xnz, wnz, *args).sum(axis=(0, 2, 3))).astype(np.int64)
    stored = int(round(conv2d(np.ones_like(xnz), wnz, *args).sum()))
    return eff, stored


def pe_work(w: np.ndarray, x: np.ndarray, n_pes: int) -> np.ndarray:
    """Brute force (batch, n_pes): effectual MACs of rows r with r mod n_pes == p."""
    wnz = (w != 0).astype(np.int64)
    xnz = (x.reshape(x.shape[0], -1) != 0).astype(np.int64)
    per_row = xnz @ wnz.T  # (batch, rows)
    out = np.zeros((x.shape[0], n_pes), dtype=np.int64)
    for r in range(w.shape[0]):
        out[:, r % n_pes] += per_row[:, r]
    return out


def shift_round_int(p: np.ndarray, s: np.ndarray, rounding: str) -> np.ndarray:
    """p / 2**s rounded to integers, with Python integers (object arrays avoid any overflow)."""
    out = np.empty(p.shape, dtype=object)
    for idx, v in np.ndenumerate(p):
        v, sh = int(v), int(np.broadcast_to(s, p.shape)[idx])
        if sh == 0:
            out[idx] = v
            continue
        q, r = divmod(v, 1 << sh)  # floor division
        half = 1 << (sh - 1)
        if rounding == "floor" or r < half:
            out[idx] = q
        elif r > half:
            out[idx] = q + 1
        elif rounding == "nearest_away":
            out[idx] = q + 1 if v > 0 else q
        else:
            out[idx] = q + (q & 1)
    return out


def fit_register(v, bits: int, overflow: str):
    """Python integer ``v`` in a signed ``bits``-bit register (saturate or two's-complement wrap)."""
    hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
    if lo <= v <= hi:
        return v
    if overflow == "saturate":
        return hi if v > hi else lo
    return ((v - lo) % (1 << bits)) + lo


def int_matmul(w, x, init, shift, bits, overflow, rounding):
    """Dense sequential accumulation over k = 0..K-1 of (w[r, k] * x[b, k]) >> shift[r] from init[r],
    fitted to the register after every addition: the oracle of ``intmac.int_csr_matmul``."""
    rows, k_dim = w.shape
    out = np.zeros((x.shape[0], rows), dtype=np.int64)
    for b in range(x.shape[0]):
        for r in range(rows):
            acc = fit_register(int(init[r]), bits, overflow)
            for k in range(k_dim):
                p = int(w[r, k]) * int(x[b, k])
                acc = fit_register(acc + int(shift_round_int(np.array([p]), np.array([shift[r]]), rounding)[0]),
                                   bits, overflow)
            out[b, r] = acc
    return out
