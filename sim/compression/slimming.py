"""Network slimming (Liu et al., ICCV 2017, "Learning Efficient Convolutional Networks through
Network Slimming"): batch norm after every hidden fc/conv layer, training with an L1 penalty
``lambda * sum |gamma|`` on the batch-norm scales (subgradient ``lambda * sign(gamma)``), then one
global cut removing the channels / neurons of smallest ``|gamma|`` (the paper prunes a global
percentile of all channels), then fine-tuning.

The paper's lambda is 1e-4 for VGGNet on CIFAR (Sec. 4.3) and 1e-5 for ResNet and DenseNet; ours
defaults to 1e-4. Batch norm lives on a weighted layer as ``consts`` ``bn_gamma``, ``bn_beta``,
``bn_mean``, ``bn_var`` (the numpy trainer applies it after the layer, see ``layers_np``); after
pruning it is folded into the layer's weights and bias (eval-mode statistics), so the shipped
model has no batch norm and runs on every design.
"""
from __future__ import annotations

import numpy as np

from ..workload.network import Network
from .structured import shrink
from .train import BN_CONSTS

DEFAULT_SPARSITY = 1e-4  # Liu et al. 2017, Sec. 4.3: lambda = 1e-4 (VGG, CIFAR); 1e-5 for ResNet / DenseNet


def hidden_layers(net: Network) -> list[str]:
    """The weighted layers whose outputs can be removed: every fc/conv2d but the last weighted one."""
    return [lay.name for lay in net.weighted_layers[:-1] if lay.kind in ("fc", "conv2d")]


def with_batchnorm(net: Network) -> Network:
    """Copy of ``net`` with batch norm (gamma 1, beta 0, running mean 0, var 1) after each hidden
    fc/conv layer that has none."""
    out = net.copy()
    for lay in out.layers:
        if lay.name in hidden_layers(net) and "bn_gamma" not in lay.consts:
            n = lay.weight.shape[0]
            lay.consts.update(bn_gamma=np.ones(n, np.float32), bn_beta=np.zeros(n, np.float32),
                              bn_mean=np.zeros(n, np.float32), bn_var=np.ones(n, np.float32))
    return out


def l1_on_scales(sparsity: float):
    """A ``train(regularize=...)`` hook adding ``sparsity * sign(gamma)`` to every gamma gradient."""
    lam = np.float32(sparsity)

    def regularize(params: dict, grads: dict) -> None:
        for key in list(grads):
            if key[1] == "gamma":
                grads[key] = (grads[key] + lam * np.sign(params[key])).astype(np.float32)
    return regularize


def gammas(net: Network) -> dict:
    """{layer: |gamma|} of every layer followed by batch norm, in layer order."""
    return {lay.name: np.abs(np.asarray(lay.consts["bn_gamma"], np.float32))
            for lay in net.layers if "bn_gamma" in lay.consts}


def channels_to_keep(scales: dict, keep: float) -> dict:
    """{layer: sorted kept indices}: one global cut keeping the ``keep`` fraction of all channels with
    the largest |gamma| (ties: layer order, then index), at least one (its largest) per layer."""
    names = list(scales)
    flat = np.concatenate([scales[n] for n in names]).astype(np.float64)
    owner = np.concatenate([np.full(scales[n].size, i) for i, n in enumerate(names)])
    pos = np.concatenate([np.arange(scales[n].size) for n in names])
    n_keep = max(len(names), int(round(keep * flat.size)))
    order = np.lexsort((pos, owner, -flat))[:n_keep]
    out = {}
    for i, n in enumerate(names):
        kept = pos[order[owner[order] == i]]
        if kept.size == 0:
            kept = np.array([int(np.lexsort((np.arange(scales[n].size), -scales[n].astype(np.float64)))[0])])
        out[n] = np.sort(kept)
    return out


def fold_batchnorm(net: Network) -> Network:
    """Copy of ``net`` where every batch norm (eval mode) is folded into its layer:
    ``W' = W * s``, ``b' = (b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``."""
    from .layers_np import BN_EPS

    out = net.copy()
    for lay in out.layers:
        if "bn_gamma" not in lay.consts:
            continue
        g, beta, mean, var = (np.asarray(lay.consts.pop(k), np.float64) for k in BN_CONSTS.values())
        s = g / np.sqrt(var + BN_EPS)
        bias = np.zeros(len(g)) if lay.bias is None else lay.bias.astype(np.float64)
        lay.weight = (lay.weight.astype(np.float64) * s.reshape((-1,) + (1,) * (lay.weight.ndim - 1))).astype(np.float32)
        lay.bias = ((bias - mean) * s + beta).astype(np.float32)
        lay.quant = None
    return out


def prune_channels(net: Network, keep: float, weights: float | None = None) -> tuple[Network, dict]:
    """Remove the channels of smallest |gamma| globally (``channels_to_keep``), then fold batch norm.
    ``weights``: instead of ``keep``, the most channels (in the same global order) whose result holds
    at most that fraction of ``net``'s weights (bisection on the channel count; a channel of a wide
    layer carries more weights than one of a narrow layer, so a channel fraction misses a weight
    target). Returns (network without batch norm, {layer: kept indices})."""
    scales, folded = gammas(net), fold_batchnorm(net)
    if weights is not None:
        total = sum(s.size for s in scales.values())
        lo, hi = len(scales), total  # lo channels always fit (at least one per layer is kept anyway)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _cut(folded, scales, mid / total)[0].weight_count <= weights * net.weight_count:
                lo = mid
            else:
                hi = mid - 1
        keep = lo / total
    return _cut(folded, scales, keep)


def _cut(folded: Network, scales: dict, keep: float) -> tuple[Network, dict]:
    """``folded`` (batch norm already folded) without the channels ``channels_to_keep`` drops."""
    kept = channels_to_keep(scales, keep)
    out = folded
    for name, idx in kept.items():
        producer = next(i for i, lay in enumerate(out.layers) if lay.name == name)
        if len(idx) < out.layers[producer].weight.shape[0]:
            out = shrink(out, producer, idx)
    return out, kept
