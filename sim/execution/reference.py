"""Plain numpy executor: the oracle every kernel is tested against.

Written for clarity, not speed: im2col with ``sliding_window_view`` and a matmul per group.
Counts are computed by brute force on the dense tensors: effectual MACs are the same
convolution / matmul applied to the 0/1 indicators of nonzero weights and activations.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import progress
from ..workload.network import Layer, Network
from ..workload.ops import NETWORK_INPUT
from .profile import LayerWork, WorkProfile
from .tensor_ops import forward_simple


def pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if np.isscalar(v) else (int(v[0]), int(v[1]))


def pads4(p) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) from one int or a 4-tuple."""
    return (int(p),) * 4 if np.isscalar(p) else tuple(int(v) for v in p)


def _windows(x: np.ndarray, k, stride, padding, dilation, pad_value: float, extra=(0, 0)) -> np.ndarray:
    """(B, C, H, W) -> (B, C, OH, OW, kh, kw) views of every window; ``extra`` pads the bottom /
    right further (ceil-mode windows that run past the end)."""
    (kh, kw), (sh, sw), (dh, dw) = pair(k), pair(stride), pair(dilation)
    t, left, b, r = pads4(padding)
    if t or left or b or r or any(extra):
        x = np.pad(x, ((0, 0), (0, 0), (t, b + extra[0]), (left, r + extra[1])), constant_values=pad_value)
    win = sliding_window_view(x, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, ::sh, ::sw, ::dh, ::dw]


def conv2d(x: np.ndarray, w: np.ndarray, stride=1, padding=0, groups: int = 1, dilation=1) -> np.ndarray:
    """Grouped 2-D cross-correlation, no bias. x: (B, C, H, W); w: (O, C // groups, kh, kw);
    stride / dilation: one int or (h, w); padding: one int or (top, left, bottom, right)."""
    b, c, _, _ = x.shape
    o, cg, kh, kw = w.shape
    win = _windows(x, (kh, kw), stride, padding, dilation, 0.0)  # (B, C, OH, OW, kh, kw)
    oh, ow = win.shape[2], win.shape[3]
    og = o // groups
    out = np.empty((b, o, oh, ow), dtype=np.result_type(x.dtype, w.dtype))
    for g in range(groups):
        cols = win[:, g * cg:(g + 1) * cg]  # (B, cg, OH, OW, kh, kw)
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(b, oh * ow, cg * kh * kw)
        wg = w[g * og:(g + 1) * og].reshape(og, cg * kh * kw)
        out[:, g * og:(g + 1) * og] = (cols @ wg.T).transpose(0, 2, 1).reshape(b, og, oh, ow)
    return out


def pool2d(x: np.ndarray, kind: str, k, stride, padding, ceil_mode: bool = False,
           count_include_pad: bool = False) -> np.ndarray:
    """Max or average pooling (ONNX semantics). Average divides by the real cells of each window
    (``count_include_pad``: by the cells inside the padded input, padding included)."""
    from ..workload.network import conv_out_size
    (kh, kw), (sh, sw) = pair(k), pair(stride)
    t, left, b, r = pads4(padding)
    h, w = x.shape[2:]
    oh = conv_out_size(h, kh, sh, t, 1, b, ceil_mode)
    ow = conv_out_size(w, kw, sw, left, 1, r, ceil_mode)
    extra = (max(0, (oh - 1) * sh + kh - (h + t + b)), max(0, (ow - 1) * sw + kw - (w + left + r)))
    if kind == "maxpool":
        return _windows(x, k, stride, padding, 1, -np.inf, extra).max(axis=(4, 5))[:, :, :oh, :ow]
    total = _windows(x, k, stride, padding, 1, 0.0, extra).sum(axis=(4, 5))[:, :, :oh, :ow]
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    if count_include_pad:  # the padded extent counts, the ceil-mode overhang does not
        ones = np.pad(ones, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=1.0)
        count = _windows(ones, k, stride, 0, 1, 0.0, extra).sum(axis=(4, 5))
    else:
        count = _windows(ones, k, stride, padding, 1, 0.0, extra).sum(axis=(4, 5))
    return total / count[:, :, :oh, :ow]


def elementwise(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Layers without weights or windows (shared by both executors where numpy is all they need)."""
    return forward_simple(layer, xs)


def rows_of(layer: Layer, x: np.ndarray) -> np.ndarray:
    """The (rows, features) matrix an fc layer multiplies: one row per sample, or per token
    when the layer applies its weights to the last axis."""
    if layer.attrs.get("per_token"):
        return x.reshape(-1, x.shape[-1])
    return x.reshape(x.shape[0], -1)


def matmul_mask(m: int, n: int, causal: bool) -> np.ndarray:
    """(m, n) outputs a matmul of activations computes: all, or j <= i + (n - m) when causal."""
    if not causal:
        return np.ones((m, n), dtype=bool)
    return np.tril(np.ones((m, n), dtype=bool), k=n - m)


def act_matmul(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """(B, ..., M, K) x (B, ..., K, N), broadcast over the leading axes; a causal layer leaves
    the masked outputs 0 (the mask after it overwrites them)."""
    from .tensor_ops import align
    a, b = align([xs[0].astype(np.float32), xs[1].astype(np.float32)])
    y = np.matmul(a.astype(np.float64), b.astype(np.float64))
    if layer.attrs.get("causal"):
        y = y * matmul_mask(y.shape[-2], y.shape[-1], True)
    return y.astype(np.float32)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def recurrent(layer: Layer, x: np.ndarray, matmul=None):
    """LSTM / GRU over x (B, T, I) as ONNX defines them (gates i, o, f, c / z, r, h); ``matmul(part,
    z, t)`` computes z @ part^T for part "W" (input) or "R" (recurrent) and may count; returns Y
    (B, T, 1, H)."""
    hidden = int(layer.attrs["hidden_size"])
    n_in = x.shape[2]
    w, r = layer.weight[:, :n_in].astype(np.float64), layer.weight[:, n_in:].astype(np.float64)
    wb = np.asarray(layer.consts.get("wb", np.zeros(w.shape[0])), dtype=np.float64)
    rb = np.asarray(layer.consts.get("rb", np.zeros(w.shape[0])), dtype=np.float64)
    if matmul is None:
        def matmul(part, z, t, rows=slice(None)):
            return z.astype(np.float64) @ (w if part == "W" else r)[rows].T
    batch, steps = x.shape[0], x.shape[1]
    h = np.broadcast_to(np.asarray(layer.consts.get("h0", np.zeros(hidden)), np.float64), (batch, hidden)).copy()
    c = np.broadcast_to(np.asarray(layer.consts.get("c0", np.zeros(hidden)), np.float64), (batch, hidden)).copy()
    ys = np.empty((batch, steps, 1, hidden), dtype=np.float32)
    for t in range(steps):
        xt = x[:, t, :]
        if layer.kind == "lstm":
            g = matmul("W", xt, t) + matmul("R", h.astype(np.float32), t) + wb + rb
            i, o, f, cc = (g[:, k * hidden:(k + 1) * hidden] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(cc)
            h = sigmoid(o) * np.tanh(c)
        else:
            gx = matmul("W", xt, t) + wb
            zr = slice(0, 2 * hidden)
            if layer.attrs.get("linear_before_reset", 1):
                gh = matmul("R", h.astype(np.float32), t) + rb
                z, rr = sigmoid(gx[:, :hidden] + gh[:, :hidden]), sigmoid(gx[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
                hh = np.tanh(gx[:, 2 * hidden:] + rr * gh[:, 2 * hidden:])
            else:
                gh = matmul("R", h.astype(np.float32), t, zr) + rb[zr]
                z, rr = sigmoid(gx[:, :hidden] + gh[:, :hidden]), sigmoid(gx[:, hidden:2 * hidden] + gh[:, hidden:])
                hr = matmul("R", (rr * h).astype(np.float32), t, slice(2 * hidden, 3 * hidden))
                hh = np.tanh(gx[:, 2 * hidden:] + hr + rb[2 * hidden:])
            h = (1.0 - z) * hh + z * h
        ys[:, t, 0, :] = h
    return ys


def forward_layer(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Output of one layer for its input tensors (batch first)."""
    x = xs[0]
    kind = layer.kind
    if kind == "fc":
        y = rows_of(layer, x) @ layer.weight.T
        if layer.bias is not None:
            y = y + layer.bias
        return y.reshape((x.shape[0],) + tuple(layer.out_shape)).astype(np.float32, copy=False)
    if kind == "conv2d":
        y = conv2d(x, layer.weight, layer.strides_hw, layer.pads4, layer.groups, layer.dilations_hw)
        if layer.bias is not None:
            y = y + layer.bias[:, None, None]
        return y.astype(np.float32, copy=False)
    if kind in ("maxpool", "avgpool"):
        return pool2d(x, kind, layer.kernel_hw, layer.strides_hw, layer.pads4, bool(layer.attrs.get("ceil_mode")),
                      bool(layer.attrs.get("count_include_pad"))).astype(np.float32, copy=False)
    if kind == "matmul":
        return act_matmul(layer, xs)
    if kind in ("lstm", "gru"):
        return recurrent(layer, x.reshape(x.shape[0], *layer.in_shape))
    return elementwise(layer, xs)


def _nz(a) -> np.ndarray:
    return (np.asarray(a) != 0).astype(np.float64)


def count_layer(layer: Layer, xs: list[np.ndarray], y: np.ndarray) -> LayerWork:
    """Brute-force work counts of one layer on the dense tensors."""
    x = xs[0]
    b = x.shape[0]
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=b,
                   in_act_count=int(sum(t.size for t in xs)),
                   in_act_nnz=int(sum(np.count_nonzero(t) for t in xs)),
                   out_act_count=int(y.size), out_act_nnz=int(np.count_nonzero(y)))
    lw.in_nnz_per_sample = np.count_nonzero(x.reshape(b, -1), axis=1).astype(np.int64)
    if layer.kind == "matmul":
        return _count_matmul(layer, xs, lw)
    if not layer.is_weighted:
        return lw
    wnz = _nz(layer.weight)
    if layer.kind == "fc":
        rows = rows_of(layer, x)
        xnz = _nz(rows)
        eff = (xnz @ wnz.T).sum(axis=0)  # per output row
        valid = (np.ones_like(xnz) @ wnz.T).sum()
        dense = rows.shape[0] * layer.weight.size
        lw.batch = rows.shape[0]  # the vectors the weights meet: samples x tokens
    elif layer.kind == "conv2d":
        args = (layer.strides_hw, layer.pads4, layer.groups, layer.dilations_hw)
        eff = conv2d(_nz(x), wnz, *args).sum(axis=(0, 2, 3))  # per output channel
        ones_x = np.ones_like(x, dtype=np.float64)
        valid = conv2d(ones_x, wnz, *args).sum()  # stored weights on real (non-padding) cells
        real = conv2d(ones_x, np.ones_like(wnz), *args).sum()
        dense = b * layer.dense_macs
        lw.padding_macs = int(dense - round(float(real)))
    else:  # recurrent: count each gate matmul of each step on the real operands
        eff, valid, dense = _count_recurrent(layer, x, wnz)
        lw.batch = b * layer.in_shape[0]
    lw.out_work = np.rint(eff).astype(np.int64)
    lw.macs = int(round(float(dense)))
    lw.effectual_macs = int(lw.out_work.sum())
    valid = int(round(float(valid)))
    lw.skipped_zero_weight = lw.macs - lw.padding_macs - valid
    lw.skipped_zero_act = valid - lw.effectual_macs
    lw.weight_count = layer.weight_count
    lw.weight_nnz = layer.weight_nnz
    return lw


def _count_recurrent(layer: Layer, x: np.ndarray, wnz: np.ndarray):
    n_in = layer.in_shape[1]
    eff = np.zeros(wnz.shape[0])
    valid = [0.0]

    def matmul(part, z, t, rows=slice(None)):
        m = (layer.weight[:, :n_in] if part == "W" else layer.weight[:, n_in:])[rows].astype(np.float64)
        mnz = wnz[:, :n_in][rows] if part == "W" else wnz[:, n_in:][rows]
        eff[rows] += (_nz(z) @ mnz.T).sum(axis=0)
        valid[0] += z.shape[0] * mnz.sum()
        return z.astype(np.float64) @ m.T

    recurrent(layer, x.reshape(x.shape[0], *layer.in_shape), matmul)
    return eff, valid[0], x.shape[0] * layer.dense_macs


def _count_matmul(layer: Layer, xs: list[np.ndarray], lw: LayerWork) -> LayerWork:
    from .tensor_ops import align
    a, b = align([xs[0], xs[1]])
    k = a.shape[-1]
    mask = matmul_mask(a.shape[-2], b.shape[-1], bool(layer.attrs.get("causal")))
    eff = (np.matmul(_nz(a), _nz(b)) * mask).sum()
    b_nz = np.matmul(np.ones_like(a, dtype=np.float64), _nz(b)) * mask  # products whose B is nonzero
    computed = np.broadcast_to(mask, np.broadcast_shapes(a.shape[:-1] + (1,), b.shape[:-2] + (1, b.shape[-1]))).sum() * k
    lw.macs = int(xs[0].shape[0] * layer.dense_macs)
    lw.padding_macs = lw.macs - int(computed)
    lw.effectual_macs = int(round(float(eff)))
    lw.skipped_zero_weight = int(computed) - int(round(float(b_nz.sum())))
    lw.skipped_zero_act = lw.macs - lw.padding_macs - lw.skipped_zero_weight - lw.effectual_macs
    return lw


def weight_rows(layer: Layer, xs: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """The (vectors, in_features) activations a matmul-like layer's weights meet: one row per
    sample (or token) of an fc layer; [x_t, h_(t-1)] per sample and step of a recurrent one."""
    if layer.kind == "fc":
        return rows_of(layer, xs[0])
    x = xs[0].reshape(xs[0].shape[0], *layer.in_shape)
    hidden = int(layer.attrs["hidden_size"])
    h0 = np.broadcast_to(np.asarray(layer.consts.get("h0", np.zeros(hidden)), np.float32), (x.shape[0], 1, hidden))
    h_prev = np.concatenate([h0, y[:, :-1, 0, :]], axis=1)
    return np.concatenate([x, h_prev], axis=2).reshape(-1, x.shape[2] + hidden)


def note_positions(layer: Layer, xs: list[np.ndarray], lw: LayerWork, y=None) -> LayerWork:
    """Record where a matmul-like layer's input activations are nonzero (per vector), whichever
    executor produced ``lw``: column-broadcast mappings walk exactly those weight columns."""
    if layer.map_kind == "fc" and lw is not None:
        rows = weight_rows(layer, xs, y)
        lw.in_nnz_per_sample = np.count_nonzero(rows, axis=1).astype(np.int64)
        lw.in_nz_cols = tuple(np.flatnonzero(row).astype(np.int64) for row in rows)
    return lw


def run_layers(net: Network, inputs: np.ndarray, layer_fn, count: bool = True, desc: str | None = None):
    """Walk the network's graph with ``layer_fn(layer, xs) -> (y, LayerWork | None)``.

    Each layer reads the tensors its ``inputs`` name (``"input"``: the network input; none: the
    layer before); a tensor is freed after its last reader. Returns the graph output (a tuple of
    arrays in ``net.output_names`` order when the graph has several outputs) and the profile.
    Independent-layer networks (benchmark suites) feed each layer its own input: ``inputs`` is then
    a list with one array per layer. desc: the per-layer progress bar's label (sim.progress; default
    "execute", or "numerics" for runs that do not count).
    """
    desc = desc or ("execute" if count else "numerics")
    works = []
    if net.independent:
        outs = []
        for layer, x in progress.layers(zip(net.layers, inputs), desc):
            y, lw = layer_fn(layer, [x])
            outs.append(y)
            works.append(note_positions(layer, [x], lw, y))
        return outs, WorkProfile(batch=int(inputs[0].shape[0]), layers=works)
    outputs = net.output_names
    sources = [net.sources(i) for i in range(len(net.layers))]
    last_use: dict[str, int] = {}
    for i, names in enumerate(sources):
        for name in names:
            last_use[name] = i
    values: dict[str, np.ndarray] = {NETWORK_INPUT: np.asarray(inputs).astype(np.float32, copy=False)}
    for i, layer in enumerate(progress.layers(net.layers, desc)):
        xs = [values[n] for n in sources[i]]
        y, lw = layer_fn(layer, xs)
        if count:
            works.append(note_positions(layer, xs, lw, y))
        values[layer.name] = y
        for name in set(sources[i]):
            if last_use.get(name) == i and name not in outputs:
                del values[name]
    result = values[outputs[0]] if len(outputs) == 1 else tuple(values[n] for n in outputs)
    return result, WorkProfile(batch=int(np.shape(inputs)[0]), layers=works)


def execute_reference(net: Network, inputs) -> tuple[np.ndarray, WorkProfile]:
    """Run ``net`` on ``inputs`` (batch first) with plain numpy; return outputs and counts."""

    def step(layer, xs):
        y = forward_layer(layer, xs)
        return y, count_layer(layer, xs, y)

    return run_layers(net, inputs, step)
