"""Reading a user's YAML file (hardware config, model, recipe, sweep spec) into a mapping, with
every I/O or syntax problem turned into a ConfigError naming the file (and line, column)."""
from __future__ import annotations

import os

import yaml

from .errors import ConfigError


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, except that a key given twice in one mapping is an error (PyYAML keeps
    the last silently, so a typo'd copy of a block would override the real one unseen)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike, what: str = "a YAML file") -> dict:
    """The top-level mapping of ``path``; ConfigError if missing, unreadable, not YAML or not a mapping."""
    path = str(path)
    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if not os.path.isfile(path):
        raise ConfigError(path, f"is not a file; expected {what}")
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_UniqueKeyLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(path, f"{where}not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(path, f"top level must be a mapping of keys; got {type(data).__name__}")
    return data
