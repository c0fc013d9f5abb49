"""Magnitude pruning: masks by threshold or percentile, layer-wise or global, and random masks.

Masks are ``{layer: float32 0/1 array shaped like the weight}``; applying one zeroes weights, and
training with it keeps them zero (see ``train.train``). Rates count *remaining* weights: pruning
20% in a round that starts at 50% density leaves 40%.

- ``threshold``: drop |w| < quality x std of the layer's remaining weights (Han et al. 2015,
  "Learning both weights and connections", Sec. 3).
- ``percentile``: drop the ``rate`` smallest-magnitude fraction of the remaining weights
  (Frankle & Carbin's per-round rate; the output layer optionally at half the rate).
- ``global``: one magnitude cut over all pruned layers together (open_lth's ``sparse_global``).
"""
from __future__ import annotations

import numpy as np

from ..workload.network import Network
from .numerics import mean_std

METHODS = ("threshold", "percentile")
SCOPES = ("layer", "global")


def full_masks(net: Network) -> dict:
    """All-ones masks, or the current nonzero pattern: a weight that is already zero stays pruned."""
    return {lay.name: (lay.weight != 0).astype(np.float32) for lay in net.weighted_layers}


def apply_masks(net: Network, masks: dict) -> Network:
    """Copy of ``net`` with each masked layer's weights multiplied by its mask (quantization dropped)."""
    out = net.copy()
    for layer in out.weighted_layers:
        if layer.name in masks:
            layer.weight = (layer.weight * masks[layer.name]).astype(np.float32)
            layer.quant = None
    return out


def layer_rates(net: Network, rate: float | dict, output_rate_factor: float = 1.0,
                layers: list[str] | None = None) -> dict:
    """{layer: fraction of its remaining weights to prune} for ``layers`` (default: all weighted).

    rate: one number, or {"fc": r, "conv": r} by layer type (Frankle & Carbin prune conv at 10-15%
    and fc at 20% per round). The last weighted layer gets ``rate x output_rate_factor``.
    """
    weighted = net.weighted_layers
    names = [lay.name for lay in weighted] if layers is None else list(layers)
    out = {}
    for lay in weighted:
        if lay.name not in names:
            continue
        r = rate if not isinstance(rate, dict) else rate.get("conv" if lay.kind == "conv2d" else "fc", 0.0)
        if lay is weighted[-1]:
            r *= output_rate_factor
        out[lay.name] = float(r)
    return out


def magnitude_masks(net: Network, method: str = "percentile", rates: dict | None = None,
                    quality: float | dict | None = None, scope: str = "layer", masks: dict | None = None) -> dict:
    """New masks after one pruning step.

    method ``percentile`` uses ``rates`` ({layer: fraction of remaining weights to drop});
    ``threshold`` uses ``quality`` (one number or {layer: q}): drop |w| < q x std(remaining w).
    scope ``global`` pools the layers of ``rates`` (percentile: their first rate) into one cut.
    masks: the current masks (default: the weights' nonzero pattern). Layers not named keep theirs.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}; got {scope!r}")
    current = full_masks(net) if masks is None else {k: v.copy() for k, v in masks.items()}
    if method == "threshold":
        if quality is None:
            raise ValueError("threshold pruning needs quality")
        names = [lay.name for lay in net.weighted_layers] if not isinstance(quality, dict) else list(quality)
    else:
        if rates is None:
            raise ValueError("percentile pruning needs rates")
        names = list(rates)
    layers = {lay.name: lay for lay in net.weighted_layers if lay.name in names}
    if scope == "global":
        return _global(layers, current, method, rates, quality)
    for name, lay in layers.items():
        alive = current[name].astype(bool)
        mags = np.abs(lay.weight[alive])
        if method == "threshold":
            q = quality[name] if isinstance(quality, dict) else quality
            cut = q * mean_std(lay.weight[alive])[1] if mags.size else 0.0
            current[name] = (alive & (np.abs(lay.weight) >= cut)).astype(np.float32)
        else:
            current[name] = _drop_smallest(lay.weight, alive, int(round(rates[name] * mags.size)))
    return current


def _drop_smallest(weight: np.ndarray, alive: np.ndarray, n_drop: int) -> np.ndarray:
    """Mask with the ``n_drop`` smallest-magnitude alive weights removed (ties broken by position)."""
    mask = alive.copy()
    if n_drop <= 0:
        return mask.astype(np.float32)
    idx = np.flatnonzero(alive)
    order = np.argsort(np.abs(weight.ravel()[idx]), kind="stable")
    mask.ravel()[idx[order[:n_drop]]] = False
    return mask.astype(np.float32)


def _global(layers: dict, current: dict, method: str, rates: dict | None, quality) -> dict:
    alive = {n: current[n].astype(bool) for n in layers}
    pooled = np.concatenate([np.abs(lay.weight[alive[n]]) for n, lay in layers.items()])
    if method == "threshold":
        q = quality if not isinstance(quality, dict) else next(iter(quality.values()))
        signed = np.concatenate([lay.weight[alive[n]] for n, lay in layers.items()])
        cut = q * mean_std(signed)[1] if signed.size else 0.0
        for n, lay in layers.items():
            current[n] = (alive[n] & (np.abs(lay.weight) >= cut)).astype(np.float32)
        return current
    n_drop = int(round(next(iter(rates.values())) * pooled.size))
    if n_drop <= 0:
        return current
    # Rank every alive weight of every layer together; ties broken by layer order, then position.
    keys = np.concatenate([np.flatnonzero(alive[n]) for n in layers])
    owner = np.concatenate([np.full(int(alive[n].sum()), i) for i, n in enumerate(layers)])
    order = np.lexsort((keys, owner, pooled))[:n_drop]
    for i, n in enumerate(layers):
        drop = keys[order[owner[order] == i]]
        m = alive[n].copy()
        m.ravel()[drop] = False
        current[n] = m.astype(np.float32)
    return current


def random_masks(masks: dict, rng: np.random.Generator) -> dict:
    """Random masks with exactly the same number of kept weights per layer as ``masks``."""
    out = {}
    for name, m in masks.items():
        keep = int(m.sum())
        flat = np.zeros(m.size, dtype=np.float32)
        flat[rng.choice(m.size, size=keep, replace=False)] = 1.0
        out[name] = flat.reshape(m.shape)
    return out


def density(masks: dict) -> float:
    """Fraction of weights kept over all masked layers."""
    total = sum(m.size for m in masks.values())
    return float(sum(m.sum() for m in masks.values()) / total) if total else 1.0
