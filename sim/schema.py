"""The one field-table mechanism that checks every input kind: hardware configs, models, recipes
and sweep specs.

Each leaf is a ``Field`` (type, range, unit, default, source); a ``Record`` maps keys to fields and
names the dataclass it builds; ``ListOf`` / ``MapOf`` hold repeated records (or fields);
``ByLayerType`` is a value given once or per layer type (``{fc: 4, conv: 8}``). ``check`` collects
every problem into a list of "key.path: what was expected; got what" strings; ``build`` turns a
checked mapping into dataclasses, filling defaults; ``lookup`` finds the node at a dotted path;
``validate`` is check + build raising one ConfigError.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError, did_you_mean

REQUIRED = object()
LAYER_TYPES = ("fc", "conv")  # the keys of a per-layer-type value


@dataclass(frozen=True)
class Field:
    type: str  # "number" | "int" | "bool" | "str" | "choice" | "str_list" | "int_list" | "overrides" | "any"
    default: Any = REQUIRED
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False  # min is exclusive: value must be > min
    choices: tuple = ()  # "choice": the allowed values; "str_list": allowed items (empty: any string)
    unit: str = ""
    doc: str = ""
    exclusive_max: bool = False  # max is exclusive: value must be < max
    source: str = ""  # where a default comes from (paper, datasheet) when it is a fact


@dataclass(frozen=True)
class Record:
    cls: type
    fields: dict
    optional: bool = False  # the whole record may be absent (builds None, or its defaults if ``fill``)
    doc: str = ""
    fill: bool = False  # an absent optional record builds from {} (all defaults) instead of None
    omit: tuple = ()  # keys that are checked but not passed to ``cls`` (e.g. version, description)


@dataclass(frozen=True)
class ListOf:
    item: Any  # Record or Field
    min_len: int = 1


@dataclass(frozen=True)
class MapOf:
    """Mapping of user-chosen names to records (the name is passed as the record's ``name``) or
    to leaf values (builds a dict)."""

    item: Any  # Record or Field
    min_len: int = 1


@dataclass(frozen=True)
class ByLayerType:
    """A value given once for every layer or per layer type: ``4`` or ``{fc: 4, conv: 8}``."""

    item: Field

    @property
    def default(self):
        return self.item.default


def pos(unit: str = "", doc: str = "", default=REQUIRED) -> Field:
    return Field("number", default, min=0, exclusive_min=True, unit=unit, doc=doc)


def nonneg(unit: str = "", doc: str = "", default=REQUIRED) -> Field:
    return Field("number", default, min=0, unit=unit, doc=doc)


def posint(doc: str = "", default=REQUIRED, max: int | None = None) -> Field:
    return Field("int", default, min=1, max=max, doc=doc)


def flag(default: bool, doc: str = "") -> Field:
    return Field("bool", default, doc=doc)


def fraction(default=REQUIRED, doc: str = "", open_low: bool = False, open_high: bool = False) -> Field:
    """A number in [0, 1] (ends exclusive on request)."""
    return Field("number", default, min=0, max=1, exclusive_min=open_low, exclusive_max=open_high, doc=doc)


def choice(default, *choices, doc: str = "") -> Field:
    return Field("choice", default, choices=tuple(choices), doc=doc)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_ok(f: Field, value) -> str | None:
    """Problem text for a leaf value, or None when it is fine."""
    t = f.type
    if t == "any" or (value is None and f.default is None):
        return None  # anything goes / an optional value given as null
    if t == "bool":
        return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
    if t == "str":
        return None if isinstance(value, str) else f"must be a string; got {value!r}"
    if t == "choice":
        return None if value in f.choices else f"must be one of {', '.join(map(str, f.choices))}; got {value!r}"
    if t == "str_list":
        if isinstance(value, str) and f.choices:
            value = [value]
        bad = not isinstance(value, list) or (f.choices and f.min != 0 and not value) or any(
            not isinstance(v, str) or (f.choices and v not in f.choices) for v in value)
        if bad:
            what = f"drawn from {', '.join(f.choices)}" if f.choices else "of strings"
            return f"must be a list {what}; got {value!r}"
        return None
    if t == "int_list":
        if not isinstance(value, list) or not value or any(_number_problem(f, v, "int") for v in value):
            return f"must be a non-empty list of integers{_range_text(f)}; got {value!r}"
        return None
    if t == "overrides":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and "." in k and is_number(v) and math.isfinite(v) and v >= 0
                for k, v in value.items()):
            return f"must map 'component.action' to a number of pJ >= 0; got {value!r}"
        return None
    problem = _number_problem(f, value, t)
    return problem and problem.format(got=repr(value))


def _number_problem(f: Field, value, t: str) -> str | None:
    """The problem of a number or integer, with ``{got}`` left to fill; None when fine."""
    if t == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"must be an integer{_range_text(f)}; got {{got}}"
    if t == "number" and not (is_number(value) and math.isfinite(value)):
        return f"must be a finite number{_range_text(f)}{_unit_text(f)}; got {{got}}" if is_number(value) \
            else f"must be a number{_range_text(f)}{_unit_text(f)}; got {{got}}"
    low_bad = f.min is not None and (value <= f.min if f.exclusive_min else value < f.min)
    high_bad = f.max is not None and (value >= f.max if f.exclusive_max else value > f.max)
    if not (low_bad or high_bad):
        return None
    what = "an integer" if t == "int" else "a number"
    if f.min is not None and f.max is not None:
        return f"must be {what}{_range_text(f)}{_unit_text(f)}; got {{got}}"
    what = "an integer " if t == "int" else ""
    if low_bad:
        return f"must be {what}{'>' if f.exclusive_min else '>='} {f.min:g}{_unit_text(f)}; got {{got}}"
    return f"must be {what}{'<' if f.exclusive_max else '<='} {f.max:g}{_unit_text(f)}; got {{got}}"


def _range_text(f: Field) -> str:
    if f.min is not None and f.max is not None:
        return (f" in {'(' if f.exclusive_min else '['}{f.min:g}, {f.max:g}{')' if f.exclusive_max else ']'}")
    if f.min is not None:
        return f" {'>' if f.exclusive_min else '>='} {f.min:g}"
    if f.max is not None:
        return f" {'<' if f.exclusive_max else '<='} {f.max:g}"
    return ""


def _unit_text(f: Field) -> str:
    return f" ({f.unit})" if f.unit else ""


def check(node, value, path: str, problems: list[str]) -> None:
    """Validate ``value`` against schema ``node``; append problems; never raises."""
    if isinstance(node, Field):
        msg = _type_ok(node, value)
        if msg:
            problems.append(f"{path}: {msg}")
        return
    if isinstance(node, ByLayerType):
        if isinstance(value, dict):
            for key, v in value.items():
                if key not in LAYER_TYPES:
                    problems.append(f"{path}.{key}: unknown layer type; expected {' or '.join(LAYER_TYPES)}")
                else:
                    check(node.item, v, f"{path}.{key}", problems)
        else:
            check(node.item, value, path, problems)
        return
    if isinstance(node, (ListOf, MapOf)):
        if isinstance(node, MapOf):
            if not isinstance(value, dict) or len(value) < node.min_len:
                problems.append(f"{path}: must be a mapping of names to entries; got {value!r}")
                return
            for name, item in value.items():
                check(node.item, item, f"{path}.{name}", problems)
        else:
            if not isinstance(value, list) or len(value) < node.min_len:
                problems.append(f"{path}: must be a list of at least {node.min_len} entries; got {value!r}")
                return
            for i, item in enumerate(value):
                check(node.item, item, f"{path}[{i}]", problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{path or 'top level'}: must be a mapping of keys; got {value!r}")
        return
    prefix = f"{path}." if path else ""
    for key in value:
        if key not in node.fields:
            problems.append(f"{prefix}{key}: unknown key" + did_you_mean(str(key), node.fields))
    for key, sub in node.fields.items():
        if key in value:
            check(sub, value[key], prefix + key, problems)
        elif _required(sub):
            problems.append(f"{prefix}{key}: missing; expected {_describe(sub)}")


def _required(node) -> bool:
    if isinstance(node, (Field, ByLayerType)):
        return node.default is REQUIRED
    if isinstance(node, Record):
        return not node.optional
    return True


def _describe(node) -> str:
    if isinstance(node, ByLayerType):
        return f"{_describe(node.item)}, or {{fc: ..., conv: ...}}"
    if isinstance(node, Field):
        if node.type == "choice":
            return f"one of {', '.join(map(str, node.choices))}"
        what = {"int": "an integer", "number": "a number", "bool": "true or false", "str": "a string",
                "str_list": "a list of strings", "int_list": "a list of integers"}.get(node.type, node.type)
        return f"{what}{_range_text(node)}{_unit_text(node)}" + (f" ({node.doc})" if node.doc else "")
    if isinstance(node, Record):
        return f"a section with keys {', '.join(node.fields)}"
    return "a list" if isinstance(node, ListOf) else "a mapping of names to entries"


def build(node, value, name: str | None = None):
    """Construct dataclasses from a value that ``check`` accepted, filling defaults."""
    if isinstance(node, Field):
        if value is None:
            return None
        if node.type in ("str_list", "int_list"):
            return tuple([value] if isinstance(value, str) else value)
        if node.type == "overrides":
            return tuple(sorted((str(k), float(v)) for k, v in value.items()))
        if node.type == "number" and value is not None:
            return float(value)
        return value
    if isinstance(node, ByLayerType):
        return {k: build(node.item, v) for k, v in value.items()} if isinstance(value, dict) \
            else build(node.item, value)
    if isinstance(node, MapOf):
        if isinstance(node.item, Field):
            return {str(k): build(node.item, v) for k, v in value.items()}
        return tuple(build(node.item, v, name=str(k)) for k, v in value.items())
    if isinstance(node, ListOf):
        return tuple(build(node.item, v) for v in value)
    kwargs = {}
    for key, sub in node.fields.items():
        if key in node.omit:
            continue
        if key in value:
            kwargs[key] = build(sub, value[key])
        elif isinstance(sub, (Field, ByLayerType)):
            kwargs[key] = build(sub, sub.default) if sub.default is not REQUIRED else None
        elif isinstance(sub, Record) and sub.optional and sub.fill:
            kwargs[key] = build(sub, {})
        else:
            kwargs[key] = None
    if name is not None:
        kwargs["name"] = name
    return node.cls(**kwargs)


class Problems:
    """Collects every problem of one file, then raises a single ConfigError (for checks that a
    field table cannot express, e.g. a layer's shape against the one before it)."""

    def __init__(self, file: str):
        self.file, self.items = file, []

    def add(self, path: str, msg: str) -> None:
        self.items.append(f"{path}: {msg}")

    def check(self, node, value, path: str) -> bool:
        """``check`` ``value`` against ``node``, collecting here; whether it passed."""
        n = len(self.items)
        check(node, value, path, self.items)
        return len(self.items) == n

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.file, self.items)


def validate(node, value, file: str, path: str = ""):
    """``check`` then ``build``: the built value, or one ConfigError naming ``file`` and every problem."""
    problems: list[str] = []
    check(node, value, path, problems)
    if problems:
        raise ConfigError(file, problems)
    return build(node, value)


def lookup(node, dotted: str):
    """Schema node at a dotted path (MapOf entries match any name), or None."""
    for part in dotted.split("."):
        if isinstance(node, MapOf):
            node = node.item
            continue
        if not isinstance(node, Record) or part not in node.fields:
            return None
        node = node.fields[part]
    return node
