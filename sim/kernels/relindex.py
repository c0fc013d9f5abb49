"""Entries of the column-wise relative-index format (EIE's interleaved CSC, Deep Compression's
filler zeros), counted in one row-major pass without building the index."""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def csc_relative_entries(w, index_bits):
    """Stored entries of ``w`` (rows x cols, C order) when each column keeps its nonzeros with a
    ``index_bits``-bit gap to the previous one, and a filler zero is stored whenever a gap exceeds
    ``2**index_bits - 1`` (each filler advances ``2**index_bits`` positions, EIE §III).

    Walks rows in memory order and keeps the last nonzero row of every column, so the pass is
    sequential over ``w``. Returns the entry count (nonzeros + fillers)."""
    rows, cols = w.shape
    span = 1 << index_bits
    last = np.full(cols, -1, dtype=np.int64)
    entries = 0
    for r in range(rows):
        for c in range(cols):
            if w[r, c] != 0:
                gap = r - last[c] - 1
                entries += 1 + gap // span
                last[c] = r
    return entries
