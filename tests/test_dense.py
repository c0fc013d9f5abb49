"""sim/kernels/dense.py and sim/compression/numerics.py: fixed-order products and reductions.

The oracle of a product is the sequential float32 sum written out in numpy (one element-wise
multiply and add per step of the inner index), so the kernels must match it bit for bit; and the
golden hashes pin bits that must come out the same on every machine CI or a user runs on.
"""
import hashlib
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.compression import numerics
from sim.kernels import dense


def sequential_matmul(a, b):
    """out[i, j] = (((0 + a[i,0] b[0,j]) + a[i,1] b[1,j]) + ...), every step rounded to float32."""
    out = np.zeros((a.shape[0], b.shape[1]), dtype=np.float32)
    for p in range(a.shape[1]):
        out = out + a[:, p:p + 1] * b[p:p + 1, :]
    return out


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("kernel", [dense.gemm_nn, dense.gemm_nn.py_func])
@pytest.mark.parametrize("shape", [(0, 3, 4), (1, 1, 1), (3, 0, 5), (7, 13, 5), (2, 4, 64), (60, 64, 300), (9, 5, 17)])
def test_gemm_is_the_sequential_sum_bit_for_bit(rng, kernel, shape):
    m, k, n = shape
    a = rng.standard_normal((m, k)).astype(np.float32)
    a[a < 0] = 0  # ReLU zeros: adding +-0 products must not change a bit either
    b = rng.standard_normal((k, n)).astype(np.float32)
    out = np.full((m, n), np.nan, dtype=np.float32)
    kernel(a, b, out)
    np.testing.assert_array_equal(out, sequential_matmul(a, b))
    np.testing.assert_allclose(out, a.astype(np.float64) @ b, rtol=1e-4, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40), seed=st.integers(0, 2**31))
def test_matmul_any_orientation_same_bits(m, k, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    ref = sequential_matmul(a, b)
    np.testing.assert_array_equal(numerics.matmul(a, b), ref)
    np.testing.assert_array_equal(numerics.matmul(b.T, a.T).T, ref)  # narrow products run transposed
    np.testing.assert_array_equal(numerics.matmul(np.asfortranarray(a), b[:, ::-1][:, ::-1]), ref)


def test_matmul_checks_shapes():
    with pytest.raises(ValueError, match="matmul needs"):
        numerics.matmul(np.zeros((2, 3), np.float32), np.zeros((4, 2), np.float32))


def test_sums_are_sequential(rng):
    a = rng.standard_normal((37, 11)).astype(np.float32)
    ref = np.zeros(11, np.float32)
    for row in a:
        ref = ref + row
    np.testing.assert_array_equal(numerics.column_sums(a), ref)
    ref64 = np.zeros(37)
    for j in range(11):
        ref64 = ref64 + a[:, j].astype(np.float64)
    np.testing.assert_array_equal(numerics.row_sums(a), ref64)
    labels = rng.integers(0, 5, 200)
    values = rng.standard_normal(200)
    sums, counts = numerics.cluster_sums(labels, values, 6)
    np.testing.assert_array_equal(sums, np.bincount(labels, weights=values, minlength=6))  # bincount adds in order too
    np.testing.assert_array_equal(counts, np.bincount(labels, minlength=6))
    mean, std = numerics.mean_std(values)
    assert mean == pytest.approx(values.mean(), rel=1e-12) and std == pytest.approx(values.std(), rel=1e-12)
    assert all(math.isnan(v) for v in numerics.mean_std(np.zeros(0)))


def test_det_exp_and_log_are_accurate():
    xs = np.concatenate([np.linspace(-745, 709, 20001), np.linspace(-1, 1, 2001), [0.0, -0.0, 1e-300, -1e-300]])
    for x in xs:
        e = dense.det_exp(x)
        ref = math.exp(x)
        assert e == ref or abs(e - ref) <= 4 * math.ulp(ref), x
    for x in np.exp(np.linspace(-700, 700, 20001)).tolist() + [1.0, 2.0, 0.5, 1e-310, 5e-324, 1.7e308]:
        v, ref = dense.det_log(x), math.log(x)
        assert abs(v - ref) <= 4 * math.ulp(ref) + 1e-300, x
    assert dense.det_exp(-800.0) == 0.0 and dense.det_exp(800.0) == math.inf and math.isnan(dense.det_exp(math.nan))
    assert dense.det_log(0.0) == -math.inf and math.isnan(dense.det_log(-1.0)) and dense.det_log(math.inf) == math.inf


def test_softmax_cross_entropy_matches_numpy(rng):
    logits = (3 * rng.standard_normal((50, 10))).astype(np.float32)
    y = rng.integers(0, 10, 50)
    loss, d = numerics.softmax_cross_entropy(logits, y)
    z = logits.astype(np.float64) - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    assert loss == pytest.approx(-logp[np.arange(50), y].mean(), rel=1e-12)
    ref = np.exp(logp)
    ref[np.arange(50), y] -= 1
    np.testing.assert_allclose(d, ref / 50, rtol=1e-6, atol=1e-9)
    assert d.dtype == np.float32
    with pytest.raises(ValueError, match="labels must be in"):
        numerics.softmax_cross_entropy(logits, np.full(50, 10))


def test_standard_normal_is_normal_and_seeded():
    draws = numerics.standard_normal(np.random.default_rng(7), (200, 500))
    assert draws.shape == (200, 500)
    assert abs(draws.mean()) < 0.01 and abs(draws.std() - 1) < 0.01
    assert abs((np.abs(draws) < 1).mean() - 0.6827) < 0.005  # one-sigma mass
    np.testing.assert_array_equal(draws, numerics.standard_normal(np.random.default_rng(7), (200, 500)))
    assert numerics.standard_normal(np.random.default_rng(0), (0,)).shape == (0,)


def test_optimizer_kernels_are_the_elementwise_formula(rng):
    p, g, m, v = (rng.standard_normal(1000).astype(np.float32) for _ in range(4))
    v = np.abs(v)
    b1, b2, lr, eps = np.float32(0.9), np.float32(0.999), np.float32(1e-3), np.float32(1e-8)
    m_ref = b1 * m + (np.float32(1) - b1) * g
    v_ref = b2 * v + (np.float32(1) - b2) * g * g
    p_ref = p - lr * m_ref / (np.sqrt(v_ref) + eps)
    dense.adam_update(p, g, m, v, b1, b2, lr, eps)
    np.testing.assert_array_equal(m, m_ref)
    np.testing.assert_array_equal(v, v_ref)
    np.testing.assert_array_equal(p, p_ref)
    m2 = m.copy()
    p2 = p.copy()
    dense.momentum_update(p2, g, m2, b1, lr)
    np.testing.assert_array_equal(p2, p - lr * (b1 * m + g))


def test_golden_bits():
    """Bits that must be identical on every machine (x86-64 or arm64, any SIMD width or libm):
    a change here means the same seed trains other weights somewhere."""
    rng = np.random.default_rng(2024)
    draws = numerics.standard_normal(rng, (1000,))
    a = numerics.standard_normal(rng, (61, 67)).astype(np.float32)
    b = numerics.standard_normal(rng, (67, 300)).astype(np.float32)
    prod = numerics.matmul(a, b)
    narrow = numerics.matmul(a, b[:, :10])
    loss, d = numerics.softmax_cross_entropy(prod[:, :10], np.arange(61) % 10)
    got = {"normal": _sha(draws), "matmul": _sha(prod), "narrow": _sha(narrow), "xent": _sha(d),
           "loss": float(loss).hex()}
    assert got == GOLDEN


# Computed with numba for the host (AVX-512), NUMBA_CPU_NAME=generic (SSE2) and haswell (AVX2): equal.
GOLDEN = {"normal": "1f40455bfd4c8e70", "matmul": "292bacda80a8acf5", "narrow": "53ad2825ca415464",
          "xent": "efc7f13fefed35a6", "loss": "0x1.a99c9139d4554p+3"}
