"""Up-front checks of a sweep spec's values, so a bad value is one error before the sweep starts
instead of a failed row at every point: each hardware axis value against the schema of each base
design, run axes (batch, seed) as integers, random ranges by their ends, constraint bounds in order,
and the number of points against ``MAX_SWEEP_POINTS``."""
from __future__ import annotations

import math

from .. import schema
from ..compression.recipe import QUANT_BITS, recipe_from_dict
from ..errors import ConfigError
from ..hardware.load import apply_overrides
from ..hardware.schema import SCHEMA
from ..limits import MAX_SWEEP_POINTS, short
from ..validate import value_problems
from .compress import ONE_SHOT, compression_with

RUN_MINIMUM = {"batch": 1, "seed": 0}


def point_count(grid: dict, zipped: dict, random_axes: dict, samples: int) -> int:
    """Points before de-duplication: grid product x zip length x random samples."""
    n = math.prod(len(v) for v in grid.values()) if grid else 1
    if zipped:
        n *= len(next(iter(zipped.values())))
    if random_axes:
        n *= max(samples, 1)
    return n


def _hardware_problems(axis: str, values: dict, designs: dict) -> list[str]:
    """Schema problems of ``axis`` alone when ``values`` ({axis: value, ...}) is set on each base design.

    Only problems about the axis itself count: a combination rule (eie needs zero skipping, say) may
    be met by another axis at the same point, and is checked there."""
    out: list[str] = []
    for f, base in designs.values():
        problems = value_problems(values)
        schema.check(SCHEMA, apply_overrides(base, values, f), "", problems)
        out.extend(p for p in problems if p.startswith((f"{axis}:", f"{axis} ")))
    return out


def _compression_problems(axis: str, value, compression: dict | None, recipe_file: str | None) -> list[str]:
    """Problems of one compression axis value: the recipe's own checker on the recipe with the value
    set (in memory), or the one-shot schema and its method's bit range."""
    if compression is None:
        return []
    dotted = axis[len("compression."):]
    data = compression_with(compression, {dotted: value})
    if "recipe" in compression:
        recipe = {k: v for k, v in data["recipe"].items() if k != "output_model"}
        try:
            recipe_from_dict(recipe, recipe_file)
        except ConfigError as exc:
            return list(exc.problems)
        return []
    problems: list[str] = []
    schema.check(ONE_SHOT, data, "compression", problems)
    if problems:  # "compression.prune.density: must be ..." -> "must be ..." (the caller names the axis)
        own = f"{axis}: "
        return [p[len(own):] if p.startswith(own) else p for p in problems]
    if dotted.startswith("quantize.bits"):
        method = (data.get("quantize") or {}).get("method", "kmeans")
        lo, hi = QUANT_BITS[method]
        values = value.values() if isinstance(value, dict) and dotted == "quantize.bits" else [value]
        if any(not lo <= b <= hi for b in values):
            return [f"must be an integer in [{lo}, {hi}] for {method}; got {short(value)}"]
    return []


def _value_problems(where: str, axis: str, value, designs: dict, is_hardware: bool,
                    compression=None, recipe_file=None) -> list[str]:
    if axis.startswith("compression."):
        return [f"{where} = {short(value)}: {p}" for p in _compression_problems(axis, value, compression, recipe_file)]
    if axis in RUN_MINIMUM:
        lo = RUN_MINIMUM[axis]
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            return [f"{where}: {axis} must be an integer >= {lo}; got {short(value)}"]
        return []
    if not is_hardware:
        return []
    return [f"{where} = {short(value)}: {p}" for p in dict.fromkeys(_hardware_problems(axis, {axis: value}, designs))]


def sweep_value_problems(grid: dict, zipped: dict, random_axes: dict, samples: int, designs: dict,
                         constraints: dict, hardware_axis, compression=None, recipe_file=None) -> list[str]:
    """Every problem with the values of a spec whose structure is already valid."""
    n = point_count(grid, zipped, random_axes, samples)
    if n > MAX_SWEEP_POINTS:
        sizes = " x ".join(str(len(v)) for v in grid.values()) or "1"
        return [f"grid: {n:.3g} points ({sizes} grid values x zip x random samples); a sweep may have at most "
                f"{MAX_SWEEP_POINTS:,}; split it or sample the space with 'random'"]
    problems: list[str] = []
    for col, (lo, hi) in constraints.items():
        if lo is not None and hi is not None and lo > hi:
            problems.append(f"constraints.{col}: min must be <= max; got min={short(lo)}, max={short(hi)}")

    def is_hw(axis: str) -> bool:
        return axis != hardware_axis and axis not in RUN_MINIMUM and not axis.startswith("compression.")

    for section, axes in (("grid", grid), ("zip", zipped)):
        for axis, values in axes.items():
            for i, value in enumerate(values):
                problems.extend(_value_problems(f"{section}.{axis}[{i}]", axis, value, designs, is_hw(axis),
                                                compression, recipe_file))
                if len(problems) > 50:
                    return problems
    for axis, ra in random_axes.items():
        where = f"random.axes.{axis}"
        ends = [(f"{where}[{i}]", v) for i, v in enumerate(ra.choices)] if ra.choices else \
            [(f"{where}.min", ra.low), (f"{where}.max", ra.high)]
        for w, value in ends:
            problems.extend(_value_problems(w, axis, value, designs, is_hw(axis), compression, recipe_file))
    return problems


def check_inputs_load(spec) -> None:
    """Load the spec's model (its recipe's, in recipe mode) once, so a broken model is one error up
    front rather than a failed row at every point (the recipe itself was checked by load_spec)."""
    from ..workload.load import load_network
    load_network(spec.model_file, seed=spec.seed)
