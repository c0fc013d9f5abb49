"""Dtype-dispatched helpers that let one kernel body serve every weight encoding.

Kernels call ``weight_at(values, codebook, j)`` and ``mac(acc, w, x)``; numba picks the
implementation from the argument types at compile time, so there is no branch in the inner loop:

- float32 ``values``: the weight itself (uncompressed CSR); ``codebook`` is ignored (pass an
  empty float32 array).
- signed integer ``values`` (int8 ``qvalues`` of linear / binary quantization): the integer;
  the per-output ``row_scale`` the kernels apply after accumulating turns it into a weight.
- unsigned integer ``values`` (uint8 / uint16 k-means codes): ``codebook[code]``, one look-up.

``mac`` accumulates in float32 when the accumulator is float, and in int32 when it is an
integer (int8 weights x int8 activations; products fit in int16, and int32 holds the sum of
2**17 of them, far more than any layer here has per output).
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload


def weight_at(values, codebook, j):
    """Weight number ``j`` as stored (see the module docstring)."""
    if values.dtype.kind == "u":
        return codebook[values[j]]
    return values[j]


def mac(acc, w, x):
    """``acc + w * x`` in the accumulator's type (float32 or wrapping int32)."""
    if isinstance(acc, (np.integer, int)):
        return np.int32(int(acc) + int(w) * int(x))
    return np.float32(acc + np.float32(w) * x)


def mac4(acc, w0, x0, w1, x1, w2, x2, w3, x3):
    """``acc + w0*x0 + w1*x1 + w2*x2 + w3*x3`` in the accumulator's type: four stored weights
    per accumulator load and store (unroll-and-jam; see ``csr.csr_matmul``)."""
    if isinstance(acc, (np.integer, int)):
        return np.int32(int(acc) + int(w0) * int(x0) + int(w1) * int(x1) + int(w2) * int(x2) + int(w3) * int(x3))
    return np.float32(acc + (np.float32(w0) * x0 + np.float32(w1) * x1) + (np.float32(w2) * x2 + np.float32(w3) * x3))


def zero_like(out):
    """Additive zero of ``out``'s dtype (the accumulator type)."""
    return out.dtype.type(0)


@overload(weight_at)
def _weight_at(values, codebook, j):
    if isinstance(values.dtype, types.Integer) and not values.dtype.signed:
        return lambda values, codebook, j: codebook[values[j]]
    return lambda values, codebook, j: values[j]


@overload(mac)
def _mac(acc, w, x):
    if isinstance(acc, types.Integer):
        return lambda acc, w, x: np.int32(acc + np.int32(w) * np.int32(x))
    return lambda acc, w, x: acc + np.float32(w) * x


@overload(mac4)
def _mac4(acc, w0, x0, w1, x1, w2, x2, w3, x3):
    if isinstance(acc, types.Integer):
        return lambda acc, w0, x0, w1, x1, w2, x2, w3, x3: np.int32(
            acc + np.int32(w0) * np.int32(x0) + np.int32(w1) * np.int32(x1)
            + np.int32(w2) * np.int32(x2) + np.int32(w3) * np.int32(x3))
    return lambda acc, w0, x0, w1, x1, w2, x2, w3, x3: acc + (
        (np.float32(w0) * x0 + np.float32(w1) * x1) + (np.float32(w2) * x2 + np.float32(w3) * x3))


@overload(zero_like)
def _zero_like(out):
    if isinstance(out.dtype, types.Integer):
        return lambda out: np.int32(0)
    return lambda out: np.float32(0.0)
