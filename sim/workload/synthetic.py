"""Seeded synthetic weights at a stated density, for models that carry none (model YAMLs without
``weights``, SCALE-Sim topologies)."""
from __future__ import annotations

import numpy as np


def synthetic_weight(shape: tuple, density: float, rng: np.random.Generator) -> np.ndarray:
    """He-normal weights pruned by magnitude to exactly round(density * size) nonzeros."""
    fan_in = int(np.prod(shape[1:]))
    w = rng.standard_normal(shape, dtype=np.float32)
    w[w == 0] = np.finfo(np.float32).tiny  # float32 draws are exactly 0 about once in 7e6; 0 would mean pruned
    w *= np.float32(np.sqrt(2.0 / max(fan_in, 1)))
    keep = int(round(density * w.size))
    if keep < w.size:
        flat = w.reshape(-1)
        # Indices of the (size - keep) smallest magnitudes; partition is O(n) where a sort is O(n log n).
        drop = np.argpartition(np.abs(flat), w.size - keep - 1)[: w.size - keep] if keep else slice(None)
        flat[drop] = 0.0
    return w
