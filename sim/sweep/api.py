"""``sim.sweep``: a design-space sweep from a spec (a SweepSpec or a spec YAML), in memory or
resumable in a folder; ``SweepResult.write(folder)`` writes the files of ``python -m sim sweep``.

    import sim
    result = sim.sweep("sweeps/compression.yaml", workers=2)
    result.points        # sweep.csv as a DataFrame: one row per point
    result.pareto        # the feasible, non-dominated points (pareto.csv)
    result.plot()        # pareto.png as a matplotlib Figure
    result.write("reports/sweeps/compression")
"""
from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import ConfigError
from ..paths import resolve_path
from ..report.html import html_table
from .execute import STATUS_ERROR, columns
from .expand import expand
from .pareto import feasible, pareto_front
from .runner import _Dask, backend_for, default_workers, evaluate, progress_bar
from .spec import SweepSpec, load_spec
from .store import SWEEP_CSV, MemoryStore, SweepStore, write_atomic


@dataclass
class SweepOutcome:
    """What one invocation did. ``remaining`` > 0 when ``limit`` stopped it early."""

    out_dir: Path | None
    points: int
    already_done: int
    computed: int
    errors: int
    remaining: int
    feasible: int
    pareto: int
    compute_s: float  # evaluating points (worker start-up and executions included, reports not)
    elapsed_s: float  # the whole call
    files: list[Path] = field(default_factory=list)

    @property
    def points_per_minute(self) -> float:
        return 60.0 * self.computed / self.compute_s if self.compute_s > 0 else float("nan")


@dataclass
class SweepResult:
    """The rows of a sweep: ``points`` (sweep.csv as a DataFrame), ``pareto`` (pareto.csv) and
    ``outcome`` (counts and timings of the call)."""

    spec: SweepSpec
    csv_text: str  # sweep.csv, byte for byte
    outcome: SweepOutcome

    @property
    def points(self) -> pd.DataFrame:
        return read_sweep(io.StringIO(self.csv_text))

    @property
    def pareto(self) -> pd.DataFrame:
        return pareto_front(self.points, self.spec.objectives, self.spec.constraints)

    @property
    def _model(self) -> str:
        from ..report.style import model_name
        return model_name(Path(self.spec.model_file).stem)

    def figures(self) -> dict:
        """{PNG file name: matplotlib Figure}: pareto.png and one vs_<axis>.png per axis."""
        from .plots import sweep_figures  # matplotlib only when plotting
        return sweep_figures(self.points, self.spec.axes, self.spec.objectives, self.spec.constraints, self._model)

    def plot(self, name: str = "pareto.png"):
        """The Pareto plot (or ``"vs_<axis>.png"``) as a matplotlib Figure; KeyError when no point finished."""
        return self.figures()[name]

    def write(self, folder: str | os.PathLike, plots: bool = True) -> list[Path]:
        """Write sweep.csv, pareto.csv and (with ``plots``) the PNGs into ``folder``; the paths written."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(out / SWEEP_CSV, self.csv_text.encode())
        df = self.points
        front = pareto_front(df, self.spec.objectives, self.spec.constraints)
        write_atomic(out / "pareto.csv", front.to_csv(index=False, float_format="%.10g", lineterminator="\n").encode())
        files = [out / SWEEP_CSV, out / "pareto.csv"]
        if plots:
            from .plots import plot_sweep
            files += plot_sweep(df, self.spec.axes, self.spec.objectives, self.spec.constraints, out, self._model)
        return files

    def _repr_html_(self) -> str:
        cols = ["point_id", "status"] + self.spec.axes + list(self.spec.objectives)
        o = self.outcome
        return html_table(self.pareto, f"{self.spec.name}: {o.points} points, {o.errors} failed, "
                                       f"{o.feasible} feasible, {o.pareto} on the Pareto front", cols)


def read_sweep(path) -> pd.DataFrame:
    """sweep.csv (a path or a text buffer) as a DataFrame; point ids stay strings (a hex id like
    123e4 is not a number)."""
    return pd.read_csv(path, dtype={"point_id": str, "status": str, "error": str}, keep_default_na=True)


def sweep(spec, workers: int | None = None, scheduler=None, limit: int | None = None, progress: bool = True,
          resume: str | os.PathLike | None = None) -> SweepResult:
    """Evaluate every point of ``spec`` (a SweepSpec or a sweep YAML).

    workers: local processes (default: all cores; 1 runs in this process). scheduler: a Dask
    scheduler address (or ``distributed.Client``) to run on instead. limit: evaluate at most this
    many points now. resume: a folder whose sweep.csv records each finished point as it completes
    (an interrupted sweep resumes there); without it nothing is written until ``write``.
    """
    if not isinstance(spec, SweepSpec):
        if not isinstance(spec, (str, os.PathLike)):
            raise TypeError(f"spec must be a SweepSpec or the path of a sweep YAML; got {type(spec).__name__}")
        spec = load_spec(resolve_path(spec))
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError("sim.sweep", f"workers: must be an integer >= 1; got {workers!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ConfigError("sim.sweep", f"limit: must be an integer >= 0; got {limit!r}")
    start = time.perf_counter()
    points = expand(spec)
    order = {p.point_id: p.index for p in points}
    # Connect to a cluster before touching the folder: a wrong address leaves nothing behind.
    backend = _Dask(scheduler) if scheduler is not None else None
    store = SweepStore(resume, columns(spec), set(order)) if resume is not None else MemoryStore(columns(spec))
    try:
        with store:
            done_before = len(store.rows)
            todo = [p for p in points if p.point_id not in store.rows]
            if limit is not None:
                todo = todo[:limit]
            compute_start = time.perf_counter()
            if todo:
                backend = backend or backend_for(workers or default_workers(), None)
                evaluate(spec, todo, backend, store, progress_bar(len(points), done_before, spec.name, progress))
            compute_s = time.perf_counter() - compute_start
            if resume is not None:
                store.finalize(order)
            text = store.text(order)
    finally:
        if backend is not None:
            backend.close()
    df = read_sweep(io.StringIO(text))
    finished = len(df)
    outcome = SweepOutcome(Path(resume) if resume is not None else None, len(points), done_before,
                           finished - done_before, errors=int((df["status"] == STATUS_ERROR).sum()),
                           remaining=len(points) - finished, feasible=int(feasible(df, spec.constraints).sum()),
                           pareto=len(pareto_front(df, spec.objectives, spec.constraints)), compute_s=compute_s,
                           elapsed_s=time.perf_counter() - start)
    return SweepResult(spec, text, outcome)


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, workers: int | None = None, scheduler=None,
              limit: int | None = None, progress: bool = True, plots: bool = True) -> SweepOutcome:
    """``sweep`` resumable in ``out_dir``, then its reports written there (what ``python -m sim sweep`` does)."""
    start = time.perf_counter()
    result = sweep(spec, workers=workers, scheduler=scheduler, limit=limit, progress=progress, resume=out_dir)
    outcome = result.outcome
    outcome.files = result.write(out_dir, plots=plots)
    outcome.elapsed_s = time.perf_counter() - start
    return outcome
