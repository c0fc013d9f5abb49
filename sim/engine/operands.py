"""Weighted layers as the operands a design computes on: calibrated ranges, weight grids and
integer codes of the stored weights, and the matrix products (fc, or conv by im2col) they feed.
Shared by the integer/float path (sim/engine/numerics.py) and the analog path (sim/engine/noise.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.numerics import NumberFormat
from ..workload.network import Layer
from .numberformats import Grid, grid_for, quantize
from .reference import _windows


@dataclass(frozen=True)
class LayerRange:
    """What calibration saw of one layer: its input's range and, for weighted layers, the
    largest |output| per output channel."""

    in_lo: float
    in_hi: float
    out_absmax: np.ndarray | None = None


def channel_shape(layer: Layer) -> tuple[int, ...]:
    """Shape that broadcasts one value per output channel over the layer's weight."""
    return (layer.weight.shape[0],) + (1,) * (layer.weight.ndim - 1)


def _keeps_integers(layer: Layer, fmt: NumberFormat) -> bool:
    """Does the model's own integer encoding fit the format exactly (int4 on int8)?"""
    q = layer.quant
    return bool(q is not None and q.kind in ("linear", "binary") and q.qvalues is not None and q.scale is not None
                and fmt.format == "int" and fmt.scheme == "symmetric" and q.bits <= fmt.bits
                and (fmt.granularity == "per_channel" or np.size(q.scale) == 1))


def weight_grid(layer: Layer, fmt: NumberFormat) -> Grid:
    """The grid of the layer's weights on format ``fmt`` (per channel: scale shaped per row)."""
    rows = layer.weight.shape[0]
    if _keeps_integers(layer, fmt):
        qmax = 2 ** (fmt.bits - 1) - 1
        scale = np.broadcast_to(np.asarray(layer.quant.scale, dtype=np.float64).ravel(), (rows,))
        return Grid(scale.reshape(channel_shape(layer)).copy(), 0, -qmax, qmax)
    w = layer.weight
    if fmt.granularity == "per_channel":
        flat = w.reshape(rows, -1)
        lo = flat.min(axis=1).astype(np.float64).reshape(channel_shape(layer))
        hi = flat.max(axis=1).astype(np.float64).reshape(channel_shape(layer))
    else:
        lo, hi = float(w.min()), float(w.max())
    return grid_for(fmt, lo, hi)


def stored_codes(layer: Layer, fmt: NumberFormat, grid: Grid, rsl: slice):
    """CSR (indptr, indices, codes - zero point as int64) of the stored weights of rows ``rsl``,
    flattened per row; only stored weights are quantized (pruned ones stay absent)."""
    w2 = layer.weight[rsl].reshape(rsl.stop - rsl.start, -1)
    rows, cols = np.nonzero(w2)
    indptr = np.zeros(w2.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w2.shape[0]), out=indptr[1:])
    if _keeps_integers(layer, fmt):
        codes = layer.quant.qvalues[rsl].reshape(w2.shape)[rows, cols].astype(np.int64)
    else:
        scale = np.asarray(grid.scale, dtype=np.float64).reshape(-1)
        scale = scale[rows + rsl.start] if scale.size > 1 else scale
        codes = quantize(w2[rows, cols], Grid(scale, grid.zero_point, grid.qmin, grid.qmax), fmt)
    return indptr, cols.astype(np.int64), codes - grid.zero_point


def design_weights(layer: Layer, fmt: NumberFormat) -> tuple[np.ndarray, Grid]:
    """Integer weight codes (shape of ``layer.weight``, int64; pruned weights at the zero point)
    and their grid on format ``fmt``."""
    grid = weight_grid(layer, fmt)
    rows = layer.weight.shape[0]
    indptr, indices, codes = stored_codes(layer, fmt, grid, slice(0, rows))
    dense = np.full((rows, int(layer.weight.size // rows)), grid.zero_point, dtype=np.int64)
    dense[np.repeat(np.arange(rows), np.diff(indptr)), indices] = codes + grid.zero_point
    return dense.reshape(layer.weight.shape), grid


def gemm_operands(layer: Layer, x: np.ndarray, pad_value=0):
    """A weighted layer as matrix products, one per group: [(x_cols (N, K), weight rows slice)].
    fc: N = batch; conv: N = batch x output positions (im2col, padding filled with ``pad_value``)."""
    batch = x.shape[0]
    if layer.kind == "fc":
        return [(np.ascontiguousarray(x.reshape(batch, -1)), slice(0, layer.weight.shape[0]))]
    o, cg, k, _ = layer.weight.shape
    win = _windows(x, k, layer.stride, layer.padding, layer.dilation, pad_value)
    n = batch * win.shape[2] * win.shape[3]
    og = o // layer.groups
    return [(np.ascontiguousarray(win[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n, cg * k * k)),
             slice(g * og, (g + 1) * og)) for g in range(layer.groups)]


def gemm_result(layer: Layer, parts: list[np.ndarray], batch: int) -> np.ndarray:
    """Per-group (N, rows) results -> the layer's (batch, *out_shape) output."""
    y = np.concatenate(parts, axis=1)
    if layer.kind == "fc":
        return y
    _, oh, ow = layer.out_shape
    return y.reshape(batch, oh, ow, -1).transpose(0, 3, 1, 2)


def csr_of(dense: np.ndarray):
    """(indptr, indices, values) of a 2-D array's nonzeros, row by row in column order."""
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), np.ascontiguousarray(dense[rows, cols])
