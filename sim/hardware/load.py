"""Hardware YAML -> HardwareConfig, with ``--set key.path=value`` overrides validated like the file."""
from __future__ import annotations

import copy
import os
from typing import Any, Iterable, Mapping

import yaml

from ..errors import ConfigError, did_you_mean
from ..validate import energy_table_problems, hardware_size_problems, value_problems
from ..yamlfile import load_yaml_text, read_yaml
from . import schema
from .energy import action_energies
from .spec import HardwareConfig


def read_hardware_dict(path: str | os.PathLike) -> dict:
    return read_yaml(path, "a hardware YAML file")


def parse_assignments(items: Iterable[str], file: str = "--set") -> dict[str, Any]:
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
            problems.append(f"{dotted}: unknown key (from --set)" + did_you_mean(part, choices))
            continue
        target = data
        for part in parts[:-1]:
            if not isinstance(target.get(part), dict):
                target[part] = {}
            target = target[part]
        target[parts[-1]] = value
    if problems:
        raise ConfigError(file, problems)
    return data


def validate(data: dict, file: str) -> HardwareConfig:
    """Check a raw config mapping against the schema; raise one ConfigError with every problem."""
    problems: list[str] = value_problems(data)  # NaN/inf from --set or sweep values (files are checked on read)
    schema.check(schema.SCHEMA, data, "", problems)
    kind = data.get("kind")
    if kind == "electronic" and "pe_array" not in data:
        problems.append("pe_array: missing; an electronic design needs a PE array (rows, cols, dataflow, ...)")
    if kind == "photonic" and "photonic" not in data:
        problems.append("photonic: missing; a photonic design needs its units and device table")
    if not problems:
        pe = data.get("pe_array") or {}
        if pe.get("dataflow") == "eie" and not (pe.get("skip_zero_acts") and pe.get("skip_zero_weights")):
            problems.append("pe_array.dataflow: 'eie' skips zero weights and activations; set "
                            "skip_zero_weights and skip_zero_acts to true")
        held = {h for b in data["memory"]["buffers"].values() for h in
                ([b["holds"]] if isinstance(b["holds"], str) else b["holds"])}
        for needed in schema.DATA_KINDS:
            if needed not in held:
                problems.append(f"memory.buffers: no buffer holds {needed}; add it to some buffer's 'holds'")
    if problems:
        raise ConfigError(file, problems)
    hw = schema.build(schema.SCHEMA, data)
    problems = hardware_size_problems(hw) or energy_table_problems(hw, action_energies)
    if problems:
        raise ConfigError(file, problems)
    return _with_source(hw, file)


def _with_source(hw: HardwareConfig, file: str) -> HardwareConfig:
    import dataclasses
    return dataclasses.replace(hw, source=file)


def load_hardware(path: str | os.PathLike, overrides: Mapping[str, Any] | Iterable[str] | None = None) -> HardwareConfig:
    """Load and validate a hardware YAML.

    overrides: ``{"pe_array.rows": 32}`` or ``["pe_array.rows=32"]``, applied before validation.
    """
    path = str(path)
    data = read_hardware_dict(path)
    if overrides:
        if not isinstance(overrides, Mapping):
            overrides = parse_assignments(overrides, file=path)
        data = apply_overrides(data, overrides, path)
    return validate(data, path)
