"""Numba kernels: compute a layer and count its work in one pass.

Every kernel is a module-level ``@njit(cache=True)`` function over arrays and scalars that fills a
preallocated output and its counters; the wrappers in ``sim.engine.execute`` unpack layers,
convert weights once (``formats``) and allocate. Modules, one per format or dataflow:

- ``arith``: dtype-dispatched decode / multiply-accumulate helpers shared by the kernels.
- ``formats``: dense weights -> tiled CSR (row tiles x column blocks), CSC, sparse-conv offsets
  per (input-channel block, output channel) (numpy only).
- ``simd``: the float32 64-lane register-tiled multiply-accumulate (an LLVM-IR intrinsic).
- ``csr``: fc, CSR row-parallel (output-stationary), batch 1 and batched.
- ``csc``: fc, EIE-style CSC column broadcast, skipping zero activations, per-PE work.
- ``conv``: sparse-weight direct convolution with stride, padding, groups, dilation.
- ``pool``: max / average pooling with padding.
- ``dense``: fixed-order dense products, sums, softmax cross-entropy, Adam and libm-free exp/log/normal
  draws for training and compression (same bits on every CPU; see ``sim.compression.numerics``).
"""
