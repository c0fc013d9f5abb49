"""Weight quantization: k-means weight sharing (Deep Compression), linear int8/int4, binary.

Every function keeps the invariant of ``Layer``: ``weight`` holds the dequantized dense values
with exact zeros at pruned positions, and ``quant`` holds the encoding.

k-means (Han et al. 2016, Sec. 3): the kept (nonzero) weights of one layer are clustered into
``2**bits`` shared values; the layer stores a ``bits``-bit code per kept weight plus the
codebook. Codes at pruned positions are 0 and carry no weight: the sparse format stores only
kept weights, and ``weight == 0`` marks the pruned ones (no codebook entry is spent on zero).
"""
from __future__ import annotations

import numpy as np

from ..workload.network import Layer, Network, Quant
from .numerics import cluster_sums, row_sums

KMEANS_INITS = ("linear", "density", "random")
METHODS = ("kmeans", "linear", "binary")


def bits_for(layer: Layer, bits: int | dict) -> int | None:
    """Bits of ``layer`` from one number or {"conv": b, "fc": b} (None: leave the layer alone)."""
    if isinstance(bits, dict):
        return bits.get("conv" if layer.kind == "conv2d" else "fc")
    return bits


def init_centroids(values: np.ndarray, k: int, init: str, rng: np.random.Generator) -> np.ndarray:
    """k starting centroids for 1-D k-means over ``values``.

    linear: evenly spaced over [min, max] (best in Deep Compression's Fig. 8);
    density: evenly spaced in the CDF, i.e. the (i + 0.5)/k quantiles (SONIC's choice);
    random: Forgy, k distinct weights drawn with ``rng``.
    """
    if init == "linear":
        return np.linspace(values.min(), values.max(), k)
    if init == "density":
        return np.quantile(values, (np.arange(k) + 0.5) / k)
    if init == "random":
        return np.sort(rng.choice(values, size=k, replace=values.size < k))
    raise ValueError(f"init must be one of {KMEANS_INITS}; got {init!r}")


def kmeans_1d(values: np.ndarray, centroids: np.ndarray, max_iter: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's algorithm in one dimension. Returns (centroids float64 (k,), labels int64).

    Centroids stay sorted, so assignment is a binary search on the midpoints. An empty cluster
    keeps its centroid (it then costs a codebook entry but no code is ever assigned to it).
    """
    c = np.sort(np.asarray(centroids, dtype=np.float64))
    v = values.astype(np.float64)
    labels = None
    for _ in range(max_iter):
        new = np.searchsorted((c[1:] + c[:-1]) / 2, v)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        sums, counts = cluster_sums(labels, v, len(c))  # in index order (fixed rounding)
        filled = counts > 0
        c[filled] = sums[filled] / counts[filled]
        order = np.argsort(c, kind="stable")
        if not np.array_equal(order, np.arange(len(c))):  # keep sorted so midpoints stay valid
            c = c[order]
            labels = np.argsort(order)[labels]
    return c, labels


def kmeans_quantize(weight: np.ndarray, bits: int, init: str = "linear",
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cluster the nonzero weights into 2**bits shared values.

    Returns (codebook float32 (2**bits,), codes uint8 (bits <= 8) or uint16 shaped like ``weight``;
    codes of zero weights are 0). codebook[codes] equals the dequantized weight at kept positions.
    """
    if not 1 <= bits <= 16:
        raise ValueError(f"k-means bits must be in 1..16; got {bits}")
    rng = np.random.default_rng(0) if rng is None else rng
    k = 2 ** bits
    kept = weight != 0
    codes = np.zeros(weight.shape, dtype=np.uint8 if bits <= 8 else np.uint16)
    values = weight[kept]
    if values.size == 0:
        return np.zeros(k, np.float32), codes
    centroids, labels = kmeans_1d(values, init_centroids(values, k, init, rng))
    codebook = centroids.astype(np.float32)
    codes[kept] = labels
    return codebook, codes


def dequantize(quant: Quant, mask: np.ndarray) -> np.ndarray:
    """Dense float32 weights of an encoding; ``mask`` (nonzero = kept) zeroes pruned positions."""
    keep = mask != 0
    if quant.kind == "kmeans":
        return np.where(keep, quant.codebook[quant.codes], 0).astype(np.float32)
    scale = quant.scale.reshape((-1,) + (1,) * (quant.qvalues.ndim - 1)) if quant.per_channel else quant.scale
    return np.where(keep, quant.qvalues.astype(np.float32) * scale, 0).astype(np.float32)


def linear_quantize(weight: np.ndarray, bits: int, per_channel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric uniform quantization: (qvalues int8 in [-(2**(bits-1) - 1), 2**(bits-1) - 1],
    scale float32 (1,) or (out_channels,)). Zero maps to zero, so pruned weights stay pruned."""
    if not 2 <= bits <= 8:
        raise ValueError(f"linear bits must be in 2..8 (int8 storage); got {bits}")
    qmax = 2 ** (bits - 1) - 1
    axes = tuple(range(1, weight.ndim))
    amax = np.abs(weight).max(axis=axes) if per_channel else np.array([np.abs(weight).max()])
    scale = np.where(amax > 0, amax / qmax, 1.0).astype(np.float32)
    s = scale.reshape((-1,) + (1,) * (weight.ndim - 1)) if per_channel else scale
    q = np.clip(np.rint(weight / s), -qmax, qmax).astype(np.int8)
    return q, scale


def binary_quantize(weight: np.ndarray, per_channel: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """sign(w) x scale with scale = mean |w| of the nonzero weights (per tensor or per output channel)."""
    q = np.sign(weight).astype(np.int8)
    mags = np.abs(weight)
    if per_channel:
        axes = tuple(range(1, weight.ndim))
        nnz = np.maximum((weight != 0).sum(axis=axes), 1)
        scale = (row_sums(mags.reshape(mags.shape[0], -1)) / nnz).astype(np.float32)
    else:
        nnz = max(int((weight != 0).sum()), 1)
        scale = np.array([row_sums(mags.reshape(1, -1))[0] / nnz], dtype=np.float32)
    return q, scale


def quantize_layer(layer: Layer, method: str, bits: int, init: str = "linear", per_channel: bool = False,
                   rng: np.random.Generator | None = None) -> Layer:
    """Copy of a weighted layer quantized by ``method``; ``weight`` becomes the dequantized values."""
    mask = layer.weight != 0
    if method == "kmeans":
        codebook, codes = kmeans_quantize(layer.weight, bits, init, rng)
        quant = Quant(kind="kmeans", bits=bits, codebook=codebook, codes=codes)
    elif method == "linear":
        q, scale = linear_quantize(layer.weight, bits, per_channel)
        quant = Quant(kind="linear", bits=bits, scale=scale, qvalues=q, per_channel=per_channel)
    elif method == "binary":
        q, scale = binary_quantize(layer.weight, per_channel)
        quant = Quant(kind="binary", bits=1, scale=scale, qvalues=q, per_channel=per_channel)
    else:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    return layer.replace(weight=dequantize(quant, mask), quant=quant,
                         bias=None if layer.bias is None else layer.bias.copy())


def quantize_network(net: Network, method: str, bits: int | dict, init: str = "linear",
                     per_channel: bool = False, seed: int = 0) -> Network:
    """Quantize every weighted layer whose bits are given (``bits_for``); others stay float32."""
    rng = np.random.default_rng(seed)
    layers = []
    for layer in net.layers:
        b = bits_for(layer, bits) if layer.is_weighted else None
        layers.append(quantize_layer(layer, method, b, init, per_channel, rng) if b else layer)
    return net.replace(layers=layers).copy()
