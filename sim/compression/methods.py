"""Pruning and training methods of the literature beyond magnitude pruning, as recipe building blocks.

- Gradual pruning (Zhu & Gupta 2017, "To prune, or not to prune", Eq. 1): sparsity at pruning
  step t of n follows ``s_t = s_f + (s_i - s_f) * (1 - t / n)^3``, so it rises fast early and
  reaches the final sparsity ``s_f`` exactly at the last step; magnitude pruning at each step,
  training in between. Defaults: ``s_i = 0``, pruning steps spread over the training run.
- SNIP (Lee, Ajanthan & Torr, ICLR 2019): connection sensitivity ``|dL/dw * w|`` at the
  (variance-scaled) initialization on one mini-batch (the paper uses 100 examples for LeNet), one
  global cut keeping the top ``1 - rate``, then ordinary training of the sparse net.
- Random pruning: the control (Blalock et al. 2020, "What is the state of neural network pruning?"):
  per layer the same count as magnitude pruning, positions drawn uniformly.
- Knowledge distillation (Hinton, Vinyals & Dean 2015): a student trained on
  ``(1 - weight) * CE(y) + weight * T^2 * CE(teacher(T), student(T))``; see
  ``sim/kernels/distill.py``.
"""
from __future__ import annotations

import numpy as np

from ..kernels import distill as _distill
from ..workload.network import Network
from .layers_np import backward, forward
from .numerics import softmax_cross_entropy
from .train import _params

SNIP_BATCH = 100  # Lee et al. 2019, Sec. 5: one mini-batch of 100 examples for LeNet-300-100 / LeNet-5


def cubic_sparsity(step: int, n_steps: int, final: float, initial: float = 0.0) -> float:
    """Zhu & Gupta's Eq. 1 at pruning step ``step`` in 0..n_steps (0: before any pruning)."""
    if not 0 <= step <= n_steps or n_steps < 1:
        raise ValueError(f"step must be in [0, {n_steps}]; got {step}")
    return float(final + (initial - final) * (1.0 - step / n_steps) ** 3)


def snip_scores(net: Network, x: np.ndarray, y: np.ndarray) -> dict:
    """{layer: |g * w|}: connection sensitivity of each weight for the mean cross-entropy on (x, y)."""
    params = _params(net)
    logits, caches = forward(net, params, x, train=True)
    _, dlogits = softmax_cross_entropy(logits, y)
    grads = backward(net, params, caches, dlogits)
    return {lay.name: np.abs(grads[(lay.name, "weight")] * params[(lay.name, "weight")]).astype(np.float32)
            for lay in net.weighted_layers}


def top_fraction_masks(scores: dict, keep_fraction: float) -> dict:
    """One global cut: masks keeping the ``keep_fraction`` highest scores over all layers (ties by
    layer order then position, so the result does not depend on the sort implementation)."""
    names = list(scores)
    flat = np.concatenate([scores[n].ravel() for n in names])
    keep = int(round(keep_fraction * flat.size))
    owner = np.concatenate([np.full(scores[n].size, i) for i, n in enumerate(names)])
    pos = np.concatenate([np.arange(scores[n].size) for n in names])
    order = np.lexsort((pos, owner, -flat.astype(np.float64)))[:keep]
    masks = {}
    for i, n in enumerate(names):
        m = np.zeros(scores[n].size, dtype=np.float32)
        m[pos[order[owner[order] == i]]] = 1.0
        masks[n] = m.reshape(scores[n].shape)
    return masks


def random_prune_masks(masks: dict, rates: dict, rng: np.random.Generator) -> dict:
    """Drop ``rates[layer]`` of each layer's alive weights, chosen uniformly at random."""
    out = {k: v.copy() for k, v in masks.items()}
    for name, rate in rates.items():
        alive = np.flatnonzero(out[name].ravel())
        n_drop = int(round(rate * alive.size))
        if n_drop:
            out[name].ravel()[rng.choice(alive, size=n_drop, replace=False)] = 0.0
    return out


def distillation_loss(student_logits: np.ndarray, teacher_logits: np.ndarray, y: np.ndarray,
                      temperature: float, weight: float) -> tuple[float, np.ndarray]:
    """(mean loss in nats, float32 gradient w.r.t. the student logits) of Hinton et al.'s loss."""
    s = np.ascontiguousarray(student_logits, dtype=np.float32)
    t = np.ascontiguousarray(teacher_logits, dtype=np.float32)
    labels = np.ascontiguousarray(y, dtype=np.int64)
    if s.shape != t.shape or s.ndim != 2 or labels.shape != (s.shape[0],):
        raise ValueError(f"distillation needs equal (n, classes) logits and n labels; got {s.shape}, {t.shape}, "
                         f"{labels.shape}")
    d = np.empty_like(s)
    rows = np.empty(len(labels), dtype=np.float64)
    loss = _distill.distill_xent(s, t, labels, float(temperature), float(weight), d, rows) if len(labels) else 0.0
    return float(loss), d


def teacher_logits(teacher: Network, x: np.ndarray, batch_size: int = 2000) -> np.ndarray:
    """The teacher's logits on ``x`` (float32), computed once before the student trains."""
    params = _params(teacher)
    return np.concatenate([forward(teacher, params, x[i:i + batch_size])[0] for i in range(0, len(x), batch_size)])
