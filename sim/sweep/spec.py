"""Sweep specs: a YAML file naming a base design, a model (optionally a compression recipe) and the
axes to vary, validated like hardware configs (every problem collected into one ConfigError).

    version: 1
    name: sonic_units                      # default: the file's stem
    hardware: hwconfigs/sonic.yaml         # base design (paths: beside the spec, the cwd, or the repo)
    model: models/lenet300.yaml
    compression: {prune: ..., quantize: ...}   # optional: a recipe mapping, or a recipe file
    batch: 1
    seed: 0
    engine: auto                           # auto | event | analytical
    set: {static_power_w: 0.1}             # fixed hardware overrides for every point
    grid:                                  # cartesian product, first axis slowest
      photonic.conv_units.count: [10, 25, 50]
    zip:                                   # lists of equal length, varied together
      pe_array.rows: [16, 32]
      pe_array.cols: [16, 32]
    random:                                # N samples drawn with a seed
      samples: 20
      seed: 1
      axes:
        photonic.fc_units.vector_width: {min: 10, max: 100}   # ints when both ends are ints
        clock_ghz: {min: 0.5, max: 2.0, log: true}
        pe_array.dataflow: [os, ws, is]                          # a list: uniform choice
    constraints: {power_w: {max: 10}}
    objectives: {energy_per_inference_pj: minimize, latency_s: minimize}

The points are grid x zip x random (each section optional, at least one present). An axis is a
hardware field by dotted path, ``compression.<dotted path>`` (see sweep/compress.py), ``batch``,
``seed``, or ``hardware`` itself (a list of design files; then ``hardware:`` at the top is not needed,
and every hardware axis must exist in each design).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, did_you_mean
from ..hardware import schema
from ..hardware.load import apply_overrides, read_hardware_dict, validate
from ..yamlfile import read_yaml, top_level_problems
from .checks import sweep_value_problems
from ..report.price import SUMMARY_COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[2]
TOP_KEYS = ("version", "name", "description", "hardware", "model", "compression", "batch", "seed", "engine",
            "executor", "data", "set", "grid", "zip", "random", "constraints", "objectives")
RANDOM_KEYS = ("samples", "seed", "axes")
RUN_AXES = ("batch", "seed")  # axes that change the execution, not the hardware
HARDWARE_AXIS = "hardware"  # the base design file itself
KIND_SECTIONS = {"pe_array": "electronic", "photonic": "photonic"}  # sections only one kind of design has
COMPRESSION_PREFIX = "compression."
ENGINES = ("auto", "event", "analytical")
EXECUTORS = ("auto", "kernels", "reference")
METRIC_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("model", "hwconfig"))
SENSES = ("minimize", "maximize")
DEFAULT_OBJECTIVES = {"energy_per_inference_pj": "minimize", "latency_s": "minimize"}


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
class SweepSpec:
    """A validated sweep spec. ``designs`` maps each base design (the path as written in the spec)
    to (resolved file, raw mapping with ``set`` applied); each point applies its own axis values on
    top and validates the result. ``hardware`` is the design used when it is not an axis."""

    file: str
    name: str
    hardware: str | None
    designs: dict
    model_file: str
    compression: dict | None
    compression_file: str | None
    batch: int
    seed: int
    engine: str
    executor: str
    data_dir: str | None
    grid: dict
    zip: dict
    random: dict  # axis -> RandomAxis
    random_samples: int
    random_seed: int
    constraints: dict  # column -> (min or None, max or None)
    objectives: dict  # column -> "minimize" | "maximize"
    fingerprint: str = field(default="")

    @property
    def axes(self) -> list[str]:
        """Axis names in column order: grid, then zip, then random."""
        return list(self.grid) + list(self.zip) + list(self.random)


def resolve(path: str, spec_file: str) -> str:
    """A path given in a spec: absolute, beside the spec, from the cwd, or from the repository."""
    if os.path.isabs(path):
        return path
    for base in (os.path.dirname(spec_file), os.getcwd(), str(REPO_ROOT)):
        candidate = os.path.normpath(os.path.join(base, path))
        if os.path.exists(candidate):
            return candidate
    return path


def hardware_path_problem(dotted: str, data: dict, where: str) -> str | None:
    """Why ``dotted`` is not a hardware field of the base design ``data``, or None.

    Walks the schema and the base mapping together, so a buffer name that the base design does not
    have is caught here (with a did-you-mean over its buffers) rather than failing every point."""
    node, value = schema.SCHEMA, data
    parts = dotted.split(".")
    section_kind = KIND_SECTIONS.get(parts[0])
    if section_kind and data.get("kind") != section_kind:
        return (f"{where}: '{parts[0]}' belongs to {section_kind} designs; the base design is "
                f"{data.get('kind')!r}")
    for i, part in enumerate(parts):
        if isinstance(node, schema.MapOf):
            names = list(value) if isinstance(value, dict) else []
            if part not in names:
                return (f"{where}: the base design has no entry '{part}' under {'.'.join(parts[:i])}"
                        + did_you_mean(part, names) + (f" (it has: {', '.join(names)})" if names else ""))
            node, value = node.item, value[part]
            continue
        if not isinstance(node, schema.Record):
            return f"{where}: '{'.'.join(parts[:i])}' is a single value; it has no key '{part}'"
        if part not in node.fields:
            return f"{where}: unknown hardware key '{part}'" + did_you_mean(part, node.fields)
        node = node.fields[part]
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(node, (schema.MapOf, schema.ListOf)):
        return f"{where}: names a whole collection; sweep one of its entries' fields instead"
    return None


def _values_list(problems: list, where: str, values) -> list:
    if not isinstance(values, list) or not values:
        problems.append(f"{where}: must be a non-empty list of values; got {values!r}")
        return []
    return values


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _random_axis(problems: list, where: str, raw) -> RandomAxis | None:
    if isinstance(raw, list):
        return RandomAxis(choices=tuple(raw)) if _values_list(problems, where, raw) else None
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be a list of choices or {{min, max, log}}; got {raw!r}")
        return None
    for key in raw:
        if key not in ("min", "max", "log"):
            problems.append(f"{where}.{key}: unknown key" + did_you_mean(str(key), ("min", "max", "log")))
    low, high, log = raw.get("min"), raw.get("max"), raw.get("log", False)
    if not _number(low) or not _number(high) or low > high:
        problems.append(f"{where}: needs numbers min <= max; got min={low!r}, max={high!r}")
        return None
    if not isinstance(log, bool):
        problems.append(f"{where}.log: must be true or false; got {log!r}")
        return None
    if log and low <= 0:
        problems.append(f"{where}: log sampling needs min > 0; got min={low!r}")
        return None
    return RandomAxis(low=low, high=high, integer=isinstance(low, int) and isinstance(high, int), log=log)


def _constraints(problems: list, raw) -> dict:
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
        if not all(_number(v) for v in bounds.values()):
            problems.append(f"{where}: bounds must be numbers; got {bounds!r}")
            continue
        out[col] = (bounds.get("min"), bounds.get("max"))
    return out


def _objectives(problems: list, raw) -> dict:
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


def _int_field(problems: list, data: dict, key: str, default: int, minimum: int) -> int:
    v = data.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        problems.append(f"{key}: must be an integer >= {minimum}; got {v!r}")
        return default
    return v


def _file(problems: list, data: dict, key: str, spec_file: str, required: bool) -> str | None:
    v = data.get(key)
    if v is None:
        if required:
            problems.append(f"{key}: missing; expected a file path")
        return None
    if not isinstance(v, str):
        problems.append(f"{key}: must be a file path; got {v!r}")
        return None
    path = resolve(v, spec_file)
    if not os.path.isfile(path):
        problems.append(f"{key}: file not found: {v}")
        return None
    return path


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes, plus those of the weights file a model YAML names (so editing
    weights changes every point's id, and a resumed sweep never mixes old and new results)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    if path.endswith((".yaml", ".yml")):
        try:
            with open(path, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            data = None
        weights = data.get("weights") if isinstance(data, dict) else None
        wpath = os.path.join(os.path.dirname(path), str(weights)) if isinstance(weights, str) else None
        if wpath and os.path.isfile(wpath):
            with open(wpath, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _axes(problems: list, data: dict, fixed: dict) -> tuple[dict, dict, dict, int, int, dict]:
    """(grid, zip, random axes, random samples, random seed, {axis: where it is declared})."""
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
        if not isinstance(raw, dict):
            problems.append(f"random: must be {{samples, seed, axes}}; got {raw!r}")
        else:
            for key in raw:
                if key not in RANDOM_KEYS:
                    problems.append(f"random.{key}: unknown key" + did_you_mean(str(key), RANDOM_KEYS))
            samples = _int_field(problems, raw, "samples", 0, 1) if "samples" in raw else 0
            if "samples" not in raw:
                problems.append("random.samples: missing; expected the number of points to draw")
            rseed = _int_field(problems, raw, "seed", 0, 0)
            axes = raw.get("axes")
            if not isinstance(axes, dict) or not axes:
                problems.append(f"random.axes: must map axes to a list of choices or {{min, max}}; got {axes!r}")
            else:
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
    return sections["grid"], sections["zip"], random_axes, samples, rseed, where_of


def _designs(problems: list, data: dict, path: str, axes: tuple, fixed: dict,
             compression: dict | None) -> dict:
    """{design as written: (file, raw mapping)}: the top-level design, or every file of a
    'hardware' axis; checks every hardware axis against each design, and the compression axes."""
    from .compress import check_compression_axis

    grid, zipped, random_axes, _, _, where_of = axes
    designs: dict[str, tuple[str, dict]] = {}
    if HARDWARE_AXIS in where_of:
        if data.get("hardware") is not None:
            problems.append("hardware: also an axis; remove the top-level hardware or the axis")
        choices = grid.get(HARDWARE_AXIS) or zipped.get(HARDWARE_AXIS) or (
            random_axes[HARDWARE_AXIS].choices if HARDWARE_AXIS in random_axes else ())
        if not choices:
            problems.append(f"{where_of[HARDWARE_AXIS]}: must be a list of hardware files")
        for design in choices:
            f = _file(problems, {HARDWARE_AXIS: design}, HARDWARE_AXIS, path, required=True)
            if f:
                designs[design] = (f, read_hardware_dict(f))
    else:
        f = _file(problems, data, "hardware", path, required=True)
        if f:
            designs[data["hardware"]] = (f, read_hardware_dict(f))
    for f, hw_data in designs.values():
        for key in fixed:
            msg = hardware_path_problem(str(key), hw_data, f"set.{key}")
            if msg:
                problems.append(msg + (f" ({f})" if len(designs) > 1 else ""))
        for axis, where in where_of.items():
            if axis in RUN_AXES or axis == HARDWARE_AXIS or axis.startswith(COMPRESSION_PREFIX):
                continue
            msg = hardware_path_problem(axis, hw_data, where)
            if msg:
                problems.append(msg + (f" ({f})" if len(designs) > 1 else ""))
    for axis, where in where_of.items():
        if axis.startswith(COMPRESSION_PREFIX):
            if compression is None:
                problems.append(f"{where}: a compression axis needs a 'compression' section in the spec")
            else:
                msg = check_compression_axis(axis[len(COMPRESSION_PREFIX):], compression, where)
                if msg:
                    problems.append(msg)
    return designs


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep YAML; raise one ConfigError listing every problem."""
    from .compress import load_recipe_for_sweep

    path = str(path)
    data = read_yaml(path, "a sweep spec YAML")
    problems: list[str] = top_level_problems(data, TOP_KEYS)
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        problems.append(f"name: must be a non-empty string; got {name!r}")
        name = Path(path).stem
    compression, compression_file = None, None
    if data.get("compression") is not None:
        compression, compression_file = load_recipe_for_sweep(problems, data["compression"], path)
    recipe_mode = compression is not None and "recipe" in compression
    if recipe_mode and "model" in data:
        problems.append("model: the compression recipe names the model; remove one of them")
    model_file = _file(problems, data, "model", path, required=not recipe_mode)
    if recipe_mode:
        model_file = os.path.normpath(os.path.join(os.path.dirname(compression_file),
                                                   str(compression["recipe"]["model"])))
    batch = _int_field(problems, data, "batch", 1, 1)
    seed = _int_field(problems, data, "seed", 0, 0)
    engine, executor = data.get("engine", "auto"), data.get("executor", "auto")
    if engine not in ENGINES:
        problems.append(f"engine: must be one of {', '.join(ENGINES)}; got {engine!r}")
    if executor not in EXECUTORS:
        problems.append(f"executor: must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    data_dir = data.get("data")
    if data_dir is not None and not isinstance(data_dir, str):
        problems.append(f"data: must be a folder path; got {data_dir!r}")
        data_dir = None
    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        problems.append(f"set: must map dotted hardware keys to values; got {fixed!r}")
        fixed = {}

    axes = _axes(problems, data, fixed)
    grid, zipped, random_axes, samples, rseed, where_of = axes
    designs = _designs(problems, data, path, axes, fixed, compression)
    hardware = data.get("hardware") if HARDWARE_AXIS not in where_of else None
    constraints = _constraints(problems, data.get("constraints", {}))
    objectives = _objectives(problems, data.get("objectives"))
    if problems:
        raise ConfigError(path, problems)

    for design, (f, hw_data) in list(designs.items()):
        if fixed:
            hw_data = apply_overrides(hw_data, fixed, path)
        validate(hw_data, f"{f} (with the 'set' of {path})" if fixed else f)  # a broken base is a spec error
        designs[design] = (f, hw_data)
    problems = sweep_value_problems(grid, zipped, random_axes, samples, designs, constraints, HARDWARE_AXIS,
                                    compression, compression_file)
    if problems:
        raise ConfigError(path, problems)
    spec = SweepSpec(
        file=path, name=name, hardware=hardware, designs=designs, model_file=model_file,
        compression=compression, compression_file=compression_file, batch=batch, seed=seed, engine=engine,
        executor=executor, data_dir=data_dir, grid=grid, zip=zipped, random=random_axes,
        random_samples=samples, random_seed=rseed, constraints=constraints, objectives=objectives)
    return _with_fingerprint(spec)


def _with_fingerprint(spec: SweepSpec) -> SweepSpec:
    """Hash of everything fixed that decides a point's result; each point id hashes it with the
    point's own values. Paths are left out on purpose: moving the checkout keeps the ids."""
    import dataclasses
    fixed = {
        "hardware": {k: d for k, (_, d) in spec.designs.items()}, "model": file_digest(spec.model_file),
        "compression": spec.compression, "batch": spec.batch, "seed": spec.seed,
        "engine": resolved_engine(spec.engine), "executor": spec.executor, "data": spec.data_dir,
    }
    digest = hashlib.sha256(canonical_json(fixed).encode()).hexdigest()
    return dataclasses.replace(spec, fingerprint=digest)


def resolved_engine(engine: str) -> str:
    """The engine "auto" stands for (part of a point's identity: the two give different results)."""
    return "event" if engine == "auto" else engine