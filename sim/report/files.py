"""A run's report folder: summary.csv, layers.csv, energy.csv (+ timeline files on request)."""
from __future__ import annotations

import os
from pathlib import Path

from .write import write_report_dir


def write_run(result, out_dir: str | os.PathLike, timeline_layer: str | None = None, source: str | None = None):
    """Write the three CSVs of ``result`` (a sim.run.Result) into ``out_dir`` atomically; with
    ``source``, also ``model_source.txt`` naming the model file (see ``report_folder``)."""
    extra = {}
    if timeline_layer is not None:
        from .timeline import timeline_writers  # the event model records busy intervals
        extra = timeline_writers(result, timeline_layer)
    if source is not None:
        extra = dict(extra, **{SOURCE_FILE: lambda p: Path(p).write_text(_source_id(source) + "\n", encoding="utf-8")})
    t = result.tables
    return write_report_dir(out_dir, {"summary.csv": t["summary"], "layers.csv": t["layers"],
                                      "energy.csv": t["energy"]}, extra)


def print_summary(result, out_dir) -> None:
    """The per-layer table and the summary line of ``python -m sim run`` (without importing pandas)."""
    from .table import to_string
    summary = result.tables["summary"]
    s = dict(zip(summary.columns, summary.rows[0]))
    cols = ["layer", "type", "weight_density", "act_density", "macs", "effectual_macs", "cycles", "energy_pj",
            "utilization"]
    print(to_string(result.tables["layers"], cols, "{:.4g}".format))
    acc = "" if _missing(s["accuracy"]) else f"  accuracy {s['accuracy']:.4f}"
    print(f"\n{s['model']} on {s['hwconfig']} (batch {s['batch']}):{acc}")
    print(f"  latency {s['latency_s'] * 1e6:.3f} us   energy/inference {s['energy_per_inference_pj'] / 1e6:.4g} uJ   "
          f"power {s['power_w']:.4g} W   {s['fps']:.4g} FPS   {s['fps_per_w']:.4g} FPS/W   "
          f"EPB {s['energy_per_bit_pj']:.4g} pJ/bit")
    print(f"  reports in {out_dir}/")


def _missing(v) -> bool:
    return v is None or v != v


SOURCE_FILE = "model_source.txt"  # which model file a report folder was written for


def _source_id(source: str) -> str:
    return os.path.abspath(source) if source else ""


def report_folder(base: str | os.PathLike, source: str) -> str:
    """The default report folder for a model: ``base``, or ``base-2``, ``base-3``, ... when ``base``
    already holds the report of a different model file with the same name (two torch exports both
    called "main_graph", two ``model.onnx`` in different folders), so a run never silently
    overwrites another model's report. Reports record their model file in ``model_source.txt``;
    a folder without one (written before) is reused as before."""
    want = _source_id(source)
    candidate, n = str(base), 1
    while True:
        marker = Path(candidate) / SOURCE_FILE
        if not marker.exists() or marker.read_text(encoding="utf-8").strip() == want:
            return candidate
        n += 1
        candidate = f"{base}-{n}"
