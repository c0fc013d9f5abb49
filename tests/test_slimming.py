"""Network slimming (batch norm in the trainer, L1 on its scales, channel cut, folding) and low-rank conv."""
import numpy as np

from sim.compression.layers_np import backward, forward
from sim.compression.numerics import softmax_cross_entropy
from sim.compression.slimming import channels_to_keep, fold_batchnorm, prune_channels, with_batchnorm
from sim.compression.train import _params
from sim.workload.load import network_from_dict


def _mlp(rng, sizes=(6, 5, 4)):
    net = network_from_dict({"input_shape": [sizes[0]], "layers": [
        {"name": "fc1", "type": "fc", "out_features": sizes[1]},
        {"name": "fc2", "type": "fc", "out_features": sizes[2]}]}, "m.yaml")
    for lay in net.weighted_layers:
        lay.weight = rng.normal(size=lay.weight.shape).astype(np.float32)
        lay.bias = rng.normal(size=lay.bias.shape).astype(np.float32)
    return net


def _loss(net, params, x, y):
    logits, _ = forward(net, {k: v.copy() for k, v in params.items()}, x, train=True)
    return softmax_cross_entropy(logits, y)[0]


def test_batchnorm_gradients_match_finite_differences(rng):
    net = with_batchnorm(_mlp(rng))
    params = _params(net)
    params[("fc1", "gamma")] = rng.uniform(0.5, 1.5, 5).astype(np.float32)
    params[("fc1", "beta")] = rng.normal(size=5).astype(np.float32)
    x = rng.normal(size=(16, 6)).astype(np.float32)
    y = rng.integers(0, 4, 16)
    logits, caches = forward(net, {k: v.copy() for k, v in params.items()}, x, train=True)
    grads = backward(net, params, caches, softmax_cross_entropy(logits, y)[1])
    eps = 1e-2
    for key in [("fc1", "gamma"), ("fc1", "beta"), ("fc1", "weight"), ("fc2", "weight")]:
        num = np.zeros_like(params[key], dtype=np.float64)
        for i in range(params[key].size):
            up = {k: v.copy() for k, v in params.items()}
            dn = {k: v.copy() for k, v in params.items()}
            up[key].ravel()[i] += eps
            dn[key].ravel()[i] -= eps
            num.ravel()[i] = (_loss(net, up, x, y) - _loss(net, dn, x, y)) / (2 * eps)
        np.testing.assert_allclose(grads[key], num, rtol=2e-2, atol=2e-3, err_msg=str(key))


def test_folding_batchnorm_keeps_eval_outputs(rng):
    net = with_batchnorm(_mlp(rng))
    lay = net.layer("fc1")
    lay.consts.update(bn_gamma=rng.uniform(0.2, 2, 5).astype(np.float32), bn_beta=rng.normal(size=5).astype(np.float32),
                      bn_mean=rng.normal(size=5).astype(np.float32), bn_var=rng.uniform(0.5, 2, 5).astype(np.float32))
    x = rng.normal(size=(8, 6)).astype(np.float32)
    want, _ = forward(net, _params(net), x)
    folded = fold_batchnorm(net)
    assert "bn_gamma" not in folded.layer("fc1").consts
    got, _ = forward(folded, _params(folded), x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_the_cut_removes_the_smallest_scales_globally():
    scales = {"a": np.array([0.9, 0.01, 0.5], np.float32), "b": np.array([0.02, 0.03, 0.8, 0.7], np.float32)}
    kept = channels_to_keep(scales, 4 / 7)
    assert kept["a"].tolist() == [0, 2] and kept["b"].tolist() == [2, 3]
    kept = channels_to_keep({"a": np.array([0.9, 0.8]), "b": np.array([0.01, 0.02])}, 0.5)
    assert kept["b"].tolist() == [1]  # at least one per layer: its largest


def test_prune_channels_shrinks_layer_and_consumer(rng):
    net = with_batchnorm(_mlp(rng))
    net.layer("fc1").consts["bn_gamma"] = np.array([1.0, 0.001, 0.5, 0.002, 0.9], np.float32)
    out, kept = prune_channels(net, 0.6)
    assert kept["fc1"].tolist() == [0, 2, 4]
    assert out.layer("fc1").weight.shape == (3, 6) and out.layer("fc2").weight.shape == (4, 3)


def test_lowrank_conv_at_full_rank_equals_the_layer(rng, monkeypatch):
    from sim.compression import lowrank
    net = network_from_dict({"input_shape": [2, 6, 6], "layers": [
        {"name": "c1", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "stride": 2},
        {"name": "fl", "type": "flatten"}, {"name": "fc", "type": "fc", "out_features": 2}]}, "m.yaml")
    for lay in net.weighted_layers:
        lay.weight = rng.normal(size=lay.weight.shape).astype(np.float32)
        lay.bias = rng.normal(size=lay.bias.shape).astype(np.float32)
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    want, _ = forward(net, _params(net), x)
    monkeypatch.setattr(lowrank, "rank_for", lambda layer, keep: 3)  # full rank of the (3, 18) matrix
    out = lowrank.factorize(net, "c1", 1.0)
    assert [lay.kind for lay in out.weighted_layers][:2] == ["conv2d", "conv2d"]
    got, _ = forward(out, _params(out), x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    # at rank 1: the best rank-1 approximation of the (O, C*k*k) matrix (Eckart-Young)
    w = net.layer("c1").weight.reshape(3, -1).astype(np.float64)
    u, s, vt = np.linalg.svd(w)
    monkeypatch.setattr(lowrank, "rank_for", lambda layer, keep: 1)
    one = lowrank.factorize(net, "c1", 1.0)
    a, b = one.weighted_layers[0].weight, one.weighted_layers[1].weight
    approx = b.reshape(3, 1).astype(np.float64) @ a.reshape(1, -1)
    np.testing.assert_allclose(np.linalg.norm(w - approx), np.sqrt((s[1:] ** 2).sum()), rtol=1e-3)


def test_the_cut_can_aim_at_a_weight_fraction(rng):
    net = with_batchnorm(_mlp(rng, (40, 30, 5)))
    net.layer("fc1").consts["bn_gamma"] = rng.uniform(0.01, 1, 30).astype(np.float32)
    total = net.weight_count
    for target in (0.5, 0.2, 0.05):
        out, kept = prune_channels(net, 1.0, weights=target)
        assert out.weight_count <= target * total
        more, _ = prune_channels(net, (len(kept["fc1"]) + 1) / 30)  # one channel more overshoots
        assert more.weight_count > target * total
