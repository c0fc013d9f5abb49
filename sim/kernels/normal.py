"""The inverse of the standard normal CDF, for drawing synthetic weights in compressed form.

Wichura's algorithm AS 241 (``PPND16``, Applied Statistics 37(3), 1988): rational approximations
on three ranges, relative error about 1e-15 over (0, 1) (scipy's ``ndtri`` agrees to 1e-15).
Plain IEEE double arithmetic (no fastmath, no parallel loop) with ``dense.det_log`` for the
logarithm and ``sqrt`` (correctly rounded), so the same inputs give the same bits on every
machine, which libm's ``log`` (and so ``scipy.special.ndtri``) does not promise.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .dense import det_log

_A = np.array([3.3871328727963666080e0, 1.3314166789178437745e+2, 1.9715909503065514427e+3,
               1.3731693765509461125e+4, 4.5921953931549871457e+4, 6.7265770927008700853e+4,
               3.3430575583588128105e+4, 2.5090809287301226727e+3])
_B = np.array([1.0, 4.2313330701600911252e+1, 6.8718700749205790830e+2, 5.3941960214247511077e+3,
               2.1213794301586595867e+4, 3.9307895800092710610e+4, 2.8729085735721942674e+4,
               5.2264952788528545610e+3])
_C = np.array([1.42343711074968357734e0, 4.63033784615654529590e0, 5.76949722146069140550e0,
               3.64784832476320460504e0, 1.27045825245236838258e0, 2.41780725177450611770e-1,
               2.27238449892691845833e-2, 7.74545014278341407640e-4])
_D = np.array([1.0, 2.05319162663775882187e0, 1.67638483018380384940e0, 6.89767334985100004550e-1,
               1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
               1.05075007164441684324e-9])
_E = np.array([6.65790464350110377720e0, 5.46378491116411436990e0, 1.78482653991729133580e0,
               2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
               2.71155556874348757815e-5, 2.01033439929228813265e-7])
_F = np.array([1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
               7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
               2.04426310338993978564e-15])


@njit(cache=True, nogil=True)
def _poly(c, x):
    acc = c[7]
    for k in range(6, -1, -1):
        acc = acc * x + c[k]
    return acc


@njit(cache=True, nogil=True)
def _ppnd16(p, a, b, c, d, e, f):
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        return q * _poly(a, r) / _poly(b, r)
    r = math.sqrt(-det_log(min(p, 1.0 - p)))
    if r <= 5.0:
        r -= 1.6
        x = _poly(c, r) / _poly(d, r)
    else:
        r -= 5.0
        x = _poly(e, r) / _poly(f, r)
    return -x if q < 0.0 else x


@njit(cache=True, nogil=True, parallel=True)
def _inverse_normal(p, out, a, b, c, d, e, f):
    for i in prange(p.shape[0]):  # elementwise: the same bits for any thread count
        out[i] = _ppnd16(p[i], a, b, c, d, e, f)


def inverse_normal(p: np.ndarray) -> np.ndarray:
    """``Phi^-1(p)`` (float64) of float64 probabilities ``p`` in (0, 1)."""
    p = np.ascontiguousarray(p, dtype=np.float64).ravel()
    out = np.empty_like(p)
    _inverse_normal(p, out, _A, _B, _C, _D, _E, _F)
    return out
