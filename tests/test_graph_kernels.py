"""Property tests: every new layer kind's numba execution equals the numpy reference (outputs
allclose, every count exact) on random shapes, geometries and densities."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.engine.execute import execute_layer
from sim.engine.profile import same_counts
from sim.engine.reference import count_layer, forward_layer
from sim.workload.network import Layer, conv_out_size

SETTINGS = settings(max_examples=25, deadline=None)


def both(layer, xs):
    y, lw = execute_layer(layer, xs)
    y_ref = forward_layer(layer, xs)
    lw_ref = count_layer(layer, xs, y_ref)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-5)
    assert same_counts(lw, lw_ref) == []
    return lw


def sparse(rng, shape, density):
    x = rng.standard_normal(shape).astype(np.float32)
    x[rng.random(shape) >= density] = 0
    return x


@SETTINGS
@given(seed=st.integers(0, 2**16), c=st.integers(1, 4), h=st.integers(3, 9), w=st.integers(3, 9),
       kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
       dh=st.integers(1, 2), dw=st.integers(1, 2), pads=st.tuples(*[st.integers(0, 2)] * 4),
       depthwise=st.booleans(), wd=st.sampled_from([0.0, 0.3, 1.0]), ad=st.sampled_from([0.0, 0.5, 1.0]))
def test_general_conv_matches_reference(seed, c, h, w, kh, kw, sh, sw, dh, dw, pads, depthwise, wd, ad):
    oh = conv_out_size(h, kh, sh, pads[0], dh, pads[2])
    ow = conv_out_size(w, kw, sw, pads[1], dw, pads[3])
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(seed)
    groups, oc = (c, 2 * c) if depthwise else (1, 3)
    layer = Layer("conv", "conv2d", (c, h, w), (oc, oh, ow), weight=sparse(rng, (oc, c // groups, kh, kw), wd),
                  bias=rng.standard_normal(oc).astype(np.float32), groups=groups,
                  attrs={"kernel": (kh, kw), "strides": (sh, sw), "dilations": (dh, dw), "pads": pads})
    lw = both(layer, [sparse(rng, (2, c, h, w), ad)])
    assert lw.macs == 2 * layer.dense_macs
    assert lw.macs == lw.effectual_macs + lw.skipped_zero_weight + lw.skipped_zero_act + lw.padding_macs


@SETTINGS
@given(seed=st.integers(0, 2**16), h=st.integers(2, 9), w=st.integers(2, 9), kh=st.integers(1, 4),
       kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3), pads=st.tuples(*[st.integers(0, 1)] * 4),
       ceil=st.booleans(), include=st.booleans(), is_max=st.booleans())
def test_general_pool_matches_reference(seed, h, w, kh, kw, sh, sw, pads, ceil, include, is_max):
    if any(p >= k for p, k in zip(pads, (kh, kw, kh, kw))):
        return  # ONNX: a pad must be smaller than the window
    oh = conv_out_size(h, kh, sh, pads[0], 1, pads[2], ceil)
    ow = conv_out_size(w, kw, sw, pads[1], 1, pads[3], ceil)
    if oh < 1 or ow < 1:
        return
    rng = np.random.default_rng(seed)
    kind = "maxpool" if is_max else "avgpool"
    layer = Layer("p", kind, (2, h, w), (2, oh, ow), attrs={"kernel": (kh, kw), "strides": (sh, sw), "pads": pads,
                                                            "ceil_mode": ceil, "count_include_pad": include})
    both(layer, [rng.standard_normal((2, 2, h, w)).astype(np.float32)])


@SETTINGS
@given(seed=st.integers(0, 2**16), heads=st.integers(1, 3), m=st.integers(1, 6), k=st.integers(1, 5),
       n=st.integers(1, 6), causal=st.booleans(), da=st.sampled_from([0.0, 0.5, 1.0]),
       db=st.sampled_from([0.0, 0.5, 1.0]), broadcast=st.booleans())
def test_matmul_of_activations_matches_reference(seed, heads, m, k, n, causal, da, db, broadcast):
    rng = np.random.default_rng(seed)
    a = sparse(rng, (2, heads, m, k), da)
    b = sparse(rng, (2, k, n) if broadcast else (2, heads, k, n), db)
    layer = Layer("mm", "matmul", (heads, m, k), (heads, m, n), attrs={"k": k, "causal": causal})
    lw = both(layer, [a, b])
    assert lw.macs == 2 * heads * m * n * k
    if causal:
        assert lw.padding_macs == 2 * heads * k * int((~np.tril(np.ones((m, n), bool), k=n - m)).sum())


@SETTINGS
@given(seed=st.integers(0, 2**16), kind=st.sampled_from(["lstm", "gru"]), steps=st.integers(1, 4),
       n_in=st.integers(1, 5), hidden=st.integers(1, 5), wd=st.sampled_from([0.3, 1.0]), lbr=st.integers(0, 1))
def test_recurrent_cells_match_reference(seed, kind, steps, n_in, hidden, wd, lbr):
    rng = np.random.default_rng(seed)
    gates = 4 if kind == "lstm" else 3
    layer = Layer("r", kind, (steps, n_in), (steps, 1, hidden), weight=sparse(rng, (gates * hidden, n_in + hidden), wd),
                  attrs={"hidden_size": hidden, "linear_before_reset": lbr},
                  consts={"wb": rng.standard_normal(gates * hidden).astype(np.float32),
                          "rb": rng.standard_normal(gates * hidden).astype(np.float32)})
    lw = both(layer, [sparse(rng, (2, steps, n_in), 0.7)])
    assert lw.macs == 2 * steps * gates * hidden * (n_in + hidden)


UNARY = [("relu", {}), ("relu6", {}), ("clip", {"min": -0.5, "max": 0.7}), ("sigmoid", {}), ("silu", {}),
         ("gelu", {"approximate": "none"}), ("gelu", {"approximate": "tanh"}),
         ("hardsigmoid", {"alpha": 0.2, "beta": 0.5}), ("hardswish", {}), ("tanh", {}), ("erf", {}), ("exp", {}),
         ("neg", {}), ("abs", {}), ("leaky_relu", {"alpha": 0.1}), ("pow", {"exponent": 2.0})]


@pytest.mark.parametrize("kind, attrs", UNARY)
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), shape=st.sampled_from([(3,), (2, 5), (2, 3, 4)]))
def test_unary_kernels(kind, attrs, seed, shape):
    x = np.random.default_rng(seed).standard_normal((2,) + shape).astype(np.float32)
    both(Layer("u", kind, shape, shape, attrs=attrs), [x])


@pytest.mark.parametrize("kind", ["add", "sub", "mul", "div", "max", "min"])
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), const=st.booleans(), const_first=st.booleans())
def test_binary_kernels_broadcast(kind, seed, const, const_first):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 2, (2, 3, 4)).astype(np.float32)
    if const:
        layer = Layer("b", kind, (3, 4), (3, 4), consts={"operand": rng.uniform(0.5, 2, (3, 1)).astype(np.float32)},
                      attrs={"const_first": const_first})
        both(layer, [x])
    else:
        both(Layer("b", kind, (3, 4), (3, 4)), [x, rng.uniform(0.5, 2, (2, 4)).astype(np.float32)])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), axis=st.integers(-3, 2), keep=st.booleans())
def test_normalization_kernels(seed, axis, keep):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    d = x.shape[1 + axis % 3:]
    both(Layer("ln", "layernorm", x.shape[1:], x.shape[1:], attrs={"axis": axis, "epsilon": 1e-5},
               consts={"scale": rng.standard_normal(d).astype(np.float32), "bias": rng.standard_normal(d).astype(np.float32)}), [x])
    both(Layer("sm", "softmax", x.shape[1:], x.shape[1:], attrs={"axis": axis}), [x])
    axes = [axis % 3]
    out = tuple(1 if i in axes else s for i, s in enumerate(x.shape[1:]) if keep or i not in axes)
    both(Layer("rm", "reduce_mean", x.shape[1:], out, attrs={"axes": axes, "keepdims": keep}), [x])


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16), per_channel=st.booleans(), dtype=st.sampled_from(["int8", "uint8"]))
def test_quantize_dequantize_kernels(seed, per_channel, dtype):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((2, 3, 4)) * 3).astype(np.float32)
    scale = rng.uniform(0.01, 0.1, 3 if per_channel else 1).astype(np.float32)
    zero = rng.integers(0, 20, scale.size).astype(np.float32)
    consts = {"scale": scale if per_channel else scale.reshape(()), "zero_point": zero if per_channel else zero.reshape(())}
    attrs = {"dtype": dtype, **({"axis": 0} if per_channel else {})}
    q = Layer("q", "quantize", (3, 4), (3, 4), consts=consts, attrs=attrs)
    both(q, [x])
    both(Layer("dq", "dequantize", (3, 4), (3, 4), consts=consts, attrs=attrs), [forward_layer(q, [x])])
