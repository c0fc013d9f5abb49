import numpy as np
import pytest

from sim.compression.prune import (apply_masks, density, full_masks, layer_rates, magnitude_masks,
                                   random_masks)
from sim.compression.structured import structured_prune
from sim.compression.train import init_weights
from sim.execution.reference import execute_reference
from sim.workload.load import network_from_dict

MLP = {"input_shape": [20], "layers": [
    {"name": "fc1", "type": "fc", "out_features": 30}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 16}, {"name": "relu2", "type": "relu"},
    {"name": "fc3", "type": "fc", "out_features": 10}]}
CONV = {"input_shape": [2, 8, 8], "layers": [
    {"name": "conv1", "type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
    {"name": "relu1", "type": "relu"},
    {"name": "pool1", "type": "maxpool", "kernel_size": 2},
    {"name": "conv2", "type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1},
    {"name": "relu2", "type": "relu"},
    {"name": "pool2", "type": "avgpool", "kernel_size": 2},
    {"name": "flatten", "type": "flatten"},
    {"name": "fc1", "type": "fc", "out_features": 12}, {"name": "relu3", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 10}]}


def _net(spec, seed=0):
    net = init_weights(network_from_dict(spec, "m.yaml"), seed)
    for lay in net.weighted_layers:  # nonzero biases, so removed units would show in the outputs
        lay.bias = np.random.default_rng(seed).standard_normal(lay.bias.shape).astype(np.float32) * 0.1
    return net


def test_percentile_prunes_exact_counts_and_output_layer_at_half_rate():
    net = _net(MLP)
    rates = layer_rates(net, 0.2, output_rate_factor=0.5)
    assert rates == {"fc1": 0.2, "fc2": 0.2, "fc3": pytest.approx(0.1)}
    masks = magnitude_masks(net, "percentile", rates=rates)
    assert masks["fc1"].sum() == 600 - 120 and masks["fc3"].sum() == 160 - 16
    # Round two prunes 20% of what remains, never reviving a pruned weight.
    net2 = apply_masks(net, masks)
    masks2 = magnitude_masks(net2, "percentile", rates=rates, masks=masks)
    assert masks2["fc1"].sum() == 480 - 96 and np.all(masks2["fc1"] <= masks["fc1"])
    w = np.abs(net.layer("fc1").weight)
    assert w[masks["fc1"] == 0].max() <= w[masks["fc1"] == 1].min()


def test_threshold_is_quality_times_std():
    net = _net(MLP)
    masks = magnitude_masks(net, "threshold", quality={"fc1": 1.0, "fc2": 0.5})
    for name, q in (("fc1", 1.0), ("fc2", 0.5)):
        w = net.layer(name).weight
        np.testing.assert_array_equal(masks[name], (np.abs(w) >= q * w.std()).astype(np.float32))
    assert masks["fc3"].all()


def test_global_scope_uses_one_cut():
    net = _net(MLP)
    masks = magnitude_masks(net, "percentile", rates={"fc1": 0.5, "fc2": 0.5}, scope="global")
    kept = np.concatenate([np.abs(net.layer(n).weight)[masks[n] == 1] for n in ("fc1", "fc2")])
    cut = np.concatenate([np.abs(net.layer(n).weight)[masks[n] == 0] for n in ("fc1", "fc2")])
    assert len(cut) == round(0.5 * (600 + 480)) and cut.max() <= kept.min()
    assert masks["fc1"].mean() != masks["fc2"].mean()  # per-layer densities differ under one cut


def test_random_masks_keep_per_layer_counts(rng):
    net = _net(MLP)
    masks = magnitude_masks(net, "percentile", rates=layer_rates(net, 0.7))
    rnd = random_masks(masks, rng)
    assert {k: v.sum() for k, v in rnd.items()} == {k: v.sum() for k, v in masks.items()}
    assert any(not np.array_equal(rnd[k], masks[k]) for k in masks)
    assert density(rnd) == pytest.approx(density(masks))


def test_full_masks_keep_existing_zeros():
    net = _net(MLP)
    net.layer("fc1").weight[0, :5] = 0
    assert full_masks(net)["fc1"].sum() == 600 - 5


@pytest.mark.parametrize("layer,target,shapes", [
    ("fc1", "filters", {"fc1": (20, 20), "fc2": (16, 20)}),
    ("fc2", "channels", {"fc1": (20, 20), "fc2": (16, 20)}),
    ("fc2", "filters", {"fc2": (8, 30), "fc3": (10, 8)}),
])
def test_structured_fc_shrinks_and_runs(layer, target, shapes, rng):
    net = _net(MLP)
    frac = 1 / 3 if layer == "fc1" or target == "channels" else 0.5
    small, keep = structured_prune(net, layer, frac, "l2", target)
    for name, shape in shapes.items():
        assert small.layer(name).weight.shape == shape
    assert small.layer("relu1").out_shape == small.layer("fc1").out_shape
    out, _ = execute_reference(small, rng.random((4, 20)).astype(np.float32))
    assert out.shape == (4, 10)


def test_structured_conv_filters_and_channels_shrink_and_run(rng):
    net = _net(CONV)
    x = rng.random((3, 2, 8, 8)).astype(np.float32)
    small, keep = structured_prune(net, "conv1", 0.5, "l1", "filters")
    assert small.layer("conv1").weight.shape == (4, 2, 3, 3) and small.layer("conv2").weight.shape == (6, 4, 3, 3)
    assert small.layer("pool1").out_shape == (4, 4, 4)
    small, keep = structured_prune(small, "conv2", 0.5, "l1", "filters")  # conv -> pool -> flatten -> fc
    assert small.layer("conv2").weight.shape == (3, 4, 3, 3) and small.layer("fc1").weight.shape == (12, 12)
    assert small.layer("flatten").out_shape == (12,)
    small, _ = structured_prune(small, "conv2", 0.25, "l2", "channels")  # conv2's inputs = conv1's filters
    assert small.layer("conv1").weight.shape == (3, 2, 3, 3) and small.layer("conv2").weight.shape == (3, 3, 3, 3)
    out, _ = execute_reference(small, x)
    assert out.shape == (3, 10)


def test_structured_removing_dead_units_keeps_outputs(rng):
    """Units whose outgoing weights are all zero contribute nothing: removing them must not change outputs."""
    net = _net(CONV)
    dead = [1, 4, 5]
    net.layer("fc1").weight.reshape(12, 6, 4)[:, dead, :] = 0.0  # conv2 filters 1, 4, 5 feed nothing
    net.layer("conv2").weight[dead] *= 1e-3  # and they have the smallest norms
    x = rng.random((3, 2, 8, 8)).astype(np.float32)
    small, keep = structured_prune(net, "conv2", 0.5, "l1", "filters")
    np.testing.assert_array_equal(keep, [0, 2, 3])
    np.testing.assert_allclose(execute_reference(small, x)[0], execute_reference(net, x)[0], rtol=1e-5, atol=1e-6)


def test_structured_refuses_the_output_layer():
    with pytest.raises(ValueError, match="output layer"):
        structured_prune(_net(MLP), "fc3", 0.5)
