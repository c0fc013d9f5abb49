"""How long EIE's PEs take for a tile of work: per-PE column work and activation queues (the
systolic fold formulas live with their kind, ``dataflows/systolic.py``).

EIE (Han et al., ISCA 2016) broadcasts each nonzero input activation (one per cycle from the
leading-nonzero detector) to 64 PEs; PE ``p`` owns output rows ``r`` with ``r mod P == p`` and
spends one cycle per stored entry of its slice of that column. A FIFO of ``depth`` activations
per PE lets fast PEs run ahead, so a column can be broadcast only once every PE has started the
column ``depth`` places earlier (Fig. 8: depth 8 saturates load balance).
"""
from __future__ import annotations

import numpy as np
from numba import njit

@njit(cache=True)
def eie_column_work(weight, n_pes, index_span, cols, out, fillers):
    """Entries PE ``p`` processes for each selected column: its nonzeros in that column plus
    the padding zeros EIE's relative index needs when a gap between two of its rows is
    ``index_span`` or more (published.md §2.2). ``weight``: (rows, columns) float array;
    ``cols``: int64 column indices; ``out``: (n_pes, len(cols)) int64 and ``fillers``: (n_pes,)
    int64 padding entries per PE, both filled (added to)."""
    n_rows = weight.shape[0]
    n_cols = cols.shape[0]
    last = np.full((n_pes, n_cols), -1, dtype=np.int64)  # last local row with a stored entry
    for r in range(n_rows):
        p = r % n_pes
        local = r // n_pes
        for c in range(n_cols):
            if weight[r, cols[c]] != 0:
                pad = (local - last[p, c] - 1) // index_span
                out[p, c] += 1 + pad
                fillers[p] += pad
                last[p, c] = local


@njit(cache=True)
def queue_finish_cycles(work, depth, out_finish):
    """Finish cycle of every PE when columns are broadcast one per cycle into per-PE FIFOs of
    ``depth`` entries. ``work``: (n_pes, n_columns) cycles; ``out_finish``: (n_pes,) int64, filled.
    depth 0 means lockstep: a column is broadcast only when every PE finished the previous one.
    Returns the cycle of the last broadcast + 1 (the detector's own time)."""
    n_pes, n_cols = work.shape
    finish = np.zeros(n_pes, dtype=np.int64)
    ring = max(depth, 1)
    started = np.zeros((n_pes, ring), dtype=np.int64)  # start cycle of the last `ring` columns
    bcast = -1
    for j in range(n_cols):
        b = bcast + 1  # the detector emits one nonzero activation per cycle
        if depth == 0:
            for p in range(n_pes):
                b = max(b, finish[p])
        elif j >= depth:
            slot = j % ring  # column j - depth: its start frees a FIFO entry
            for p in range(n_pes):
                b = max(b, started[p, slot])
        for p in range(n_pes):
            s = max(b, finish[p])
            finish[p] = s + work[p, j]
            started[p, j % ring] = s
        bcast = b
    for p in range(n_pes):
        out_finish[p] = finish[p]
    return bcast + 1
