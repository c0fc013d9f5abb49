"""Structured pruning: remove whole fc neurons, conv filters or conv input channels by L1/L2 norm.

Unlike magnitude pruning, nothing is masked: the weight tensors really shrink, and the layers
between the producer and its consumer (relu, pooling, flatten) get their new shapes, so a
structurally pruned network runs anywhere a dense one does (Li et al. 2017 prune filters by L1
norm; "channels" scores the consumer's input channels instead of the producer's filters).
"""
from __future__ import annotations

import numpy as np

from ..workload.network import Network
from .numerics import row_sums

TARGETS = ("filters", "channels")  # filters also covers fc neurons (rows of an fc weight)
NORMS = ("l1", "l2")


def unit_scores(weight: np.ndarray, axis: int, norm: str) -> np.ndarray:
    """L1 or L2 norm of each slice of ``weight`` along ``axis`` (0: output units, 1: input units)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}; got {norm!r}")
    moved = np.moveaxis(np.abs(weight.astype(np.float64)), axis, 0).reshape(weight.shape[axis], -1)
    return row_sums(moved) if norm == "l1" else np.sqrt(row_sums(moved * moved))  # summed in order


def _chain_check(net: Network) -> None:
    if any(lay.inputs for lay in net.layers):
        raise ValueError("structured pruning supports chain networks (each layer reads the previous one)")


def _consumer_index(net: Network, producer: int) -> int:
    for j in range(producer + 1, len(net.layers)):
        if net.layers[j].is_weighted:
            return j
    raise ValueError(f"layer {net.layers[producer].name!r} is the output layer; its outputs cannot be removed")


def structured_prune(net: Network, layer: str, fraction: float, norm: str = "l1",
                     target: str = "filters") -> tuple[Network, np.ndarray]:
    """Remove the ``fraction`` of units with the smallest norm; returns (smaller network, kept indices).

    target ``filters``: score the output units (fc rows, conv filters) of ``layer``.
    target ``channels``: score the input channels (fc columns, conv input channels) of ``layer``
    and remove them from the layer that produces them. At least one unit always stays.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}; got {target!r}")
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1); got {fraction}")
    _chain_check(net)
    idx = next((i for i, lay in enumerate(net.layers) if lay.name == layer), None)
    if idx is None or not net.layers[idx].is_weighted:
        raise ValueError(f"no weighted layer named {layer!r}")
    if target == "filters":
        producer = idx
        consumer = _consumer_index(net, producer)
        scores = unit_scores(net.layers[producer].weight, 0, norm)
    else:
        producer = max((i for i in range(idx) if net.layers[i].is_weighted), default=None)
        if producer is None:
            raise ValueError(f"layer {layer!r} reads the network input; its input channels cannot be removed")
        consumer = idx
        scores = _input_unit_scores(net, producer, consumer, norm)
    n_units = len(scores)
    n_keep = max(1, n_units - int(round(fraction * n_units)))
    keep = np.sort(np.argsort(-scores, kind="stable")[:n_keep])
    return shrink(net, producer, keep), keep


def _input_unit_scores(net: Network, producer: int, consumer: int, norm: str) -> np.ndarray:
    """Norm of the consumer's weights that read each output unit of the producer."""
    w = net.layers[consumer].weight
    n_units = net.layers[producer].out_shape[0]
    if w.ndim == 2 and w.shape[1] != n_units:  # fc after flatten: a unit is a block of H*W columns
        w = w.reshape(w.shape[0], n_units, -1)
    return unit_scores(w, 1, norm)


def shrink(net: Network, producer: int, keep: np.ndarray) -> Network:
    """Copy of ``net`` where layer ``producer`` keeps only output units ``keep`` and every layer up to
    the next weighted layer (which loses the matching inputs) gets the smaller shape."""
    _chain_check(net)
    out = net.copy()
    keep = np.asarray(keep, dtype=np.int64)
    p = out.layers[producer]
    if p.kind == "conv2d" and p.groups != 1:
        raise ValueError(f"layer {p.name!r}: structured pruning supports conv2d with groups 1")
    p.weight = np.ascontiguousarray(p.weight[keep])
    p.bias = None if p.bias is None else p.bias[keep].copy()
    p.out_shape = (len(keep),) + tuple(p.out_shape[1:])
    p.quant = None
    shape = p.out_shape
    for j in range(producer + 1, len(out.layers)):
        lay = out.layers[j]
        lay.in_shape = shape
        if lay.is_weighted:
            if lay.kind == "conv2d":
                if lay.groups != 1:
                    raise ValueError(f"layer {lay.name!r}: structured pruning supports conv2d with groups 1")
                lay.weight = np.ascontiguousarray(lay.weight[:, keep])
            else:
                per_unit = int(np.prod(shape)) // len(keep)  # H*W columns per channel after a flatten
                cols = (keep[:, None] * per_unit + np.arange(per_unit)).ravel()
                lay.weight = np.ascontiguousarray(lay.weight[:, cols])
            lay.quant = None
            return out
        if lay.kind == "flatten":
            lay.out_shape = (int(np.prod(shape)),)
        elif len(lay.out_shape) == 3 and len(shape) == 3:
            lay.out_shape = (shape[0],) + tuple(lay.out_shape[1:])
        else:
            lay.out_shape = tuple(shape)
        shape = lay.out_shape
    raise ValueError(f"layer {p.name!r} has no weighted layer after it")
