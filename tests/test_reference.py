"""The numpy oracle against loops written out by hand, and its counts against brute force."""
import numpy as np
import pytest

from sim.engine.reference import conv2d, execute_reference, pool2d
from sim.workload.load import network_from_dict


def naive_conv(x, w, stride, pad, groups):
    b, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    out = np.zeros((b, o, oh, ow))
    og = o // groups
    for n in range(b):
        for f in range(o):
            g = f // og
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, g * cg:(g + 1) * cg, i * stride:i * stride + k, j * stride:j * stride + k]
                    out[n, f, i, j] = np.sum(patch * w[f])
    return out


@pytest.mark.parametrize("stride,pad,groups", [(1, 0, 1), (2, 1, 1), (1, 1, 2), (2, 2, 4)])
def test_conv2d_matches_loops(rng, stride, pad, groups):
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((8, 4 // groups, 3, 3))
    np.testing.assert_allclose(conv2d(x, w, stride, pad, groups), naive_conv(x, w, stride, pad, groups), atol=1e-10)


def test_pools():
    x = np.arange(16, dtype=float).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(pool2d(x, "maxpool", 2, 2, 0)[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(pool2d(x, "avgpool", 2, 2, 0)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # padded average excludes the padding: the corner window holds one real cell
    assert pool2d(x, "avgpool", 2, 2, 1)[0, 0, 0, 0] == 0.0
    assert pool2d(x, "avgpool", 2, 2, 1)[0, 0, 0, 1] == pytest.approx(1.5)


def brute_counts(x, w, stride, pad):
    """Loop over every MAC of a single-group conv and classify it."""
    b, c, h, wd = x.shape
    o, _, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=np.nan)  # nan marks padding
    oh, ow = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    eff = zw = za = 0
    for n in range(b):
        for f in range(o):
            for i in range(oh):
                for j in range(ow):
                    patch = xp[n, :, i * stride:i * stride + k, j * stride:j * stride + k]
                    real = ~np.isnan(patch)
                    wz = (w[f] == 0) & real
                    eff += int(np.sum(real & (w[f] != 0) & (np.nan_to_num(patch) != 0)))
                    zw += int(np.sum(wz))
                    za += int(np.sum(real & (w[f] != 0) & (np.nan_to_num(patch) == 0)))
    return eff, zw, za


def test_counts_equal_brute_force(rng):
    spec = {"version": 1, "name": "c", "input_shape": [3, 6, 6], "seed": 1,
            "layers": [{"name": "conv", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2,
                        "padding": 1, "weight_density": 0.4}]}
    net = network_from_dict(spec, "c.yaml")
    x = rng.random((2, 3, 6, 6)).astype(np.float32)
    x[x < 0.5] = 0
    _, prof = execute_reference(net, x)
    lw = prof.layers[0]
    eff, zw, za = brute_counts(x, net.layers[0].weight, 2, 1)
    assert (lw.effectual_macs, lw.skipped_zero_weight, lw.skipped_zero_act) == (eff, zw, za)
    # macs counts every tap of the dense layer, padding included (SCALE-Sim / fvcore convention)
    assert lw.macs == 2 * 4 * 3 * 3 * 3 * 3 * 3 == eff + zw + za + lw.padding_macs
    assert lw.padding_macs > 0
    assert lw.out_work.sum() == eff


def test_fc_counts(rng):
    spec = {"version": 1, "name": "f", "input_shape": [20], "seed": 1,
            "layers": [{"name": "fc", "type": "fc", "out_features": 7, "weight_density": 0.3}]}
    net = network_from_dict(spec, "f.yaml")
    x = rng.random((3, 20)).astype(np.float32)
    x[:, ::3] = 0
    y, prof = execute_reference(net, x)
    w = net.layers[0].weight
    np.testing.assert_allclose(y, x @ w.T + net.layers[0].bias, rtol=1e-5)
    lw = prof.layers[0]
    expect_eff = sum(int(np.sum((w != 0) & (x[n] != 0)[None, :])) for n in range(3))
    assert lw.effectual_macs == expect_eff
    assert lw.skipped_zero_weight == 3 * int(np.sum(w == 0))
    assert lw.macs == 3 * w.size
    np.testing.assert_array_equal(lw.in_nnz_per_sample, np.count_nonzero(x, axis=1))


def test_residual_graph_runs(rng):
    spec = {"version": 1, "name": "r", "input_shape": [2, 5, 5], "seed": 0,
            "layers": [{"name": "a", "type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                       {"name": "r", "type": "relu"},
                       {"name": "b", "type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
                       {"name": "s", "type": "add", "inputs": ["b", "r"]},
                       {"name": "g", "type": "global_avgpool"}]}
    net = network_from_dict(spec, "r.yaml")
    x = rng.random((1, 2, 5, 5)).astype(np.float32)
    y, _ = execute_reference(net, x)
    a = np.maximum(conv2d(x, net.layers[0].weight, 1, 1) + net.layers[0].bias[:, None, None], 0)
    b = conv2d(a, net.layers[2].weight, 1, 1) + net.layers[2].bias[:, None, None]
    np.testing.assert_allclose(y[:, :, 0, 0], (a + b).mean(axis=(2, 3)), rtol=1e-5)
