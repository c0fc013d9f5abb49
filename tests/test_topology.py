"""SCALE-Sim topology CSVs: SCALE-Sim's shapes and MACs, synthetic weights at a density, clear row errors."""
from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.load import load_network
from sim.workload.topology import load_topology

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples" / "topologies"
HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


def scalesim_macs(h, w, fh, fw, c, n, sh, sw=None):
    """SCALE-Sim's per-layer MACs (topology_utils.topo_calc_hyperparams), written out independently."""
    sw = sh if sw is None else sw
    oh, ow = math.ceil((h - fh + sh) / sh), math.ceil((w - fw + sw) / sw)
    return oh * ow * fh * fw * c * n


def write(tmp_path, text, name="topo.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_small_cnn_chains_and_runs():
    net = load_topology(EXAMPLES / "small_cnn.csv")
    assert not net.independent and net.input_shape == (3, 32, 32)
    assert [lay.kind for lay in net.layers] == ["conv2d"] * 4 + ["fc"]
    assert [lay.out_shape for lay in net.layers] == [(16, 28, 28), (32, 13, 13), (64, 6, 6), (128, 1, 1), (10,)]
    x = np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32)
    out, profile = execute_reference(net, x)
    assert out.shape == (2, 10)
    rows = [(32, 32, 5, 5, 3, 16, 1), (28, 28, 4, 4, 16, 32, 2), (13, 13, 3, 3, 32, 64, 2),
            (6, 6, 6, 6, 64, 128, 1), (1, 1, 1, 1, 128, 10, 1)]
    assert [lw.macs for lw in profile.layers] == [2 * scalesim_macs(*r) for r in rows]


def test_alexnet_resnet_layers_are_independent_with_scalesim_sizes():
    net = load_topology(EXAMPLES / "alexnet_resnet18_layers.csv")
    assert net.independent
    conv1 = net.layer("AlexNet_Conv1")
    # ceil((224 - 11 + 4) / 4) = 55 outputs need a 227-wide ifmap: the last window runs past SCALE-Sim's 224
    assert conv1.out_shape == (96, 55, 55) and conv1.in_shape == (3, 227, 227)
    assert net.meta["scalesim_ifmap"]["AlexNet_Conv1"] == [224, 224]
    assert net.layer("ResNet18_Conv2_1a").out_shape == (64, 54, 54)  # no padding in SCALE-Sim
    rows = {"AlexNet_Conv1": (224, 224, 11, 11, 3, 96, 4), "AlexNet_Conv2": (27, 27, 5, 5, 96, 256, 1),
            "ResNet18_Conv1": (224, 224, 7, 7, 3, 64, 2), "ResNet18_Conv3_1a": (56, 56, 3, 3, 64, 128, 2)}
    for name, row in rows.items():
        assert net.layer(name).dense_macs == scalesim_macs(*row)


def test_independent_layers_execute_each_on_its_own_input(tmp_path):
    text = HEADER + "A, 9, 9, 3, 3, 2, 4, 2,\nB, 7, 5, 2, 2, 3, 2, 2, 2\n\nC, 1, 1, 1, 1, 6, 3, 1,\n"
    net = load_topology(write(tmp_path, text), density=0.5)
    assert net.independent and [lay.kind for lay in net.layers] == ["conv2d", "conv2d", "fc"]
    rng = np.random.default_rng(3)
    inputs = [rng.random((2,) + lay.in_shape, dtype=np.float32) for lay in net.layers]
    outs, profile = execute_reference(net, inputs)
    assert [o.shape[1:] for o in outs] == [lay.out_shape for lay in net.layers]
    assert [lw.macs for lw in profile.layers] == [2 * scalesim_macs(9, 9, 3, 3, 2, 4, 2),
                                                  2 * scalesim_macs(7, 5, 2, 2, 3, 2, 2, 2),
                                                  2 * scalesim_macs(1, 1, 1, 1, 6, 3, 1)]


@pytest.mark.parametrize("density", [0.0, 0.1, 0.5, 1.0])
def test_weights_have_the_requested_density(density):
    net = load_topology(EXAMPLES / "small_cnn.csv", seed=5, density=density)
    for lay in net.layers:
        assert lay.weight_nnz == round(density * lay.weight_count)
        assert lay.bias is None


def test_weights_are_seeded():
    a, b = (load_topology(EXAMPLES / "small_cnn.csv", seed=1) for _ in range(2))
    c = load_topology(EXAMPLES / "small_cnn.csv", seed=2)
    np.testing.assert_array_equal(a.layers[1].weight, b.layers[1].weight)
    assert not np.array_equal(a.layers[1].weight, c.layers[1].weight)


def test_depthwise_rows_become_grouped_convolutions(tmp_path):
    net = load_topology(write(tmp_path, HEADER + "Conv2_DP, 12, 12, 3, 3, 8, 1, 1,\n"))
    layer = net.layers[0]
    assert layer.groups == 8 and layer.weight.shape == (8, 1, 3, 3) and layer.out_shape == (8, 10, 10)
    # SCALE-Sim runs 8 single-channel layers; their MACs add up to this one grouped layer's
    assert layer.dense_macs == 8 * scalesim_macs(12, 12, 3, 3, 1, 1, 1)


def test_load_network_dispatches_csv():
    net = load_network(EXAMPLES / "small_cnn.csv", seed=3, density=0.25)
    assert net.meta["weight_density"] == 0.25 and net.meta["seed"] == 3
    assert net.layers[0].weight_nnz == round(0.25 * net.layers[0].weight_count)


@pytest.mark.parametrize("rows, match", [
    ("Conv1, 32, 32, abc, 5, 3, 16, 1,\n", r"line 2 \(Conv1\), column 'Filter Height': must be a positive integer; "
                                           r"got 'abc'"),
    ("Conv1, 32, 32, 5, 5, 3, 0, 1,\n", r"column 'Num Filter'.*got '0'"),
    ("Conv1, 32, 32, 5, 5, 3, 16,\n", "expected 8 columns"),
    ("Conv1, 4, 4, 5, 5, 3, 16, 1,\n", r"column 'Filter Height': must be <= IFMAP Height \(4\)"),
    ("Conv1, 32, 32, 3, 3, 3, 16, 1, 5:4,\n", r"column 'Sparsity': must be N:M"),
])
def test_bad_rows_name_file_line_and_column(tmp_path, rows, match):
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(ConfigError, match=match) as info:
        load_topology(path)
    assert str(path) in str(info.value)


def test_every_bad_row_is_reported_at_once(tmp_path):
    path = write(tmp_path, HEADER + "A, x, 8, 3, 3, 3, 4, 1,\nB, 8, 8, 3, 3, 3, 4, -1,\n")
    with pytest.raises(ConfigError, match="2 problems") as info:
        load_topology(path)
    assert "line 2 (A), column 'IFMAP Height'" in str(info.value)
    assert "line 3 (B), column 'Strides'" in str(info.value)


@pytest.mark.parametrize("text, match", [
    ("", "is empty"),
    (HEADER, "no layers"),
    ("Conv1, 32, 32, 5, 5, 3, 16, 1,\n", "expected the header line"),
    ("Layer, M, N, K,\nfc1, 64, 0, 256,\n", r"line 2 \(fc1\), column 'N': must be a positive integer"),
])
def test_bad_files(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        load_topology(write(tmp_path, text))


def test_bad_density_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"density: must be a number in \[0, 1\]; got 1.5"):
        load_topology(EXAMPLES / "small_cnn.csv", density=1.5)
    with pytest.raises(ConfigError, match="file not found"):
        load_topology(tmp_path / "missing.csv")


def _cli(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "sim", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)


@pytest.mark.skipif(not (REPO / "sim" / "run.py").exists() or not (REPO / "hwconfigs" / "systolic.yaml").exists(),
                    reason="needs the run path and hwconfigs/systolic.yaml")
def test_cli_runs_a_topology_on_the_systolic_array(tmp_path):
    res = _cli("run", str(REPO / "hwconfigs" / "systolic.yaml"), "--model", str(EXAMPLES / "small_cnn.csv"),
               "--density", "0.5", "--out", str(tmp_path / "out"), "--quiet", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    import pandas as pd
    layers = pd.read_csv(tmp_path / "out" / "layers.csv")
    assert ["Conv1", "Conv2", "Conv3", "Conv4", "FC1"] == [n for n in layers["layer"].unique()]
    bad = write(tmp_path, HEADER + "Conv1, 32, 32, 5, 5, 3, sixteen, 1,\n")
    res = _cli("run", str(REPO / "hwconfigs" / "systolic.yaml"), "--model", str(bad), cwd=tmp_path)
    assert res.returncode == 2 and "column 'Num Filter'" in res.stderr and "Traceback" not in res.stderr


SCALESIM = Path("/work/.mirror/scalesim-project+scale-sim-v3/repo")


def test_non_square_filters_and_separate_strides_keep_scalesim_macs(tmp_path):
    path = write(tmp_path, "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                           "Num Filter, Stride height, Stride width,\n"
                           "DeepSpeech_1, 700, 161, 20, 5, 1, 32, 2, 3,\nA, 32, 32, 1, 7, 3, 16, 1, 1,\n")
    net = load_topology(path, seed=1, density=0.5)
    ds, a = net.layers
    assert ds.kernel_hw == (20, 5) and ds.strides_hw == (2, 3) and a.kernel_hw == (1, 7)
    assert ds.dense_macs == scalesim_macs(700, 161, 20, 5, 1, 32, 2, 3)
    assert a.dense_macs == scalesim_macs(32, 32, 1, 7, 3, 16, 1)
    x = np.random.default_rng(0).random((1,) + a.in_shape, dtype=np.float32)
    from sim.engine.execute import execute
    y, prof = execute(net.replace(layers=[a], independent=True), [x])
    y_ref, prof_ref = execute_reference(net.replace(layers=[a], independent=True), [x])
    np.testing.assert_allclose(y[0], y_ref[0], rtol=1e-4, atol=1e-5)
    assert prof.layers[0].effectual_macs == prof_ref.layers[0].effectual_macs
    assert prof.layers[0].macs == a.dense_macs


def test_gemm_topology_is_fc_per_token_with_mnk_macs(tmp_path):
    path = write(tmp_path, "Layer, M, N, K,\nQKT, 16, 16, 8,\nFF1, 16, 32, 16,\n")
    net = load_topology(path)
    qkt, ff1 = net.layers
    assert qkt.kind == "fc" and qkt.in_shape == (16, 8) and qkt.out_shape == (16, 16)
    assert qkt.dense_macs == 16 * 16 * 8 and ff1.dense_macs == 16 * 32 * 16
    assert not net.independent  # (16, 16) feeds K = 16
    x = np.random.default_rng(0).random((2, 16, 8), dtype=np.float32)
    y, prof = execute_reference(net, x)
    assert y.shape == (2, 16, 32) and prof.layers[0].macs == 2 * 16 * 16 * 8


def test_v3_sparsity_column_is_layer_metadata_and_shapes_the_weights(tmp_path):
    path = write(tmp_path, "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                           "Num Filter, Strides, Sparsity,\nCONV_1, 8, 8, 3, 3, 4, 6, 1, 2:4,\nCONV_2, 6, 6, 1, 1, 6, "
                           "6, 1, 1:4,\n")
    net = load_topology(path)
    assert [lay.sparsity for lay in net.layers] == [(2, 4), (1, 4)]
    w = net.layers[0].weight.reshape(6, -1)  # fan-in 36 = 9 blocks of 4
    assert (np.count_nonzero(w.reshape(6, 9, 4), axis=2) <= 2).all() and net.layers[0].weight_nnz == 6 * 9 * 2
    gemm = write(tmp_path, "Layer Name, M, N, K, Sparsity,\nGEMM_1, 3, 5, 16, 3:4,\n", "g.csv")
    assert load_topology(gemm).layers[0].sparsity == (3, 4)


def test_blank_rows_extra_columns_and_batch_column_are_ignored(tmp_path):
    text = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,,,Eh,"
            "Ew,e2\n,,,,,,,,,,,,\nConv1,32,32,7,7,3,8,2,,,13,13,169\n\nB,8,8,1,1,8,8,1,,,,,\n")
    net = load_topology(write(tmp_path, text))
    assert [lay.name for lay in net.layers] == ["Conv1", "B"] and net.layers[0].strides_hw == (2, 2)
    batch = write(tmp_path, "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                            "Num Filter, Strides, Batch Size,\nE, 16, 16, 1, 1, 3, 8, 1, 1,\n", "b.csv")
    assert load_topology(batch).layers[0].out_shape == (8, 16, 16)


def test_duplicate_names_get_a_suffix_and_a_note(tmp_path):
    net = load_topology(write(tmp_path, HEADER + "A, 8, 8, 3, 3, 3, 4, 1,\nA, 8, 8, 3, 3, 3, 4, 1,\nA, 8, 8, 3, 3, 3, 4, 1,\n"))
    assert [lay.name for lay in net.layers] == ["A", "A_2", "A_3"]
    assert "renamed 'A_2'" in net.meta["notes"][0]


# Files SCALE-Sim v3 itself rejects (its reader fails on them): section-title rows ("AlphaGoZero,"),
# symbolic sizes (B, H) and tab separators.
SCALESIM_REJECTS = {"topologies/CSV/LSTM.csv", "topologies/rnn_eval/LSTM_template.csv", "topologies/CSV/MLPERF.csv",
                    "topologies/mlperf/MLPERF.csv", "topologies/mlperf/NCF_recommendation.csv",
                    "topologies/mlperf/Sentimental_seqLSTM.csv", "topologies/mlperf/Transformer.csv",
                    "topologies/conv_nets/UNet_maestro.csv"}


@pytest.mark.skipif(not SCALESIM.exists(), reason="needs the scale-sim-v3 mirror (fetch scalesim-project/scale-sim-v3)")
def test_every_scalesim_v3_topology_loads(tmp_path):
    listing = subprocess.run(["git", "-C", str(SCALESIM), "ls-tree", "-r", "--name-only", "HEAD", "topologies"],
                             capture_output=True, text=True, check=True).stdout.split()
    failed = []
    for name in [f for f in listing if f.endswith(".csv") and f not in SCALESIM_REJECTS]:
        data = subprocess.run(["git", "-C", str(SCALESIM), "show", f"HEAD:{name}"], capture_output=True, check=True).stdout
        path = tmp_path / name.replace("/", "__")
        path.write_bytes(data)
        try:
            load_topology(path, shapes_only=True)
        except ConfigError as exc:
            failed.append(f"{name}: {exc}")
    assert not failed, "\n".join(failed)
