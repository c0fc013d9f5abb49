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

from .. import schema as S
from ..engine import dataflows
from ..errors import ConfigError, did_you_mean
from ..hardware import schema
from ..hardware.load import apply_overrides, read_hardware_dict, validate
from ..paths import resolve_beside
from ..run import ENGINES, EXECUTORS
from ..yamlfile import read_yaml
from .axes import Axes, parse_axes, parse_constraints, parse_objectives
from .checks import sweep_value_problems
from .compress import check_compression_axis, load_recipe_for_sweep

RUN_AXES = ("batch", "seed")  # axes that change the execution, not the hardware
HARDWARE_AXIS = "hardware"  # the base design file itself
COMPRESSION_PREFIX = "compression."
TOP = S.Record(dict, {
    "version": S.choice(1, 1), "name": S.Field("str", None, doc="default: the file's stem"),
    "description": S.Field("str", ""),
    "hardware": S.Field("any", None, doc="base hardware YAML (not needed when hardware is an axis)"),
    "model": S.Field("any", None, doc="model file (not needed when a compression recipe names it)"),
    "compression": S.Field("any", None, doc="{prune, quantize} or {recipe: FILE}"),
    "batch": S.posint(default=1), "seed": S.Field("int", 0, min=0),
    "engine": S.Field("choice", "auto", choices=ENGINES), "executor": S.Field("choice", "auto", choices=EXECUTORS),
    "data": S.Field("str", None, doc="folder with MNIST IDX files"),
    "set": S.Field("any", None, doc="dotted hardware keys fixed for every point"),
    "grid": S.Field("any", None), "zip": S.Field("any", None), "random": S.Field("any", None),
    "constraints": S.Field("any", None), "objectives": S.Field("any", None),
})
TOP_KEYS = tuple(TOP.fields)


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


def hardware_path_problem(dotted: str, data: dict, where: str) -> str | None:
    """Why ``dotted`` is not a hardware field of the base design ``data``, or None.

    Walks the schema and the base mapping together, so a buffer name that the base design does not
    have is caught here (with a did-you-mean over its buffers) rather than failing every point."""
    node, value = schema.SCHEMA, data
    parts = dotted.split(".")
    section_kinds = dataflows.kind_sections().get(parts[0])  # sections only some kinds of design have
    if section_kinds and data.get("kind") not in section_kinds:
        return (f"{where}: '{parts[0]}' belongs to {' / '.join(section_kinds)} designs; the base design is "
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


def _file(problems: list, data: dict, key: str, spec_file: str, required: bool) -> str | None:
    v = data.get(key)
    if v is None:
        if required:
            problems.append(f"{key}: missing; expected a file path")
        return None
    if not isinstance(v, str):
        problems.append(f"{key}: must be a file path; got {v!r}")
        return None
    path = resolve_beside(v, spec_file)
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


def _designs(problems: list, data: dict, path: str, axes: Axes, fixed: dict,
             compression: dict | None) -> dict:
    """{design as written: (file, raw mapping)}: the top-level design, or every file of a
    'hardware' axis; checks every hardware axis against each design, and the compression axes."""
    grid, zipped, random_axes, where_of = axes.grid, axes.zip, axes.random, axes.where
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
    path = str(path)
    data = read_yaml(path, "a sweep spec YAML")
    problems: list[str] = []
    S.check(TOP, data, "", problems)
    name = data.get("name") or Path(path).stem
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
    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        problems.append(f"set: must map dotted hardware keys to values; got {fixed!r}")
        fixed = {}

    axes = parse_axes(problems, data, fixed)
    designs = _designs(problems, data, path, axes, fixed, compression)
    hardware = data.get("hardware") if HARDWARE_AXIS not in axes.where else None
    constraints = parse_constraints(problems, data.get("constraints", {}))
    objectives = parse_objectives(problems, data.get("objectives"))
    if problems:
        raise ConfigError(path, problems)

    for design, (f, hw_data) in list(designs.items()):
        if fixed:
            hw_data = apply_overrides(hw_data, fixed, path)
        validate(hw_data, f"{f} (with the 'set' of {path})" if fixed else f)  # a broken base is a spec error
        designs[design] = (f, hw_data)
    problems = sweep_value_problems(axes.grid, axes.zip, axes.random, axes.samples, designs, constraints,
                                    HARDWARE_AXIS, compression, compression_file)
    if problems:
        raise ConfigError(path, problems)
    spec = SweepSpec(
        file=path, name=name, hardware=hardware, designs=designs, model_file=model_file,
        compression=compression, compression_file=compression_file, batch=data.get("batch", 1),
        seed=data.get("seed", 0), engine=data.get("engine", "auto"), executor=data.get("executor", "auto"),
        data_dir=data.get("data"), grid=axes.grid, zip=axes.zip, random=axes.random,
        random_samples=axes.samples, random_seed=axes.seed, constraints=constraints, objectives=objectives)
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