"""Kernel execution of the layers beyond fc / square conv / square pool: general windows, matmul
of two activations, recurrent cells, elementwise, normalization, quantization, data movement.

Each function fills the LayerWork it is given with the counts its kernel returns, with the same
meaning as ``reference.count_layer``'s (the tests compare them). Data movement is plain numpy: it
only moves elements, and counts one read per element it moves.
"""
from __future__ import annotations

import numpy as np

from ..kernels import elementwise as ek
from ..kernels.csr import csr_matmul
from ..kernels import formats
from ..kernels.matmul import act_matmul
from ..kernels.window import window_conv, window_pool
from ..workload.network import Layer
from ..workload.ops import BINARY, QUANT_DTYPES, UNARY, axis_of
from .profile import LayerWork
from .reference import recurrent
from .tensor_ops import align, binary_operands, movement, quant_params

_EMPTY = np.zeros(0, dtype=np.float64)


def _weights_by_channel(layer: Layer):
    """CSR over output channels of a conv layer: ptr, offsets in a padded sample, tap offsets, values."""
    w = layer.weight
    oc, icg, kh, kw = w.shape
    _, h, wd = layer.in_shape
    t, left, b, r = layer.pads4
    hp, wp = h + t + b, wd + left + r
    dh, dw = layer.dilations_hw
    o, ci, ky, kx = np.nonzero(w)  # row-major: grouped by output channel
    group = o // (oc // layer.groups)
    chan = group * icg + ci
    ptr = np.zeros(oc + 1, dtype=np.int64)
    np.add.at(ptr, o + 1, 1)
    ptr = np.cumsum(ptr)
    offsets = (chan * hp * wp + ky * dh * wp + kx * dw).astype(np.int64)
    taps = np.stack([ky * dh, kx * dw], axis=1).astype(np.int64)
    return ptr, offsets, taps, w[o, ci, ky, kx].astype(np.float32)


def execute_window(layer: Layer, x: np.ndarray, lw: LayerWork) -> np.ndarray:
    """conv2d / maxpool / avgpool with any geometry (``kernels.window``)."""
    batch = x.shape[0]
    t, left, b, r = layer.pads4
    if layer.kind != "conv2d":
        (kh, kw), (sh, sw) = layer.kernel_hw, layer.strides_hw
        out = np.empty((batch,) + tuple(layer.out_shape), dtype=np.float32)
        geom = np.array([kh, kw, sh, sw, t, left, b, r], dtype=np.int64)
        lw.act_reads = int(window_pool(np.ascontiguousarray(x, dtype=np.float32), geom, layer.kind == "maxpool",
                                       bool(layer.attrs.get("count_include_pad")), out))
        return out
    ptr, offsets, taps, values = _weights_by_channel(layer)
    xp = np.pad(np.ascontiguousarray(x, dtype=np.float32), ((0, 0), (0, 0), (t, b), (left, r)))
    out_c, oh, ow = layer.out_shape
    out = np.empty((batch, out_c, oh, ow), dtype=np.float32)
    work = np.empty((batch, out_c, 2), dtype=np.int64)
    sh, sw = layer.strides_hw
    geom = np.array([sh, sw, t, left, layer.in_shape[1], layer.in_shape[2]], dtype=np.int64)
    eff = int(window_conv(ptr, offsets, taps, values, xp, geom, out, work))
    if layer.bias is not None:
        out += layer.bias.reshape(1, -1, 1, 1)
    nnz = int(values.size)
    valid = int(work[:, :, 1].sum())
    lw.macs = batch * layer.dense_macs
    lw.effectual_macs = eff
    lw.padding_macs = lw.macs - _real_taps(layer) * batch
    lw.skipped_zero_weight = lw.macs - lw.padding_macs - valid
    lw.skipped_zero_act = valid - eff
    lw.weight_count, lw.weight_nnz = layer.weight_count, layer.weight_nnz
    lw.out_work = work[:, :, 0].sum(axis=0).astype(np.int64)
    lw.weight_words_read = nnz * batch  # each stored weight once per sample, applied to the whole plane
    lw.index_words_read = (nnz + out_c + 1) * batch
    lw.act_reads = valid
    lw.psum_writes = valid
    if layer.quant is not None and layer.quant.kind == "kmeans":
        lw.codebook_lookups = lw.weight_words_read
    return out


def _real_taps(layer: Layer) -> int:
    """Taps of the dense layer on real cells, per sample: the kernel taps x positions whose cell
    is inside the unpadded input, per axis, times channels."""
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel_hw, layer.strides_hw, layer.dilations_hw
    t, left, _, _ = layer.pads4
    _, h, w = layer.in_shape
    out_c, oh, ow = layer.out_shape

    def axis(k, s, d, p, n, o):
        pos = np.arange(o)[None, :] * s - p + np.arange(k)[:, None] * d
        return int(((pos >= 0) & (pos < n)).sum())

    return out_c * layer.weight.shape[1] * axis(kh, sh, dh, t, h, oh) * axis(kw, sw, dw, left, w, ow)


def execute_matmul(layer: Layer, xs: list[np.ndarray], lw: LayerWork) -> np.ndarray:
    """Batched matmul of two activations (``kernels.matmul``)."""
    a, b = align([np.asarray(xs[0], dtype=np.float32), np.asarray(xs[1], dtype=np.float32)])
    lead = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    a3 = np.ascontiguousarray(np.broadcast_to(a, lead + (m, k))).reshape(-1, m, k)
    b3 = np.ascontiguousarray(np.broadcast_to(b, lead + (k, n))).reshape(-1, k, n)
    out = np.empty((a3.shape[0], m, n), dtype=np.float32)
    work = np.empty((a3.shape[0] * m, 3), dtype=np.int64)
    eff = int(act_matmul(a3, b3, bool(layer.attrs.get("causal")), out, work))
    computed = int(work[:, 2].sum())
    lw.macs = xs[0].shape[0] * layer.dense_macs
    lw.effectual_macs = eff
    lw.padding_macs = lw.macs - computed
    lw.skipped_zero_weight = computed - int(work[:, 1].sum())
    lw.skipped_zero_act = int(work[:, 1].sum()) - eff
    lw.act_reads = 2 * computed  # both operands stream per MAC: neither is stationary ahead of time
    lw.psum_writes = int(np.count_nonzero(work[:, 2])) * n
    return out.reshape(lead + (m, n))


class _Part:
    """The CSR tiles of one column block of a recurrent layer's weight ([W | R])."""

    def __init__(self, weight: np.ndarray):
        self.weight = np.ascontiguousarray(weight, dtype=np.float32)
        mask = self.weight != 0
        self.nnz = int(mask.sum())
        self.shape = self.weight.shape
        self.mask = mask
        self.tiles = {}

    def apply(self, z: np.ndarray, rows=slice(None)):
        w = self.weight[rows]
        mask = self.mask[rows]
        n_rows, n_in = w.shape
        key = (rows.start, rows.stop, z.shape[0])
        if key not in self.tiles:  # one layout per row block and batch, reused every time step
            self.tiles[key] = formats.csr_tiles_from_dense(
                mask, w, *formats.csr_tile_shape(n_rows, n_in, int(mask.sum()), z.shape[0]))
        tiles = self.tiles[key]
        out_t = np.empty((n_rows, z.shape[0]), dtype=np.float32)
        work = np.empty(n_rows, dtype=np.int64)
        eff = int(csr_matmul(*tiles[:3], tiles[3], np.zeros(0, np.float32),
                             np.ascontiguousarray(z.T, dtype=np.float32), out_t, work))
        return out_t.T.astype(np.float64), eff, work, int(mask.sum()) * z.shape[0]


def execute_recurrent(layer: Layer, x: np.ndarray, lw: LayerWork) -> np.ndarray:
    """LSTM / GRU: every gate matmul of every time step on the CSR kernel, counted."""
    n_in = layer.in_shape[1]
    parts = {"W": _Part(layer.weight[:, :n_in]), "R": _Part(layer.weight[:, n_in:])}
    out_work = np.zeros(layer.weight.shape[0], dtype=np.int64)
    totals = {"eff": 0, "valid": 0}

    def matmul(part, z, t, rows=slice(None)):
        y, eff, work, valid = parts[part].apply(z, rows)
        out_work[rows] += work
        totals["eff"] += eff
        totals["valid"] += valid
        return y

    y = recurrent(layer, x.reshape(x.shape[0], *layer.in_shape), matmul)
    lw.batch = x.shape[0] * layer.in_shape[0]
    lw.macs = x.shape[0] * layer.dense_macs
    lw.effectual_macs = totals["eff"]
    lw.skipped_zero_weight = lw.macs - totals["valid"]
    lw.skipped_zero_act = totals["valid"] - totals["eff"]
    lw.weight_count, lw.weight_nnz = layer.weight_count, layer.weight_nnz
    lw.out_work = out_work
    lw.weight_words_read = lw.index_words_read = totals["valid"]
    lw.act_reads = totals["valid"]
    lw.psum_writes = totals["eff"]
    return y


def execute_simple(layer: Layer, xs: list[np.ndarray], lw: LayerWork) -> np.ndarray:
    """Elementwise, normalization, quantization (numba) and data movement (numpy)."""
    kind = layer.kind
    x = np.ascontiguousarray(xs[0], dtype=np.float32)
    lw.act_reads = lw.in_act_count
    if kind in UNARY:
        code, params = _unary_code(layer)
        out = np.empty(x.size, dtype=np.float32)
        ek.unary_op(code, x.reshape(-1), params, out)
        return out.reshape(x.shape)
    if kind in BINARY and kind != "where" and not (kind == "add" and len(xs) > 2):
        a, b = binary_operands(layer, xs)
        shape = np.broadcast_shapes(a.shape, b.shape)
        fa = np.ascontiguousarray(np.broadcast_to(a.astype(np.float32), shape)).reshape(-1)
        fb = np.ascontiguousarray(np.broadcast_to(b.astype(np.float32), shape)).reshape(-1)
        out = np.empty(fa.size, dtype=np.float32)
        ek.binary_op(ek.BINARY_CODES[kind], fa, fb, out)
        return out.reshape(shape)
    rank = x.ndim - 1
    if kind in ("layernorm", "softmax", "reduce_mean"):
        return _rows_op(layer, x, rank)
    if kind in ("quantize", "dequantize"):
        scale, zero = quant_params(layer, rank)
        axis = 1 + axis_of(int(layer.attrs["axis"]), rank) if np.ndim(scale) or np.ndim(zero) else 1
        outer = int(np.prod(x.shape[:axis]))
        c = x.shape[axis] if (np.ndim(scale) or np.ndim(zero)) else 1
        x3 = x.reshape(outer, c, -1) if np.ndim(scale) or np.ndim(zero) else x.reshape(1, 1, -1)
        s = np.broadcast_to(np.asarray(scale, np.float32).reshape(-1), (x3.shape[1],)).copy()
        z = np.broadcast_to(np.asarray(zero, np.float32).reshape(-1), (x3.shape[1],)).copy()
        lo, hi = QUANT_DTYPES[layer.attrs.get("dtype", "int8")]
        out = np.empty_like(x3)
        ek.affine_quant(x3, s, z, np.float32(lo), np.float32(hi), kind == "quantize", out)
        return out.reshape(x.shape)
    from .tensor_ops import forward_simple
    if kind == "where" or (kind == "add" and len(xs) > 2):
        return forward_simple(layer, xs)
    y = movement(layer, xs)
    if kind in ("gather",) and "table" in layer.consts:
        lw.act_reads = int(y.size)  # one table element read per output element
    return y


def _unary_code(layer: Layer):
    kind, a = layer.kind, layer.attrs
    params = np.zeros(2, dtype=np.float64)
    if kind == "gelu" and a.get("approximate", "none") == "tanh":
        return ek.UNARY_CODES["gelu_tanh"], params
    if kind == "clip":
        params[:] = (-np.inf if a.get("min") is None else a["min"], np.inf if a.get("max") is None else a["max"])
    elif kind == "hardsigmoid":
        params[:] = (a.get("alpha", 0.2), a.get("beta", 0.5))
    elif kind == "pow":
        params[0] = float(a["exponent"])
    elif kind == "leaky_relu":
        params[0] = a.get("alpha", 0.01)
    return ek.UNARY_CODES[kind], params


def _rows_op(layer: Layer, x: np.ndarray, rank: int) -> np.ndarray:
    """layernorm / softmax / reduce_mean: the reduced axes moved last, one row per kept position."""
    kind = layer.kind
    if kind == "layernorm":
        axis = axis_of(int(layer.attrs.get("axis", -1)), rank)
        rows = x.reshape(int(np.prod(x.shape[:1 + axis])), -1).astype(np.float64)
        d = rows.shape[1]
        scale = _EMPTY if layer.consts.get("scale") is None else np.broadcast_to(
            np.asarray(layer.consts["scale"], np.float64).reshape(-1), (d,)).copy()
        bias = _EMPTY if layer.consts.get("bias") is None else np.broadcast_to(
            np.asarray(layer.consts["bias"], np.float64).reshape(-1), (d,)).copy()
        out = np.empty_like(rows)
        ek.layernorm_rows(rows, float(layer.attrs.get("epsilon", 1e-5)), scale, bias, out)
        return out.astype(np.float32).reshape(x.shape)
    if kind == "softmax":
        axis = 1 + axis_of(int(layer.attrs.get("axis", 0)), rank)
        moved = np.moveaxis(x, axis, -1)
        rows = np.ascontiguousarray(moved.reshape(-1, moved.shape[-1]), dtype=np.float64)
        out = np.empty_like(rows)
        ek.softmax_rows(rows, out)
        return np.ascontiguousarray(np.moveaxis(out.astype(np.float32).reshape(moved.shape), -1, axis))
    axes = layer.attrs.get("axes")
    axes = sorted(1 + axis_of(a, rank) for a in (range(rank) if axes is None else axes))
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = np.transpose(x, kept + axes)
    rows = np.ascontiguousarray(moved.reshape(int(np.prod([x.shape[i] for i in kept])), -1), dtype=np.float64)
    out = np.empty(rows.shape[0], dtype=np.float64)
    ek.mean_rows(rows, out)
    shape = [1 if i in axes else s for i, s in enumerate(x.shape)]
    y = out.astype(np.float32).reshape([x.shape[i] for i in kept]).reshape(
        shape if layer.attrs.get("keepdims", True) else [x.shape[i] for i in kept])
    return y
