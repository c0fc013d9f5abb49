"""Kernel-level tests: each numba kernel against the dense numpy references in tests/reference.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import reference
from sim.kernels import formats
from sim.kernels.conv import conv_sparse
from sim.kernels.csc import csc_pe_work, csc_spmv
from sim.kernels.csr import csr_matmul, csr_matvec
from sim.kernels.pool import pool2d

NO_CODEBOOK = np.zeros(0, dtype=np.float32)
FAST = settings(max_examples=25, deadline=None)


def encode(rng, w, kind, bits):
    """(words, codebook, row_scale, dense equivalent) of a float weight matrix in one encoding."""
    mask = w != 0
    if kind == "float":
        return w, NO_CODEBOOK, None, w
    if kind == "kmeans":
        codebook = rng.standard_normal(2 ** bits).astype(np.float32)
        codebook[codebook == 0] = 1.0
        codes = rng.integers(0, 2 ** bits, size=w.shape).astype(np.uint8 if bits <= 8 else np.uint16)
        return codes, codebook, None, np.where(mask, codebook[codes], 0).astype(np.float32)
    qmax = 2 ** (bits - 1) - 1
    q = rng.integers(1, qmax + 1, size=w.shape) * np.where(rng.random(w.shape) < 0.5, -1, 1)
    q = np.where(mask, q, 0).astype(np.int8)
    scale = rng.uniform(0.01, 1.0, size=w.shape[0]).astype(np.float32)
    return q, NO_CODEBOOK, scale, (q * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)


@pytest.mark.parametrize("kernel", [csr_matvec, csr_matvec.py_func])
@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 32), (40, 5000)])  # 5000: two column blocks
def test_csr_matvec_matches_dense(rng, kernel, shape, density):
    w = reference.sparse_array(rng, shape, density)
    x = reference.sparse_array(rng, (shape[1],), 0.6)
    tiles = formats.csr_tiles_from_dense(w != 0, w, *formats.csr_tile_shape(*shape, int(np.count_nonzero(w)), 1))
    out = np.full(shape[0], np.nan, dtype=np.float32)
    work = np.full(shape[0], -1, dtype=np.int64)
    eff = kernel(*tiles[:3], tiles[3], NO_CODEBOOK, x, out, work)
    per_row, _ = reference.fc_counts(w, x[None, :])
    np.testing.assert_allclose(out, w @ x, rtol=1e-4, atol=1e-4)  # reassociated sums (fastmath)
    np.testing.assert_array_equal(work, per_row)
    assert eff == per_row.sum()


@FAST
@given(rows=st.integers(1, 40), cols=st.integers(1, 70), batch=st.integers(1, 9),
       w_density=st.floats(0, 1), x_density=st.floats(0, 1), kind=st.sampled_from(["float", "kmeans", "linear"]),
       bits=st.integers(2, 8), block_cols=st.sampled_from([1, 8, 64, 300, 4096]), row_tile=st.sampled_from([1, 3, 256]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_csr_matmul_property(rows, cols, batch, w_density, x_density, kind, bits, block_cols, row_tile, seed):
    rng = np.random.default_rng(seed)
    w = reference.sparse_array(rng, (rows, cols), w_density)
    words, codebook, scale, dense = encode(rng, w, kind, bits)
    x = reference.sparse_array(rng, (batch, cols), x_density)
    tile_ptr, counts, indices, values = formats.csr_tiles_from_dense(w != 0, words, row_tile, block_cols)
    outT = np.empty((rows, batch), dtype=np.float32)
    work = np.empty(rows, dtype=np.int64)
    eff = csr_matmul(tile_ptr, counts, indices, values, codebook, np.ascontiguousarray(x.T), outT, work)
    got = outT.T * (scale if scale is not None else 1)
    np.testing.assert_allclose(got, x @ dense.T, rtol=1e-4, atol=1e-4)
    per_row, _ = reference.fc_counts(w, x)
    np.testing.assert_array_equal(work, per_row)
    assert eff == per_row.sum()


@pytest.mark.parametrize("batch", [64, 130])
@pytest.mark.parametrize("kind", ["float", "kmeans", "linear"])
def test_csr_matmul_register_tiles(rng, batch, kind):
    """Batches of whole 64-lane tiles (float32: simd.dot_tile) plus leftover lanes (mac4)."""
    w = reference.sparse_array(rng, (37, 300), 0.3)
    words, codebook, scale, dense = encode(rng, w, kind, 4)
    x = reference.sparse_array(rng, (batch, 300), 0.7)
    tiles = formats.csr_tiles_from_dense(w != 0, words, 16, 64)
    outT = np.empty((37, batch), dtype=np.float32)
    work = np.empty(37, dtype=np.int64)
    eff = csr_matmul(*tiles[:3], tiles[3], codebook, np.ascontiguousarray(x.T), outT, work)
    np.testing.assert_allclose(outT.T * (scale if scale is not None else 1), x @ dense.T, rtol=1e-4, atol=1e-4)
    per_row, _ = reference.fc_counts(w, x)
    np.testing.assert_array_equal(work, per_row)
    assert eff == per_row.sum()


@FAST
@given(rows=st.integers(1, 40), cols=st.integers(1, 70), batch=st.integers(1, 6), w_density=st.floats(0, 1),
       x_density=st.floats(0, 1), bits=st.integers(2, 8), seed=st.integers(0, 2 ** 32 - 1))
def test_integer_fc_is_exact(rows, cols, batch, w_density, x_density, bits, seed):
    """int8 weights x int8 activations accumulate exactly in int32 on CSR (both kernels) and CSC."""
    rng = np.random.default_rng(seed)
    qmax = 2 ** (bits - 1) - 1
    w = reference.sparse_array(rng, (rows, cols), w_density, np.int8, -qmax, qmax + 1)
    x = reference.sparse_array(rng, (batch, cols), x_density, np.int8, -127, 128)
    want = reference.matmul_int(w, x)
    tile_ptr, counts, tidx, tvals = formats.csr_tiles_from_dense(w != 0, w, 4, 16)
    outT = np.empty((rows, batch), dtype=np.int32)
    csr_matmul(tile_ptr, counts, tidx, tvals, NO_CODEBOOK, np.ascontiguousarray(x.T), outT, np.empty(rows, np.int64))
    np.testing.assert_array_equal(outT.T, want)
    out1 = np.empty(rows, dtype=np.int32)
    csr_matvec(tile_ptr, counts, tidx, tvals, NO_CODEBOOK, x[0], out1, np.empty(rows, np.int64))
    np.testing.assert_array_equal(out1, want[0])
    partptr, rws, vals = formats.csc_from_dense(w != 0, w, 3)
    out = np.empty((batch, rows), dtype=np.int32)
    csc_spmv(partptr, rws, vals, NO_CODEBOOK, x, out, np.empty(rows, np.int64))
    np.testing.assert_array_equal(out, want)


def test_int32_accumulator_reaches_beyond_int16(rng):
    """A row of 4096 products of 127 x 127 sums past int16 and stays exact."""
    w = np.full((2, 4096), 127, dtype=np.int8)
    x = np.full((1, 4096), 127, dtype=np.int8)
    tiles = formats.csr_tiles_from_dense(w != 0, w, 2, 4096)
    out = np.empty(2, dtype=np.int32)
    csr_matvec(*tiles[:3], tiles[3], NO_CODEBOOK, x[0], out, np.empty(2, np.int64))
    np.testing.assert_array_equal(out, [127 * 127 * 4096] * 2)


@FAST
@given(rows=st.integers(1, 50), cols=st.integers(1, 50), batch=st.integers(1, 5), n_parts=st.integers(1, 5),
       n_pes=st.integers(1, 9), w_density=st.floats(0, 1), x_density=st.floats(0, 1),
       kind=st.sampled_from(["float", "kmeans", "linear"]), bits=st.integers(2, 8), seed=st.integers(0, 2 ** 32 - 1))
def test_csc_property(rows, cols, batch, n_parts, n_pes, w_density, x_density, kind, bits, seed):
    rng = np.random.default_rng(seed)
    w = reference.sparse_array(rng, (rows, cols), w_density)
    words, codebook, scale, dense = encode(rng, w, kind, bits)
    x = reference.sparse_array(rng, (batch, cols), x_density)
    partptr, rws, vals = formats.csc_from_dense(w != 0, words, n_parts)
    out = np.empty((batch, rows), dtype=np.float32)
    work = np.empty(rows, dtype=np.int64)
    eff = csc_spmv(partptr, rws, vals, codebook, x, out, work)
    np.testing.assert_allclose(out * (scale if scale is not None else 1), x @ dense.T, rtol=1e-4, atol=1e-4)
    per_row, _ = reference.fc_counts(w, x)
    np.testing.assert_array_equal(work, per_row)
    assert eff == per_row.sum()
    pe = np.empty((batch, n_pes), dtype=np.int64)
    broadcasts = csc_pe_work(formats.column_pe_counts(w != 0, n_pes), x, pe)
    np.testing.assert_array_equal(pe, reference.pe_work(w, x, n_pes))
    assert broadcasts == np.count_nonzero(x)


def test_csc_kernels_without_jit(rng):
    w = reference.sparse_array(rng, (6, 5), 0.5)
    x = reference.sparse_array(rng, (2, 5), 0.5)
    partptr, rws, vals = formats.csc_from_dense(w != 0, w, 2)
    out = np.empty((2, 6), dtype=np.float32)
    csc_spmv.py_func(partptr, rws, vals, NO_CODEBOOK, x, out, np.empty(6, np.int64))
    np.testing.assert_allclose(out, x @ w.T, rtol=1e-5, atol=1e-6)
    pe = np.empty((2, 3), dtype=np.int64)
    csc_pe_work.py_func(formats.column_pe_counts(w != 0, 3), x, pe)
    np.testing.assert_array_equal(pe, reference.pe_work(w, x, 3))


def run_conv(kernel, x, words, codebook, mask, stride, padding, groups, dilation, out_dtype=np.float32,
             block_channels=None):
    ptr, offsets, values = formats.conv_from_dense(mask, words, x.shape[1:], groups, dilation, padding,
                                                   block_channels)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    span = dilation * (mask.shape[2] - 1) + 1
    oh = (x.shape[2] + 2 * padding - span) // stride + 1
    ow = (x.shape[3] + 2 * padding - span) // stride + 1
    out = np.empty((x.shape[0], mask.shape[0], oh, ow), dtype=out_dtype)
    work = np.empty((x.shape[0], mask.shape[0], 2), dtype=np.int64)
    eff = kernel(ptr, offsets, values, codebook, xp, stride, padding, out, work)
    return out, work, eff


conv_cases = st.fixed_dictionaries({
    "batch": st.integers(1, 3), "groups": st.integers(1, 3), "cin_per_group": st.integers(1, 3),
    "cout_per_group": st.integers(1, 3), "h": st.integers(1, 9), "w": st.integers(1, 9), "k": st.integers(1, 4),
    "stride": st.integers(1, 3), "padding": st.integers(0, 2), "dilation": st.integers(1, 2),
    "w_density": st.floats(0, 1), "x_density": st.floats(0, 1), "seed": st.integers(0, 2 ** 32 - 1),
    "block_channels": st.sampled_from([None, 1, 2])})


def conv_case(c):
    span = c["dilation"] * (c["k"] - 1) + 1
    h, w = max(c["h"], span - 2 * c["padding"]), max(c["w"], span - 2 * c["padding"])
    rng = np.random.default_rng(c["seed"])
    x = reference.sparse_array(rng, (c["batch"], c["groups"] * c["cin_per_group"], h, w), c["x_density"])
    wt = reference.sparse_array(rng, (c["groups"] * c["cout_per_group"], c["cin_per_group"], c["k"], c["k"]),
                                c["w_density"])
    return rng, x, wt, (c["stride"], c["padding"], c["groups"], c["dilation"])


def block_channels(c):
    return {"block_channels": c["block_channels"]}


@FAST
@given(c=conv_cases, kind=st.sampled_from(["float", "kmeans", "linear"]), bits=st.integers(2, 8))
def test_conv_property(c, kind, bits):
    rng, x, wt, args = conv_case(c)
    words, codebook, scale, dense = encode(rng, wt, kind, bits)
    out, work, eff = run_conv(conv_sparse, x, words, codebook, wt != 0, *args, **block_channels(c))
    if scale is not None:
        out = out * scale[None, :, None, None]
    np.testing.assert_allclose(out, reference.conv2d(x, dense, *args), rtol=1e-4, atol=1e-4)
    eff_ref, stored_ref = reference.conv_counts(x, wt, *args)
    np.testing.assert_array_equal(work[:, :, 0].sum(axis=0), eff_ref)
    assert work[:, :, 1].sum() == stored_ref
    assert eff == eff_ref.sum()


@FAST
@given(c=conv_cases, bits=st.integers(2, 8))
def test_integer_conv_is_exact(c, bits):
    rng, _, _, args = conv_case(c)
    _, x, wt, _ = conv_case(c)
    qmax = 2 ** (bits - 1) - 1
    wq = (np.sign(wt) * rng.integers(1, qmax + 1, size=wt.shape)).astype(np.int8)
    xq = (np.sign(x) * rng.integers(1, 128, size=x.shape)).astype(np.int8)
    out, _, _ = run_conv(conv_sparse, xq, wq, NO_CODEBOOK, wq != 0, *args, out_dtype=np.int32, **block_channels(c))
    np.testing.assert_array_equal(out, reference.conv2d_int(xq, wq, *args))


@pytest.mark.parametrize("kind", ["float", "kmeans", "linear"])
@pytest.mark.parametrize("block", [None, 2])
def test_conv_stride1_lane_tiles(rng, kind, block):
    """Planes of several 64-lane tiles (float32: simd.dot_tile) and a partial last tile, channel
    blocks, and weight counts that leave mac4 remainders."""
    x = reference.sparse_array(rng, (2, 5, 40, 7), 0.8)
    wt = reference.sparse_array(rng, (5, 5, 3, 3), 0.45)
    words, codebook, scale, dense = encode(rng, wt, kind, 4)
    out, work, eff = run_conv(conv_sparse, x, words, codebook, wt != 0, 1, 1, 1, 1, block_channels=block)
    out = out * (scale[None, :, None, None] if scale is not None else 1)
    wt = dense
    np.testing.assert_allclose(out, reference.conv2d(x, wt, 1, 1, 1, 1), rtol=1e-4, atol=1e-4)
    assert eff == reference.conv_counts(x, wt, 1, 1, 1, 1)[0].sum()


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_without_jit(rng, stride):
    x = reference.sparse_array(rng, (1, 2, 5, 5), 0.7)
    wt = reference.sparse_array(rng, (2, 2, 3, 3), 0.5)
    out, work, _ = run_conv(conv_sparse.py_func, x, wt, NO_CODEBOOK, wt != 0, stride, 1, 1, 1)
    np.testing.assert_allclose(out, reference.conv2d(x, wt, stride, 1, 1, 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(work[0, :, 0], reference.conv_counts(x, wt, stride, 1, 1, 1)[0])


@FAST
@given(batch=st.integers(1, 3), chans=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       k=st.integers(1, 4), stride=st.integers(1, 3), padding=st.integers(0, 1), is_max=st.booleans(),
       seed=st.integers(0, 2 ** 32 - 1))
def test_pool_property(batch, chans, h, w, k, stride, padding, is_max, seed):
    padding = min(padding, k - 1)
    h, w = max(h, k), max(w, k)
    x = reference.sparse_array(np.random.default_rng(seed), (batch, chans, h, w), 0.7)
    want = reference.pool2d(x, "maxpool" if is_max else "avgpool", k, stride, padding)
    out = np.empty(want.shape, dtype=np.float32)
    reads = pool2d(x, k, stride, padding, is_max, out)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    ones = np.ones((1, 1, h, w), dtype=np.float32)
    cells = reference.pool2d(ones, "avgpool", k, stride, padding) * 0  # shape only
    window = np.lib.stride_tricks.sliding_window_view(np.pad(ones, ((0, 0), (0, 0), (padding,) * 2, (padding,) * 2)),
                                                      (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    assert reads == batch * chans * int(window[:, :, :cells.shape[2], :cells.shape[3]].sum())


def test_pool_without_jit(rng):
    from sim.kernels.window import window_pool
    x = reference.sparse_array(rng, (1, 1, 4, 4), 0.8)
    out = np.empty((1, 1, 2, 2), dtype=np.float32)
    window_pool.py_func(x, np.array([2, 2, 2, 2, 0, 0, 0, 0]), True, False, out)
    np.testing.assert_allclose(out, reference.pool2d(x, "maxpool", 2, 2, 0))


def test_tiles_order_weights_by_tile_block_row():
    w = np.array([[1, 0, 2, 3, 0], [0, 0, 0, 4, 5], [6, 0, 0, 0, 7]], dtype=np.float32)
    tile_ptr, counts, indices, values = formats.csr_tiles_from_dense(w != 0, w, 2, 3)  # blocks of 3 and 2 columns
    np.testing.assert_array_equal(tile_ptr, [0, 5, 7])
    np.testing.assert_array_equal(counts, [[[2, 0], [1, 2]], [[1, 0], [1, 0]]])
    np.testing.assert_array_equal(values, [1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(indices, [0, 2, 0, 0, 1, 0, 1])
    assert indices.dtype == np.uint8


def test_tile_shape_keeps_activation_block_in_cache():
    rows, block = formats.csr_tile_shape(4096, 25088, 10_275_000, 64)
    assert (rows, block) == (256, 256)  # 10%: 24 / 0.1 -> 256 columns (64 KB at batch 64)
    assert formats.csr_tile_shape(4096, 25088, 102_750, 64)[1] == 1024  # 0.1%: capped at the L2 budget
    assert formats.csr_tile_shape(4096, 25088, 4096 * 25088, 64)[1] == 64  # dense: the L1 budget
    assert formats.csr_tile_shape(10, 5, 50, 2) == (10, 5)
    assert formats.csr_tile_shape(4096, 25088, 10_275_000, 1) == (256, 4096)  # batch 1, 10%: 16 KB of x in L1
    assert formats.csr_tile_shape(4096, 25088, 1_027_500, 1) == (256, 16384)  # 1%: longer runs beat L1 hits


def test_uint16_indices_up_to_65536_inputs():
    assert formats.index_dtype(65536) == np.uint16
    assert formats.index_dtype(65537) == np.uint32
