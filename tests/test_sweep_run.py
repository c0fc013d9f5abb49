"""Running sweeps: rows and columns, failing points, resume (after --limit and after kill -9),
execution reuse, the Dask path, and the CLI."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

import sim.run  # noqa: F401  (loads the module patched below)
from sim.errors import ConfigError
from sim.report.price import SUMMARY_COLUMNS
from sim.sweep import execute as sweep_execute
from sim.sweep import load_spec, read_sweep, run_sweep
from sim.sweep.store import SweepStore
from sweep_helpers import ROOT, write_spec

# eie points fail (it needs zero skipping, off in systolic.yaml): a rule of the whole point, so a
# failed row, where a value the schema rejects alone (rows 0) is an error before the sweep starts
GRID = {"pe_array.rows": [8, 32], "pe_array.cols": [4, 16], "pe_array.dataflow": ["ws", "os", "eie"]}


@pytest.fixture(autouse=True)
def fresh_cache():
    sweep_execute._cache.clear()
    yield
    sweep_execute._cache.clear()


def test_rows_columns_and_a_failing_point(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid=GRID))
    out = run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)
    df = read_sweep(tmp_path / "out" / "sweep.csv")
    assert list(df.columns) == ["point_id", "status", "error"] + list(GRID) + SUMMARY_COLUMNS
    assert len(df) == 12 and out.computed == 12 and out.errors == 4
    bad = df[df["pe_array.dataflow"] == "eie"]
    assert (bad["status"] == "error").all()
    assert bad["error"].str.contains("'eie' skips zero weights").all()
    assert bad["energy_pj"].isna().all()
    good = df[df["pe_array.dataflow"] != "eie"]
    assert (good["status"] == "ok").all() and good["energy_pj"].gt(0).all()
    # more PEs never take more cycles on the same work
    small = good[(good["pe_array.rows"] == 8) & (good["pe_array.cols"] == 4)]["cycles"]
    large = good[(good["pe_array.rows"] == 32) & (good["pe_array.cols"] == 16)]["cycles"]
    assert large.max() <= small.min()
    pareto = pd.read_csv(tmp_path / "out" / "pareto.csv", dtype={"point_id": str})
    assert 1 <= len(pareto) <= 8 and set(pareto["point_id"]) <= set(good["point_id"])


def test_resume_after_a_limited_run_gives_the_uninterrupted_csv(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid=GRID))
    whole = run_sweep(spec, tmp_path / "whole", workers=1, progress=False, plots=False)
    first = run_sweep(spec, tmp_path / "parts", workers=1, limit=5, progress=False, plots=False)
    assert first.computed == 5 and first.remaining == 7
    second = run_sweep(spec, tmp_path / "parts", workers=1, progress=False, plots=False)
    assert second.already_done == 5 and second.computed == 7 and second.remaining == 0
    third = run_sweep(spec, tmp_path / "parts", workers=1, progress=False, plots=False)
    assert third.computed == 0
    assert (tmp_path / "parts" / "sweep.csv").read_bytes() == (tmp_path / "whole" / "sweep.csv").read_bytes()
    assert whole.pareto == third.pareto


def test_an_execution_is_computed_once_for_all_hardware_points(tmp_path, monkeypatch):
    calls = []
    run_module = sys.modules["sim.run"]  # `sim.run` is also the name of the function sim exports
    real = run_module.prepare
    monkeypatch.setattr(run_module, "prepare", lambda *a, **k: calls.append(k.get("batch")) or real(*a, **k))
    spec = load_spec(write_spec(tmp_path, grid={"pe_array.rows": [8, 16, 32], "batch": [1, 2]}))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)
    assert sorted(calls) == [1, 2]


def test_torn_tail_is_dropped_and_duplicates_are_healed(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid=GRID))
    run_sweep(spec, tmp_path / "ref", workers=1, progress=False, plots=False)
    ref = (tmp_path / "ref" / "sweep.csv").read_bytes()
    lines = ref.splitlines(keepends=True)
    out = tmp_path / "out"
    out.mkdir()
    # what a kill mid-append would leave (a torn last row), plus a repeated row
    (out / "sweep.csv").write_bytes(b"".join(lines[:4] + [lines[2]]) + lines[4][:20])
    res = run_sweep(spec, out, workers=1, progress=False, plots=False)
    assert res.already_done == 3 and res.computed == 9
    assert (out / "sweep.csv").read_bytes() == ref


def test_rows_of_another_spec_are_refused(tmp_path):
    run_sweep(load_spec(write_spec(tmp_path, grid=GRID)), tmp_path / "out", workers=1, progress=False, plots=False)
    other = load_spec(write_spec(tmp_path, grid=GRID, set={"static_power_w": 3.0}))
    with pytest.raises(ConfigError, match="not points of this spec"):
        run_sweep(other, tmp_path / "out", workers=1, progress=False, plots=False)


def test_one_folder_one_writer(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid=GRID))
    with SweepStore(tmp_path / "out", ["point_id"], set()):
        with pytest.raises(ConfigError, match="another sweep is writing"):
            run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)


def test_one_shot_compression_axes(tmp_path):
    def spec_with(densities):
        return write_spec(
            tmp_path, hardware=str(ROOT / "hwconfigs" / "eie.yaml"),
            compression={"prune": {"density": 1.0}, "quantize": {"method": "kmeans", "bits": 4}},
            grid={"compression.prune.density": densities, "compression.quantize.bits": [2, 4],
                  "pe_array.rows": [8, 16]})
    with pytest.raises(ConfigError, match=r"grid.compression.prune.density\[2\] = 1.5: must be a number in \(0, 1\]"):
        load_spec(spec_with([0.5, 0.1, 1.5]))  # before the sweep starts, not as failed rows
    spec = load_spec(spec_with([0.5, 0.1]))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=True)
    df = read_sweep(tmp_path / "out" / "sweep.csv")
    ok = df[df["status"] == "ok"]
    assert len(ok) == 8 == len(df)
    # EIE stores and multiplies only nonzero weights: pruning harder shrinks storage and energy
    by_density = ok.groupby("compression.prune.density")[["weight_storage_bytes", "energy_per_inference_pj"]].max()
    assert (by_density.loc[0.1] < by_density.loc[0.5]).all()
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 0
    assert (tmp_path / "out" / "vs_compression.prune.density.png").exists()


def test_recipe_axes_run_the_compression_recipe(tmp_path):
    recipe = {"version": 1, "recipe": "deep_compression", "model": str(ROOT / "models" / "lenet300.yaml"), "seed": 0,
              "stages": [{"prune": {"method": "percentile", "rate": 0.5, "rounds": 1}},
                         {"quantize": {"method": "kmeans", "bits": 4}}]}
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False))
    def spec_with(rates):
        return write_spec(tmp_path, model=None, hardware=str(ROOT / "hwconfigs" / "eie.yaml"),
                          compression={"recipe": "recipe.yaml"},
                          grid={"compression.stages.0.prune.rate": rates, "pe_array.rows": [32, 64]})
    with pytest.raises(ConfigError, match=r"stages\[0\].prune.rate: must be a number in"):
        load_spec(spec_with([0.8, 1.5]))  # the recipe's own checker, before the sweep starts
    spec = load_spec(spec_with([0.8]))
    run_sweep(spec, tmp_path / "out", workers=1, progress=False, plots=False)
    df = read_sweep(tmp_path / "out" / "sweep.csv")
    ok = df[df["status"] == "ok"]
    assert len(ok) == 2 == len(df) and ok["accuracy"].between(0.5, 1.0).all()


def _data_rows(path) -> int:
    try:
        return max(0, path.read_bytes().count(b"\n") - 1)
    except FileNotFoundError:
        return 0


def test_kill_9_mid_sweep_then_resume_matches_an_uninterrupted_run(tmp_path):
    """kill -9 the whole process group (CLI and its workers) twice while rows are being appended."""
    spec_path = write_spec(tmp_path, batch=16, grid={"seed": list(range(160)), "pe_array.rows": [8, 32]})
    spec = load_spec(spec_path)
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sim", "sweep", str(spec_path), "--out", str(out), "-j", "2", "-q", "--no-plots"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed_at = []
    for _ in range(2):
        before = _data_rows(out / "sweep.csv")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while _data_rows(out / "sweep.csv") <= before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        killed_at.append(_data_rows(out / "sweep.csv"))
    assert 0 < killed_at[0] < killed_at[1] < 320, killed_at  # both kills landed mid-sweep
    whole = run_sweep(spec, tmp_path / "whole", workers=1, progress=False, plots=False)
    resumed = run_sweep(spec, out, workers=2, progress=False, plots=False)
    assert resumed.already_done >= killed_at[1] and resumed.already_done + resumed.computed == whole.points
    assert (out / "sweep.csv").read_bytes() == (tmp_path / "whole" / "sweep.csv").read_bytes()


def test_dask_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = load_spec(write_spec(tmp_path, grid=GRID))
    run_sweep(spec, tmp_path / "local", workers=1, progress=False, plots=False)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        res = run_sweep(spec, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False, plots=False)
    assert res.computed == 12
    assert (tmp_path / "dask" / "sweep.csv").read_bytes() == (tmp_path / "local" / "sweep.csv").read_bytes()


def test_cli_runs_a_sweep_and_reports_bad_specs(tmp_path):
    good = write_spec(tmp_path, name="good", grid={"pe_array.rows": [8, 16]})
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-m", "sim", "sweep", str(good), "--out", str(tmp_path / "o"), "-j", "1"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 points" in run.stdout and (tmp_path / "o" / "pareto.png").exists()
    bad = write_spec(tmp_path, name="bad", grid={"pe_array.rowz": [8]})
    run = subprocess.run([sys.executable, "-m", "sim", "sweep", str(bad), "--out", str(tmp_path / "b")],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert "did you mean 'rows'" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "b").exists()


PARALLEL_FIRST = """
import numba, numpy as np
@numba.njit(parallel=True)
def total(a):
    s = 0.0
    for i in numba.prange(a.size):
        s += a[i]
    return s
total(np.ones(1 << 20))
from sim.sweep.runner import _LocalPool
pool = _LocalPool(2)
print(numba.threading_layer(), pool.forks)
pool.close()
"""


def test_no_fork_after_gnu_openmp_started_threads():
    """GNU OpenMP aborts a child forked after its threads started (the compression sweep's parent
    once died so): a pool made after an OpenMP parallel region must not fork; one made before any
    parallel kernel forks, with numba switched to its fork-safe threading layer."""
    p = subprocess.run([sys.executable, "-c", PARALLEL_FIRST], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    layer, forks = p.stdout.split()
    assert forks == ("False" if layer == "omp" else "True")
    fresh = "from sim.sweep.runner import _LocalPool; import numba; p = _LocalPool(2); print(p.forks, numba.config.THREADING_LAYER); p.close()"
    p = subprocess.run([sys.executable, "-c", fresh], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["True", "forksafe"]
