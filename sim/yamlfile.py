"""Reading a user's YAML file (hardware config, model, recipe, sweep spec) into a mapping, with
every I/O or syntax problem turned into a ConfigError naming the file (and line, column)."""
from __future__ import annotations

import os

import yaml

from .errors import ConfigError, did_you_mean


def read_yaml(path: str | os.PathLike, what: str = "a YAML file") -> dict:
    """The top-level mapping of ``path``; ConfigError if missing, unreadable, not YAML or not a mapping."""
    path = str(path)
    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if not os.path.isfile(path):
        raise ConfigError(path, f"is not a file; expected {what}")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, f"top level must be a mapping of keys; got {type(data).__name__}")
    return data


def top_level_problems(data: dict, allowed) -> list[str]:
    """Problems with a file's top-level keys: unknown ones (with a did-you-mean) and a version other than 1."""
    problems = [f"{key}: unknown key" + did_you_mean(str(key), allowed) for key in data if key not in allowed]
    if data.get("version", 1) != 1:
        problems.append(f"version: must be 1; got {data.get('version')!r}")
    return problems
