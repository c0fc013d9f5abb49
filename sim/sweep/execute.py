"""Evaluate sweep points: worker-side code, the same in a local process pool, in-process, or on a
Dask worker.

Executing the network (kernels + WorkProfile, and compression before it) is the expensive part and
depends only on the compression values, batch and seed; each worker keeps the last few executions,
so every point that changes only hardware re-costs a cached execution (DESIGN.md: a sweep over
hardware reuses one execution).
"""
from __future__ import annotations

import csv
import io
import math
import threading
from collections import OrderedDict

from ..errors import ConfigError, SimulationError
from ..hardware.load import apply_overrides, validate
from ..report.price import SUMMARY_COLUMNS
from .expand import Point, execution_key, split_values
from .spec import SweepSpec

STATUS_OK, STATUS_ERROR = "ok", "error"
FIXED_COLUMNS = ["point_id", "status", "error"]
CACHE_SIZE = 4  # executions kept per worker; a big model's WorkProfile can be large

_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()  # Dask workers may run tasks on several threads of one process


def columns(spec: SweepSpec) -> list[str]:
    """sweep.csv's header: id, status, error, one column per axis, then `sim run`'s summary columns."""
    return FIXED_COLUMNS + spec.axes + SUMMARY_COLUMNS


def format_value(v) -> str:
    """CSV text of one cell: floats with 10 significant digits (as report.write does), NaN and
    None empty, and no newlines, so that each row is exactly one line of the file."""
    if v is None:
        return ""
    if isinstance(v, float) or type(v).__name__.startswith("float"):
        v = float(v)
        return "" if math.isnan(v) else format(v, ".10g")
    if type(v).__name__.startswith("int") and not isinstance(v, bool):
        return str(int(v))
    text = v if isinstance(v, str) else str(v)
    return " ".join(text.split()) if ("\n" in text or "\r" in text) else text


def format_row(cells: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([format_value(c) for c in cells])
    return buf.getvalue()


def error_text(exc: BaseException) -> str:
    """One line: a ConfigError's own message, or the exception type and message for anything else."""
    if isinstance(exc, (ConfigError, SimulationError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def _build_execution(spec: SweepSpec, values: dict):
    from ..run import prepare
    from ..workload.load import load_network
    from .compress import compress, compression_with

    _, _, comp, run = split_values(spec, values)
    seed = run.get("seed", spec.seed)
    net = load_network(spec.model_file, seed=seed)
    if spec.compression is not None:
        net = compress(net, compression_with(spec.compression, comp), spec.file, spec.compression_file, seed,
                       spec.data_dir)
    return prepare(net, batch=run.get("batch", spec.batch), seed=seed, data_dir=spec.data_dir,
                   executor=spec.executor)


def execution_for(spec: SweepSpec, values: dict):
    """The cached execution for this point's compression/batch/seed, building it on a miss.

    A failure is cached too: every point sharing it records the same error without recomputing."""
    key = (spec.fingerprint, execution_key(spec, values))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            entry = _cache[key]
        else:
            try:
                entry = (_build_execution(spec, values), None)
            except Exception as exc:  # recorded per point; the sweep goes on
                entry = (None, exc)
            _cache[key] = entry
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    if entry[1] is not None:
        raise entry[1]
    return entry[0]


def evaluate_point(spec: SweepSpec, point: Point) -> str:
    """One finished row of sweep.csv (a full line), status ok or error."""
    from ..run import summarize

    axis_cells = [point.values.get(a) for a in spec.axes]
    try:
        design, hw_values, _, _ = split_values(spec, point.values)
        _, base = spec.designs[design]
        label = f"{design} (point {point.point_id})"
        hw = validate(apply_overrides(base, hw_values, label) if hw_values else base, label)
        summary = summarize(hw, execution_for(spec, point.values), spec.engine).iloc[0]
        return format_row([point.point_id, STATUS_OK, ""] + axis_cells + [summary[c] for c in SUMMARY_COLUMNS])
    except Exception as exc:  # a point that fails validation or simulation is recorded, not fatal
        return format_row([point.point_id, STATUS_ERROR, error_text(exc)] + axis_cells + [None] * len(SUMMARY_COLUMNS))


def evaluate_chunk(spec: SweepSpec, points: list[Point]) -> list[tuple[int, str]]:
    """(point index, CSV line) for each point of a chunk; the unit of work sent to a worker."""
    return [(p.index, evaluate_point(spec, p)) for p in points]
