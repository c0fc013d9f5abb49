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


def factorize(net: Network, name: str, keep_fraction: float, seed: int = 0) -> Network:
    """Copy of ``net`` where fc layer ``name`` becomes ``name``_a (rank x in, no bias) then ``name``
    (out x rank, the original bias)."""
    index = next((i for i, lay in enumerate(net.layers) if lay.name == name), None)
    if index is not None and net.layers[index].kind == "conv2d":
        return _factorize_conv(net, index, keep_fraction, seed)
    if index is None or net.layers[index].kind != "fc":
        raise ValueError(f"low-rank factorization needs an fc or conv2d layer; {name!r} is "
                         f"{'not in the model' if index is None else net.layers[index].kind}")
    if any(lay.inputs for lay in net.layers):
        raise ValueError("low-rank factorization supports chain-shaped networks (no named layer inputs)")
    out = net.copy()
    lay = out.layers[index]
    rank = rank_for(lay, keep_fraction)
    v = top_right_subspace(lay.weight, rank, seed)
    a = Layer(name=f"{name}_a", kind="fc", in_shape=lay.in_shape, out_shape=(rank,),
              weight=np.ascontiguousarray(v.T), bias=None)
    lay.weight = matmul(np.ascontiguousarray(lay.weight, dtype=np.float32), v)
    lay.in_shape = (rank,)
    lay.quant = None
    out.layers.insert(index, a)
    return out


GEOMETRY_ATTRS = ("kernel", "strides", "pads", "dilations")


def _factorize_conv(net: Network, index: int, keep_fraction: float, seed: int) -> Network:
    """conv ``name`` -> ``name``_a (rank, C, kh, kw; its stride and padding; no bias) then ``name``
    (a 1x1 conv, O x rank, the original bias)."""
    lay = net.layers[index]
    if lay.groups != 1 or lay.dilation != 1 or any(k in lay.attrs for k in GEOMETRY_ATTRS):
        raise ValueError(f"low-rank factorization supports square conv2d with groups 1 and dilation 1; "
                         f"{lay.name!r} is not")
    if any(x.inputs for x in net.layers):
        raise ValueError("low-rank factorization supports chain-shaped networks (no named layer inputs)")
    out = net.copy()
    lay = out.layers[index]
    o = lay.weight.shape[0]
    rank = rank_for(lay, keep_fraction)
    w2 = np.ascontiguousarray(lay.weight.reshape(o, -1), dtype=np.float32)
    v = top_right_subspace(w2, rank, seed)  # (C*kh*kw, rank)
    mid = (rank,) + tuple(lay.out_shape[1:])
    a = lay.replace(name=f"{lay.name}_a", out_shape=mid, weight=np.ascontiguousarray(v.T).reshape((rank,) + lay.weight.shape[1:]),
                    bias=None, quant=None, attrs=dict(lay.attrs), consts={})
    lay.weight = matmul(w2, v).reshape(o, rank, 1, 1)
    lay.in_shape, lay.kernel_size, lay.stride, lay.padding, lay.quant = mid, 1, 1, 0, None
    out.layers.insert(index, a)
    return out
