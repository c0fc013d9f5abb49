"""How long PE arrays take for a tile of work: systolic folds and EIE's per-PE activation queues.

Systolic arrays follow SCALE-Sim v2's compute model (scalesim/compute/systolic_compute_{os,ws,is}.py,
read, not copied). A layer is a GEMM ``ifmap (Npix x K) @ filter (K x M)`` with ``Npix`` output
pixels (x batch), ``K`` the filter window (C/groups x kh x kw) and ``M`` filters. Each dataflow
keeps one operand in the R x C array, folds the spatial dimensions ``Sr`` (over rows) and ``Sc``
(over columns) onto it, and streams the temporal dimension ``T`` through it:

    dataflow  Sr    Sc    T     cycles per fold (fill + stream + drain)
    os        Npix  M     K     R + C + T - 2        (operands skewed in, outputs shifted out)
    ws        K     M     Npix  2R + C + T - 2       (R cycles to load the weights, then as os)
    is        K     Npix  M     2R + C + T - 2       (R cycles to load the inputs, then as os)

    folds = ceil(Sr / R) * ceil(Sc / C)        (partial folds still pay the full R and C skew)
    compute cycles = folds * cycles per fold

SCALE-Sim prints ``compute cycles - 1`` (its "Total Cycles" is the 0-based index of the cycle of
the last output write): its golden test, AlexNet conv1 on a 32 x 32 WS array (Npix 3025, K 363,
M 96: 12 x 3 folds of 64 + 32 + 3025 - 2 = 3119 cycles), reports 112283 = 36 x 3119 - 1.

EIE (Han et al., ISCA 2016) broadcasts each nonzero input activation (one per cycle from the
leading-nonzero detector) to 64 PEs; PE ``p`` owns output rows ``r`` with ``r mod P == p`` and
spends one cycle per stored entry of its slice of that column. A FIFO of ``depth`` activations
per PE lets fast PEs run ahead, so a column can be broadcast only once every PE has started the
column ``depth`` places earlier (Fig. 8: depth 8 saturates load balance).
"""
from __future__ import annotations

import numpy as np
from numba import njit

SYSTOLIC_DATAFLOWS = ("os", "ws", "is")


def scalesim_operands(dataflow: str, n_pix: int, k: int, m: int) -> tuple[int, int, int]:
    """(Sr, Sc, T) of SCALE-Sim for a GEMM of ``n_pix`` x ``k`` by ``k`` x ``m``."""
    if dataflow == "os":
        return n_pix, m, k
    if dataflow == "ws":
        return k, m, n_pix
    if dataflow == "is":
        return k, n_pix, m
    raise ValueError(f"unknown systolic dataflow {dataflow!r}; expected one of {SYSTOLIC_DATAFLOWS}")


def fill_drain_cycles(dataflow: str, rows: int, cols: int) -> int:
    """Cycles of one fold beyond its T streaming cycles: skew fill and drain (plus the R cycles to
    preload the stationary operand in ws/is)."""
    if dataflow == "os":
        return rows + cols - 2
    return 2 * rows + cols - 2


def fold_counts(dataflow: str, rows: int, cols: int, n_pix: int, k: int, m: int) -> tuple[int, int, int]:
    """(row folds, column folds, T) of one GEMM on a ``rows`` x ``cols`` array."""
    sr, sc, t = scalesim_operands(dataflow, n_pix, k, m)
    return -(-sr // rows), -(-sc // cols), t


def scalesim_compute_cycles(dataflow: str, rows: int, cols: int, n_pix: int, k: int, m: int) -> int:
    """SCALE-Sim's stall-free compute cycles of one GEMM (one more than its printed "Total Cycles")."""
    row_folds, col_folds, t = fold_counts(dataflow, rows, cols, n_pix, k, m)
    return row_folds * col_folds * (t + fill_drain_cycles(dataflow, rows, cols))


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
