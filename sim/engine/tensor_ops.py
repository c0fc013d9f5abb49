"""Plain numpy semantics of the layers without weights or windows: activations, broadcasting
binary ops, quantization, normalization and data movement (ONNX semantics, batch first).

The numpy reference executor uses all of them; the kernel executor uses the data-movement ones
(they only move elements, which numpy does at memory speed) and checks its numba kernels for the
rest against these.
"""
from __future__ import annotations

import math

import numpy as np

from ..workload.network import Layer
from ..workload.ops import QUANT_DTYPES, axis_of

SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x.astype(np.float64))


def unary(kind: str, x: np.ndarray, attrs: dict) -> np.ndarray:
    """Elementwise activation ``kind`` of ``x`` (float32 in, float32 out; computed in float64)."""
    v = x.astype(np.float64)
    if kind == "relu":
        y = np.maximum(v, 0)
    elif kind == "relu6":
        y = np.clip(v, 0, 6)
    elif kind == "clip":
        lo, hi = attrs.get("min"), attrs.get("max")
        y = np.clip(v, -np.inf if lo is None else lo, np.inf if hi is None else hi)
    elif kind == "sigmoid":
        y = 1.0 / (1.0 + np.exp(-v))
    elif kind == "silu":
        y = v / (1.0 + np.exp(-v))
    elif kind == "gelu":
        if attrs.get("approximate", "none") == "tanh":
            y = 0.5 * v * (1.0 + np.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v ** 3)))
        else:
            y = 0.5 * v * (1.0 + _erf(v / math.sqrt(2.0)))
    elif kind == "hardsigmoid":
        y = np.clip(attrs.get("alpha", 0.2) * v + attrs.get("beta", 0.5), 0, 1)
    elif kind == "hardswish":
        y = v * np.clip(v / 6.0 + 0.5, 0, 1)
    elif kind == "tanh":
        y = np.tanh(v)
    elif kind == "erf":
        y = _erf(v)
    elif kind == "sqrt":
        y = np.sqrt(v)
    elif kind == "exp":
        y = np.exp(v)
    elif kind == "reciprocal":
        with np.errstate(divide="ignore"):
            y = 1.0 / v
    elif kind == "pow":
        y = np.power(v, float(attrs["exponent"]))
    elif kind == "neg":
        y = -v
    elif kind == "abs":
        y = np.abs(v)
    elif kind == "leaky_relu":
        y = np.where(v >= 0, v, attrs.get("alpha", 0.01) * v)
    else:
        raise ValueError(f"unknown unary op {kind!r}")
    return y.astype(np.float32)


def per_sample(value: np.ndarray, rank: int) -> np.ndarray:
    """A per-sample constant (or activation without its batch axis) as an array that
    broadcasts against (batch, *sample) tensors of per-sample rank ``rank``."""
    v = np.asarray(value)
    return v.reshape((1,) * (rank + 1 - v.ndim) + v.shape) if v.ndim <= rank else v


def align(xs: list[np.ndarray]) -> list[np.ndarray]:
    """Batch-first activations of different per-sample ranks, with unit axes inserted after the
    batch so numpy broadcasts their per-sample parts right-aligned (ONNX semantics)."""
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def binary_operands(layer: Layer, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The operands of a binary op in their order: activations plus the constant, if any."""
    ops = align(list(xs))
    rank = ops[0].ndim - 1
    if "operand" in layer.consts:
        c = per_sample(layer.consts["operand"], rank)
        ops = [c, ops[0]] if layer.attrs.get("const_first") else [ops[0], c]
    return ops


def binary(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    kind = layer.kind
    if kind == "where":
        rank = max(x.ndim for x in xs) - 1
        cond = per_sample(layer.consts["cond"], rank).astype(bool)
        x = align(list(xs))[0]
        other = per_sample(layer.consts["other"], rank).astype(np.float32)
        # attrs["x_when"]: the activation is the branch taken where cond is True (else the other).
        y = np.where(cond, x, other) if layer.attrs.get("x_when", True) else np.where(cond, other, x)
        return y.astype(np.float32)
    ops = binary_operands(layer, xs)
    if kind == "add" and len(ops) > 2:  # a residual join of several branches
        return np.ascontiguousarray(sum(ops[1:], ops[0]), dtype=np.float32)
    a, b = (o.astype(np.float32) for o in ops)
    if kind == "add":
        y = a + b
    elif kind == "sub":
        y = a - b
    elif kind == "mul":
        y = a * b
    elif kind == "div":
        with np.errstate(divide="ignore", invalid="ignore"):
            y = a / b
    elif kind == "max":
        y = np.maximum(a, b)
    elif kind == "min":
        y = np.minimum(a, b)
    else:
        raise ValueError(f"unknown binary op {kind!r}")
    return np.ascontiguousarray(y, dtype=np.float32)


def quant_params(layer: Layer, rank: int):
    """(scale, zero_point) broadcastable against (batch, *sample) of per-sample rank ``rank``."""
    scale = np.asarray(layer.consts["scale"], dtype=np.float32)
    zero = np.asarray(layer.consts.get("zero_point", np.zeros(1)), dtype=np.float32)
    axis = layer.attrs.get("axis")
    shape = [1] * (rank + 1)
    if scale.size > 1 or zero.size > 1:
        shape[1 + axis_of(int(axis), rank)] = max(scale.size, zero.size)
        return scale.reshape(shape if scale.size > 1 else ()), zero.reshape(shape if zero.size > 1 else ())
    return scale.reshape(()), zero.reshape(())


def quantize(layer: Layer, x: np.ndarray) -> np.ndarray:
    """ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero_point), as float32 integers."""
    scale, zero = quant_params(layer, x.ndim - 1)
    lo, hi = QUANT_DTYPES[layer.attrs.get("dtype", "int8")]
    return np.clip(np.rint(x.astype(np.float32) / scale) + zero, lo, hi).astype(np.float32)


def dequantize(layer: Layer, x: np.ndarray) -> np.ndarray:
    scale, zero = quant_params(layer, x.ndim - 1)
    return ((x.astype(np.float32) - zero) * scale).astype(np.float32)


def layernorm(x: np.ndarray, axis: int, eps: float, scale, bias) -> np.ndarray:
    """Normalize over per-sample axes ``axis..end`` (ONNX LayerNormalization)."""
    axes = tuple(range(1 + axis, x.ndim))
    v = x.astype(np.float64)
    mean = v.mean(axis=axes, keepdims=True)
    var = ((v - mean) ** 2).mean(axis=axes, keepdims=True)
    y = (v - mean) / np.sqrt(var + eps)
    if scale is not None:
        y = y * scale
    if bias is not None:
        y = y + bias
    return y.astype(np.float32)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    a = 1 + axis
    v = x.astype(np.float64)
    e = np.exp(v - v.max(axis=a, keepdims=True))
    return (e / e.sum(axis=a, keepdims=True)).astype(np.float32)


def gather(layer: Layer, x: np.ndarray) -> np.ndarray:
    if "table" in layer.consts:  # embedding look-up: x holds integer ids
        table = np.asarray(layer.consts["table"], dtype=np.float32)
        ids = np.rint(x).astype(np.int64)
        if ids.size and (ids.min() < -table.shape[0] or ids.max() >= table.shape[0]):
            raise ValueError(f"layer {layer.name!r}: ids must be in [0, {table.shape[0]}); got {ids.min()}..{ids.max()}")
        return table[ids]
    axis = axis_of(int(layer.attrs.get("axis", 0)), x.ndim - 1)
    return np.take(x, np.asarray(layer.consts["indices"], dtype=np.int64), axis=1 + axis)


def movement(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Data-movement layers (and global average pooling, reduce_mean)."""
    x = xs[0]
    kind, attrs, rank = layer.kind, layer.attrs, xs[0].ndim - 1
    if kind == "flatten":
        return x.reshape((x.shape[0],) + tuple(layer.out_shape))
    if kind == "reshape":
        return x.reshape((x.shape[0],) + tuple(layer.out_shape))
    if kind == "transpose":
        return np.ascontiguousarray(x.transpose((0,) + tuple(1 + axis_of(p, rank) for p in attrs["perm"])))
    if kind == "slice":
        index = [slice(None)] * x.ndim
        axes = attrs.get("axes") or list(range(len(attrs["starts"])))
        steps = attrs.get("steps") or [1] * len(attrs["starts"])
        for a, s, e, st in zip(axes, attrs["starts"], attrs["ends"], steps):
            index[1 + axis_of(a, rank)] = slice(s, e, st)
        return np.ascontiguousarray(x[tuple(index)])
    if kind == "concat":
        return np.concatenate(xs, axis=1 + axis_of(int(attrs.get("axis", 0)), rank))
    if kind == "gather":
        return gather(layer, x)
    if kind == "pad":
        pads = attrs["pads"]
        width = [(0, 0)] + [(pads[i], pads[i + rank]) for i in range(rank)]
        return np.pad(x, width, constant_values=float(attrs.get("value", 0.0)))
    if kind == "global_avgpool":
        return x.mean(axis=(2, 3), keepdims=True, dtype=np.float32)
    if kind == "reduce_mean":
        axes = attrs.get("axes")
        axes = tuple(1 + axis_of(a, rank) for a in (range(rank) if axes is None else axes))
        return x.astype(np.float64).mean(axis=axes, keepdims=bool(attrs.get("keepdims", True))).astype(np.float32)
    raise ValueError(f"layer {layer.name!r}: {kind!r} is not a data-movement op")


def forward_simple(layer: Layer, xs: list[np.ndarray]) -> np.ndarray:
    """Any layer without weights or windows, in plain numpy."""
    from ..workload.ops import BINARY, UNARY
    kind = layer.kind
    if kind in UNARY:
        return unary(kind, xs[0], layer.attrs)
    if kind in BINARY:
        return binary(layer, xs)
    if kind == "quantize":
        return quantize(layer, xs[0])
    if kind == "dequantize":
        return dequantize(layer, xs[0])
    if kind == "layernorm":
        rank = xs[0].ndim - 1
        axis = axis_of(int(layer.attrs.get("axis", -1)), rank)
        return layernorm(xs[0], axis, float(layer.attrs.get("epsilon", 1e-5)), layer.consts.get("scale"),
                         layer.consts.get("bias"))
    if kind == "softmax":
        return softmax(xs[0], axis_of(int(layer.attrs.get("axis", 0)), xs[0].ndim - 1))
    if kind == "add" or kind == "concat":
        return binary(layer, xs) if kind == "add" else movement(layer, xs)
    return movement(layer, xs)
