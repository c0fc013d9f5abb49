"""The axes of a sweep spec (``grid``, ``zip``, ``random``) and its ``constraints`` and
``objectives``, checked with every problem collected (sim.schema's field checks for the fixed
keys; the rules that tie keys together are here)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import schema as S
from ..errors import did_you_mean
from ..report.price import SUMMARY_COLUMNS

METRIC_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("model", "hwconfig"))
SENSES = ("minimize", "maximize")
DEFAULT_OBJECTIVES = {"energy_per_inference_pj": "minimize", "latency_s": "minimize"}
RANDOM = S.Record(dict, {
    "samples": S.posint("the number of points to draw"), "seed": S.Field("int", 0, min=0),
    "axes": S.Field("any", S.REQUIRED, doc="axes mapped to a list of choices or {min, max, log}"),
})
RANGE = S.Record(dict, {"min": S.Field("any", S.REQUIRED), "max": S.Field("any", S.REQUIRED), "log": S.flag(False)})
BOUNDS = S.Record(dict, {"min": S.Field("number", None), "max": S.Field("number", None)})


@dataclass(frozen=True)
class RandomAxis:
    """One randomly sampled axis: ``choices`` (uniform pick) or a [low, high] range; ``integer``
    ranges draw integers inclusive of both ends; ``log`` draws uniformly in log space."""

    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False


@dataclass(frozen=True)
class Axes:
    """grid and zip ({axis: values}), random ({axis: RandomAxis}) with its sample count and seed,
    and where each axis is declared (for messages)."""

    grid: dict
    zip: dict
    random: dict
    samples: int
    seed: int
    where: dict


def _values_list(problems: list, where: str, values) -> list:
    if not isinstance(values, list) or not values:
        problems.append(f"{where}: must be a non-empty list of values; got {values!r}")
        return []
    return values


def _random_axis(problems: list, where: str, raw) -> RandomAxis | None:
    if isinstance(raw, list):
        return RandomAxis(choices=tuple(raw)) if _values_list(problems, where, raw) else None
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a list of choices or {{min, max, log}}; got {raw!r}")
        return None
    n = len(problems)
    S.check(RANGE, raw, where, problems)
    if len(problems) > n:
        return None
    low, high, log = raw["min"], raw["max"], raw.get("log", False)
    if not S.is_number(low) or not S.is_number(high) or low > high:
        problems.append(f"{where}: needs numbers min <= max; got min={low!r}, max={high!r}")
        return None
    if log and low <= 0:
        problems.append(f"{where}: log sampling needs min > 0; got min={low!r}")
        return None
    return RandomAxis(low=low, high=high, integer=isinstance(low, int) and isinstance(high, int), log=log)


def parse_axes(problems: list, data: dict, fixed: dict) -> Axes:
    """The axes of a spec mapping; problems appended (an axis that is also fixed under ``set``, or
    declared in two sections, is one)."""
    sections: dict[str, dict] = {"grid": {}, "zip": {}}
    for section in ("grid", "zip"):
        raw = data.get(section)
        if raw is None:
            continue
        if not isinstance(raw, dict) or not raw:
            problems.append(f"{section}: must map axes (dotted keys) to lists of values; got {raw!r}")
            continue
        for axis, values in raw.items():
            sections[section][str(axis)] = tuple(_values_list(problems, f"{section}.{axis}", values))
        lengths = {len(v) for v in sections["zip"].values()} if section == "zip" else set()
        if len(lengths) > 1:
            sizes = ", ".join(f"{a}: {len(v)}" for a, v in sections["zip"].items())
            problems.append(f"zip: lists must have equal lengths; got {sizes}")

    random_axes, samples, rseed = {}, 0, 0
    raw = data.get("random")
    if raw is not None:
        n = len(problems)
        S.check(RANDOM, raw, "random", problems)
        if isinstance(raw, dict):
            samples, rseed = raw.get("samples", 0), raw.get("seed", 0)
            axes = raw.get("axes")
            if len(problems) == n and (not isinstance(axes, dict) or not axes):
                problems.append(f"random.axes: must map axes to a list of choices or {{min, max}}; got {axes!r}")
            elif isinstance(axes, dict):
                for axis, spec in axes.items():
                    ra = _random_axis(problems, f"random.axes.{axis}", spec)
                    if ra is not None:
                        random_axes[str(axis)] = ra
    if not sections["grid"] and not sections["zip"] and raw is None:
        problems.append("grid: missing; a sweep needs at least one of grid, zip or random")
    where_of = {}
    for section, axes in (("grid", sections["grid"]), ("zip", sections["zip"]), ("random.axes", random_axes)):
        for axis in axes:
            if axis in where_of:
                problems.append(f"{section}.{axis}: already an axis in {where_of[axis].split('.')[0]}; "
                                "vary each key in one section")
            where_of.setdefault(axis, f"{section}.{axis}")
            if axis in fixed:
                problems.append(f"{section}.{axis}: also fixed under 'set'; remove one")
    return Axes(sections["grid"], sections["zip"], random_axes, samples, rseed, where_of)


def parse_constraints(problems: list, raw) -> dict:
    """{summary column: (min or None, max or None)}."""
    out = {}
    if not isinstance(raw, dict):
        problems.append(f"constraints: must map a summary column to {{min, max}}; got {raw!r}")
        return out
    for col, bounds in raw.items():
        where = f"constraints.{col}"
        if col not in METRIC_COLUMNS:
            problems.append(f"{where}: not a summary column" + did_you_mean(str(col), METRIC_COLUMNS))
            continue
        if not isinstance(bounds, dict) or not bounds or any(k not in ("min", "max") for k in bounds):
            problems.append(f"{where}: must be {{min: x}}, {{max: y}} or both; got {bounds!r}")
            continue
        n = len(problems)
        S.check(BOUNDS, bounds, where, problems)
        if len(problems) == n:
            out[col] = (bounds.get("min"), bounds.get("max"))
    return out


def parse_objectives(problems: list, raw) -> dict:
    """{summary column: "minimize" | "maximize"} (energy and latency, minimized, by default)."""
    if raw is None:
        return dict(DEFAULT_OBJECTIVES)
    if not isinstance(raw, dict) or not raw:
        problems.append(f"objectives: must map summary columns to minimize|maximize; got {raw!r}")
        return {}
    out = {}
    for col, sense in raw.items():
        if col not in METRIC_COLUMNS:
            problems.append(f"objectives.{col}: not a summary column" + did_you_mean(str(col), METRIC_COLUMNS))
        elif sense not in SENSES:
            problems.append(f"objectives.{col}: must be minimize or maximize; got {sense!r}")
        else:
            out[col] = sense
    return out
