"""Counted conv layers of sampled execution (sim/execution/sampled.py ``counted_conv``): every
counter equals full execution's, outputs come from BLAS and are allclose to the kernel's."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.execution.execute import execute
from sim.execution.modes import choose_mode
from sim.execution.profile import COUNTERS
from sim.execution.reference import conv2d
from sim.execution.sampled import blas_conv, execute_sampled, has_sampled_layers, is_counted_conv
from sim.workload.load import network_from_dict


def _conv_net(rng, c, h, w, out_c, k, stride, padding, dilation, groups, density, act_density, batch, bias):
    spec = {"name": "conv1", "type": "conv2d", "out_channels": out_c, "kernel_size": k, "stride": stride,
            "padding": padding, "dilation": dilation, "groups": groups, "bias": bias}
    net = network_from_dict({"input_shape": [c, h, w], "layers": [spec, {"name": "relu1", "type": "relu"}]},
                            "m.yaml")
    lay = net.layer("conv1")
    wt = rng.normal(size=lay.weight.shape).astype(np.float32)
    wt[rng.random(wt.shape) > density] = 0
    lay.weight = wt
    if bias:
        lay.bias = rng.normal(size=out_c).astype(np.float32)
    x = rng.normal(size=(batch, c, h, w)).astype(np.float32)
    x[rng.random(x.shape) > act_density] = 0
    return net, x


@settings(max_examples=40, deadline=None)
@given(cpg=st.integers(1, 5), opg=st.integers(1, 6), groups=st.sampled_from([1, 1, 2, 3]),
       hw=st.tuples(st.integers(1, 13), st.integers(1, 13)), k=st.sampled_from([1, 2, 3, 5]),
       stride=st.integers(1, 3), padding=st.integers(0, 2), dilation=st.integers(1, 3),
       density=st.floats(0.0, 1.0), act_density=st.floats(0.0, 1.0), batch=st.sampled_from([1, 2, 5]),
       bias=st.booleans(), seed=st.integers(0, 2 ** 31))
def test_counted_conv_equals_full_execution(cpg, opg, groups, hw, k, stride, padding, dilation, density,
                                            act_density, batch, bias, seed):
    h, w = hw
    if (k - 1) * dilation + 1 > min(h, w) + 2 * padding:
        return  # no output position
    net, x = _conv_net(np.random.default_rng(seed), cpg * groups, h, w, opg * groups, k, stride, padding,
                       dilation, groups, density, act_density, batch, bias)
    y_full, full = execute(net, x)
    y_s, samp = execute_sampled(net, x, seed=seed, conv_threshold=0)
    np.testing.assert_allclose(y_s, y_full, rtol=1e-4, atol=1e-5 * (1 + float(np.abs(y_full).max(initial=0))))
    for name in ("conv1", "relu1"):
        a, b = full.layer(name), samp.layer(name)
        for c in COUNTERS:
            assert getattr(b, c) == getattr(a, c), (name, c)
        np.testing.assert_array_equal(b.out_work, a.out_work)
        np.testing.assert_array_equal(b.in_nnz_per_sample, a.in_nnz_per_sample)
        assert not b.sampled and b.sample_fraction == 1.0


def test_blas_conv_matches_the_reference():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 6, 17, 15)).astype(np.float32)
    w = rng.normal(size=(8, 3, 3, 3)).astype(np.float32)
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    ref = conv2d(x.astype(np.float64), w.astype(np.float64), stride=2, padding=2, groups=2, dilation=2)
    y = blas_conv(xp, w, 2, 2, 2, ref.shape[2:])
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)


def test_quantized_conv_counters_equal_full():
    from sim.workload.network import Quant
    rng = np.random.default_rng(5)
    net, x = _conv_net(rng, 4, 9, 9, 6, 3, 1, 1, 1, 1, 0.5, 0.6, 2, True)
    lay = net.layer("conv1")
    codebook = np.linspace(-1, 1, 16).astype(np.float32)
    codes = rng.integers(1, 16, size=lay.weight.shape).astype(np.uint8)
    codes[lay.weight == 0] = 0
    codebook[0] = 0
    lay.weight = codebook[codes]
    lay.quant = Quant(kind="kmeans", bits=4, codes=codes, codebook=codebook)
    y_full, full = execute(net, x)
    y_s, samp = execute_sampled(net, x, conv_threshold=0)
    np.testing.assert_allclose(y_s, y_full, rtol=1e-4, atol=1e-4)
    a, b = full.layer("conv1"), samp.layer("conv1")
    assert all(getattr(a, c) == getattr(b, c) for c in COUNTERS)
    assert b.codebook_lookups > 0 and b.psum_writes == a.psum_writes


def test_auto_picks_sampled_for_resnet50_and_says_why():
    from sim.workload.load import load_network
    net = load_network("models/resnet50.yaml")
    assert has_sampled_layers(net) and sum(is_counted_conv(l) for l in net.layers) == 53
    mode, why = choose_mode(net, 8, "auto", budget_bytes=16 << 30)
    assert mode == "sampled", why
    assert "53 large conv layers counted exactly" in why and "would take" in why, why


def test_counted_only_where_blas_beats_the_sparse_kernel():
    rng = np.random.default_rng(1)
    net, _ = _conv_net(rng, 64, 56, 56, 64, 3, 1, 1, 1, 1, 1.0, 1.0, 1, False)  # 116M dense MACs
    lay = net.layer("conv1")
    assert is_counted_conv(lay, density=1.0) and is_counted_conv(lay)
    assert not is_counted_conv(lay, density=0.1)  # the kernel skips 90% of the MACs: kept
    small, _ = _conv_net(rng, 4, 8, 8, 4, 3, 1, 1, 1, 1, 1.0, 1.0, 1, False)
    assert not is_counted_conv(small.layer("conv1")) and is_counted_conv(small.layer("conv1"), threshold=0)
