"""The N:M structured-sparsity format as arrays (numpy only): groups of M consecutive weights
along each output's flattened reduction axis, at most N nonzero per group; the compressed form
stores N value slots per group and a ceil(log2 M)-bit position per slot (sim/compression/nm.py
prunes to it; sim/engine/precision.py runs it on sparse tensor cores)."""
from __future__ import annotations

import math

import numpy as np


def grouped(w: np.ndarray, m: int) -> tuple[np.ndarray, int]:
    """(rows, groups, m) view of a weight padded with zeros to a multiple of m; and the padding."""
    flat = w.reshape(w.shape[0], -1)
    pad = (-flat.shape[1]) % m
    if pad:
        flat = np.concatenate([flat, np.zeros((flat.shape[0], pad), dtype=flat.dtype)], axis=1)
    return flat.reshape(flat.shape[0], -1, m), pad


def is_n_of_m(weight: np.ndarray, n: int, m: int) -> bool:
    """Does every group of ``m`` hold at most ``n`` nonzeros?"""
    g, _ = grouped(weight != 0, m)
    return bool((g.sum(axis=2) <= n).all())


def metadata_bits(m: int) -> int:
    """Bits that locate one kept weight inside its group of ``m``."""
    return max(1, math.ceil(math.log2(m)))


def compressed_k(k: int, n: int, m: int) -> int:
    """Reduction length after N:M compression: n slots per group of m."""
    return -(-k // m) * n


def nm_storage_bits(weight: np.ndarray, n: int, m: int, value_bits: int) -> int:
    """Bits of the compressed N:M format: per group, n value slots and n positions."""
    rows = weight.shape[0]
    k = int(weight.size // rows)
    return rows * compressed_k(k, n, m) * (value_bits + metadata_bits(m))
