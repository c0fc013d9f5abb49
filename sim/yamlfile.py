"""Reading a user's YAML file (hardware config, model, recipe, sweep spec) into a mapping, with
every I/O or syntax problem turned into a ConfigError naming the file (and line, column).

The loader is PyYAML's safe loader made strict: a key repeated in one mapping is an error (PyYAML
keeps the last silently), nesting deeper than ``MAX_YAML_DEPTH`` and aliases that expand past
``MAX_YAML_NODES`` values (a "billion laughs" file) are rejected while composing, before any object
is built, and the file size is checked before it is read. NaN, inf and huge integers anywhere are
rejected after loading (no field takes them).
"""
from __future__ import annotations

import os

import yaml
from yaml.nodes import MappingNode, SequenceNode

from .errors import ConfigError, did_you_mean
from .limits import MAX_YAML_BYTES, MAX_YAML_DEPTH, MAX_YAML_NODES, human_bytes, short
from .validate import check_values

MERGE_TAG = "tag:yaml.org,2002:merge"


class Rejected(yaml.YAMLError):
    """A file the strict loader refuses; ``problem_mark`` says where."""

    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, deep nesting and alias bombs."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise Rejected(f"nested more than {MAX_YAML_DEPTH} levels deep", self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self):
        node = super().compose_document()
        _check_expanded_size(node)
        return node

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            first: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = self.construct_object(key_node)
                if key in first:
                    raise Rejected(f"duplicate key {short(key)} (first on line {first[key] + 1}); each key may "
                                   "appear once in a mapping", key_node.start_mark)
                first[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def _children(node):
    if isinstance(node, SequenceNode):
        return node.value
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return ()


def _check_expanded_size(root) -> None:
    """Count values with aliases expanded (iteratively, memoized by node), without building them."""
    if root is None:
        return
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(node))
            if size[key] > MAX_YAML_NODES:
                raise Rejected(f"aliases expand to more than {MAX_YAML_NODES} values (an alias bomb?)",
                               node.start_mark)
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise Rejected("an alias refers to a mapping or list that contains it (recursive data)", node.start_mark)
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in size)


def load_yaml_text(text: str):
    """Parse YAML text with the strict loader (raises yaml.YAMLError subclasses)."""
    return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader


def read_yaml(path: str | os.PathLike, what: str = "a YAML file") -> dict:
    """The top-level mapping of ``path``; ConfigError if missing, unreadable, too large, not YAML,
    not a mapping, or holding duplicate keys, NaN/inf or hostile nesting."""
    path = str(path)
    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if not os.path.isfile(path):
        raise ConfigError(path, f"is not a file; expected {what}")
    size = os.path.getsize(path)
    if size > MAX_YAML_BYTES:
        raise ConfigError(path, f"file is {human_bytes(size)}; {what} must be at most {human_bytes(MAX_YAML_BYTES)}")
    try:
        with open(path, encoding="utf-8") as f:
            data = load_yaml_text(f.read())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or exc
        if isinstance(exc, Rejected):
            raise ConfigError(path, f"{where}{problem}") from None
        raise ConfigError(path, f"{where}not valid YAML ({problem})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file ({exc})") from None
    except (RecursionError, MemoryError):
        raise ConfigError(path, "too deeply nested or too large to read") from None
    if not isinstance(data, dict):
        raise ConfigError(path, f"top level must be a mapping of keys; got {type(data).__name__}")
    check_values(data, path)
    return data


def top_level_problems(data: dict, allowed) -> list[str]:
    """Problems with a file's top-level keys: unknown ones (with a did-you-mean) and a version other than 1."""
    problems = [f"{short(key)}: unknown key" + did_you_mean(str(key)[:200], allowed) if not isinstance(key, str)
                or len(key) > 80 else f"{key}: unknown key" + did_you_mean(key, allowed)
                for key in data if key not in allowed]
    if data.get("version", 1) != 1:
        problems.append(f"version: must be 1; got {short(data.get('version'))}")
    return problems
