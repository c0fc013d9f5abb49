"""Fixed-order float arithmetic for training and compression: wrappers of ``sim.kernels.dense``.

Every float sum that training, fine-tuning, k-means or a pruning criterion computes goes through
here (or is an element-wise IEEE operation: +, -, x, /, sqrt, comparisons, which give the same
bits on every CPU and SIMD width). A sum never goes to BLAS, to numpy's pairwise reductions, or to
libm's exp/log, whose results depend on the CPU kernel, the library version or the thread count;
so the same inputs and seed give the same bits on every x86-64 and arm64 machine.
"""
from __future__ import annotations

import numpy as np

from ..kernels import dense

NARROW = 16  # outputs per row below which a product is computed transposed (its SIMD loop runs over rows)


def _f32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D float32 arrays, each output summed in ascending order of the inner index.

    A narrow product (few columns, more rows) is computed as ``(b.T @ a.T).T``: float multiplication
    is commutative, so every output's sum is the same sequence of roundings and the bits are
    identical; only the SIMD loop gets the long side."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"matmul needs (m, k) @ (k, n); got {a.shape} @ {b.shape}")
    m, n = a.shape[0], b.shape[1]
    if n < NARROW and m > n:
        out_t = np.empty((n, m), dtype=np.float32)
        dense.gemm_nn(_f32(b.T), _f32(a.T), out_t)
        return np.ascontiguousarray(out_t.T)
    out = np.empty((m, n), dtype=np.float32)
    dense.gemm_nn(_f32(a), _f32(b), out)
    return out


def column_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=0)`` of a 2-D array in float32, rows added in order."""
    out = np.empty(a.shape[1], dtype=np.float32)
    dense.column_sums(_f32(a), out)
    return out


def row_sums(a: np.ndarray) -> np.ndarray:
    """``a.sum(axis=1)`` of a 2-D array in float64, columns added in order."""
    a = np.ascontiguousarray(a)
    out = np.empty(a.shape[0], dtype=np.float64)
    dense.row_sums(a, out)
    return out


def softmax_cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy (nats) over the batch, and its gradient w.r.t. the logits (float32)."""
    logits = _f32(logits)
    labels = np.ascontiguousarray(y, dtype=np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise ValueError(f"softmax_cross_entropy needs (n, classes) logits and n labels; got {logits.shape}, {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must be in [0, {logits.shape[1]}); got {labels.min()}..{labels.max()}")
    d = np.empty_like(logits)
    rows = np.empty(len(labels), dtype=np.float64)
    loss = dense.softmax_xent(logits, labels, d, rows) if len(labels) else 0.0
    return float(loss), d


def mean_std(values: np.ndarray) -> tuple[float, float]:
    """(mean, population std) of a 1-D array in float64, summed in index order."""
    mean, std = dense.mean_std(np.ascontiguousarray(values).ravel())
    return float(mean), float(std)


def cluster_sums(labels: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(sum of ``values`` per label float64 (k,), count per label int64 (k,)), in index order."""
    sums = np.empty(k, dtype=np.float64)
    counts = np.empty(k, dtype=np.int64)
    dense.cluster_sums(np.ascontiguousarray(labels, dtype=np.int64).ravel(),
                       np.ascontiguousarray(values, dtype=np.float64).ravel(), sums, counts)
    return sums, counts


def standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    """Standard normal float64 draws of ``shape`` from ``rng``'s uniform doubles (Marsaglia's polar
    method with ``dense.det_log``): numpy's ziggurat calls libm's exp and log1p, whose last bits
    vary between C libraries."""
    n = int(np.prod(shape, dtype=np.int64))
    out = np.empty(n, dtype=np.float64)
    filled = 0
    while filled < n:
        want = n - filled
        u = rng.random(2 * (want // 3 * 2 + 8))  # pairs accepted with probability pi/4, two draws each
        filled += dense.normal_polar(u, out[filled:])
    return out.reshape(shape)
