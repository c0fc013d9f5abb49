"""Lottery tickets (Frankle & Carbin 2019): iterative magnitude pruning with rewinding, and controls.

For every seed: train the dense network from its initialization theta_0, then for each round
prune ``rate`` of the remaining weights per layer (output layer at ``rate x
output_rate_factor``), rewind the survivors and retrain with the mask. Every round also trains
two controls at exactly the same per-layer densities:

- ``reinit``: the ticket's mask on a fresh draw from the same initializer (``init_weights``,
  He normal, zero biases) with a seed of its own;
- ``random_mask``: a random mask with the ticket's per-layer counts, on the rewound weights.

Rewinding. ``rewind_iteration`` 0 rewinds to theta_0 and every run trains the full budget
(``epochs x batches per epoch`` iterations). Late rewinding to iteration k (Frankle et al. 2019,
"Stabilizing the LTH") rewinds the weights to their values at iteration k of the dense run and
trains only the remaining budget - k iterations, resuming the dense run's mini-batch order at
k. Only the weights are rewound: Adam starts with zero moments and its bias correction restarts,
as a fresh optimizer does (open_lth also rewinds only the model). ``random_mask`` resumes at k
the same way; ``reinit`` is a fresh initialization, so it trains the full budget from 0.

Measurements per run, on one absolute iteration scale (counted from the dense run's iteration 0):

- ``early_stop_iteration``: Frankle & Carbin's, the evaluated iteration of minimum validation
  loss; ``accuracy`` is the test accuracy of the weights at that iteration;
- ``target_iteration``: the first evaluated iteration whose validation loss is at or below
  ``train.target_val_loss`` (empty when never reached). On digits the validation loss keeps
  falling for as long as we can afford to train (100% validation accuracy leaves only growing
  margins), so the minimum sits at the last evaluation for every variant and the early-stop
  iteration cannot show which network learns faster; the time to a fixed loss can.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..workload.network import Network
from .prune import density, full_masks, layer_rates, magnitude_masks, random_masks
from .train import TrainConfig, evaluate, init_weights, layer_weights, train, with_weights

VARIANTS = ("ticket", "reinit", "random_mask")
LTH_COLUMNS = ("round", "weights_remaining_fraction", "variant", "seed", "accuracy", "early_stop_iteration",
               "target_iteration", "val_accuracy")


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


def reinit_control(arch: Network, masks: dict, seed: int) -> Network:
    """The ``reinit`` control's starting network: ``masks`` on a fresh ``init_weights(arch, seed)``
    draw (the ticket's initializer and distribution, different values)."""
    fresh = init_weights(arch, seed)
    return with_weights(fresh, layer_weights(fresh), masks)


def random_mask_control(arch: Network, rewind: dict, masks: dict, rng: np.random.Generator) -> tuple[Network, dict]:
    """The ``random_mask`` control: (starting network, its masks), a uniformly random mask per layer
    with exactly as many kept weights as ``masks``, applied to the rewound weights ``rewind``."""
    rmask = random_masks(masks, rng)
    return with_weights(arch, rewind, rmask), rmask


def run_lottery(arch: Network, data, test: tuple, cfg: TrainConfig, lcfg: LotteryConfig,
                log=None, observe=None, source: str = "recipe") -> tuple[pd.DataFrame, dict]:
    """Run the experiment. data: (x_train, y_train, x_val, y_val); test: (x_test, y_test).

    log: called with one progress line per training run (elapsed seconds and runs done).
    observe: called as ``observe(seed, round, variant, start_net, masks, result)`` after each run
    (start_net: the network training began from; result: its TrainResult with the history).
    source: the file named by a ConfigError (a rewind iteration beyond the training budget).
    Returns (rows with LTH_COLUMNS, {seed: [trained ticket Network of each round, round 0 = dense]}).
    """
    per_epoch = -(-len(data[1]) // cfg.batch_size)
    total = per_epoch * cfg.epochs
    k = lcfg.rewind_iteration
    if k >= total:
        raise ConfigError(source, f"lottery.rewind_iteration: must be below the training budget of {total} "
                          f"iterations ({cfg.epochs} epochs x {per_epoch} mini-batches); got {k}")
    runs = len(lcfg.seeds) * (1 + lcfg.rounds * (1 + len(lcfg.controls)))
    rows, tickets = [], {}
    x_test, y_test = test
    clock = time.perf_counter()

    def record(rnd, masks, variant, seed, start, result):
        _, acc = evaluate(result.net, x_test, y_test)
        rows.append({"round": rnd, "weights_remaining_fraction": round(density(masks), 6), "variant": variant,
                     "seed": seed, "accuracy": round(acc, 6), "early_stop_iteration": result.best_iteration,
                     "target_iteration": result.target_iteration, "val_accuracy": round(result.val_accuracy, 6)})
        if observe:
            observe(seed, rnd, variant, start, masks, result)
        if log:
            reached = "-" if result.target_iteration is None else result.target_iteration
            log(f"[{len(rows):3d}/{runs} {time.perf_counter() - clock:5.0f} s] seed {seed} round {rnd:2d} "
                f"{variant:11s} weights {density(masks):7.2%} test acc {acc:.4f} early stop "
                f"{result.best_iteration} val loss target at {reached}")

    for seed in lcfg.seeds:
        theta0 = init_weights(arch, seed)
        dense = train(theta0, data, cfg, seed=seed, snapshot_iterations=(k,) if k else (),
                      desc=f"lth seed {seed} dense")
        rewind = dense.snapshots[k] if k else layer_weights(theta0)
        masks = full_masks(dense.net)
        record(0, masks, "ticket", seed, theta0, dense)
        trained = dense.net
        tickets[seed] = [dense.net]
        mask_rng = np.random.default_rng(_seed_seq(seed, 1))
        for rnd in range(1, lcfg.rounds + 1):
            rates = layer_rates(trained, lcfg.rate, lcfg.output_rate_factor)
            masks = magnitude_masks(trained, "percentile", rates=rates, scope=lcfg.scope, masks=masks)
            start = with_weights(arch, rewind, masks)
            ticket = train(start, data, cfg, seed=seed, masks=masks, start_iteration=k,
                           desc=f"lth seed {seed} round {rnd} ticket")
            record(rnd, masks, "ticket", seed, start, ticket)
            trained = ticket.net
            tickets[seed].append(ticket.net)
            if "reinit" in lcfg.controls:
                start = reinit_control(arch, masks, _seed_seq(seed, 2, rnd))
                res = train(start, data, cfg, seed=seed, masks=masks, desc=f"lth seed {seed} round {rnd} reinit")
                record(rnd, masks, "reinit", seed, start, res)
            if "random_mask" in lcfg.controls:
                start, rmask = random_mask_control(arch, rewind, masks, mask_rng)
                res = train(start, data, cfg, seed=seed, masks=rmask, start_iteration=k,
                            desc=f"lth seed {seed} round {rnd} random mask")
                record(rnd, rmask, "random_mask", seed, start, res)
    out = pd.DataFrame(rows, columns=list(LTH_COLUMNS))
    out["target_iteration"] = out["target_iteration"].astype("Int64")  # empty cell: target never reached
    return out, tickets


def summarize(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation (ddof 1; 0 for one seed) over seeds per round and variant.

    ``target_iteration`` statistics are over the seeds that reached the target; ``target_reached``
    counts them (a run that never reached it only says "more than the budget").
    """
    g = rows.groupby(["round", "variant"], sort=True)
    target = rows["target_iteration"].astype(float)
    out = g.agg(weights_remaining_fraction=("weights_remaining_fraction", "mean"),
                seeds=("seed", "count"),
                accuracy_mean=("accuracy", "mean"), accuracy_std=("accuracy", "std"),
                early_stop_iteration_mean=("early_stop_iteration", "mean"),
                early_stop_iteration_std=("early_stop_iteration", "std")).reset_index()
    speed = target.groupby([rows["round"], rows["variant"]]).agg(["count", "mean", "std"])
    speed.columns = ["target_reached", "target_iteration_mean", "target_iteration_std"]
    out = out.merge(speed.reset_index(), on=["round", "variant"])
    reached = out["target_reached"] > 0
    out.loc[reached, "target_iteration_std"] = out.loc[reached, "target_iteration_std"].fillna(0.0)
    out = out.fillna({"accuracy_std": 0.0, "early_stop_iteration_std": 0.0})
    order = {v: i for i, v in enumerate(VARIANTS)}
    out = out.sort_values(["round", "variant"], key=lambda s: s.map(order) if s.name == "variant" else s)
    return out.round(6).reset_index(drop=True)
