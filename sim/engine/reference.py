"""Plain numpy executor: the oracle every kernel is tested against.

Written for clarity, not speed: im2col with ``sliding_window_view`` and a matmul per group.
Counts are computed by brute force on the dense tensors: effectual MACs are the same
convolution / matmul applied to the 0/1 indicators of nonzero weights and activations.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..workload.network import Layer, Network
from .profile import LayerWork, WorkProfile


def _windows(x: np.ndarray, k: int, stride: int, padding: int, dilation: int, pad_value: float) -> np.ndarray:
    """(B, C, H, W) -> (B, C, OH, OW, k, k) views of every window."""
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)), constant_values=pad_value)
    span = dilation * (k - 1) + 1
    win = sliding_window_view(x, (span, span), axis=(2, 3))
    return win[:, :, ::stride, ::stride, ::dilation, ::dilation]


def conv2d(x: np.ndarray, w: np.ndarray, stride: int = 1, padding: int = 0, groups: int = 1,
           dilation: int = 1) -> np.ndarray:
    """Grouped 2-D cross-correlation, no bias. x: (B, C, H, W); w: (O, C // groups, k, k)."""
    b, c, _, _ = x.shape
    o, cg, k, _ = w.shape
    win = _windows(x, k, stride, padding, dilation, 0.0)  # (B, C, OH, OW, k, k)
    oh, ow = win.shape[2], win.shape[3]
    og = o // groups
    out = np.empty((b, o, oh, ow), dtype=np.result_type(x.dtype, w.dtype))
    for g in range(groups):
        cols = win[:, g * cg:(g + 1) * cg]  # (B, cg, OH, OW, k, k)
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(b, oh * ow, cg * k * k)
        wg = w[g * og:(g + 1) * og].reshape(og, cg * k * k)
        out[:, g * og:(g + 1) * og] = (cols @ wg.T).transpose(0, 2, 1).reshape(b, og, oh, ow)
    return out


def pool2d(x: np.ndarray, kind: str, k: int, stride: int, padding: int) -> np.ndarray:
    """Max or average pooling; average excludes padded cells (ONNX count_include_pad=0)."""
    if kind == "maxpool":
        return _windows(x, k, stride, padding, 1, -np.inf).max(axis=(4, 5))
    total = _windows(x, k, stride, padding, 1, 0.0).sum(axis=(4, 5))
    ones = np.ones((1, 1) + x.shape[2:], dtype=x.dtype)
    count = _windows(ones, k, stride, padding, 1, 0.0).sum(axis=(4, 5))
    return total / count


def elementwise(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Layers without weights or windows (shared by both executors: plain numpy is all they need)."""
    x = xs[0]
    kind = layer.kind
    if kind == "global_avgpool":
        return x.mean(axis=(2, 3), keepdims=True, dtype=np.float32)
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "relu6":
        return np.clip(x, 0, 6)
    if kind == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if kind == "flatten":
        return x.reshape(x.shape[0], -1)
    if kind == "add":
        return sum(xs[1:], xs[0])
    if kind == "concat":
        return np.concatenate(xs, axis=1)
    raise ValueError(f"layer {layer.name!r}: unknown kind {kind!r}")


def forward_layer(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Output of one layer for its input tensors (batch first)."""
    x = xs[0]
    kind = layer.kind
    if kind == "fc":
        y = x.reshape(x.shape[0], -1) @ layer.weight.T
    elif kind == "conv2d":
        y = conv2d(x, layer.weight, layer.stride, layer.padding, layer.groups, layer.dilation)
    elif kind in ("maxpool", "avgpool"):
        return pool2d(x, kind, layer.kernel_size, layer.stride, layer.padding)
    else:
        return elementwise(layer, xs)
    if layer.bias is not None:
        y = y + (layer.bias if kind == "fc" else layer.bias[:, None, None])
    return y.astype(np.float32, copy=False)


def count_layer(layer: Layer, xs: list[np.ndarray], y: np.ndarray) -> LayerWork:
    """Brute-force work counts of one layer on the dense tensors."""
    x = xs[0]
    b = x.shape[0]
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=b,
                   in_act_count=int(sum(t.size for t in xs)),
                   in_act_nnz=int(sum(np.count_nonzero(t) for t in xs)),
                   out_act_count=int(y.size), out_act_nnz=int(np.count_nonzero(y)))
    lw.in_nnz_per_sample = np.count_nonzero(x.reshape(b, -1), axis=1).astype(np.int64)
    if not layer.is_weighted:
        return lw
    wnz = (layer.weight != 0).astype(np.float64)
    xnz = (x != 0).astype(np.float64)
    ones_x = np.ones_like(xnz)
    if layer.kind == "fc":
        xnz = xnz.reshape(b, -1)
        eff = (xnz @ wnz.T).sum(axis=0)  # per output row
        nzw_macs = (ones_x.reshape(b, -1) @ wnz.T).sum()
        dense = b * layer.weight.size
    else:
        args = (layer.stride, layer.padding, layer.groups, layer.dilation)
        eff = conv2d(xnz, wnz, *args).sum(axis=(0, 2, 3))  # per output channel
        # Padding cells are not MACs: count MACs with all-ones activations.
        nzw_macs = conv2d(ones_x, wnz, *args).sum()
        dense = conv2d(ones_x, np.ones_like(wnz), *args).sum()
    lw.out_work = np.rint(eff).astype(np.int64)
    lw.macs = int(round(float(dense)))
    lw.effectual_macs = int(lw.out_work.sum())
    lw.skipped_zero_weight = lw.macs - int(round(float(nzw_macs)))
    lw.skipped_zero_act = int(round(float(nzw_macs))) - lw.effectual_macs
    lw.weight_count = layer.weight_count
    lw.weight_nnz = layer.weight_nnz
    return lw


def note_positions(layer: Layer, xs: list[np.ndarray], lw: LayerWork) -> LayerWork:
    """Record where an fc layer's input activations are nonzero (per sample), whichever executor
    produced ``lw``: column-broadcast mappings walk exactly those weight columns."""
    if layer.kind == "fc" and lw is not None:
        x = xs[0].reshape(xs[0].shape[0], -1)
        lw.in_nz_cols = tuple(np.flatnonzero(row).astype(np.int64) for row in x)
    return lw


def run_layers(net: Network, inputs: np.ndarray, layer_fn, count: bool = True):
    """Walk the network's graph with ``layer_fn(layer, xs) -> (y, LayerWork | None)``.

    Independent-layer networks (benchmark suites) feed each layer its own input: ``inputs`` is then
    a list with one array per layer.
    """
    works = []
    if net.independent:
        outs = []
        for layer, x in zip(net.layers, inputs):
            y, lw = layer_fn(layer, [x])
            outs.append(y)
            works.append(note_positions(layer, [x], lw))
        return outs, WorkProfile(batch=int(inputs[0].shape[0]), layers=works)
    values: dict[str, np.ndarray] = {}
    prev = inputs.astype(np.float32, copy=False)
    consumers: dict[str, int] = {}
    for layer in net.layers:
        for name in layer.inputs:
            consumers[name] = consumers.get(name, 0) + 1
    for layer in net.layers:
        xs = [values[n] for n in layer.inputs] if layer.inputs else [prev]
        y, lw = layer_fn(layer, xs)
        if count:
            works.append(note_positions(layer, xs, lw))
        if layer.name in consumers:
            values[layer.name] = y
        prev = y
    return prev, WorkProfile(batch=int(np.shape(inputs)[0]), layers=works)


def execute_reference(net: Network, inputs) -> tuple[np.ndarray, WorkProfile]:
    """Run ``net`` on ``inputs`` (batch first) with plain numpy; return outputs and counts."""

    def step(layer, xs):
        y = forward_layer(layer, xs)
        return y, count_layer(layer, xs, y)

    return run_layers(net, inputs, step)
