"""Dense weights -> the compressed layouts the kernels read (numpy only; built once per layer).

Every builder takes ``mask`` (True where a weight is stored) and ``words``, an array of the
weight's shape holding the stored word of each position: the float32 weight, the int8
``qvalues`` of linear quantization or the uint8/uint16 k-means code. Stored order is row-major
(CSR, conv) or column-major (CSC), so indices within a row / column ascend.
"""
from __future__ import annotations

import numpy as np

UINT16_LIMIT = 1 << 16


def index_dtype(n: int) -> np.dtype:
    """Narrowest unsigned dtype for indices in ``range(n)``: uint16 up to 65536 (2 bytes per
    stored weight, what a compressed format really stores), else uint32."""
    return np.dtype(np.uint16) if n <= UINT16_LIMIT else np.dtype(np.uint32)


def csr_from_dense(mask: np.ndarray, words: np.ndarray):
    """(n_rows, n_in) -> (indptr int64 (n_rows + 1,), indices uint16/uint32, values)."""
    n_rows, n_in = mask.shape
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return indptr, cols.astype(index_dtype(n_in)), np.ascontiguousarray(words[rows, cols])


def csr_block_pointers(indptr: np.ndarray, indices: np.ndarray, n_in: int, block_cols: int) -> np.ndarray:
    """(n_rows, n_blocks + 1) int64: where each row's stored weights enter each column block of
    ``block_cols`` inputs (for ``csr.csr_matmul``)."""
    n_rows = indptr.shape[0] - 1
    n_blocks = max(1, -(-n_in // block_cols))
    rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    blk = indices.astype(np.int64) // block_cols
    counts = np.bincount(rows * n_blocks + blk, minlength=n_rows * n_blocks).reshape(n_rows, n_blocks)
    ptr = np.empty((n_rows, n_blocks + 1), dtype=np.int64)
    ptr[:, 0] = indptr[:-1]
    np.cumsum(counts, axis=1, out=ptr[:, 1:])
    ptr[:, 1:] += indptr[:-1, None]
    return ptr


def part_bounds(n_rows: int, n_parts: int) -> np.ndarray:
    """Row ranges of the CSC kernel's parallel parts: part p owns rows [b[p], b[p + 1])."""
    return (np.arange(n_parts + 1, dtype=np.int64) * n_rows) // n_parts


def csc_from_dense(mask: np.ndarray, words: np.ndarray, n_parts: int):
    """(n_rows, n_in) -> (partptr int64 (n_in, n_parts + 1), rows uint16/uint32, values).

    Column c's stored weights are ``partptr[c, 0]:partptr[c, -1]``, sorted by row, and those of
    part p (rows ``part_bounds(n_rows, n_parts)[p:p + 2]``) are ``partptr[c, p]:partptr[c, p + 1]``.
    """
    n_rows, n_in = mask.shape
    cols, rows = np.nonzero(mask.T)
    part = np.searchsorted(part_bounds(n_rows, n_parts), rows, side="right") - 1
    counts = np.bincount(cols * n_parts + part, minlength=n_in * n_parts).reshape(n_in, n_parts)
    ptr = np.zeros((n_in, n_parts + 1), dtype=np.int64)
    col_start = np.zeros(n_in, dtype=np.int64)
    np.cumsum(counts.sum(axis=1)[:-1], out=col_start[1:])
    ptr[:, 0] = col_start
    np.cumsum(counts, axis=1, out=ptr[:, 1:])
    ptr[:, 1:] += col_start[:, None]
    return ptr, rows.astype(index_dtype(n_rows)), np.ascontiguousarray(words[rows, cols])


def column_pe_counts(mask: np.ndarray, n_pes: int) -> np.ndarray:
    """(n_in, n_pes) int64: stored weights of each column on each PE when output rows are
    interleaved over PEs (row r on PE r mod n_pes, as in EIE)."""
    n_rows, n_in = mask.shape
    rows, cols = np.nonzero(mask)
    return np.bincount(cols * n_pes + rows % n_pes, minlength=n_in * n_pes).reshape(n_in, n_pes).astype(np.int64)


def conv_from_dense(mask: np.ndarray, words: np.ndarray, in_shape: tuple, groups: int, dilation: int,
                    padding: int):
    """(out_c, in_c // groups, k, k) -> (ptr int64 (out_c + 1,), offsets int64, values).

    ``offsets`` locate each stored weight's first input element in one sample of the
    zero-padded input (C, H + 2p, W + 2p), flattened: ``ci * Hp * Wp + kh * d * Wp + kw * d``
    with ``ci`` the absolute input channel (group offset included).
    """
    out_c, cg = mask.shape[:2]
    _, h, w = in_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    o, c, kh, kw = np.nonzero(mask)
    ci = (o // (out_c // groups)) * cg + c
    offsets = ci.astype(np.int64) * hp * wp + kh.astype(np.int64) * dilation * wp + kw.astype(np.int64) * dilation
    ptr = np.zeros(out_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(o, minlength=out_c), out=ptr[1:])
    return ptr, offsets, np.ascontiguousarray(words[o, c, kh, kw])
