"""Low-rank factorization of fc layers (Denton et al. 2014; Xue, Li & Gong 2013 for fc layers):
W (out, in) ~ B A with A = V^T (rank, in) and B = W V (out, rank), V spanning W's top right
singular subspace; then fine-tuning of the factored network.

A conv2d (O, C, kh, kw) factors the same way on its (O, C*kh*kw) matrix (Denton et al. 2014;
Zhang et al. 2015, "Accelerating Very Deep Convolutional Networks", with the nonlinear part left
out): a conv (rank, C, kh, kw) with the original stride and padding and no bias, then a 1x1 conv
(O, rank, 1, 1) with the original bias.

The subspace comes from seeded orthogonal (subspace) iteration with ``numerics.matmul`` and
Gram-Schmidt in fixed-order float32 products, not LAPACK's SVD, so the factors are the same bits on every
machine (issue 19). B A is the best rank-r approximation (Eckart-Young) once V has converged.
"""
from __future__ import annotations

import numpy as np

from ..workload.network import Layer, Network
from .numerics import matmul, standard_normal

ITERATIONS = 100  # subspace iterations: the gap between kept and dropped singular values sets the rate


def _orthonormalize(q: np.ndarray) -> np.ndarray:
    """Columns of q made orthonormal by classical Gram-Schmidt applied twice (CGS2, as stable as
    modified Gram-Schmidt), every sum a fixed-order ``numerics.matmul``."""
    q = np.ascontiguousarray(q, dtype=np.float32).copy()
    for j in range(q.shape[1]):
        v = q[:, j:j + 1].copy()
        if j:
            basis = q[:, :j]
            for _ in range(2):
                v -= matmul(basis, matmul(np.ascontiguousarray(basis.T), v))
        norm = float(np.sqrt(matmul(np.ascontiguousarray(v.T), v)[0, 0]))
        q[:, j:j + 1] = v / np.float32(norm) if norm > 0 else 0.0
    return q


def top_right_subspace(weight: np.ndarray, rank: int, seed: int) -> np.ndarray:
    """(in, rank) float32 orthonormal basis of the top-``rank`` right singular subspace of weight."""
    w = np.ascontiguousarray(weight, dtype=np.float32)
    q = _orthonormalize(standard_normal(np.random.default_rng(seed), (w.shape[1], rank)))
    wt = np.ascontiguousarray(w.T)
    for _ in range(ITERATIONS):
        q = _orthonormalize(matmul(wt, matmul(w, q)))
    return q


def rank_for(layer: Layer, keep_fraction: float) -> int:
    """The rank whose two factors hold at most ``keep_fraction`` of the layer's weights (>= 1)."""
    out_f, in_f = layer.weight.shape[0], int(np.prod(layer.weight.shape[1:]))
    return max(1, int(keep_fraction * out_f * in_f // (out_f + in_f)))


GEOMETRY_ATTRS = ("kernel", "strides", "pads", "dilations")


def factorize(net: Network, name: str, keep_fraction: float, seed: int = 0) -> Network:
    """Copy of ``net`` where layer ``name`` becomes ``name``_a (the rank x in factor, no bias) then
    ``name`` (out x rank, the original bias). fc: two fc layers; conv2d (square, groups 1, dilation
    1): a conv (rank, C, kh, kw) with the original stride and padding, then a 1x1 conv."""
    index = next((i for i, lay in enumerate(net.layers) if lay.name == name), None)
    kind = None if index is None else net.layers[index].kind
    if kind not in ("fc", "conv2d"):
        raise ValueError(f"low-rank factorization needs an fc or conv2d layer; {name!r} is "
                         f"{'not in the model' if index is None else kind}")
    if any(lay.inputs for lay in net.layers):
        raise ValueError("low-rank factorization supports chain-shaped networks (no named layer inputs)")
    src = net.layers[index]
    if kind == "conv2d" and (src.groups != 1 or src.dilation != 1 or any(k in src.attrs for k in GEOMETRY_ATTRS)):
        raise ValueError(f"low-rank factorization supports square conv2d with groups 1 and dilation 1; "
                         f"{name!r} is not")
    out = net.copy()
    lay = out.layers[index]
    o = lay.weight.shape[0]
    rank = rank_for(lay, keep_fraction)
    w2 = np.ascontiguousarray(lay.weight.reshape(o, -1), dtype=np.float32)
    v = top_right_subspace(w2, rank, seed)  # (in or C*kh*kw, rank)
    b = matmul(w2, v)
    if kind == "fc":
        a = Layer(name=f"{name}_a", kind="fc", in_shape=lay.in_shape, out_shape=(rank,),
                  weight=np.ascontiguousarray(v.T), bias=None)
        lay.weight, lay.in_shape = b, (rank,)
    else:
        mid = (rank,) + tuple(lay.out_shape[1:])
        a = lay.replace(name=f"{name}_a", out_shape=mid, bias=None, quant=None, attrs=dict(lay.attrs), consts={},
                        weight=np.ascontiguousarray(v.T).reshape((rank,) + lay.weight.shape[1:]))
        lay.weight = b.reshape(o, rank, 1, 1)
        lay.in_shape, lay.kernel_size, lay.stride, lay.padding = mid, 1, 1, 0
    lay.quant = None
    out.layers.insert(index, a)
    return out
