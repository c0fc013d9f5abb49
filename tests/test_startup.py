"""Start-up imports only what a command needs: ``--help`` and ``check`` load neither numba nor pandas."""
import subprocess
import sys

import numpy as np
import pytest

PROBE = ("import sys, contextlib, io\nfrom sim.cli import main\n"
         "with contextlib.redirect_stdout(io.StringIO()):\n"
         "    try:\n        main({argv!r})\n    except SystemExit:\n        pass\n"
         "print(','.join(m for m in ('numba', 'pandas') if m in sys.modules))")


@pytest.mark.parametrize("argv", [["--help"], ["check", "hwconfigs/eie.yaml", "models/lenet300.yaml"]])
def test_light_commands_do_not_import_numba_or_pandas(argv):
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_package_attributes_still_resolve():
    import sim
    assert callable(sim.run) and callable(sim.compare) and sim.ConfigError.__name__ == "ConfigError"


@pytest.mark.parametrize("quiet", [["-q"], []])
def test_default_run_imports_no_plotting_learning_cluster_or_dataframe_package(tmp_path, quiet):
    argv = ["run", "hwconfigs/sonic.yaml", "--out", str(tmp_path / "r")] + quiet
    probe = PROBE.format(argv=argv).replace("('numba', 'pandas')",
                                            "('sklearn', 'matplotlib', 'dask', 'torch', 'onnx', 'pandas')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert (tmp_path / "r" / "summary.csv").exists()


def test_a_shapes_run_of_a_topology_loads_no_kernels(tmp_path):
    # Nothing is executed in shapes mode: numba (and the scipy it pulls in) stay unloaded.
    argv = ["run", "hwconfigs/systolic.yaml", "--model", "benchmarks/topologies/Resnet18.csv", "-q",
            "--out", str(tmp_path / "r")]
    probe = PROBE.format(argv=argv).replace("('numba', 'pandas')", "('numba', 'scipy', 'pandas', 'sim.kernels.csr')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert (tmp_path / "r" / "layers.csv").exists()


def test_digits_read_without_scikit_learn_equal_load_digits():
    from sklearn.datasets import load_digits

    from sim.workload.data import _digits_table
    table, bunch = _digits_table(), load_digits()
    assert table.shape == (1797, 65)
    assert np.array_equal(table[:, :-1], bunch.data) and np.array_equal(table[:, -1].astype(int), bunch.target)


def test_every_numba_kernel_is_cached_on_disk():
    import ast
    from pathlib import Path

    uncached, kernels = [], 0
    for path in sorted((Path(__file__).resolve().parents[1] / "sim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef):
                for dec in node.decorator_list:
                    name = getattr(dec.func if isinstance(dec, ast.Call) else dec, "id", "")
                    if name not in ("njit", "jit", "vectorize", "guvectorize"):
                        continue
                    kernels += 1
                    if not (isinstance(dec, ast.Call) and any(k.arg == "cache" and getattr(k.value, "value", None) is True
                                                              for k in dec.keywords)):
                        uncached.append(f"{path.name}:{node.name}")
    assert kernels > 20 and uncached == []


KERNEL_CALL = ("import numpy as np\nfrom sim.engine.pe import queue_finish_cycles\n"
               "out = np.zeros(3, dtype=np.int64)\n"
               "print(queue_finish_cycles(np.arange(12, dtype=np.int64).reshape(3, 4), 2, out), out.tolist())")


def test_a_warm_numba_cache_is_loaded_not_rebuilt_by_the_next_process(tmp_path):
    env = dict(__import__("os").environ, NUMBA_CACHE_DIR=str(tmp_path), NUMBA_DEBUG_CACHE="1")
    runs = [subprocess.run([sys.executable, "-c", KERNEL_CALL], capture_output=True, text=True, check=True, env=env)
            for _ in range(2)]
    first, second = (r.stdout.splitlines() for r in runs)
    assert first[-1] == second[-1]  # the same result from the compiled and the loaded kernel
    assert any("data saved" in line for line in first)
    assert any("data loaded" in line for line in second) and not any("saved" in line for line in second)


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_cli_lets_idle_openmp_threads_sleep_unless_the_user_chose(given, expected):
    import os
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    probe = PROBE.format(argv=["--help"]).replace(
        "print(','.join(m for m in ('numba', 'pandas') if m in sys.modules))", "print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", "import os\n" + probe], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == expected
