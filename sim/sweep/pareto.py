"""Constraints and Pareto fronts over sweep rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .execute import STATUS_OK

BLOCK_ROWS = 256  # rows compared at once: a BLOCK x n x objectives boolean array stays small


def feasible(df: pd.DataFrame, constraints: dict) -> pd.Series:
    """True for rows that finished (status ok) and meet every constraint ``{column: (min, max)}``;
    a missing (NaN) value never meets a constraint."""
    ok = df["status"] == STATUS_OK
    for col, (low, high) in constraints.items():
        values = pd.to_numeric(df[col], errors="coerce")
        if low is not None:
            ok &= values >= low
        if high is not None:
            ok &= values <= high
    return ok


def non_dominated(costs: np.ndarray) -> np.ndarray:
    """Mask of rows of ``costs`` (n x k, every column minimized) that no other row dominates:
    no row is <= in every column and < in one. Equal rows do not dominate each other, so ties
    all stay on the front."""
    costs = np.asarray(costs, dtype=float)
    n = len(costs)
    keep = np.ones(n, dtype=bool)
    for start in range(0, n, BLOCK_ROWS):
        block = costs[start:start + BLOCK_ROWS, None, :]
        no_worse = np.all(costs[None, :, :] <= block, axis=2)
        better = np.any(costs[None, :, :] < block, axis=2)
        keep[start:start + BLOCK_ROWS] = ~np.any(no_worse & better, axis=1)
    return keep


def objective_costs(df: pd.DataFrame, objectives: dict) -> np.ndarray:
    """Objective columns as costs to minimize (maximized columns negated)."""
    cols = [pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float) * (-1.0 if sense == "maximize" else 1.0)
            for c, sense in objectives.items()]
    return np.column_stack(cols) if cols else np.empty((len(df), 0))


def pareto_front(df: pd.DataFrame, objectives: dict, constraints: dict) -> pd.DataFrame:
    """The feasible rows that are non-dominated for ``objectives`` ({column: minimize|maximize}),
    in the order of ``df``. Rows with a missing objective value are left out."""
    candidates = df[feasible(df, constraints)]
    costs = objective_costs(candidates, objectives)
    complete = ~np.isnan(costs).any(axis=1)
    candidates, costs = candidates[complete], costs[complete]
    return candidates[non_dominated(costs)]
