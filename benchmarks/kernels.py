"""Benchmark the numba kernels against scipy.sparse CSR and numpy dense (OpenBLAS).

    python benchmarks/kernels.py [--quick] [--repeat N]

Prints CSV (layer, density, batch, impl, seconds, effectual_gflops, bytes_per_s) to stdout and a
STREAM-like bandwidth and the settings as ``#`` comment lines first. ``seconds`` is the best of
``--repeat`` timed calls after a warm-up call; ``effectual_gflops`` counts 2 flops per effectual
MAC (nonzero weight x activation; activations here are dense, so that is nnz x batch);
``bytes_per_s`` counts the bytes each implementation's format really reads once per call
(weights + indices + pointers + activations in + outputs out), divided by seconds.

numpy's OpenBLAS does not recognise this CPU and falls back to a Haswell kernel; the script sets
OPENBLAS_CORETYPE=SkylakeX before importing numpy so the dense baseline uses AVX-512.

On 2 cores, one library's idle worker threads can steal a core from the next: OpenBLAS workers
spin for about 2**28 cycles (~0.1 s) after each call, and a numba parallel region then waits
for its descheduled thread (seen as 4-16 ms stalls). Each implementation is therefore timed
after a ``SETTLE_S`` pause, and each keeps its library's default spinning during its own calls.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from numba import njit, prange  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from sim.kernels import formats  # noqa: E402
from sim.kernels.conv import conv_sparse  # noqa: E402
from sim.kernels.csc import csc_spmv  # noqa: E402
from sim.kernels.csr import csr_matmul, csr_matvec  # noqa: E402
from sim.kernels.threads import threads, threads_for  # noqa: E402

FC_LAYERS = {"lenet300-fc1": (300, 784), "alexnet-fc6": (4096, 9216), "vgg16-fc6": (4096, 25088)}
DENSITIES = (1.0, 0.5, 0.2, 0.1, 0.05, 0.01)
BATCHES = (1, 64)
NO_CODEBOOK = np.zeros(0, dtype=np.float32)
SETTLE_S = 0.15  # pause before timing an implementation: the previous one's worker threads stop spinning


@njit(cache=True, parallel=True)
def _triad(a, b, c, s):
    for i in prange(a.shape[0]):
        a[i] = b[i] + s * c[i]


def stream_triad_bytes_per_s(n: int = 32_000_000, repeat: int = 5) -> float:
    """STREAM triad a = b + s*c over float32 arrays of ``n`` (3 x 128 MB, far above the L3),
    counted as STREAM does: 12 bytes per element, no write-allocate traffic."""
    a, b, c = (np.ones(n, dtype=np.float32) for _ in range(3))
    _triad(a, b, c, np.float32(3.0))
    return 12 * n / best_of(lambda: _triad(a, b, c, np.float32(3.0)), repeat)


def best_of(fn, repeat: int, min_seconds: float = 0.05) -> float:
    """Best time of at least ``repeat`` calls and ``min_seconds`` of calls, after a pause
    (``SETTLE_S``) and a warm-up call. Sub-millisecond calls need the time floor: after the
    pause the first few milliseconds of calls run up to 2x slower (idle cores, sleeping threads)."""
    time.sleep(SETTLE_S)
    fn()
    best = float("inf")
    calls, start = 0, time.perf_counter()
    while calls < repeat or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
        calls += 1
    return best


def sparse_weights(rng, rows: int, cols: int, density: float) -> np.ndarray:
    """Dense float32 matrix whose entries are nonzero with probability ``density`` (uniform positions)."""
    w = rng.standard_normal((rows, cols), dtype=np.float32)
    if density < 1.0:
        w[rng.random((rows, cols), dtype=np.float32) >= density] = 0.0
    return w


def fc_rows(name: str, rows: int, cols: int, density: float, batch: int, rng, repeat: int, quick: bool):
    w = sparse_weights(rng, rows, cols, density)
    nnz = int(np.count_nonzero(w))
    x = rng.standard_normal((batch, cols)).astype(np.float32)
    mask = w != 0
    n_threads = 2
    partptr, rows_idx, cvalues = formats.csc_from_dense(mask, w, n_threads)
    scipy_w = sp.csr_matrix(w)
    tiles = formats.csr_tiles_from_dense(mask, w, *formats.csr_tile_shape(rows, cols, nnz, batch))
    fmt_bytes = sum(a.nbytes for a in tiles)
    del mask
    act_bytes = 4 * batch * (cols + rows)
    flops = 2.0 * nnz * batch
    work = np.empty(rows, dtype=np.int64)
    impls = {}
    if batch == 1:
        out = np.empty(rows, dtype=np.float32)
        impls["numba-csr"] = (lambda: csr_matvec(*tiles[:3], tiles[3], NO_CODEBOOK, x[0], out, work),
                              fmt_bytes + act_bytes)
        x1 = x[0]
        impls["scipy-csr"] = (lambda: scipy_w @ x1, scipy_w.data.nbytes + scipy_w.indices.nbytes
                              + scipy_w.indptr.nbytes + act_bytes)
        impls["numpy-dense"] = (lambda: w @ x1, w.nbytes + act_bytes)
    else:
        outT = np.empty((rows, batch), dtype=np.float32)
        impls["numba-csr"] = (lambda: csr_matmul(*tiles[:3], tiles[3], NO_CODEBOOK, np.ascontiguousarray(x.T), outT,
                                                 work),
                              fmt_bytes + act_bytes)
        impls["scipy-csr"] = (lambda: (scipy_w @ x.T).T, scipy_w.data.nbytes + scipy_w.indices.nbytes
                              + scipy_w.indptr.nbytes + act_bytes)
        impls["numpy-dense"] = (lambda: x @ w.T, w.nbytes + act_bytes)
    outc = np.empty((batch, rows), dtype=np.float32)
    # CSC reads the stored weights of every column once per sample (activations are dense here).
    impls["numba-csc"] = (lambda: csc_spmv(partptr, rows_idx, cvalues, NO_CODEBOOK, x, outc, work),
                          batch * (cvalues.nbytes + rows_idx.nbytes + partptr.nbytes) + act_bytes)
    if batch > 1 and nnz * batch > 1e9:
        impls.pop("numba-csc")  # one pass over all weights per sample: minutes, and not its use case
    want = x @ w.T
    for impl, (fn, nbytes) in impls.items():
        with threads(threads_for(nnz * batch)):  # the policy execute() uses
            seconds = best_of(fn, repeat if nnz * batch < 1e9 else min(repeat, 3))
        if impl.startswith("numba"):  # check before reporting: a fast wrong kernel is no result
            got = outT.T if (impl == "numba-csr" and batch > 1) else (out[None] if impl == "numba-csr" else outc)
            assert np.allclose(got, want, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(want).max()))), impl
        yield (name, density, batch, impl, seconds, flops / seconds / 1e9, nbytes / seconds)


def conv_rows(density: float, rng, repeat: int):
    """VGG-16 conv3_x: 3x3, 256 -> 256 channels, 56 x 56, padding 1, batch 1, dense activations."""
    c, h, k = 256, 56, 3
    w = sparse_weights(rng, c, c * k * k, density).reshape(c, c, k, k)
    x = rng.standard_normal((1, c, h, h)).astype(np.float32)
    ptr, offsets, values = formats.conv_from_dense(w != 0, w, (c, h, h), 1, 1, 1)
    out = np.empty((1, c, h, h), dtype=np.float32)
    work = np.empty((1, c, 2), dtype=np.int64)
    nnz = int(values.shape[0])
    flops = 2.0 * nnz * h * h
    w2 = w.reshape(c, -1)

    def sparse():
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        conv_sparse(ptr, offsets, values, NO_CODEBOOK, xp, 1, 1, out, work)

    def im2col_gemm():
        xp = np.pad(x[0], ((0, 0), (1, 1), (1, 1)))
        cols = sliding_window_view(xp, (k, k), axis=(1, 2)).transpose(0, 3, 4, 1, 2).reshape(c * k * k, h * h)
        return (w2 @ cols).reshape(1, c, h, h)

    act_bytes = 4 * (x.size + out.size)
    t_sparse = best_of(sparse, repeat)
    assert np.allclose(out, im2col_gemm(), rtol=1e-3, atol=1e-3)
    yield ("vgg16-conv3", density, 1, "numba-conv", t_sparse, flops / t_sparse / 1e9,
           (values.nbytes + offsets.nbytes + ptr.nbytes + act_bytes) / t_sparse)
    t_dense = best_of(im2col_gemm, repeat)
    yield ("vgg16-conv3", density, 1, "numpy-im2col-gemm", t_dense, flops / t_dense / 1e9,
           (w.nbytes + act_bytes + 4 * c * k * k * h * h) / t_dense)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer densities and repeats (< 1 minute)")
    ap.add_argument("--repeat", type=int, default=None, help="timed calls per point (best is kept)")
    args = ap.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 10)
    rng = np.random.default_rng(0)
    bw = stream_triad_bytes_per_s(repeat=3 if args.quick else 10)
    print(f"# stream_triad_bytes_per_s={bw:.4g}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} numba_threads={os.environ.get('NUMBA_NUM_THREADS', 'all')}")
    print("layer,density,batch,impl,seconds,effectual_gflops,bytes_per_s")
    for name, (rows, cols) in FC_LAYERS.items():
        # --quick: every density on the small layer, 10% on the large ones
        for density in DENSITIES if not args.quick or name == "lenet300-fc1" else (0.1,):
            for batch in BATCHES:
                for row in fc_rows(name, rows, cols, density, batch, rng, repeat, args.quick):
                    print("%s,%g,%d,%s,%.6g,%.4g,%.4g" % row, flush=True)
    for density in ((0.3, 0.1) if args.quick else (0.3, 0.1, 0.05)):
        for row in conv_rows(density, rng, min(repeat, 3) if args.quick else repeat):
            print("%s,%g,%d,%s,%.6g,%.4g,%.4g" % row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
