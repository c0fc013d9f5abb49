"""SCALE-Sim compatibility: its .cfg files become hwconfigs, its topology files (fixtures copied
from scale-sim-v3, data only) load, and `python -m sim run google.cfg --model T.csv` works."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sim.errors import ConfigError
from sim.hardware.load import load_hardware, validate
from sim.hardware.scalesim_cfg import scalesim_hardware_dict
from sim.workload.topology import load_topology

DATA = Path(__file__).resolve().parent / "data" / "scalesim"
REPO = Path(__file__).resolve().parents[1]


def test_google_cfg_is_a_256x256_os_array_with_its_srams():
    hw = load_hardware(DATA / "google.cfg")
    assert (hw.pe_array.rows, hw.pe_array.cols, hw.pe_array.dataflow) == (256, 256, "os")
    sizes = {b.name: b.size_kb for b in hw.memory.buffers}
    assert sizes == {"ifmap_sram": 6144, "filter_sram": 6144, "ofmap_sram": 2048}
    assert hw.memory.dram.bandwidth_gbps == 10.0 and hw.clock_ghz == 1.0
    assert hw.name == "GoogleTPU_v1_os"


def test_scale_cfg_ws_and_sparsity_section():
    assert load_hardware(DATA / "scale.cfg").pe_array.dataflow == "ws"
    sparse = scalesim_hardware_dict(DATA / "sparsity.cfg")
    assert sparse["pe_array"]["dataflow"] == "sparse_ws" and sparse["pe_array"]["skip_zero_weights"]
    assert sparse["sparsity"]["representation"] == "ellpack_block" and sparse["sparsity"]["block_size"] == 8
    hw = load_hardware(DATA / "sparsity.cfg")  # the sparse-systolic kind of hwconfigs/sparse_systolic.yaml
    assert (hw.pe_array.rows, hw.pe_array.dataflow) == (128, "sparse_ws")


@pytest.mark.parametrize("text, match", [
    ("[general]\nrun_name = x\n", r"\[architecture_presets\]: missing"),
    ("[architecture_presets]\nArrayHeight: 8\nArrayWidth: -2\nIfmapSramSzkB: 1\nFilterSramSzkB: 1\n"
     "OfmapSramSzkB: 1\nDataflow: rs\n", r"ArrayWidth: must be > 0.*\n.*Dataflow: must be os, ws or is"),
    ("not an ini at all", "not a SCALE-Sim .cfg"),
])
def test_bad_cfg_files_are_clear_errors(tmp_path, text, match):
    path = tmp_path / "bad.cfg"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        scalesim_hardware_dict(path)


@pytest.mark.parametrize("name", ["vit_s.csv", "gpt2.csv", "conv.csv", "gemm.csv", "Resnet50.csv", "OCR.csv",
                                  "llama3b.csv"])
def test_scalesim_topology_fixtures_load(name):
    net = load_topology(DATA / name, shapes_only=True)
    assert net.layers and all(lay.dense_macs > 0 for lay in net.layers)


def test_gpt2_gemm_macs_are_m_n_k():
    net = load_topology(DATA / "gpt2.csv", shapes_only=True)
    assert [lay.dense_macs for lay in net.layers] == [1024 * 1024 * 64, 1024 * 64 * 1024, 1024 * 4800 * 1600,
                                                       1024 * 1600 * 1600, 1024 * 3072 * 1600, 1024 * 1600 * 3072]


def test_cli_runs_a_cfg_on_a_topology_and_imports_it(tmp_path):
    topo = tmp_path / "T.csv"
    topo.write_text("Layer, M, N, K,\nQKT, 32, 32, 16,\nFF, 32, 64, 32,\n")
    out = tmp_path / "rep"
    res = subprocess.run([sys.executable, "-m", "sim", "run", str(DATA / "scale.cfg"), "--model", str(topo), "-q",
                          "-o", str(out)], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert res.returncode == 0, res.stderr
    assert (out / "layers.csv").read_text().count("\n") == 3
    yml = tmp_path / "hw.yaml"
    res = subprocess.run([sys.executable, "-m", "sim", "import-config", str(DATA / "google.cfg"), "-o", str(yml)],
                         capture_output=True, text=True, cwd=REPO, timeout=300)
    assert res.returncode == 0, res.stderr
    text = yml.read_text()
    assert "ASSUMPTION" in text
    assert validate(yaml.safe_load(text), str(yml)).pe_array.rows == 256
