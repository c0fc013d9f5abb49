"""Fuzzing every input kind (issue 14): each malformed input gives one clear error (ConfigError / exit
2 naming the file, no traceback, nothing left in --out) or succeeds with finite results.

The hand-written and systematically mutated cases live in fuzz_cases.py (``python
tests/fuzz_cases.py`` runs all of them and prints the counts); here they run at a CI-sized scale,
plus hypothesis-drawn mutations with bounded examples and a few real subprocess runs.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzz_cases as fc

ROOT = Path(__file__).resolve().parents[1]
COUNTS: dict[str, Counter] = {}  # input kind -> outcome -> cases (printed by conftest's terminal summary)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _record(kind: str, outcome: str) -> None:
    COUNTS.setdefault(kind, Counter())[outcome] += 1


def _run_all(cases, tmp_path: Path) -> None:
    failures = []
    for i, case in enumerate(cases):
        outcome, detail = fc.run_case(case, tmp_path / f"c{i}")
        _record(case.kind, outcome)
        if outcome == "fail":
            failures.append(f"{case.kind}: {case.name}: {detail}")
    assert not failures, "\n".join(failures[:20])


KINDS = {
    "hwconfig": lambda: fc.hw_cases(24),  # per design (six designs)
    "hwconfig-run": lambda: fc.hw_run_cases(1),
    "model": lambda: fc.model_cases(40),
    "npz": fc.npz_cases,
    "onnx": fc.onnx_cases,
    "topology": lambda: fc.topology_cases()[::3] + fc.topology_cases()[-12:],
    "gemm": lambda: fc.gemm_cases()[::2] + fc.gemm_cases()[-5:],
    "cfg": fc.cfg_cases,
    "import-config": fc.import_config_cases,
    "sensitivity": fc.sensitivity_cases,
    "recipe": lambda: fc.recipe_cases(30) + fc.compress_cli_cases(),
    "sweep": lambda: fc.sweep_cases(30),
    "cli": fc.cli_option_cases,
    "set": lambda: fc.set_cases(40),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_malformed_inputs_get_one_clear_error_or_a_finite_result(kind, tmp_path):
    _run_all(KINDS[kind](), tmp_path)


# ---------------------------------------------------------------- hypothesis-drawn mutations

ANY_VALUE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**70), 2**70), st.text(max_size=40),
    st.none(), st.booleans(), st.lists(st.integers(-5, 5), max_size=5),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))


def _expect(kind: str, result) -> None:
    outcome, detail = result
    _record(kind, outcome)
    assert outcome != "fail", detail


HW_BASES = {d: yaml.safe_load((ROOT / "hwconfigs" / f"{d}.yaml").read_text()) for d in fc.HW_NAMES}
HW_PATHS = [(d, p) for d, base in HW_BASES.items() for p in fc._leaves(base)]


@FUZZ
@given(target=st.sampled_from(HW_PATHS), value=ANY_VALUE)
def test_hypothesis_hwconfig_values(tmp_path, target, value):
    from sim.hardware.load import load_hardware
    design, path = target
    f = fc._write_yaml(tmp_path / f"{design}-h.yaml", fc._set_path(HW_BASES[design], path, value))
    _expect("hwconfig", fc.expect_load(lambda: load_hardware(f), f.name))


SET_PATHS = sorted({".".join(map(str, p)) for p in fc._leaves(HW_BASES["eie"])})


@FUZZ
@given(key=st.sampled_from(SET_PATHS), text=st.text(max_size=30))
def test_hypothesis_set_values(key, text):
    from sim.hardware.load import load_hardware
    _expect("set", fc.expect_load(lambda: load_hardware(ROOT / "hwconfigs" / "eie.yaml", [f"{key}={text}"]),
                                  "eie.yaml"))


@FUZZ
@given(layer=st.integers(0, 2), key=st.sampled_from(["out_features", "in_features", "type", "name", "quant",
                                                      "weight_density", "act_density", "inputs", "bias"]),
       value=ANY_VALUE)
def test_hypothesis_model_layers(tmp_path, layer, key, value):
    from sim.workload.load import load_network
    f, doc, _ = fc.tiny_model(tmp_path)
    doc["layers"][layer][key] = value
    fc._write_yaml(f, doc)
    _expect("model", fc.expect_load(lambda: load_network(f), f.name))


ARRAY_EDITS = ["nan", "inf", "reshape", "drop", "int", "bool", "huge", "negative"]


@FUZZ
@given(key=st.sampled_from(["fc1/weight", "fc1/bias", "fc1/codebook", "fc1/codes", "fc2/weight", "fc2/bias"]),
       edit=st.sampled_from(ARRAY_EDITS), where=st.floats(0, 1))
def test_hypothesis_npz_arrays(tmp_path, key, edit, where):
    from sim.workload.load import load_network
    f, _, arrays = fc.tiny_model(tmp_path)
    a = arrays[key].copy()
    flat = a.reshape(-1)
    i = int(where * (flat.size - 1))
    if edit == "nan" and a.dtype.kind == "f":
        flat[i] = np.nan
    elif edit == "inf" and a.dtype.kind == "f":
        flat[i] = -np.inf
    elif edit == "reshape":
        a = flat[: max(1, i)]
    elif edit == "drop":
        arrays.pop(key)
    elif edit == "int":
        a = a.astype(np.int64)
    elif edit == "bool":
        a = a != 0
    elif edit == "huge":
        a = a.astype(np.float64) * 1e300
    elif edit == "negative":
        a = a.astype(np.int64) - 1000
    if edit != "drop":
        arrays[key] = a
    np.savez(tmp_path / "tiny.npz", **arrays)
    _expect("npz", fc.expect_load(lambda: load_network(f), "tiny.npz"))


@FUZZ
@given(k=st.integers(1, 10), size=st.integers(1, 10), stride=st.integers(-1, 3), pad=st.integers(-2, 3),
       dil=st.integers(0, 3), op=st.sampled_from(["Conv", "MaxPool", "AveragePool"]))
def test_hypothesis_onnx_windows(tmp_path, k, size, stride, pad, dil, op):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from sim.workload.load import load_network
    inits, inputs, attrs = [], ["x"], {"strides": [stride, stride], "pads": [pad] * 4}
    if op == "Conv":
        inits = [numpy_helper.from_array(np.ones((3, 2, k, k), np.float32), "w")]
        inputs.append("w")
        attrs["dilations"] = [dil, dil]
    else:
        attrs["kernel_shape"] = [k, k]
    node = helper.make_node(op, inputs, ["y"], name="n0", **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, size, size])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "C", "H", "W"])],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    f = tmp_path / "w.onnx"
    f.write_bytes(model.SerializeToString())
    outcome = fc.expect_load(lambda: load_network(f), "w.onnx")
    _expect("onnx", outcome)
    if outcome[0] == "ok":  # then the window fits: every output dimension >= 1, and it executes
        from sim.workload.load import load_network as load
        net = load(f)
        assert all(s >= 1 for s in net.layers[0].out_shape)
        assert stride >= 1 and pad >= 0


@FUZZ
@given(row=st.integers(1, 3), col=st.integers(0, 7), text=st.text(max_size=12))
def test_hypothesis_topology_cells(tmp_path, row, col, text):
    from sim.workload.load import load_network
    lines = fc.TOPOLOGY.splitlines()
    cells = lines[row].split(",")
    cells[col] = text.replace(",", "").replace("\n", "")
    f = tmp_path / "t.csv"
    f.write_text("\n".join(lines[:row] + [",".join(cells)] + lines[row + 1:]) + "\n")
    _expect("topology", fc.expect_load(lambda: load_network(f), "t.csv"))


@FUZZ
@given(axis=st.sampled_from(["pe_array.rows", "clock_ghz", "memory.dram.bandwidth_gbps", "batch", "seed",
                             "pe_array.dataflow", "memory.buffers.unified_buffer.size_kb"]),
       values=st.lists(ANY_VALUE, min_size=1, max_size=3))
def test_hypothesis_sweep_axes(tmp_path, axis, values):
    from sim.sweep.spec import load_spec
    spec = {**fc._spec_base(tmp_path), "grid": {axis: values}}
    f = fc._write_yaml(tmp_path / "spec.yaml", spec)
    _expect("sweep", fc.expect_load(lambda: load_spec(f), "spec.yaml"))


@FUZZ
@given(path=st.sampled_from(fc._leaves(fc._recipe_base(Path("/tmp/sim-fuzz-probe")))), value=ANY_VALUE)
def test_hypothesis_recipe_values(tmp_path, path, value):
    from sim.compression.recipe import load_recipe
    base = fc._recipe_base(tmp_path)
    f = fc._write_yaml(tmp_path / "recipe.yaml", fc._set_path(base, path, value))
    _expect("recipe", fc.expect_load(lambda: load_recipe(f), "recipe.yaml"))


# ---------------------------------------------------------------- real processes


def _sim(*args, cwd=ROOT, timeout=120):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("label", ["duplicate key", "alias bomb", "deep nesting", "huge file"])
def test_cli_process_bad_hwconfig_exits_2_without_traceback_or_output(tmp_path, label):
    text = fc.STRUCTURAL.get(label) or (ROOT / "hwconfigs" / "eie.yaml").read_text() + "\npe_array: {rows: 1}\n"
    f = tmp_path / "hw.yaml"
    f.write_text(text)
    t0 = time.perf_counter()
    res = _sim("run", f, "--out", tmp_path / "out", "-q")
    assert res.returncode == 2, res.stderr
    assert "hw.yaml" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
    assert time.perf_counter() - t0 < 60
    _record("cli-process", "error")


def test_cli_process_good_run_and_out_that_is_a_file(tmp_path):
    model, _, _ = fc.tiny_model(tmp_path)
    res = _sim("run", ROOT / "hwconfigs" / "systolic.yaml", "--model", model, "--out", tmp_path / "out", "-q")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["energy.csv", "layers.csv", "summary.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left
    (tmp_path / "file").write_text("x")
    res = _sim("run", ROOT / "hwconfigs" / "systolic.yaml", "--model", model, "--out", tmp_path / "file", "-q")
    assert res.returncode == 2 and "--out" in res.stderr and "Traceback" not in res.stderr
    assert (tmp_path / "file").read_text() == "x"
    _record("cli-process", "ok")
    _record("cli-process", "error")


def test_internal_errors_exit_3_with_a_traceback_and_a_report_request(tmp_path, monkeypatch, capsys):
    from sim.cli import main
    from sim.commands import run as run_command

    def boom(*a, **k):
        raise RuntimeError("a bug")
    monkeypatch.setattr(run_command, "run", boom)
    model, _, _ = fc.tiny_model(tmp_path)
    rc = main(["run", str(ROOT / "hwconfigs" / "eie.yaml"), "--model", str(model), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 3 and "Traceback" in err and "RuntimeError: a bug" in err and "report" in err
    assert not (tmp_path / "o").exists()


def test_stale_staging_folders_of_killed_runs_are_cleaned(tmp_path):
    from sim.cli import main
    model, _, _ = fc.tiny_model(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.staging-{int(dead.stdout)}-abc"
    stale.mkdir()
    (stale / "summary.csv").write_text("half")
    assert main(["run", str(ROOT / "hwconfigs" / "eie.yaml"), "--model", str(model), "--out", str(tmp_path / "out"),
                 "-q"]) == 0
    assert not stale.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc: ppid is the 4th field of /proc/N/stat)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - out
        out |= frontier
    return out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_kill_9_of_a_sweep_leaves_no_worker_alive(tmp_path):
    model, _, _ = fc.tiny_model(tmp_path)
    spec = {"version": 1, "name": "orphans", "hardware": str(ROOT / "hwconfigs" / "systolic.yaml"),
            "model": str(model), "engine": "event",
            "grid": {"pe_array.rows": list(range(1, 41)), "pe_array.cols": list(range(1, 41))}}
    f = fc._write_yaml(tmp_path / "spec.yaml", spec)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "sweep", str(f), "--out", str(tmp_path / "o"), "-j", "2",
                             "-q", "--no-plots"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    deadline = time.time() + 90
    while time.time() < deadline and len(workers) < 2 and proc.poll() is None:
        time.sleep(0.2)
        workers = _descendants(proc.pid)
    assert workers, "the sweep started no workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    alive = workers
    while time.time() < deadline and alive:
        time.sleep(0.2)
        alive = {p for p in workers if Path(f"/proc/{p}").exists()
                 and "Z" not in (Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[:1] or ["Z"])}
    assert not alive, f"workers {sorted(alive)} outlived the killed sweep"
    _record("cli-process", "ok")
