"""N:M structured sparsity: at most N nonzero weights in every group of M consecutive weights
along the reduction axis (NVIDIA's 2:4 sparse tensor cores; Mishra et al., "Accelerating Sparse
Deep Neural Networks", arXiv 2104.08378; SCALE-Sim v3's ``N:M`` layers).

Groups run along each output's flattened reduction axis (fc: input features; conv: input
channel x kernel row x kernel column), so a group's weights meet the same M activations. The
compressed format stores N value slots per group (padded with zeros when fewer survive) plus a
ceil(log2 M)-bit position per slot (2:4: 2 bits per kept weight).
"""
from __future__ import annotations

import numpy as np

from ..kernels.nmformat import compressed_k, grouped as _grouped, is_n_of_m, metadata_bits, nm_storage_bits  # noqa: F401
from ..workload.network import Network


def nm_mask(weight: np.ndarray, n: int, m: int, mask: np.ndarray | None = None) -> np.ndarray:
    """0/1 float32 mask keeping the ``n`` largest |w| of every group of ``m`` (among weights
    ``mask`` still keeps; ties broken by position)."""
    if not 1 <= n < m:
        raise ValueError(f"N:M needs 1 <= n < m; got {n}:{m}")
    w = np.abs(weight) * (1 if mask is None else mask)
    g, pad = _grouped(w, m)
    order = np.argsort(-g, axis=2, kind="stable")
    keep = np.zeros_like(g, dtype=bool)
    np.put_along_axis(keep, order[:, :, :n], True, axis=2)
    keep &= g > 0
    flat = keep.reshape(g.shape[0], -1)
    if pad:
        flat = flat[:, :-pad]
    return flat.reshape(weight.shape).astype(np.float32)


def nm_masks(net: Network, n: int, m: int, layers: list[str] | None = None, masks: dict | None = None) -> dict:
    """N:M masks for the named weighted layers (default all), on top of the current masks."""
    out = {} if masks is None else {k: v.copy() for k, v in masks.items()}
    for layer in net.weighted_layers:
        if layers is None or layer.name in layers:
            out[layer.name] = nm_mask(layer.weight, n, m, out.get(layer.name))
    return out
