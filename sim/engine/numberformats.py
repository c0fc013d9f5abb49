"""Number formats of sim/hardware/numerics.py as arithmetic: grids, quantize, dequantize.

A ``Grid`` is what an int or fixed format becomes once its scale is chosen from a range:
integer codes ``q`` in [qmin, qmax] stand for ``(q - zero_point) * scale``. Symmetric grids use
the narrow range +-(2**(bits-1) - 1) (zero point 0, so -x quantizes to -q); affine grids use the
full [-2**(bits-1), 2**(bits-1) - 1] with a zero point that puts 0.0 exactly on the grid (so ReLU
outputs, padding and pruned weights stay exact zeros). Fixed-point formats round the scale up to
a power of two: their codes are Q-format numbers with a binary point.

Quantization error is within half a step for nearest rounding of in-range values (one step for
floor); out of range, values saturate to the ends or wrap as the format says.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.numerics import NumberFormat


@dataclass(frozen=True)
class Grid:
    scale: np.ndarray  # float64: a scalar, or one per output channel shaped to broadcast
    zero_point: int
    qmin: int
    qmax: int

    @property
    def full_scale(self) -> np.ndarray:
        """Largest magnitude the grid represents (per channel)."""
        return self.scale * max(abs(self.qmin - self.zero_point), abs(self.qmax - self.zero_point))


def round_values(v: np.ndarray, rounding: str) -> np.ndarray:
    """Round to integers: nearest (ties to even), nearest (ties away from zero) or floor."""
    if rounding == "nearest_even":
        return np.rint(v)
    if rounding == "nearest_away":
        return np.sign(v) * np.floor(np.abs(v) + 0.5)
    if rounding == "floor":
        return np.floor(v)
    raise ValueError(f"unknown rounding {rounding!r}")


def grid_for(fmt: NumberFormat, lo, hi) -> Grid:
    """The grid of an int/fixed format covering [lo, hi] (arrays give one grid per channel)."""
    if fmt.format == "float":
        raise ValueError("float formats have no grid; use cast_float")
    lo = np.minimum(np.asarray(lo, dtype=np.float64), 0.0)
    hi = np.maximum(np.asarray(hi, dtype=np.float64), 0.0)
    b = int(fmt.bits)
    if fmt.scheme == "symmetric" or b < 2:
        qmax = max(2 ** (b - 1) - 1, 1)
        qmin = -qmax if b > 1 else 0
        absmax = np.maximum(np.abs(lo), np.abs(hi))
        scale = absmax / qmax
        zero = 0
    else:
        qmin, qmax = -(2 ** (b - 1)), 2 ** (b - 1) - 1
        scale = (hi - lo) / (qmax - qmin)
        zero = None
    scale = np.where(scale > 0, scale, 1.0)
    if fmt.format == "fixed":
        scale = 2.0 ** np.ceil(np.log2(scale))
    if zero is None:
        # one zero point per tensor (the affine form hardware implements: a subtraction per input)
        s = float(np.max(scale))
        scale = np.full_like(scale, s)
        zero = int(np.clip(np.rint(qmin - float(np.min(lo)) / s), qmin, qmax))
    return Grid(scale, zero, qmin, qmax)


def quantize(x: np.ndarray, grid: Grid, fmt: NumberFormat) -> np.ndarray:
    """Integer codes (int64) of ``x`` on ``grid``, rounded and saturated or wrapped per ``fmt``."""
    q = round_values(np.asarray(x, dtype=np.float64) / grid.scale, fmt.rounding) + grid.zero_point
    if fmt.overflow == "saturate":
        q = np.clip(q, grid.qmin, grid.qmax)
    else:
        span = 2 ** int(fmt.bits)
        lo = -(2 ** (int(fmt.bits) - 1))
        q = np.mod(q - lo, span) + lo
    return q.astype(np.int64)


def dequantize(q: np.ndarray, grid: Grid) -> np.ndarray:
    """Real values (float64) of codes ``q``."""
    return (np.asarray(q, dtype=np.float64) - grid.zero_point) * grid.scale


def cast_float(x: np.ndarray, bits: int) -> np.ndarray:
    """``x`` rounded to IEEE binary16 or binary32 (returned as float32)."""
    if bits == 16:
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def fake_quantize(x: np.ndarray, fmt: NumberFormat, lo, hi) -> np.ndarray:
    """``x`` as the format represents it (float32): cast for floats, quantize-dequantize otherwise."""
    if fmt.format == "float":
        return cast_float(x, fmt.bits)
    grid = grid_for(fmt, lo, hi)
    return dequantize(quantize(x, grid, fmt), grid).astype(np.float32)
