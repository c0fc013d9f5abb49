import numpy as np
import pytest

from sim.compression.layers_np import backward, forward, softmax_cross_entropy
from sim.compression.models_io import load_architecture
from sim.compression.pipeline import SplitData
from sim.compression.prune import layer_rates, magnitude_masks
from sim.compression.quantize import quantize_network
from sim.compression.train import TrainConfig, _params, evaluate, init_weights, train, train_config, with_weights
from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.data import load_dataset
from sim.workload.load import network_from_dict

CONV = {"input_shape": [1, 8, 8], "dataset": "digits", "layers": [
    {"name": "conv1", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "pool1", "type": "maxpool", "kernel_size": 2},
    {"name": "conv2", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1},
    {"name": "relu2", "type": "relu"},
    {"name": "pool2", "type": "avgpool", "kernel_size": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc1", "type": "fc", "out_features": 10}]}
MLP = {"input_shape": [64], "dataset": "digits", "layers": [
    {"name": "fc1", "type": "fc", "out_features": 32}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 10}]}
FAST = TrainConfig(epochs=2, lr=1e-2, batch_size=60, eval_every=5)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _net(spec, seed=0):
    return init_weights(network_from_dict(spec, "m.yaml"), seed)


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_backward_matches_numeric_gradient(spec, rng):
    net = _net(spec, 1)
    for lay in net.weighted_layers:
        lay.bias = (0.1 * rng.standard_normal(lay.bias.shape)).astype(np.float32)
    x = rng.random((5,) + tuple(net.input_shape)).astype(np.float32)
    y = rng.integers(0, 10, 5)
    params = _params(net)
    logits, caches = forward(net, params, x, train=True)
    _, d = softmax_cross_entropy(logits, y)
    grads = backward(net, params, caches, d)
    def numeric(flat, i, eps):
        old = flat[i]
        flat[i] = old + eps
        up = softmax_cross_entropy(forward(net, params, x)[0], y)[0]
        flat[i] = old - eps
        down = softmax_cross_entropy(forward(net, params, x)[0], y)[0]
        flat[i] = old
        return (up - down) / (2 * eps)

    for key, g in grads.items():
        flat = params[key].reshape(-1)
        for i in rng.choice(flat.size, size=min(4, flat.size), replace=False):
            # A ReLU kink within eps of a pre-activation spoils one difference, so the analytic
            # gradient must match the central difference at one of three step sizes.
            estimates = [numeric(flat, i, eps) for eps in (1e-2, 1e-3, 1e-4)]
            assert any(g.reshape(-1)[i] == pytest.approx(e, abs=1e-3, rel=0.02) for e in estimates), (key, estimates)


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_training_forward_agrees_with_the_reference_executor(spec, digits):
    net = _net(spec)
    data = SplitData(net, digits)
    out, _ = execute_reference(net, data.test[0])
    logits, _ = forward(net, _params(net), data.test[0])
    np.testing.assert_allclose(logits, out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("spec", [MLP, CONV], ids=["mlp", "conv"])
def test_masks_survive_training(spec, digits):
    net = _net(spec)
    masks = magnitude_masks(net, "percentile", rates=layer_rates(net, 0.7))
    for lay in net.weighted_layers:  # start from weights that are NOT zero at pruned positions
        assert np.count_nonzero(lay.weight * (1 - masks[lay.name])) > 0
    res = train(net, SplitData(net, digits).train, FAST, seed=0, masks=masks)
    for lay in res.net.weighted_layers:
        pruned = masks[lay.name] == 0
        assert pruned.any() and np.all(lay.weight[pruned] == 0.0)
        assert np.count_nonzero(lay.weight[~pruned]) == int((~pruned).sum())


def test_training_learns_and_is_reproducible(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    before = data.accuracy(net)
    a = train(net, data.train, FAST, seed=3)
    b = train(net, data.train, FAST, seed=3)
    c = train(net, data.train, FAST, seed=4)
    assert data.accuracy(a.net) > max(0.8, before + 0.3)
    for la, lb, lc in zip(a.net.weighted_layers, b.net.weighted_layers, c.net.weighted_layers):
        np.testing.assert_array_equal(la.weight, lb.weight)
    assert any(not np.array_equal(la.weight, lc.weight) for la, lc in zip(a.net.weighted_layers, c.net.weighted_layers))


def test_early_stop_is_the_minimum_validation_loss(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    res = train(net, data.train, TrainConfig(epochs=3, eval_every=7, lr=5e-2), seed=0)
    iters, losses = zip(*[(h[0], h[1]) for h in res.history])
    assert res.best_iteration == iters[int(np.argmin(losses))]
    assert res.iterations == 3 * 21
    loss, _ = evaluate(res.net, data.train[2], data.train[3])
    assert loss == pytest.approx(min(losses), rel=1e-5)  # the returned weights are the early-stop weights


def test_sgd_and_snapshots(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    res = train(net, data.train, TrainConfig(optimizer="sgd", lr=0.1, epochs=1), seed=0, snapshot_iterations=(0, 5))
    np.testing.assert_array_equal(res.snapshots[0]["fc1"][0], net.layer("fc1").weight)
    assert not np.array_equal(res.snapshots[5]["fc1"][0], net.layer("fc1").weight)
    assert data.accuracy(res.net) > 0.5


def test_resuming_at_iteration_k_replays_the_remaining_minibatches(digits):
    # Plain SGD (momentum 0) has no optimizer state, so resuming from the iteration-k snapshot must
    # reproduce the uninterrupted run exactly: same mini-batches, only the remaining iterations.
    net = _net(MLP)
    data = SplitData(net, digits)
    cfg = TrainConfig(optimizer="sgd", momentum=0.0, lr=0.05, epochs=2, eval_every=5, restore_best=False)
    full = train(net, data.train, cfg, seed=7, snapshot_iterations=(26,))
    resumed = train(net.copy(), data.train, cfg, seed=7, start_iteration=26)
    assert resumed.iterations == 42 - 26 and full.iterations == 42  # 2 epochs x 21 mini-batches
    resumed = train(with_weights(net, full.snapshots[26]), data.train, cfg, seed=7, start_iteration=26)
    for a, b in zip(full.net.weighted_layers, resumed.net.weighted_layers):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert [h[0] for h in resumed.history] == [26, 30, 35, 40, 42]  # the absolute iteration scale
    assert resumed.history[1:] == [h for h in full.history if h[0] > 26]
    with pytest.raises(ValueError, match="start_iteration"):
        train(net, data.train, cfg, seed=7, start_iteration=42)


def test_adam_restarts_its_moments_on_resume(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    cfg = TrainConfig(epochs=1, eval_every=5, restore_best=False)
    full = train(net, data.train, cfg, seed=1, snapshot_iterations=(10,))
    resumed = train(with_weights(net, full.snapshots[10]), data.train, cfg, seed=1, start_iteration=10)
    # Fresh zero moments with restarted bias correction: the first resumed step moves every weight
    # that has a gradient by about lr (Adam's first step is lr x sign(g)), unlike step 11 of the
    # uninterrupted run, so the two runs end apart.
    assert resumed.iterations == 11 and resumed.best_iteration >= 10
    assert not np.array_equal(full.net.layer("fc1").weight, resumed.net.layer("fc1").weight)


def test_target_iteration_is_the_first_evaluation_at_or_below_the_target(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    res = train(net, data.train, TrainConfig(epochs=3, eval_every=3, lr=1e-2, target_val_loss=0.4), seed=0)
    first = next(i for i, loss, _ in res.history if loss <= 0.4)
    assert res.target_iteration == first and 0 < first < 63
    never = train(net, data.train, TrainConfig(epochs=1, eval_every=3, target_val_loss=1e-6), seed=0)
    assert never.target_iteration is None
    assert train_config({"target_val_loss": 0.05}, "r.yaml").target_val_loss == 0.05
    with pytest.raises(ConfigError, match=r"target_val_loss: must be >= 0 \(nats\); got -1"):
        train_config({"target_val_loss": -1}, "r.yaml")


def test_centroid_finetuning_keeps_weights_shared(digits):
    net = _net(MLP)
    data = SplitData(net, digits)
    net = train(net, data.train, FAST, seed=0).net
    masks = magnitude_masks(net, "percentile", rates=layer_rates(net, 0.5))
    from sim.compression.prune import apply_masks
    q = quantize_network(apply_masks(net, masks), "kmeans", 3)
    shared = {lay.name: (lay.quant.codebook, lay.quant.codes.astype(np.int64)) for lay in q.weighted_layers}
    res = train(q, data.train, TrainConfig(epochs=1, lr=1e-2, restore_best=False), seed=0, masks=masks, shared=shared)
    for lay in res.net.weighted_layers:
        codebook, codes = shared[lay.name]
        kept = masks[lay.name] != 0
        np.testing.assert_array_equal(lay.weight[kept], res.codebooks[lay.name][codes[kept]])
        assert np.all(lay.weight[~kept] == 0)
        assert not np.allclose(res.codebooks[lay.name], codebook)  # the centroids did move


def test_bad_train_settings_and_untrainable_graphs():
    with pytest.raises(ConfigError, match=r"train\.lr: must be > 0; got 0"):
        train_config({"lr": 0}, "r.yaml")
    with pytest.raises(ConfigError, match="did you mean 'epochs'"):
        train_config({"epoch": 3}, "r.yaml")
    spec = {"input_shape": [4], "layers": [{"name": "a", "type": "fc", "out_features": 4},
                                           {"name": "b", "type": "fc", "out_features": 4, "inputs": ["a"]},
                                           {"name": "s", "type": "add", "inputs": ["a", "b"]}]}
    net = init_weights(network_from_dict(spec, "g.yaml"), 0)
    x = np.zeros((2, 4), np.float32)
    with pytest.raises(ConfigError, match="chain networks"):
        train(net, (x, np.zeros(2, np.int64), x, np.zeros(2, np.int64)), FAST)


def test_shipped_lenet300_is_trained_to_95_percent(root):
    import sim
    from sim.workload.data import inputs_for
    net = sim.load_network(root / "models" / "lenet300.yaml")
    x, y = inputs_for(net)
    out, _ = execute_reference(net, x)
    acc = float((out.argmax(axis=1) == y).mean())
    assert acc >= 0.95 and acc == pytest.approx(net.accuracy, abs=1e-6)
    assert load_architecture(root / "models" / "lenet300.yaml").layer("fc1").weight.shape == (300, 64)
