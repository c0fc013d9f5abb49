"""Pareto fronts and constraints over sweep rows."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sim.sweep.pareto import feasible, non_dominated, pareto_front


def test_non_dominated_by_hand():
    costs = np.array([[1, 5], [2, 2], [5, 1], [3, 3], [2, 2], [1, 6], [6, 6]])
    # [3,3] is dominated by [2,2]; [1,6] by [1,5]; [6,6] by all; the tied [2,2] rows both stay
    assert non_dominated(costs).tolist() == [True, True, True, False, True, False, False]


def test_non_dominated_matches_brute_force(rng):
    costs = rng.integers(0, 6, size=(300, 3)).astype(float)
    brute = [not any(np.all(o <= c) and np.any(o < c) for o in costs) for c in costs]
    assert non_dominated(costs).tolist() == brute


def test_front_respects_senses_constraints_and_status():
    df = pd.DataFrame({
        "point_id": list("abcdef"), "status": ["ok", "ok", "ok", "ok", "error", "ok"],
        "energy_per_inference_pj": [1.0, 2.0, 3.0, 0.5, 0.1, np.nan],
        "accuracy": [0.90, 0.95, 0.99, 0.80, 1.0, 1.0],
        "power_w": [1.0, 1.0, 9.0, 1.0, 1.0, 1.0],
    })
    objectives = {"energy_per_inference_pj": "minimize", "accuracy": "maximize"}
    assert pareto_front(df, objectives, {})["point_id"].tolist() == ["a", "b", "c", "d"]
    limited = {"power_w": (None, 5.0), "accuracy": (0.85, None)}
    assert feasible(df, limited).tolist() == [True, True, False, False, False, True]
    assert pareto_front(df, objectives, limited)["point_id"].tolist() == ["a", "b"]
