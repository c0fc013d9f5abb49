"""Supermasks (Ramanujan et al. 2020) and early-bird tickets (You et al. 2020): defining properties."""
import numpy as np
import pytest

from sim.compression.earlybird import EarlyBird, draw_epoch, early_bird, mask_distance
from sim.compression.supermask import random_weights, top_k_mask, train_supermask
from sim.compression.train import TrainConfig, evaluate
from sim.workload.data import load_dataset
from sim.workload.load import network_from_dict


def _net(inp=64, hidden=32):
    return network_from_dict({"name": "t", "input_shape": [inp], "layers": [
        {"name": "fc1", "type": "fc", "out_features": hidden}, {"name": "r", "type": "relu"},
        {"name": "fc2", "type": "fc", "out_features": 10}]}, "t.yaml", seed=0)


@pytest.fixture(scope="module")
def digits():
    ds = load_dataset("digits")
    return ds.x_train.reshape(len(ds.y_train), -1), ds.y_train, ds.x_val.reshape(len(ds.y_val), -1), ds.y_val, \
        ds.x_test.reshape(len(ds.y_test), -1), ds.y_test


def test_top_k_mask_keeps_exactly_k_largest_abs():
    s = np.array([[0.1, -3.0, 2.0], [0.5, -0.2, 1.0]], dtype=np.float32)
    m = top_k_mask(s, 0.5)
    assert m.sum() == 3
    assert np.array_equal(m, np.array([[0, 1, 1], [0, 0, 1]], dtype=np.float32))


def test_supermask_weights_frozen_mask_exact_and_above_chance(digits):
    net = _net()
    cfg = TrainConfig(epochs=3, lr=1e-3)
    res = train_supermask(net, digits[:4], cfg, keep=0.5, seed=3)
    init = random_weights(net, 3)
    for lay in init.weighted_layers:
        assert np.array_equal(res.weights[lay.name], lay.weight)  # bitwise the initialization
        assert set(np.unique(np.abs(lay.weight))) == {np.float32(np.sqrt(2.0 / lay.weight.shape[1]))}
        m = res.masks[lay.name]
        assert int(m.sum()) == int(round(0.5 * m.size))
        trained = res.net.layer(lay.name).weight
        assert np.array_equal(trained, lay.weight * m)  # only the mask changed
        assert not np.any(res.net.layer(lay.name).bias)
    acc = evaluate(res.net, digits[4], digits[5])[1]
    assert acc > 0.5, acc  # chance is 0.1; the weights are untrained


def test_mask_distance_hand_made():
    a = {"x": np.array([1, 1, 0, 0], np.float32), "y": np.array([[1, 0], [0, 1]], np.float32)}
    b = {"x": np.array([1, 0, 1, 0], np.float32), "y": np.array([[1, 0], [0, 0]], np.float32)}
    assert mask_distance(a, b) == pytest.approx(3 / 8)
    assert mask_distance(a, a) == 0.0


def test_draw_epoch_first_full_fifo_below_epsilon():
    d = [0.5, 0.3, 0.09, 0.08, 0.2, 0.05, 0.04, 0.03, 0.02, 0.01, 0.0]
    # the first window of 5 with max < 0.1 is d[5:10]
    assert draw_epoch(d, 5, 0.1) == 9
    assert draw_epoch(d[:9], 5, 0.1) is None
    assert draw_epoch([0.05] * 3, 3, 0.1) == 2
    assert draw_epoch([0.1] * 10, 5, 0.1) is None  # strictly below epsilon


def test_early_bird_end_to_end(digits):
    net = _net()
    stage = EarlyBird(rate=0.5, retrain=TrainConfig(epochs=10, lr=1.2e-3))
    res = early_bird(net, stage, digits[:4], TrainConfig(epochs=15, lr=1.2e-3), seed=0, retrain_seed=1)
    # drawn at the first epoch where the recorded distances satisfy the FIFO rule
    i = draw_epoch(res.distances, 5, 0.1)
    assert res.drawn and i is not None and res.epoch == i + 2 and len(res.distances) == i + 1
    for lay in res.net.weighted_layers:
        m = res.masks[lay.name]
        assert int(m.sum()) == m.size - int(round(0.5 * m.size))
        assert not np.any(lay.weight[m == 0])
    assert evaluate(res.net, digits[4], digits[5])[1] > 0.8
