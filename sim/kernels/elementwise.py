"""Elementwise activations, broadcast binary ops, row normalizations and affine quantization.

Each kernel runs over flat (or (rows, features)) arrays the executor prepares and returns the
number of nonzero outputs it wrote; the executor counts one activation-unit op per element.
Arithmetic is float64 internally, output float32, so results match numpy's to rounding.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# Unary op codes (params: [p0, p1]).
UNARY_CODES = {"relu": 0, "relu6": 1, "clip": 2, "sigmoid": 3, "silu": 4, "gelu": 5, "gelu_tanh": 6,
               "hardsigmoid": 7, "hardswish": 8, "tanh": 9, "erf": 10, "sqrt": 11, "exp": 12, "reciprocal": 13,
               "pow": 14, "neg": 15, "abs": 16, "leaky_relu": 17}
BINARY_CODES = {"add": 0, "sub": 1, "mul": 2, "div": 3, "max": 4, "min": 5}
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@njit(cache=True, error_model="numpy")
def _unary_one(code, v, p0, p1):
    if code == 0:
        return max(v, 0.0)
    if code == 1:
        return min(max(v, 0.0), 6.0)
    if code == 2:
        return min(max(v, p0), p1)
    if code == 3:
        return 1.0 / (1.0 + math.exp(-v))
    if code == 4:
        return v / (1.0 + math.exp(-v))
    if code == 5:
        return 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0)))
    if code == 6:
        return 0.5 * v * (1.0 + math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)))
    if code == 7:
        return min(max(p0 * v + p1, 0.0), 1.0)
    if code == 8:
        return v * min(max(v / 6.0 + 0.5, 0.0), 1.0)
    if code == 9:
        return math.tanh(v)
    if code == 10:
        return math.erf(v)
    if code == 11:
        return math.sqrt(v) if v >= 0 else np.nan
    if code == 12:
        return math.exp(v)
    if code == 13:
        return 1.0 / v if v != 0 else (np.inf if not math.copysign(1.0, v) < 0 else -np.inf)
    if code == 14:
        return v ** p0
    if code == 15:
        return -v
    if code == 16:
        return abs(v)
    return v if v >= 0 else p0 * v


@njit(cache=True, parallel=True, error_model="numpy")
def unary_op(code, x, params, out):
    """out[i] = op(x[i]) over flat float32 arrays. Returns the nonzero outputs."""
    p0 = params[0]
    p1 = params[1]
    nz = 0
    for i in prange(x.shape[0]):
        y = _unary_one(code, np.float64(x[i]), p0, p1)
        out[i] = y
        if y != 0:
            nz += 1
    return nz


@njit(cache=True, parallel=True, error_model="numpy")
def binary_op(code, a, b, out):
    """out[i] = a[i] op b[i] over flat float32 arrays of one size (broadcast beforehand)."""
    nz = 0
    for i in prange(a.shape[0]):
        u = a[i]
        v = b[i]
        if code == 0:
            y = u + v
        elif code == 1:
            y = u - v
        elif code == 2:
            y = u * v
        elif code == 3:
            y = u / v
        elif code == 4:
            y = max(u, v)
        else:
            y = min(u, v)
        out[i] = y
        if y != 0:
            nz += 1
    return nz


@njit(cache=True, parallel=True)
def layernorm_rows(x, eps, scale, bias, out):
    """Normalize each row of x (rows, D): (x - mean) / sqrt(var + eps) * scale + bias (scale / bias
    of length D, or empty for none)."""
    rows, d = x.shape
    for r in prange(rows):
        mean = 0.0
        for j in range(d):
            mean += x[r, j]
        mean /= d
        var = 0.0
        for j in range(d):
            dv = x[r, j] - mean
            var += dv * dv
        inv = 1.0 / math.sqrt(var / d + eps)
        for j in range(d):
            y = (x[r, j] - mean) * inv
            if scale.shape[0]:
                y *= scale[j]
            if bias.shape[0]:
                y += bias[j]
            out[r, j] = y
    return rows * d


@njit(cache=True, parallel=True)
def softmax_rows(x, out):
    """Softmax of each row of x (rows, D), max-subtracted."""
    rows, d = x.shape
    for r in prange(rows):
        m = -np.inf
        for j in range(d):
            m = max(m, x[r, j])
        total = 0.0
        for j in range(d):
            total += math.exp(x[r, j] - m)
        for j in range(d):
            out[r, j] = math.exp(x[r, j] - m) / total
    return rows * d


@njit(cache=True, parallel=True)
def mean_rows(x, out):
    """out[r] = mean of row r of x (rows, D)."""
    rows, d = x.shape
    for r in prange(rows):
        total = 0.0
        for j in range(d):
            total += x[r, j]
        out[r] = total / d
    return rows * d


@njit(cache=True, parallel=True)
def affine_quant(x, scale, zero, lo, hi, quantize, out):
    """Per-channel affine (de)quantization of x (outer, C, inner) with scale / zero of length C:
    quantize: clip(round_half_even(x / s) + z, lo, hi); else (x - z) * s."""
    outer, chans, inner = x.shape
    for t in prange(outer * chans):
        o = t // chans
        c = t % chans
        s = scale[c]
        z = zero[c]
        for i in range(inner):
            if quantize:
                out[o, c, i] = min(max(np.rint(x[o, c, i] / s) + z, lo), hi)
            else:
                out[o, c, i] = (x[o, c, i] - z) * s
    return outer * chans * inner
