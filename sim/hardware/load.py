"""Hardware YAML -> HardwareConfig, with ``key.path=value`` overrides (the CLI's ``--set``) validated like the file."""
from __future__ import annotations

import copy
import dataclasses
import os
from typing import Any, Iterable, Mapping

import yaml

from ..errors import ConfigError, did_you_mean
from ..validate import energy_table_problems, hardware_size_problems, value_problems
from ..yamlfile import load_yaml_text, read_yaml
from . import numerics, schema
from .spec import HardwareConfig


def read_hardware_dict(path: str | os.PathLike) -> dict:
    return read_yaml(path, "a hardware YAML file")


def parse_assignments(items: Iterable[str], file: str = "overrides") -> dict[str, Any]:
    """["pe_array.rows=32", ...] -> {"pe_array.rows": 32}; values parsed as YAML scalars."""
    out: dict[str, Any] = {}
    problems = []
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            problems.append(f"{item!r}: expected KEY=VALUE, e.g. pe_array.rows=32")
            continue
        try:
            out[key.strip()] = load_yaml_text(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
        problems.extend(value_problems(out[key.strip()], f"{key.strip()} (from --set)"))
    if problems:
        raise ConfigError(file, problems)
    return out


def apply_overrides(data: dict, overrides: Mapping[str, Any], file: str) -> dict:
    """Return a copy of ``data`` with dotted-path overrides applied. Unknown paths are errors."""
    data = copy.deepcopy(data)
    problems = []
    for dotted, value in overrides.items():
        node = schema.lookup(schema.SCHEMA, dotted)
        parts = dotted.split(".")
        if node is None:
            # find the deepest valid prefix to suggest a close key
            parent, choices = schema.SCHEMA, []
            for part in parts:
                if isinstance(parent, schema.MapOf):
                    parent = parent.item
                    continue
                if isinstance(parent, schema.Record) and part in parent.fields:
                    parent = parent.fields[part]
                else:
                    choices = list(parent.fields) if isinstance(parent, schema.Record) else []
                    break
            problems.append(f"{dotted}: unknown key (an override)" + did_you_mean(part, choices))
            continue
        target = data
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value
    if problems:
        raise ConfigError(file, problems)
    return numerics.mirror_overrides(data, dict(overrides))


def validate(data: dict, file: str) -> HardwareConfig:
    """Check a raw config mapping against the schema; raise one ConfigError with every problem."""
    problems: list[str] = []
    if not schema.KINDS:  # filled when sim.engine.dataflows is imported (importing sim does it)
        raise RuntimeError("no dataflow kinds are registered; import sim (or sim.engine.dataflows) first")
    data = numerics.resolve(data, problems)
    schema.check(schema.SCHEMA, data, "", problems)
    # NaN/inf or huge integers that --set, a sweep value or an API caller put where the schema takes
    # anything (files are checked when read); a field the schema already reported is not repeated
    reported = {p.split(":", 1)[0] for p in problems}
    problems += [p for p in value_problems(data) if p.split(":", 1)[0] not in reported]
    rule = schema.kind_rule(data) if isinstance(data, dict) else None
    if rule is not None:
        sections, kind_check = rule
        for section in sections:
            if section not in data:
                keys = ", ".join(list(schema.SCHEMA.fields[section].fields)[:4])
                problems.append(f"{section}: missing; a {data.get('kind')} design of this dataflow needs it "
                                f"({keys}, ...)")
    if not problems:
        pe = data.get("pe_array") or {}
        sp = pe.get("structured_sparsity")
        if isinstance(sp, dict) and not sp.get("n", 2) < sp.get("m", 4):
            problems.append(f"pe_array.structured_sparsity.n: must be < m ({sp.get('m', 4)}); got {sp.get('n', 2)}")
        held = {h for b in data["memory"]["buffers"].values() for h in
                ([b["holds"]] if isinstance(b["holds"], str) else b["holds"])}
        for needed in schema.DATA_KINDS:
            if needed not in held:
                problems.append(f"memory.buffers: no buffer holds {needed}; add it to some buffer's 'holds'")
        if rule is not None:
            kind_check(data, problems)
    if problems:
        raise ConfigError(file, problems)
    hw = schema.build(schema.SCHEMA, data)
    options = tuple((name, schema.build(rec, data.get(name, {}))) for name, rec in schema.KIND_OPTION_SECTIONS.items()
                    if name in data)
    if options:
        hw = dataclasses.replace(hw, options=options)
    problems = hardware_size_problems(hw)
    if not problems and schema.PRICER:
        problems = energy_table_problems(hw, schema.PRICER[0])
    if problems:
        raise ConfigError(file, problems)
    return _with_source(hw, file)


def _with_source(hw: HardwareConfig, file: str) -> HardwareConfig:
    return dataclasses.replace(hw, source=file)


def load_hardware(path: str | os.PathLike, overrides: Mapping[str, Any] | Iterable[str] | None = None) -> HardwareConfig:
    """Load and validate a hardware YAML (or a SCALE-Sim .cfg, converted by ``scalesim_cfg``).

    overrides: ``{"pe_array.rows": 32}`` or ``["pe_array.rows=32"]``, applied before validation.
    """
    path = str(path)
    from .scalesim_cfg import is_scalesim_cfg, scalesim_hardware_dict
    data = scalesim_hardware_dict(path) if is_scalesim_cfg(path) else read_hardware_dict(path)  # SCALE-Sim .cfg too
    if overrides:
        if not isinstance(overrides, Mapping):
            overrides = parse_assignments(overrides, file=path)
        data = apply_overrides(data, overrides, path)
    return validate(data, path)
