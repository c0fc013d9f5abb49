"""Supermasks: a learned mask over frozen random weights (Ramanujan et al. 2020, "What's hidden in a
randomly weighted neural network?", CVPR; the edge-popup algorithm).

Every weight has a score; in the forward pass each layer uses the weights whose |score| is among
its top ``keep`` fraction (Ramanujan et al. Sec. 3: ``k%`` per layer, the subnetwork chosen by
score magnitude), the other weights are zero. The scores learn through the straight-through
estimator: the gradient of the loss with respect to a score is that of the effective weight
``w * m`` times ``w`` (Eq. 3: the popup update ``s_uv <- s_uv - lr * dL/dI_v * w_uv * Z_u``),
whatever the mask, so a dropped edge can "pop up" again (their code ranks ``|s|``, so the
gradient also passes through the abs). The weights themselves are a seeded
random initialization, never updated. Defaults (the paper's): ``keep`` 0.5 (Fig. 4/5: k in
[30%, 70%] works best, 50% their reference), weights from the signed Kaiming constant
(Sec. 4.1: each weight ``+-sqrt(2 / fan_in)`` with a random sign, better than Kaiming normal), scores
initialized Kaiming uniform (their code: ``kaiming_uniform_(scores, a=sqrt(5))``, i.e. uniform in
``+-1/sqrt(fan_in)``). Biases are not used (the paper's networks have none): they stay zero. The
paper trains scores with SGD (lr 0.1, momentum 0.9, cosine schedule); here the recipe's training
settings apply (Adam by default).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..workload.network import Network
from .train import TrainConfig, _Optimizer, _params, _progress, evaluate, init_weights

INITS = ("signed_constant", "kaiming_normal")


@dataclass(frozen=True)
class Supermask:
    """Recipe stage ``supermask: {keep: 0.5, init: signed_constant, layers: [...], train: {...}}``."""

    kind: ClassVar[str] = "supermask"
    keep: float = 0.5  # Ramanujan et al.: k = 50%
    init: str = "signed_constant"
    layers: tuple | None = None  # default: every weighted layer
    train: TrainConfig | None = None


def random_weights(net: Network, seed: int, init: str = "signed_constant") -> Network:
    """Copy of ``net`` with the frozen random weights: Kaiming normal (``train.init_weights``), or
    its signed constant (each weight ``sign(w) * sqrt(2 / fan_in)``); zero biases."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}; got {init!r}")
    out = init_weights(net, seed)
    if init == "signed_constant":
        for lay in out.weighted_layers:
            fan_in = int(np.prod(lay.weight.shape[1:]))
            lay.weight = (np.where(lay.weight >= 0, 1.0, -1.0) * np.sqrt(2.0 / fan_in)).astype(np.float32)
    return out


def init_scores(net: Network, seed: int, names) -> dict:
    """{layer: float32 scores}, uniform in +-1/sqrt(fan_in) (Kaiming uniform with a = sqrt(5))."""
    rng = np.random.default_rng(seed)
    out = {}
    for lay in net.weighted_layers:
        if lay.name in names:
            bound = 1.0 / np.sqrt(int(np.prod(lay.weight.shape[1:])))
            out[lay.name] = rng.uniform(-bound, bound, lay.weight.shape).astype(np.float32)
    return out


def top_k_mask(scores: np.ndarray, keep: float) -> np.ndarray:
    """0/1 float32 mask of the ``round(keep * size)`` largest |scores| (ties: lower position first)."""
    k = int(round(keep * scores.size))
    order = np.argsort(-np.abs(scores.ravel()).astype(np.float64), kind="stable")[:k]
    mask = np.zeros(scores.size, dtype=np.float32)
    mask[order] = 1.0
    return mask.reshape(scores.shape)


@dataclass
class SupermaskResult:
    net: Network  # frozen weights x the final mask
    weights: dict  # {layer: frozen weight} (bitwise the initialization)
    masks: dict  # {layer: 0/1 mask}
    scores: dict
    val_accuracy: float
    epochs: int


def train_supermask(net: Network, data, cfg: TrainConfig, keep: float = 0.5, init: str = "signed_constant",
                    layers=None, seed: int = 0, desc: str = "supermask") -> SupermaskResult:
    """Edge-popup on ``net``'s architecture: seeded random weights (never updated), scores trained by
    ``cfg`` on ``data`` = (x_train, y_train, x_val, y_val). The scores of the epoch with the lowest
    validation loss are kept when ``cfg.restore_best``."""
    from .layers_np import backward, check_trainable, forward  # lazy: numba
    from .numerics import softmax_cross_entropy

    check_trainable(net)
    rand = random_weights(net, seed, init)
    names = [lay.name for lay in rand.weighted_layers if layers is None or lay.name in layers]
    frozen = _params(rand)
    weights = {n: frozen[(n, "weight")] for n in names}
    scores = {(n, "score"): s for n, s in init_scores(rand, seed + 1, names).items()}

    def project() -> tuple[dict, dict]:
        masks = {n: top_k_mask(scores[(n, "score")], keep) for n in names}
        fp = dict(frozen)
        for n in names:
            fp[(n, "weight")] = weights[n] * masks[n]
        return fp, masks

    x_train, y_train, x_val, y_val = data
    n = len(y_train)
    rng = np.random.default_rng(seed)
    opt = _Optimizer(cfg)
    fp, masks = project()
    best = (evaluate(rand, x_val, y_val, fp), {k: v.copy() for k, v in scores.items()})
    with _progress(cfg.epochs * max(1, -(-n // cfg.batch_size)), desc) as bar:
        for _ in range(cfg.epochs):
            order = rng.permutation(n)
            for start in range(0, n, cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                fp, _ = project()
                logits, caches = forward(rand, fp, x_train[idx], train=True)
                _, dlogits = softmax_cross_entropy(logits, y_train[idx])
                grads = backward(rand, fp, caches, dlogits)
                # straight-through: dL/d|s| = dL/d(w*m) * w (Ramanujan et al. Eq. 3), through the abs
                # of their code (the mask ranks |s|): dL/ds = that x sign(s). Weights and biases frozen.
                sgrads = {(n_, "score"): (grads[(n_, "weight")] * weights[n_]
                                          * np.sign(scores[(n_, "score")])).astype(np.float32) for n_ in names}
                if cfg.weight_decay:
                    for key in sgrads:
                        sgrads[key] = (sgrads[key] + np.float32(cfg.weight_decay) * scores[key]).astype(np.float32)
                opt.step(scores, sgrads)
                bar.update(1)
            fp, _ = project()
            ev = evaluate(rand, x_val, y_val, fp)
            if not cfg.restore_best or ev[0] < best[0][0]:
                best = (ev, {k: v.copy() for k, v in scores.items()})
            bar.set_postfix(val_acc=f"{ev[1]:.3f}", refresh=False)
    scores.clear()
    scores.update(best[1])
    fp, masks = project()
    out = rand.copy()
    for lay in out.weighted_layers:
        lay.weight = fp[(lay.name, "weight")].astype(np.float32, copy=True)
    return SupermaskResult(out, weights, masks, {n: scores[(n, "score")] for n in names}, float(best[0][1]),
                           cfg.epochs)
