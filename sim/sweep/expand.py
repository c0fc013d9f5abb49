"""Spec -> the list of points: grid x zip x random samples, each with a stable id (a hash).

The id hashes the spec's fingerprint (base designs, model bytes, compression, batch, seed, engine)
together with the point's own axis values, so a rerun of the same spec finds the same ids and
an edited base design or model gives new ones.
"""
from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np

from .axes import RandomAxis
from .spec import COMPRESSION_PREFIX, HARDWARE_AXIS, RUN_AXES, SweepSpec, canonical_json

ID_HEX_DIGITS = 16  # 64 bits: collisions are negligible below billions of points


@dataclass(frozen=True)
class Point:
    """One design point: its position in the spec's order, its axis values and its id."""

    index: int
    values: dict
    point_id: str


def point_id(fingerprint: str, values: dict) -> str:
    text = canonical_json({"spec": fingerprint, "values": values})
    return hashlib.sha256(text.encode()).hexdigest()[:ID_HEX_DIGITS]


def _draw(axis: RandomAxis, rng: np.random.Generator):
    """One value of a random axis, as a plain Python scalar (so hashing and CSVs see 3, not np.int64(3))."""
    if axis.choices:
        return axis.choices[int(rng.integers(len(axis.choices)))]
    if axis.integer:
        if axis.log:
            # log-uniform over [low, high + 1) then floor: each integer gets its share of log space
            x = math.exp(rng.uniform(math.log(axis.low), math.log(axis.high + 1)))
            return int(min(axis.high, max(axis.low, math.floor(x))))
        return int(rng.integers(axis.low, axis.high + 1))
    if axis.log:
        return float(math.exp(rng.uniform(math.log(axis.low), math.log(axis.high))))
    return float(rng.uniform(axis.low, axis.high))


def random_samples(spec: SweepSpec) -> list[dict]:
    """``spec.random_samples`` draws of every random axis, from one generator seeded by the spec."""
    if not spec.random:
        return [{}]
    rng = np.random.default_rng(spec.random_seed)
    return [{axis: _draw(ra, rng) for axis, ra in spec.random.items()} for _ in range(spec.random_samples)]


def expand(spec: SweepSpec) -> list[Point]:
    """Every point of the spec in its fixed order: grid (first axis slowest), then zip, then random.

    Points with identical values (a repeated grid value, a repeated random draw) appear once."""
    grid = [dict(zip(spec.grid, combo)) for combo in itertools.product(*spec.grid.values())] if spec.grid else [{}]
    n_zip = len(next(iter(spec.zip.values()))) if spec.zip else 0
    zipped = [{axis: values[i] for axis, values in spec.zip.items()} for i in range(n_zip)] if spec.zip else [{}]
    sampled = random_samples(spec)
    points, seen = [], set()
    for g in grid:
        for z in zipped:
            for r in sampled:
                values = {**g, **z, **r}
                pid = point_id(spec.fingerprint, values)
                if pid in seen:
                    continue
                seen.add(pid)
                points.append(Point(len(points), values, pid))
    return points


def split_values(spec: SweepSpec, values: dict) -> tuple[str, dict, dict, dict]:
    """(base design, hardware overrides, compression overrides, run values) of one point."""
    design = values.get(HARDWARE_AXIS, spec.hardware)
    hw, comp, run = {}, {}, {}
    for axis, value in values.items():
        if axis == HARDWARE_AXIS:
            continue
        if axis in RUN_AXES:
            run[axis] = value
        elif axis.startswith(COMPRESSION_PREFIX):
            comp[axis[len(COMPRESSION_PREFIX):]] = value
        else:
            hw[axis] = value
    return design, hw, comp, run


def execution_key(spec: SweepSpec, values: dict) -> str:
    """Points with the same key share one execution (same compressed network, batch and seed):
    they differ only in hardware."""
    _, _, comp, run = split_values(spec, values)
    return canonical_json({"compression": comp, **run})
