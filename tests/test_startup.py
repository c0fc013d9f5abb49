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


def test_default_run_imports_no_plotting_learning_or_cluster_package(tmp_path):
    argv = ["run", "hwconfigs/sonic.yaml", "-q", "--out", str(tmp_path / "r")]
    probe = PROBE.format(argv=argv).replace("('numba', 'pandas')", "('sklearn', 'matplotlib', 'dask', 'torch', 'onnx')")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert (tmp_path / "r" / "summary.csv").exists()


def test_digits_read_without_scikit_learn_equal_load_digits():
    from sklearn.datasets import load_digits

    from sim.workload.data import _digits_table
    table, bunch = _digits_table(), load_digits()
    assert table.shape == (1797, 65)
    assert np.array_equal(table[:, :-1], bunch.data) and np.array_equal(table[:, -1].astype(int), bunch.target)
