"""Defining properties of the literature's methods (sim/compression/methods.py)."""
import os

import numpy as np
import pytest

from sim.compression.layers_np import backward, forward
from sim.compression.methods import (cubic_sparsity, distillation_loss, random_prune_masks, snip_scores,
                                     top_fraction_masks)
from sim.compression.numerics import softmax_cross_entropy
from sim.compression.pipeline import _gradual_masks
from sim.compression.prune import density, full_masks
from sim.compression.recipe import Prune
from sim.workload.load import network_from_dict


def _mlp(weights):
    net = network_from_dict({"input_shape": [3], "layers": [
        {"name": "fc1", "type": "fc", "out_features": 2}, {"name": "r", "type": "relu"},
        {"name": "fc2", "type": "fc", "out_features": 2}]}, "m.yaml")
    for lay, (w, b) in zip(net.weighted_layers, weights):
        lay.weight, lay.bias = np.asarray(w, np.float32), np.asarray(b, np.float32)
    return net


def test_zhu_gupta_schedule_reaches_target_at_end_step():
    assert cubic_sparsity(0, 10, 0.9) == 0.0
    assert cubic_sparsity(10, 10, 0.9) == pytest.approx(0.9)
    s = [cubic_sparsity(t, 10, 0.9) for t in range(11)]
    assert all(b >= a for a, b in zip(s, s[1:]))
    assert s[1] - s[0] > s[10] - s[9]  # prunes fast early, slowly near the end
    assert cubic_sparsity(5, 10, 0.8, 0.2) == pytest.approx(0.8 + (0.2 - 0.8) * 0.5 ** 3)


def test_gradual_masks_hit_the_final_sparsity_on_the_last_step(rng):
    net = _mlp([(rng.normal(size=(2, 3)), [0, 0]), (rng.normal(size=(2, 2)), [0, 0])])
    net.weighted_layers[0].weight = rng.normal(size=(2, 3)).astype(np.float32)
    big = network_from_dict({"input_shape": [100], "layers": [{"name": "fc1", "type": "fc", "out_features": 50}]},
                            "m.yaml")
    big.weighted_layers[0].weight = rng.normal(size=(50, 100)).astype(np.float32)
    stage = Prune(method="gradual", rate=0.9, rounds=4)
    masks = full_masks(big)
    for step in range(1, 5):
        masks = _gradual_masks(big, masks, stage, step)
        assert 1 - density(masks) == pytest.approx(cubic_sparsity(step, 4, 0.9), abs=1e-3)
    assert density(masks) == pytest.approx(0.1)
    kept = np.abs(big.weighted_layers[0].weight[masks["fc1"] == 1])
    assert kept.min() >= np.abs(big.weighted_layers[0].weight[masks["fc1"] == 0]).max()  # magnitude order


def test_snip_scores_equal_abs_grad_times_weight_on_a_hand_made_net():
    net = _mlp([([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0]], [0.1, -0.1]), ([[1.0, 0.0], [-1.0, 2.0]], [0.0, 0.0])])
    x = np.array([[1.0, 0.5, -1.0], [0.2, 0.3, 0.4]], np.float32)
    y = np.array([0, 1])
    scores = snip_scores(net, x, y)
    # by hand: h = relu(x W1^T + b1), logits = h W2^T; dL/dW2 = d^T h, dL/dW1 = (d W2 * [h>0])^T x
    h = np.maximum(x @ net.weighted_layers[0].weight.T + net.weighted_layers[0].bias, 0)
    z = h @ net.weighted_layers[1].weight.T
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(2)[y]) / 2
    g2 = d.T @ h
    g1 = ((d @ net.weighted_layers[1].weight) * (h > 0)).T @ x
    np.testing.assert_allclose(scores["fc2"], np.abs(g2 * net.weighted_layers[1].weight), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(scores["fc1"], np.abs(g1 * net.weighted_layers[0].weight), rtol=1e-5, atol=1e-7)


def test_top_fraction_masks_is_one_global_cut():
    scores = {"a": np.array([[5.0, 1.0]]), "b": np.array([[4.0, 3.0, 0.5, 2.0]])}
    m = top_fraction_masks(scores, 0.5)
    assert m["a"].tolist() == [[1, 0]] and m["b"].tolist() == [[1, 1, 0, 0]]


def test_random_pruning_keeps_counts_and_only_drops_alive(rng):
    masks = {"a": (rng.random((20, 30)) < 0.5).astype(np.float32)}
    out = random_prune_masks(masks, {"a": 0.4}, np.random.default_rng(1))
    alive = int(masks["a"].sum())
    assert int(out["a"].sum()) == alive - round(0.4 * alive)
    assert not np.any(out["a"] > masks["a"])
    again = random_prune_masks(masks, {"a": 0.4}, np.random.default_rng(1))
    np.testing.assert_array_equal(out["a"], again["a"])


def test_distillation_at_t1_weight0_equals_cross_entropy(rng):
    s = rng.normal(size=(7, 10)).astype(np.float32)
    t = rng.normal(size=(7, 10)).astype(np.float32)
    y = rng.integers(0, 10, size=7)
    loss, d = distillation_loss(s, t, y, 1.0, 0.0)
    ref_loss, ref_d = softmax_cross_entropy(s, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_array_equal(d, ref_d)


def test_distillation_gradient_matches_finite_differences(rng):
    s = rng.normal(size=(3, 4))
    t = rng.normal(size=(3, 4)).astype(np.float32)
    y = np.array([0, 2, 3])
    _, d = distillation_loss(s.astype(np.float32), t, y, 4.0, 0.7)
    eps = 1e-3
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        sp, sm = s.copy(), s.copy()
        sp[i, j] += eps
        sm[i, j] -= eps
        num = (distillation_loss(sp, t, y, 4.0, 0.7)[0] - distillation_loss(sm, t, y, 4.0, 0.7)[0]) / (2 * eps)
        assert d[i, j] == pytest.approx(num, rel=1e-2, abs=1e-5)


@pytest.mark.parametrize("stage", [
    {"prune": {"method": "random", "rate": 0.5}},
    {"prune": {"method": "gradual", "rate": 0.8, "rounds": 2, "retrain": {"epochs": 1}}},
    {"prune": {"method": "snip", "rate": 0.8, "retrain": {"epochs": 4}}},
    {"distill": {"student": "lenet300.yaml", "temperature": 4, "weight": 0.5, "train": {"epochs": 1}}},
])
def test_method_stages_run_in_a_recipe(tmp_path, stage):
    from sim.compression.pipeline import run_compression
    from sim.compression.recipe import recipe_from_dict

    path = str(tmp_path / "r.yaml")
    if "distill" in stage:
        stage = {"distill": {**stage["distill"], "student": os.path.abspath("models/lenet300.yaml")}}
    recipe = recipe_from_dict({"version": 1, "recipe": "deep_compression", "model": os.path.abspath("models/lenet300.yaml"),
                               "train": {"epochs": 1, "batch_size": 100}, "stages": [stage]}, path)
    out = run_compression(recipe)
    final = out.stages.iloc[-1]
    if "prune" in stage:
        assert final["weights_kept_fraction"] == pytest.approx(1 - stage["prune"]["rate"], abs=0.02)
    assert final["accuracy"] > 0.5  # trained, not chance (10%)


def test_snip_needs_one_global_rate(tmp_path):
    from sim.compression.recipe import recipe_from_dict
    from sim.errors import ConfigError

    with pytest.raises(ConfigError, match="snip prunes once"):
        recipe_from_dict({"version": 1, "recipe": "deep_compression", "model": os.path.abspath("models/lenet300.yaml"),
                          "stages": [{"prune": {"method": "snip", "rate": 0.5, "rounds": 3}}]}, str(tmp_path / "r.yaml"))


def test_lowrank_is_the_truncated_svd(rng):
    from sim.compression.lowrank import factorize

    u, _ = np.linalg.qr(rng.normal(size=(40, 40)))
    v, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    s = np.array([10, 8, 6, 5, 4] + [0.5 * 0.9 ** k for k in range(25)])
    w = ((u[:, :30] * s) @ v.T).astype(np.float32)
    net = network_from_dict({"input_shape": [30], "layers": [{"name": "fc1", "type": "fc", "out_features": 40},
                                                             {"name": "r", "type": "relu"},
                                                             {"name": "fc2", "type": "fc", "out_features": 3}]}, "m.yaml")
    net.weighted_layers[0].weight = w
    out = factorize(net, "fc1", 5 * 70 / 1200 + 1e-9)  # rank 5
    a, b = out.layer("fc1_a").weight, out.layer("fc1").weight
    assert a.shape == (5, 30) and b.shape == (40, 5)
    best = (u[:, :5] * s[:5]) @ v[:, :5].T
    np.testing.assert_allclose(b @ a, best, atol=1e-4)
    assert [lay.name for lay in out.weighted_layers] == ["fc1_a", "fc1", "fc2"]
    assert out.weight_count < net.weight_count


def _onnx_mlp(path, n_in, rng):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w1 = rng.normal(size=(n_in, 32)).astype(np.float32) * 0.2
    w2 = rng.normal(size=(32, 10)).astype(np.float32) * 0.2
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                              [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))


def test_data_free_recipe_runs_on_an_onnx_model(tmp_path, rng):
    from sim.compression.pipeline import run_compression
    from sim.compression.recipe import recipe_from_dict
    from sim.workload.load import load_network

    _onnx_mlp(tmp_path / "m.onnx", 64, rng)
    recipe = recipe_from_dict({"version": 1, "recipe": "deep_compression", "model": "m.onnx", "stages": [
        {"prune": {"method": "percentile", "rate": 0.7}}, {"quantize": {"method": "kmeans", "bits": 4}},
        {"encode": {}}]}, str(tmp_path / "r.yaml"))
    out = run_compression(recipe)
    files = out.write(tmp_path / "out")
    again = load_network(files[-1])
    assert again.weight_nnz == out.network.weight_nnz
    assert out.stages.iloc[-1]["weights_kept_fraction"] == pytest.approx(0.3, abs=0.01)
    assert 0 <= out.stages.iloc[0]["accuracy"] <= 1  # 64 inputs: digits matches, so it has an accuracy


def test_training_stage_without_matching_data_says_so(tmp_path, rng):
    from sim.compression.pipeline import run_compression
    from sim.compression.recipe import recipe_from_dict
    from sim.errors import ConfigError

    _onnx_mlp(tmp_path / "m.onnx", 100, rng)
    recipe = recipe_from_dict({"version": 1, "recipe": "deep_compression", "model": "m.onnx", "stages": [
        {"prune": {"method": "percentile", "rate": 0.5, "retrain": {"epochs": 1}}}]}, str(tmp_path / "r.yaml"))
    with pytest.raises(ConfigError, match="needs a dataset the model's input matches.*100 features"):
        run_compression(recipe)
    data_free = recipe_from_dict({"version": 1, "recipe": "deep_compression", "model": "m.onnx", "stages": [
        {"prune": {"method": "random", "rate": 0.5}}]}, str(tmp_path / "r.yaml"))
    assert run_compression(data_free).stages.iloc[-1]["weights_kept_fraction"] == pytest.approx(0.5, abs=0.01)


def test_linear_quantization_fine_tuning_keeps_weights_on_the_grid_and_helps():
    from sim.compression.pipeline import run_compression
    from sim.compression.recipe import recipe_from_dict

    def run(finetune):
        q = {"method": "linear", "bits": 3}
        if finetune:
            q["finetune"] = {"epochs": 2, "lr": 3.0e-4}
        recipe = recipe_from_dict({"version": 1, "recipe": "deep_compression",
                                   "model": os.path.abspath("models/lenet300.yaml"), "stages": [{"quantize": q}]},
                                  os.path.abspath("r.yaml"))
        return run_compression(recipe)

    plain, tuned = run(False), run(True)
    for lay in tuned.network.weighted_layers:
        assert lay.quant.kind == "linear" and np.abs(lay.quant.qvalues).max() <= 3  # 3 bits: -3..3
        np.testing.assert_allclose(lay.weight, lay.quant.qvalues * lay.quant.scale, rtol=1e-6)
    assert tuned.stages.iloc[-1]["accuracy"] > plain.stages.iloc[-1]["accuracy"]
