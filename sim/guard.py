"""Checks a run makes before it allocates: the seed, and the memory its batch of activations needs."""
from __future__ import annotations

import math

from .errors import ConfigError
from .limits import human_bytes, memory_budget_bytes
from .validate import check_count, check_seed

MAX_BATCH = 2**31  # samples; far beyond any memory, so the estimate below is what really bounds it
BYTES_PER_VALUE = 4  # float32 activations
LIVE_COPIES = 3  # a layer's input, its output and the executor's working copy are alive at once


def activation_bytes(net, batch: int) -> int:
    """Estimated peak bytes of a batch's activations: the widest layer input or output x the copies alive."""
    widest = max([math.prod(net.input_shape)] + [math.prod(lay.out_shape) for lay in net.layers]
                 + [math.prod(lay.in_shape) for lay in net.layers])
    return batch * widest * BYTES_PER_VALUE * LIVE_COPIES


def check_run_size(net, batch: int, seed) -> None:
    """ConfigError before anything is allocated when ``batch`` or ``seed`` is out of range, or the
    batch's activations would not fit in memory."""
    check_count(batch, "batch", 1, MAX_BATCH)
    check_seed(seed, "seed")
    need, budget = activation_bytes(net, batch), memory_budget_bytes()
    if need > budget:
        per = activation_bytes(net, 1)
        raise ConfigError("batch", f"{batch} samples of {net.name!r} need about {human_bytes(need)} of activations; "
                                   f"this machine allows {human_bytes(budget)} (at most {max(budget // per, 0)} "
                                   f"samples)")
