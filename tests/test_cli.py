"""python -m sim end to end: reports written, bad input gives one clear message and exit 2."""
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.report.price import ENERGY_COLUMNS, LAYER_COLUMNS, SUMMARY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def sim_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_run_writes_three_csvs(tmp_path):
    out = tmp_path / "r"
    p = sim_cli("run", "hwconfigs/eie.yaml", "--model", "models/lenet300.yaml", "--out", out)
    assert p.returncode == 0, p.stderr
    assert list(pd.read_csv(out / "summary.csv").columns) == SUMMARY_COLUMNS
    assert list(pd.read_csv(out / "layers.csv").columns) == LAYER_COLUMNS
    assert list(pd.read_csv(out / "energy.csv").columns) == ENERGY_COLUMNS
    assert "FPS/W" in p.stdout


def test_default_model_runs_from_another_directory(tmp_path):
    p = sim_cli("run", ROOT / "hwconfigs" / "sonic.yaml", "--out", tmp_path / "s", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "s" / "summary.csv").exists()


@pytest.mark.parametrize("args,message", [
    (["run", "hwconfigs/does-not-exist.yaml"], "does-not-exist.yaml: file not found"),
    (["run", "hwconfigs/eie.yaml", "--set", "memory.dram.bandwidth_gbps=-3"],
     "memory.dram.bandwidth_gbps: must be > 0 (GB/s); got -3"),
    (["run", "hwconfigs/eie.yaml", "--set", "pe_array.dataflw=os"], "did you mean 'dataflow'"),
    (["run", "hwconfigs/eie.yaml", "--model", "models/nope.yaml"], "nope.yaml: file not found"),
    (["run", "hwconfigs/eie.yaml", "--batch", "0"], "--batch: must be an integer >= 1; got 0"),
])
def test_bad_input_clear_error_exit_2_no_report(tmp_path, args, message):
    out = tmp_path / "never"
    p = sim_cli(*args, "--out", out)
    assert p.returncode == 2
    assert message in p.stderr
    assert "Traceback" not in p.stderr
    assert not out.exists()


def test_bad_model_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: b\ninput_shape: [4]\nlayers:\n  - {name: x, type: dense, out_features: 2}\n")
    p = sim_cli("run", "hwconfigs/eie.yaml", "--model", bad, "--out", tmp_path / "o")
    assert p.returncode == 2 and "unknown layer type 'dense'" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "o").exists()


def test_help_explains_every_option():
    p = sim_cli("run", "--help")
    assert p.returncode == 0
    for opt in ("--model", "--batch", "--out", "--seed", "--set", "--timeline", "--engine", "--executor"):
        assert opt in p.stdout
    top = sim_cli("--help")
    assert top.returncode == 0 and "run" in top.stdout


def test_check_command(tmp_path):
    p = sim_cli("check", "hwconfigs/sonic.yaml", "models/lenet5.yaml")
    assert p.returncode == 0 and p.stdout.count("OK") == 2
