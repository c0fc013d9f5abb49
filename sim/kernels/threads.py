"""How many threads a kernel call gets.

Small layers run on the calling thread alone: on a busy machine (here, 2 cores shared with other
processes) a parallel region waits for its slowest thread, and a descheduled thread costs
milliseconds, far more than a small layer's whole work.
"""
from __future__ import annotations

from contextlib import contextmanager

import numba

PARALLEL_MIN_MACS = 250_000  # below this many MACs per call, one thread (2 threads win from ~0.3 M on a quiet machine)


def threads_for(macs: int) -> int:
    """Threads for a kernel call doing ``macs`` multiply-accumulates."""
    return 1 if macs < PARALLEL_MIN_MACS else numba.config.NUMBA_NUM_THREADS


@contextmanager
def threads(n: int):
    """Run the enclosed kernel calls on ``n`` numba threads, then restore the previous count."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    try:
        yield
    finally:
        numba.set_num_threads(before)
