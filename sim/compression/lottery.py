"""Lottery tickets (Frankle & Carbin 2019): iterative magnitude pruning with rewinding, and controls.

For every seed: train the dense network from its initialization theta_0, then for each round
prune ``rate`` of the remaining weights per layer (output layer at ``rate x
output_rate_factor``), rewind the survivors to theta_0 (``rewind_iteration`` 0) or to their values
at iteration k (late rewinding, Frankle et al. 2019b), and retrain with the mask. Every round
also trains two controls at exactly the same per-layer densities:

- ``reinit``: the ticket's mask with a fresh random initialization;
- ``random_mask``: a random mask with the ticket's per-layer counts, on the rewound weights.

Each training run reports the test accuracy at its early-stop iteration (minimum validation
loss) and that iteration, counted from the rewind point.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..workload.network import Network
from .prune import density, full_masks, layer_rates, magnitude_masks, random_masks
from .train import TrainConfig, evaluate, init_weights, train, with_weights

VARIANTS = ("ticket", "reinit", "random_mask")
LTH_COLUMNS = ("round", "weights_remaining_fraction", "variant", "seed", "accuracy", "early_stop_iteration",
               "val_accuracy")


@dataclass(frozen=True)
class LotteryConfig:
    rounds: int = 12
    rate: float | dict = 0.2  # fraction of remaining weights pruned per round ({"fc": r, "conv": r} allowed)
    output_rate_factor: float = 0.5  # Frankle & Carbin prune the output layer at half the rate
    scope: str = "layer"  # or "global" (open_lth's sparse_global)
    rewind_iteration: int = 0
    seeds: tuple[int, ...] = (0, 1, 2)
    controls: tuple[str, ...] = ("reinit", "random_mask")


def _seed_seq(*parts: int) -> int:
    """A deterministic derived seed (e.g. for the reinit control of seed s, round r)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def run_lottery(arch: Network, data, test: tuple, cfg: TrainConfig, lcfg: LotteryConfig,
                log=None) -> tuple[pd.DataFrame, dict]:
    """Run the experiment. data: (x_train, y_train, x_val, y_val); test: (x_test, y_test).

    Returns (rows with LTH_COLUMNS, {seed: [trained ticket Network of each round, round 0 = dense]}).
    """
    rows, tickets = [], {}
    x_test, y_test = test

    def row(rnd, masks, variant, seed, result):
        _, acc = evaluate(result.net, x_test, y_test)
        rows.append({"round": rnd, "weights_remaining_fraction": round(density(masks), 6), "variant": variant,
                     "seed": seed, "accuracy": round(acc, 6), "early_stop_iteration": result.best_iteration,
                     "val_accuracy": round(result.val_accuracy, 6)})
        if log:
            log(f"seed {seed} round {rnd:2d} {variant:11s} weights {density(masks):7.2%} "
                f"test acc {acc:.4f} early stop {result.best_iteration}")

    for seed in lcfg.seeds:
        theta0 = init_weights(arch, seed)
        k = lcfg.rewind_iteration
        dense = train(theta0, data, cfg, seed=seed, snapshot_iterations=(k,) if k else (),
                      desc=f"lth seed {seed} dense")
        rewind = dense.snapshots[k] if k else {lay.name: (lay.weight, lay.bias) for lay in theta0.weighted_layers}
        masks = full_masks(dense.net)
        row(0, masks, "ticket", seed, dense)
        trained = dense.net
        tickets[seed] = [dense.net]
        mask_rng = np.random.default_rng(_seed_seq(seed, 1))
        for rnd in range(1, lcfg.rounds + 1):
            rates = layer_rates(trained, lcfg.rate, lcfg.output_rate_factor)
            masks = magnitude_masks(trained, "percentile", rates=rates, scope=lcfg.scope, masks=masks)
            ticket = train(with_weights(arch, rewind, masks), data, cfg, seed=seed, masks=masks,
                           desc=f"lth seed {seed} round {rnd} ticket")
            row(rnd, masks, "ticket", seed, ticket)
            trained = ticket.net
            tickets[seed].append(ticket.net)
            if "reinit" in lcfg.controls:
                fresh = init_weights(arch, _seed_seq(seed, 2, rnd))
                res = train(with_weights(fresh, _weights_of(fresh), masks), data, cfg, seed=seed, masks=masks,
                            desc=f"lth seed {seed} round {rnd} reinit")
                row(rnd, masks, "reinit", seed, res)
            if "random_mask" in lcfg.controls:
                rmask = random_masks(masks, mask_rng)
                res = train(with_weights(arch, rewind, rmask), data, cfg, seed=seed, masks=rmask,
                            desc=f"lth seed {seed} round {rnd} random mask")
                row(rnd, rmask, "random_mask", seed, res)
    return pd.DataFrame(rows, columns=list(LTH_COLUMNS)), tickets


def _weights_of(net: Network) -> dict:
    return {lay.name: (lay.weight, lay.bias) for lay in net.weighted_layers}


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof 1; 0 for one seed) over seeds per round and variant."""
    g = rows.groupby(["round", "variant"], sort=True)
    out = g.agg(weights_remaining_fraction=("weights_remaining_fraction", "mean"),
                seeds=("seed", "count"),
                accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
                early_stop_iteration_mean=("early_stop_iteration", "mean"),
                early_stop_iteration_std=("early_stop_iteration", "std")).reset_index()
    out = out.fillna({"accuracy_std": 0.0, "early_stop_iteration_std": 0.0})
    order = {v: i for i, v in enumerate(VARIANTS)}
    out = out.sort_values(["round", "variant"], key=lambda s: s.map(order) if s.name == "variant" else s)
    return out.round(6).reset_index(drop=True)
