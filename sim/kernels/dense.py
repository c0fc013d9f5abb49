"""Dense float products and reductions with one fixed order of accumulation, for training.

BLAS picks a kernel per CPU (OpenBLAS: Haswell, SkylakeX, Sandybridge, Prescott, Neoverse...)
and each splits the sum of a matrix product differently, so the same float32 product gives
different last bits on different machines; training amplifies them into other weights, masks and
tickets. These kernels fix the order instead:

- every output element is accumulated on its own, from +0.0, over the summation index in
  ascending order, one rounding per multiply and one per add (numba without ``fastmath``: LLVM
  neither reassociates the sum nor contracts ``a * b + c`` into a fused multiply-add);
- SIMD runs *across* independent outputs (the ``j`` loop), never within one sum, so the vector
  width of the CPU (SSE, AVX2, AVX-512, NEON) changes the speed, not the bits;
- no ``prange``: a training step's products are too small to share out, and one order per output
  holds whatever the thread count.

Transcendentals: ``exp`` and ``log`` of libm differ between glibc versions, FMA variants, Apple's
libm and numpy's SIMD paths, so ``det_exp`` / ``det_log`` evaluate fixed polynomials with
``frexp`` / ``ldexp`` (exact everywhere). They are accurate to a few ulp of float64, which is all a
float32 training loss needs; what matters is that they give the same bits on every machine.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

LN2_HI = 6.93147180369123816490e-01  # ln 2 split so that k * LN2_HI is exact for |k| < 2**20
LN2_LO = 1.90821492927058770002e-10
LOG2_E = 1.4426950408889634
SQRT_HALF = 0.7071067811865476


@njit(cache=True, nogil=True)
def gemm_nn(a, b, out):
    """``out[i, j] = sum_p a[i, p] * b[p, j]``, p ascending from +0.0, one rounding per multiply
    and per add. a (m, k), b (k, n), out (m, n), all C-contiguous float32; out is overwritten.

    Two rows of ``a`` and four steps of ``p`` at a time (each loaded row of ``b`` serves two
    outputs, each output is loaded and stored once per four products), and the ``j`` loop is the
    SIMD one; the order of every output's own sum is the plain sequential one."""
    m, k = a.shape
    n = b.shape[1]
    k4 = k - k % 4
    m2 = m - m % 2
    for i in range(0, m2, 2):
        r0 = out[i]
        r1 = out[i + 1]
        for j in range(n):
            r0[j] = 0.0
            r1[j] = 0.0
        for p in range(0, k4, 4):
            a0, a1, a2, a3 = a[i, p], a[i, p + 1], a[i, p + 2], a[i, p + 3]
            c0, c1, c2, c3 = a[i + 1, p], a[i + 1, p + 1], a[i + 1, p + 2], a[i + 1, p + 3]
            b0, b1, b2, b3 = b[p], b[p + 1], b[p + 2], b[p + 3]
            for j in range(n):
                x0, x1, x2, x3 = b0[j], b1[j], b2[j], b3[j]
                r0[j] = (((r0[j] + a0 * x0) + a1 * x1) + a2 * x2) + a3 * x3
                r1[j] = (((r1[j] + c0 * x0) + c1 * x1) + c2 * x2) + c3 * x3
        for p in range(k4, k):
            a0, c0 = a[i, p], a[i + 1, p]
            b0 = b[p]
            for j in range(n):
                r0[j] += a0 * b0[j]
                r1[j] += c0 * b0[j]
    for i in range(m2, m):
        row = out[i]
        for j in range(n):
            row[j] = 0.0
        for p in range(k):
            a0 = a[i, p]
            b0 = b[p]
            for j in range(n):
                row[j] += a0 * b0[j]


@njit(cache=True, nogil=True)
def column_sums(a, out):
    """``out[j] = sum_i a[i, j]`` (i ascending, from +0.0), float32 in and out."""
    m, n = a.shape
    for j in range(n):
        out[j] = 0.0
    for i in range(m):
        row = a[i]
        for j in range(n):
            out[j] += row[j]


@njit(cache=True, nogil=True)
def det_exp(x):
    """exp(x) for float64 x by Cody-Waite reduction (x = k ln2 + r, |r| <= ln2 / 2) and a degree-13
    Taylor polynomial in Horner form (truncation < 1e-17 relative); 0 below -745, inf above 709.8."""
    if x != x:
        return x
    if x < -745.2:
        return 0.0
    if x > 709.78:
        return math.inf
    k = math.floor(x * LOG2_E + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return math.ldexp(p, int(k))


@njit(cache=True, nogil=True)
def det_log(x):
    """Natural log of float64 x > 0: x = m 2**e with m in [sqrt(1/2), sqrt(2)), then
    log m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its odd series to s**23."""
    if x != x or x < 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    if x == math.inf:
        return x
    m, e = math.frexp(x)  # exact: m in [0.5, 1)
    if m < SQRT_HALF:
        m *= 2.0
        e -= 1
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    p = 1.0 / 23.0
    p = p * s2 + 1.0 / 21.0
    p = p * s2 + 1.0 / 19.0
    p = p * s2 + 1.0 / 17.0
    p = p * s2 + 1.0 / 15.0
    p = p * s2 + 1.0 / 13.0
    p = p * s2 + 1.0 / 11.0
    p = p * s2 + 1.0 / 9.0
    p = p * s2 + 1.0 / 7.0
    p = p * s2 + 1.0 / 5.0
    p = p * s2 + 1.0 / 3.0
    p = p * s2 + 1.0
    return e * LN2_HI + (2.0 * s * p + e * LN2_LO)


@njit(cache=True, nogil=True)
def softmax_xent(logits, labels, dlogits, row_loss):
    """Softmax cross-entropy per row, in float64 from float32 logits.

    ``row_loss[i] = -log softmax(logits[i])[labels[i]]`` (nats) and
    ``dlogits[i] = (softmax(logits[i]) - onehot(labels[i])) / n`` (float32), n = rows: the
    gradient of the mean loss. Returns the mean loss (rows summed in order)."""
    n, c = logits.shape
    total = 0.0
    for i in range(n):
        zmax = np.float64(logits[i, 0])
        for j in range(1, c):
            if logits[i, j] > zmax:
                zmax = np.float64(logits[i, j])
        s = 0.0
        for j in range(c):
            s += det_exp(np.float64(logits[i, j]) - zmax)
        lse = det_log(s)
        for j in range(c):
            logp = (np.float64(logits[i, j]) - zmax) - lse
            d = det_exp(logp)
            if j == labels[i]:
                d -= 1.0
                row_loss[i] = -logp
            dlogits[i, j] = np.float32(d / n)
        total += row_loss[i]
    return total / n


@njit(cache=True, nogil=True)
def normal_polar(u, out):
    """Standard normal draws by Marsaglia's polar method from uniform [0, 1) doubles ``u``.

    Pairs (u[2t], u[2t+1]) map to (a, b) in [-1, 1)^2; a pair with 0 < s = a^2 + b^2 < 1 gives
    two draws a f and b f, f = sqrt(-2 log s / s) (``det_log``; sqrt is exact IEEE everywhere).
    Fills ``out`` in order and returns how many it filled (fewer than len(out) when ``u`` runs
    out: the caller draws more uniforms and continues)."""
    filled = 0
    n = out.shape[0]
    for t in range(u.shape[0] // 2):
        if filled >= n:
            break
        a = 2.0 * u[2 * t] - 1.0
        b = 2.0 * u[2 * t + 1] - 1.0
        s = a * a + b * b
        if s >= 1.0 or s == 0.0:
            continue
        f = math.sqrt(-2.0 * det_log(s) / s)
        out[filled] = a * f
        filled += 1
        if filled < n:
            out[filled] = b * f
            filled += 1
    return filled


@njit(cache=True, nogil=True)
def cluster_sums(labels, values, sums, counts):
    """``sums[c]`` = sum of ``values[i]`` with ``labels[i] == c`` (i ascending, float64 from +0.0),
    ``counts[c]`` = how many; both overwritten."""
    for c in range(sums.shape[0]):
        sums[c] = 0.0
        counts[c] = 0
    for i in range(labels.shape[0]):
        c = labels[i]
        sums[c] += values[i]
        counts[c] += 1


@njit(cache=True, nogil=True)
def mean_std(values):
    """(mean, population standard deviation) of a float array, both in float64 and summed in
    index order (two passes: the mean, then squared deviations from it)."""
    n = values.shape[0]
    if n == 0:
        return math.nan, math.nan
    s = 0.0
    for i in range(n):
        s += np.float64(values[i])
    mean = s / n
    q = 0.0
    for i in range(n):
        d = np.float64(values[i]) - mean
        q += d * d
    return mean, math.sqrt(q / n)


@njit(cache=True, nogil=True)
def row_sums(a, out):
    """``out[i] = sum_j a[i, j]`` (j ascending, from +0.0) over a C-contiguous 2-D array; ``out``
    (float64) is overwritten."""
    m, n = a.shape
    for i in range(m):
        s = 0.0
        for j in range(n):
            s += np.float64(a[i, j])
        out[i] = s


@njit(cache=True, nogil=True)
def adam_update(p, g, m, v, b1, b2, lr_t, eps):
    """One Adam step in place over 1-D float32 arrays, element by element in float32:
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g^2``, ``p -= lr_t m / (sqrt(v) + eps)``
    (lr_t includes the bias corrections). Scalars are float32; sqrt is the exact IEEE one."""
    c1 = np.float32(1.0) - b1
    c2 = np.float32(1.0) - b2
    for i in range(p.shape[0]):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr_t * mi / (np.sqrt(vi) + eps)


@njit(cache=True, nogil=True)
def momentum_update(p, g, m, momentum, lr):
    """One SGD-with-momentum step in place over 1-D float32 arrays: ``m = momentum m + g``,
    ``p -= lr m`` (float32 scalars)."""
    for i in range(p.shape[0]):
        mi = momentum * m[i] + g[i]
        m[i] = mi
        p[i] -= lr * mi
