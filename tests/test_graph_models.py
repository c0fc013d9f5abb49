"""YAML graph models: every new layer kind is writable in a model file, runs in both executors with
equal counts, survives compression and a save / load round trip, and runs on every design."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.engine.execute import execute
from sim.engine.profile import same_counts
from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.load import load_network, network_from_dict, save_network

REPO = Path(__file__).resolve().parents[1]


def run_both(net, x):
    y, prof = execute(net, x)
    y_ref, prof_ref = execute_reference(net, x)
    ys, refs = (y, y_ref) if isinstance(y, tuple) else ((y,), (y_ref,))
    for a, b in zip(ys, refs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(prof.layers, prof_ref.layers, strict=True):
        assert same_counts(a, b) == [], a.name
    return y, prof


def test_vit_tiny_yaml_runs_and_counts():
    net = load_network(REPO / "models" / "vit-tiny.yaml")
    x = np.random.default_rng(0).standard_normal((2, 16, 32)).astype(np.float32)
    y, prof = run_both(net, x)
    assert y.shape == (2, 10)
    scores = prof.layer("scores")
    assert scores.macs == 2 * 4 * 16 * 16 * 8 and scores.kind == "matmul"
    assert prof.layer("q").macs == 2 * 16 * 32 * 32
    cats = {lay.name: lay.category for lay in net.layers}
    assert cats["scores"] == "act_matmul" and cats["ln1"] == "normalization" and cats["q_t"] == "data_movement"
    assert cats["gelu"] == "elementwise" and cats["q"] == "weighted_matmul"


def test_every_kind_writable_in_yaml_round_trips(tmp_path):
    spec = {"version": 1, "name": "all", "input_shape": [4, 8, 8], "seed": 3, "outputs": ["out_a", "out_b", "c2"], "layers": [
        {"name": "c1", "type": "conv2d", "out_channels": 4, "kernel_size": [1, 7], "padding": [0, 3, 0, 3]},
        {"name": "c2", "type": "conv2d", "out_channels": 4, "kernel_size": [3, 2], "stride": [2, 1],
         "dilation": [1, 2], "padding": [1, 0, 0, 1], "groups": 2},
        {"name": "p1", "type": "avgpool", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
         "count_include_pad": True, "inputs": ["c1"]},
        {"name": "p2", "type": "maxpool", "kernel_size": [2, 3], "stride": [1, 2], "ceil_mode": True, "inputs": ["input"]},
        {"name": "hs", "type": "hardswish", "inputs": ["p1"]},
        {"name": "sg", "type": "hardsigmoid", "alpha": 0.25, "beta": 0.5},
        {"name": "se", "type": "mul", "inputs": ["hs", "sg"]},
        {"name": "cat", "type": "concat", "axis": 2, "inputs": ["se", "hs"]},
        {"name": "pd", "type": "pad", "pads": [0, 1, 0, 0, 1, 0]},
        {"name": "sl", "type": "slice", "starts": [1], "ends": [5], "axes": [1]},
        {"name": "tr", "type": "transpose", "perm": [0, 2, 1]},
        {"name": "fl", "type": "flatten"},
        {"name": "fc1", "type": "fc", "out_features": 6},
        {"name": "silu", "type": "silu"},
        {"name": "out_a", "type": "softmax"},
        {"name": "rm", "type": "reduce_mean", "axes": [1, 2], "keepdims": False, "inputs": ["p2"]},
        {"name": "q", "type": "quantize", "scale": 0.05, "zero_point": 3, "dtype": "uint8"},
        {"name": "dq", "type": "dequantize", "scale": 0.05, "zero_point": 3},
        {"name": "sub", "type": "sub", "operand": [1.0, 2.0, 3.0, 4.0], "const_first": True},
        {"name": "out_b", "type": "div", "operand": 2.0},
    ]}
    net = network_from_dict(spec, str(tmp_path / "all.yaml"))
    x = np.random.default_rng(1).standard_normal((2, 4, 8, 8)).astype(np.float32)
    (ya, yb, _), _ = run_both(net, x)
    save_network(net, tmp_path / "saved.yaml")
    back = load_network(tmp_path / "saved.yaml")
    (za, zb, _), _ = run_both(back, x)
    np.testing.assert_array_equal(ya, za)
    np.testing.assert_array_equal(yb, zb)
    assert back.outputs == ("out_a", "out_b", "c2") and back.layer("c2").kernel_hw == (3, 2)


def test_recurrent_and_embedding_yaml(tmp_path):
    spec = {"version": 1, "name": "lm", "input_shape": [5], "layers": [
        {"name": "emb", "type": "gather", "vocab": 20, "embedding_dim": 6},
        {"name": "lstm", "type": "lstm", "hidden_size": 4},
        {"name": "gru", "type": "gru", "hidden_size": 3, "inputs": ["emb"]},
        {"name": "last", "type": "gather", "indices": 4, "axis": 0},
        {"name": "fl", "type": "flatten"},
        {"name": "head", "type": "fc", "out_features": 20}]}
    net = network_from_dict(spec, "lm.yaml")
    assert net.meta["vocab"] == 20 and net.layer("lstm").weight.shape == (16, 10)
    ids = np.random.default_rng(0).integers(0, 20, (3, 5)).astype(np.float32)
    run_both(net, ids)


def test_compression_works_on_graphs():
    from sim.compression.prune import apply_masks, magnitude_masks
    from sim.compression.quantize import quantize_network
    net = load_network(REPO / "models" / "vit-tiny.yaml")
    pruned = apply_masks(net, magnitude_masks(net, rates={lay.name: 0.7 for lay in net.weighted_layers}))
    q = quantize_network(pruned, "kmeans", 4)
    x = np.random.default_rng(0).standard_normal((2, 16, 32)).astype(np.float32)
    _, prof = run_both(q, x)
    assert prof.layer("mlp1").weight_nnz <= 0.31 * prof.layer("mlp1").weight_count


@pytest.mark.parametrize("hw", ["systolic", "eie", "sonic", "crosslight"])
def test_graph_model_runs_on_every_design(hw):
    from sim.hardware.load import load_hardware
    from sim.run import run
    net = load_network(REPO / "models" / "vit-tiny.yaml")
    res = run(load_hardware(REPO / "hwconfigs" / f"{hw}.yaml"), net, batch=2)
    assert list(res.layers["layer"]) == [lay.name for lay in net.layers]  # topological order
    assert (res.layers["cycles"] >= 0).all()


@pytest.mark.parametrize("layer, match", [
    ({"name": "x", "type": "matmul", "inputs": ["input"]}, r"reads 2\.\.2 tensors"),
    ({"name": "x", "type": "transpose", "perm": [0, 0]}, "not a permutation"),
    ({"name": "x", "type": "pow"}, "needs exponent"),
    ({"name": "input", "type": "relu"}, "reserved"),
    ({"name": "x", "type": "conv2d", "out_channels": 2, "kernel_size": [3, 3, 3]}, "list of 2"),
])
def test_bad_graph_layers_are_clear_errors(layer, match):
    spec = {"version": 1, "name": "b", "input_shape": [3, 4], "layers": [layer]}
    if layer["type"] == "conv2d":
        spec["input_shape"] = [3, 8, 8]
    with pytest.raises(ConfigError, match=match):
        network_from_dict(spec, "b.yaml")
