"""Write report tables atomically: a run either leaves complete CSVs or nothing."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..outdir import staged_output

if TYPE_CHECKING:
    import pandas as pd

    from .table import Table


def write_csv(df: pd.DataFrame | Table, path: str | os.PathLike) -> None:
    """Write one CSV (a DataFrame or a report ``Table``, the same bytes for the same rows) via a
    temporary file and rename, with fixed float formatting so the same inputs and seed give
    byte-identical files."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        if hasattr(df, "to_csv"):
            df.to_csv(tmp, index=False, float_format="%.10g", lineterminator="\n")
        else:
            df.write_csv(tmp)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_report_dir(out_dir: str | os.PathLike, tables: dict[str, pd.DataFrame | Table], extra_files=None) -> Path:
    """Write ``tables`` ({"summary.csv": df, ...}) into ``out_dir`` all at once: everything goes
    to a sibling temporary folder first, then moves in, so a failure leaves no partial report."""
    out = Path(out_dir)
    with staged_output(out) as staging:
        for name, df in tables.items():
            write_csv(df, staging / name)
        for name, writer in (extra_files or {}).items():
            writer(staging / name)
    return out
