"""A report table as plain rows: ``python -m sim run`` prices and writes its CSVs without importing
pandas (about a third of a warm default run); the DataFrame is built on first use (``Table.frame``).

``Table.write_csv`` writes exactly what ``frame.to_csv(index=False, float_format="%.10g",
lineterminator="\\n")`` writes: each column is formatted by the dtype pandas would infer for it
(integers and bools as ``str``, a float column -- floats, possibly with integers and NaN/None --
with ``%.10g`` and NaN as an empty field, anything else with ``str``), through the same ``csv``
writer. ``Table.to_string`` prints what ``frame[columns].to_string(index=False)`` prints under a
callable ``display.float_format``. ``column_sum`` gives the bits of ``Series.sum()`` (numpy's
pairwise sum); ``group_sums`` is the correctly rounded sum per key (pandas' ``groupby().sum()``,
used before, can differ from it in the last bit).
"""
from __future__ import annotations

import csv
import math
import numbers
import os

import numpy as np

FLOAT_FORMAT = "%.10g"


class Table:
    """Rows (tuples in ``columns`` order) of one report table."""

    __slots__ = ("columns", "rows", "_frame")

    def __init__(self, columns, rows):
        self.columns = list(columns)
        self.rows = [tuple(r) for r in rows]
        self._frame = None

    def __repr__(self) -> str:
        return f"Table({len(self.rows)} rows: {', '.join(self.columns)})"

    @property
    def frame(self):
        """The rows as a pandas DataFrame (built once, on first use)."""
        if self._frame is None:
            import pandas as pd
            self._frame = pd.DataFrame(self.rows, columns=self.columns)
        return self._frame

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def write_csv(self, path: str | os.PathLike) -> None:
        formats = [_column_format([r[i] for r in self.rows])[1] for i in range(len(self.columns))]
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n", delimiter=",", quoting=csv.QUOTE_MINIMAL, doublequote=True,
                           escapechar=None, quotechar='"')
            w.writerow(self.columns)
            w.writerows([fmt(v) for fmt, v in zip(formats, row)] for row in self.rows)


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, (float, np.floating)) and math.isnan(v))


def _as_float(v) -> str:
    return "" if _is_missing(v) else FLOAT_FORMAT % v


def _as_object(v) -> str:
    return "" if _is_missing(v) else str(v)


def _column_format(values):
    """(kind, CSV formatter) of one column by the dtype pandas infers from its values: kind "b"
    (bool), "i" (int64), "f" (float64), "s" (all strings, maybe missing) or "o" (other objects)."""
    present = [v for v in values if not _is_missing(v)]
    if not present:  # all NaN: float64; all None: object; both write empty fields
        return "o", _as_object
    if len(present) == len(values) and all(isinstance(v, (bool, np.bool_)) for v in values):
        return "b", str
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in present)
    if numeric and len(present) == len(values) and all(isinstance(v, numbers.Integral) for v in values):
        return "i", str
    if numeric:  # a float, or an integer next to a float or a missing value: float64
        return "f", _as_float
    return ("s" if all(isinstance(v, str) for v in present) else "o"), _as_object


_ESCAPES = str.maketrans({"\t": r"\t", "\r": r"\r", "\n": r"\n"})


def to_string(table: Table, columns, float_format) -> str:
    """``table.frame[columns].to_string(index=False)`` with the callable ``float_format`` as
    ``display.float_format``, without pandas: numeric headers get pandas' leading space, every
    column is right-justified to its widest cell (``to_string`` cuts none), joined by one space.
    Tables it does not cover (no rows; bool or mixed-object columns) go through pandas."""
    cols = []
    for name in columns:
        values = table.column(name)
        kind, _ = _column_format(values)
        if not values or kind in ("b", "o"):
            import pandas as pd
            with pd.option_context("display.float_format", float_format):
                return table.frame[list(columns)].to_string(index=False)
        if kind == "f":
            cells, header = ["NaN" if _is_missing(v) else float_format(v) for v in values], " " + name
        elif kind == "i":
            cells, header = [f"{int(v):d}" for v in values], " " + name
        else:
            cells, header = ["NaN" if _is_missing(v) else v.translate(_ESCAPES) for v in values], name
        width = max(len(header), *map(len, cells))
        cols.append([header.rjust(width)] + [c.rjust(width) for c in cells])
    return "\n".join(" ".join(line) for line in zip(*cols))


def column_sum(values) -> float:
    """``Series.sum()`` of a float column: NaN skipped, numpy's pairwise summation."""
    arr = np.array([0.0 if _is_missing(v) else v for v in values], dtype=np.float64)
    return float(arr.sum())


def group_sums(keys, values) -> dict:
    """{key: correctly rounded sum of its values} (``math.fsum``, NaN skipped), keys in first-seen
    order: the layer energies of ``layers.csv``. Order-independent, unlike a running sum."""
    groups: dict = {}
    for k, v in zip(keys, values):
        groups.setdefault(k, [])
        if not _is_missing(v):
            groups[k].append(float(v))
    return {k: math.fsum(vs) for k, vs in groups.items()}
