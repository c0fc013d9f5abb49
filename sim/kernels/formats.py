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


L1_BUDGET_BYTES = 16 * 1024  # activation block the CSR kernels keep in L1 (32 KB here)
L2_BUDGET_BYTES = 256 * 1024  # ... and at most this much, when the layer is too sparse for L1 blocks
ROW_TILE = 256  # rows per parallel task of the CSR kernels: their accumulators (64 KB at batch 64) stay in L2
MIN_BLOCK_WEIGHTS = 24  # stored weights per (row, column block) that amortize a batched run's setup (measured: 16-32)
MIN_BLOCK_WEIGHTS_BATCH1 = 128  # ... a batch-1 run's: a vector reduction with a horizontal-sum epilogue


def csr_tile_shape(n_rows: int, n_in: int, nnz: int, batch: int) -> tuple[int, int]:
    """(row_tile, block_cols) of ``csr_tiles_from_dense`` for a layer run at ``batch``.

    A column block's (block_cols, batch) float32 activations should stay in L1 while a row tile
    walks them (``L1_BUDGET_BYTES``); a sparse layer gets wider blocks (up to ``L2_BUDGET_BYTES``)
    so that each row still has about ``MIN_BLOCK_WEIGHTS`` (batch 1: ``MIN_BLOCK_WEIGHTS_BATCH1``)
    stored weights per block.
    """
    density = nnz / max(1, n_rows * n_in)
    l1_cols = max(16, L1_BUDGET_BYTES // (4 * batch))
    l2_cols = max(l1_cols, L2_BUDGET_BYTES // (4 * batch))
    want = (MIN_BLOCK_WEIGHTS if batch > 1 else MIN_BLOCK_WEIGHTS_BATCH1) / density if density > 0 else l2_cols
    block_cols = int(min(l2_cols, max(l1_cols, 1 << int(np.ceil(np.log2(max(1.0, want)))))))
    return min(ROW_TILE, max(1, n_rows)), min(block_cols, max(1, n_in))


def csr_tiles_from_dense(mask: np.ndarray, words: np.ndarray, row_tile: int, block_cols: int):
    """(n_rows, n_in) -> (tile_ptr, counts, indices, values) for ``csr.csr_matmul``.

    Rows are cut into tiles of ``row_tile`` and columns into ``n_blocks = ceil(n_in /
    block_cols)`` equal blocks of ``ceil(n_in / n_blocks)`` columns. Stored weights are ordered
    by (row tile, column block, row, column), so a tile reads its weights as one sequential
    stream: ``tile_ptr`` (n_tiles + 1,) int64 starts, ``counts`` (n_tiles, n_blocks, row_tile)
    uint16 stored weights per (tile, block, row) (rows past the last are 0), ``indices`` the
    column within the block (uint8 up to 256 columns, else uint16: 1 or 2 bytes per weight),
    ``values`` the weight words.
    """
    rows, cols = np.nonzero(mask)
    return csr_tiles_from_coo(rows, cols, words[rows, cols], mask.shape, row_tile, block_cols)


def csr_tiles_from_coo(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple, row_tile: int,
                       block_cols: int):
    """``csr_tiles_from_dense`` of the stored weights given as (row, column, word), in row-major
    order (as ``np.nonzero`` gives them): no dense matrix is needed."""
    n_rows, n_in = shape
    n_blocks = max(1, -(-n_in // max(1, block_cols)))
    cols_per_block = max(1, -(-n_in // n_blocks))
    if cols_per_block > 0xFFFF:
        raise ValueError(f"column blocks of {cols_per_block} > 65535 columns do not fit uint16 counts")
    n_tiles = max(1, -(-n_rows // row_tile))
    tile, blk = rows // row_tile, cols // cols_per_block
    order = np.argsort(tile * n_blocks + blk, kind="stable")  # stable: (row, col) order kept inside
    seg = (tile * n_blocks + blk) * row_tile + rows % row_tile
    counts = np.bincount(seg, minlength=n_tiles * n_blocks * row_tile).astype(np.uint16)
    tile_ptr = np.zeros(n_tiles + 1, dtype=np.int64)
    np.cumsum(np.bincount(tile, minlength=n_tiles), out=tile_ptr[1:])
    local = (cols - blk * cols_per_block)[order]
    index_type = np.uint8 if cols_per_block <= 256 else np.uint16
    return (tile_ptr, counts.reshape(n_tiles, n_blocks, row_tile), local.astype(index_type),
            np.ascontiguousarray(values[order]))


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


CONV_L1_BYTES = 24 * 1024  # input window of one channel block that a conv lane tile keeps in L1
CONV_TILE_LANES = 64  # output lanes per conv task step (simd.TILE_LANES)


def conv_block_channels(in_shape: tuple, kernel_size: int, dilation: int, padding: int) -> int:
    """Input channels per block of ``conv_from_dense``: the block's float32 input window under one
    64-lane output tile (the tile plus the kernel's reach, ``(k - 1) * d`` padded rows and
    columns) fits ``CONV_L1_BYTES``."""
    c, h, w = in_shape
    wp = w + 2 * padding
    reach = (kernel_size - 1) * dilation
    window = CONV_TILE_LANES + reach * (wp + 1)
    return int(max(1, min(c, CONV_L1_BYTES // (4 * window))))


def conv_from_dense(mask: np.ndarray, words: np.ndarray, in_shape: tuple, groups: int, dilation: int,
                    padding: int, block_channels: int | None = None):
    """(out_c, in_c // groups, k, k) -> (ptr int64 (n_blocks * out_c + 1,), offsets int64, values).

    Stored weights are ordered by (input-channel block, output channel, channel, kh, kw): the
    weights of output channel o on input channels ``[cb * block_channels, (cb + 1) *
    block_channels)`` are ``ptr[cb * out_c + o]:ptr[cb * out_c + o + 1]``. ``block_channels``
    defaults to ``conv_block_channels``; all channels in one block gives plain per-output-channel
    CSR. ``offsets`` locate each stored weight's first input element in one sample of the
    zero-padded input (C, H + 2p, W + 2p), flattened: ``ci * Hp * Wp + kh * d * Wp + kw * d``
    with ``ci`` the absolute input channel (group offset included).
    """
    positions = np.flatnonzero(mask)
    return conv_from_positions(positions, words.reshape(-1)[positions], mask.shape, in_shape, groups, dilation,
                               padding, block_channels)


def conv_from_positions(positions: np.ndarray, values: np.ndarray, shape: tuple, in_shape: tuple, groups: int,
                        dilation: int, padding: int, block_channels: int | None = None):
    """``conv_from_dense`` of the stored weights given as sorted flat ``positions`` into the
    (out_c, in_c // groups, k, k) weight and their ``values``: no dense tensor is needed."""
    out_c, cg, k_h, k_w = shape
    n_in_c, h, w = in_shape
    hp, wp = h + 2 * padding, w + 2 * padding
    if block_channels is None:
        block_channels = conv_block_channels(in_shape, k_h, dilation, padding)
    n_blocks = max(1, -(-n_in_c // block_channels))
    o, rest = np.divmod(positions, cg * k_h * k_w)
    c = rest // (k_h * k_w)
    ci = (o // max(1, out_c // groups)) * cg + c
    seg = (ci // block_channels) * out_c + o
    order = np.argsort(seg, kind="stable")  # stable: (channel, kh, kw) order kept inside a segment
    o, rest = np.divmod(positions[order], cg * k_h * k_w)
    c, tap = np.divmod(rest, k_h * k_w)
    kh, kw = np.divmod(tap, k_w)
    ci = (o // max(1, out_c // groups)) * cg + c
    offsets = ci * (hp * wp) + kh * (dilation * wp) + kw * dilation
    ptr = np.zeros(n_blocks * out_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(seg, minlength=n_blocks * out_c), out=ptr[1:])
    return ptr, offsets.astype(np.int64, copy=False), np.ascontiguousarray(values[order])
