"""Resource limits checked before work starts, and short quoting of hostile values.

A file, a sweep or a batch that would take more than the machine has is bad input: it gets one
ConfigError saying what the limit is and what was asked, before anything is read or allocated.
"""
from __future__ import annotations

import math
import os
import reprlib

from .errors import ConfigError

MAX_YAML_BYTES = 2**20  # configs, models, recipes and specs are a few KB; weights live in .npz
MAX_CSV_BYTES = 8 * 2**20  # a SCALE-Sim topology has one short line per layer
MAX_CFG_BYTES = 2**20  # a SCALE-Sim .cfg has a few dozen lines
MAX_NPZ_BYTES = 2 * 2**30
MAX_ONNX_BYTES = 2 * 2**30  # protobuf's own ceiling
MAX_YAML_DEPTH = 64  # nesting levels of mappings/lists; real files use fewer than 8
MAX_YAML_NODES = 200_000  # values after expanding aliases (an alias bomb expands exponentially)
MAX_SWEEP_POINTS = 1_000_000
MAX_INT = 2**53  # integers beyond this lose exactness as floats and size nothing real
MEMORY_FRACTION = 0.5  # of physical memory one run may plan to use
MAX_QUOTE_CHARS = 80  # of a user's value quoted in a message

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = MAX_QUOTE_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3
_repr.maxlong = 40


def short(value) -> str:
    """repr of ``value`` cut to a readable length (huge strings, deep or long containers, big ints)."""
    return _repr.repr(value)


def clip(text: str, limit: int = 400) -> str:
    """``text`` cut to ``limit`` characters, marking the cut."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 20] + f"... ({len(text)} chars)"


def check_file_size(path: str, limit: int, what: str) -> None:
    """ConfigError if ``path`` is larger than ``limit`` bytes (checked before reading it)."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return  # the reader reports missing / unreadable files itself
    if size > limit:
        raise ConfigError(path, f"file is {human_bytes(size)}; {what} must be at most {human_bytes(limit)}")


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def memory_budget_bytes() -> int:
    """Bytes one run may plan to allocate: a fraction of physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(total * MEMORY_FRACTION)


def check_memory(file: str, where: str, nbytes: float, what: str) -> None:
    """ConfigError when an estimated allocation of ``nbytes`` exceeds the memory budget."""
    budget = memory_budget_bytes()
    if nbytes > budget:
        raise ConfigError(file, f"{where}: {what} needs about {human_bytes(nbytes)} of memory; this machine allows "
                                f"{human_bytes(budget)} (half its RAM)")


def size_problem(what: str, shape, itemsize: int = 4) -> str | None:
    """Why an array of ``shape`` is too large to allocate here, or None (exact integer arithmetic:
    numpy's int64 product would wrap around for hostile shapes)."""
    nbytes = math.prod(int(s) for s in shape) * itemsize
    budget = memory_budget_bytes()
    if nbytes > budget:
        return (f"{what} of shape {list(shape)[:6]} needs {human_bytes(nbytes)}; this machine allows "
                f"{human_bytes(budget)} (half its RAM)")
    return None
