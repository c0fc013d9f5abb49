"""Early-bird tickets (You et al., "Drawing early-bird tickets", ICLR 2020).

During dense training from a seeded initialization, at the end of every epoch the pruning mask at
the target ratio is computed; the normalized Hamming distance between consecutive epochs' masks
goes into a FIFO of the last ``fifo`` distances (paper: 5), and the ticket is drawn at the first
epoch whose FIFO is full and whose largest distance is below ``epsilon`` (paper: 0.1; Sec. 4.1,
Alg. 1). The ticket (the mask at that epoch, on that epoch's weights) is then pruned and
retrained. The paper's masks are channel masks from batch-norm scales (network slimming); the fc
networks here have no batch norm, so the mask is unstructured layer-wise magnitude pruning at the
target rate (the same masks as ``prune: {method: percentile}``), and the distance is the fraction
of all weights whose mask bit differs. Retraining fine-tunes the ticket from its drawn weights
(the paper's "retrain" of the pruned network, Alg. 1 step 3); when no epoch satisfies the
condition within the training budget, the last epoch's mask is the ticket (logged).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..workload.network import Network
from .prune import apply_masks, layer_rates, magnitude_masks
from .train import TrainConfig, init_weights, train, with_weights

FIFO = 5  # You et al. 2020: the last 5 epochs' mask distances
EPSILON = 0.1  # You et al. 2020: draw when every distance in the FIFO is below 0.1


@dataclass(frozen=True)
class EarlyBird:
    """Recipe stage ``early_bird: {rate: 0.5, epsilon: 0.1, fifo: 5, retrain: {...}}``; the search is
    the recipe's ``train`` (dense training from a seeded initialization, at most its epochs)."""

    kind: ClassVar[str] = "early_bird"
    rate: float | dict | None = None
    output_rate_factor: float = 1.0
    epsilon: float = EPSILON
    fifo: int = FIFO
    layers: tuple | None = None
    retrain: TrainConfig | None = None


def mask_distance(a: dict, b: dict) -> float:
    """Normalized Hamming distance: the fraction of mask entries (over every layer of ``a``) that differ."""
    diff = sum(int(np.count_nonzero(a[k].astype(bool) != b[k].astype(bool))) for k in a)
    return diff / sum(a[k].size for k in a)


def draw_epoch(distances, fifo: int = FIFO, epsilon: float = EPSILON) -> int | None:
    """Index (into ``distances``; distance i is between epochs i and i+1's masks, 0-based epochs, so
    the ticket is epoch i + 1's mask) of the first full FIFO whose max is < epsilon, or None."""
    window: deque = deque(maxlen=fifo)
    for i, d in enumerate(distances):
        window.append(float(d))
        if len(window) == fifo and max(window) < epsilon:
            return i
    return None


@dataclass
class EarlyBirdResult:
    net: Network  # the ticket after retraining
    masks: dict
    epoch: int  # 1-based epoch whose mask is the ticket
    drawn: bool  # False: the FIFO condition never held within the budget (last epoch taken)
    distances: list  # distance after each epoch from the second on


def early_bird(arch: Network, stage: EarlyBird, data, search: TrainConfig, seed: int, retrain_seed: int,
               log=lambda *_: None) -> EarlyBirdResult:
    """Search (dense training from ``init_weights(arch, seed)``) until the ticket is drawn, then prune
    and retrain it with ``stage.retrain`` (no retraining when None)."""
    net = init_weights(arch, seed)
    rates = layer_rates(net, stage.rate, stage.output_rate_factor, stage.layers)
    distances: list = []
    state = {"epoch": 0, "weights": None, "masks": None}

    def stop(epoch, weights):
        masks = magnitude_masks(with_weights(net, weights), "percentile", rates=rates)
        if state["masks"] is not None:
            distances.append(mask_distance(state["masks"], masks))
        state["epoch"], state["masks"] = epoch + 1, masks
        state["weights"] = {k: (w.copy(), None if b is None else b.copy()) for k, (w, b) in weights.items()}
        return draw_epoch(distances, stage.fifo, stage.epsilon) is not None

    train(net, data, TrainConfig(**{**search.__dict__, "restore_best": False}), seed=seed, stop=stop,
          desc="early-bird search")
    drawn = draw_epoch(distances, stage.fifo, stage.epsilon) is not None
    masks = state["masks"]
    ticket = apply_masks(with_weights(net, state["weights"]), masks)
    log(f"early-bird ticket {'drawn' if drawn else 'not drawn (budget ended)'} at epoch {state['epoch']} "
        f"(mask distances {', '.join(f'{d:.3f}' for d in distances)})")
    if stage.retrain is not None:
        ticket = train(ticket, data, stage.retrain, seed=retrain_seed, masks=masks, desc="retrain ticket").net
    return EarlyBirdResult(ticket, masks, state["epoch"], drawn, distances)
