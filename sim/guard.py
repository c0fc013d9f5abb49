"""Checks a run makes before it allocates: the batch and the seed. The memory a run needs depends
on its execution mode (shapes allocates no activations at all), so it is checked once, for the
mode chosen, by ``sim.execution.modes.check_fits`` (``choose_mode`` calls it for every mode)."""
from __future__ import annotations

from .validate import check_count, check_seed

MAX_BATCH = 2**31  # samples; far beyond any memory, so the mode's memory estimate is what really bounds it


def check_run_size(net, batch: int, seed) -> None:
    """ConfigError before anything is allocated when ``batch`` or ``seed`` is out of range."""
    check_count(batch, "batch", 1, MAX_BATCH)
    check_seed(seed, "seed")
