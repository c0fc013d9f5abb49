"""Compact HTML tables for Jupyter (``_repr_html_`` of every API result)."""
from __future__ import annotations

import html

import pandas as pd

MAX_ROWS = 12  # a notebook cell shows the head and tail beyond this
FLOAT_FORMAT = "{:.4g}".format


def html_table(df: pd.DataFrame, caption: str, columns: list[str] | None = None, max_rows: int = MAX_ROWS) -> str:
    """``df`` (optionally only ``columns``) as a small HTML table with a caption; floats with 4
    significant digits; long tables show their first and last rows and say how many there are."""
    shown = df[[c for c in columns if c in df]] if columns else df
    note = ""
    if len(shown) > max_rows:
        half = max_rows // 2
        shown = pd.concat([shown.head(half), shown.tail(half)])
        note = f" ({len(df)} rows; first and last {half} shown)"
    body = shown.to_html(index=False, float_format=FLOAT_FORMAT, na_rep="", border=0, classes="sim-table")
    return f"<div><p><b>{html.escape(caption)}</b>{html.escape(note)}</p>{body}</div>"
