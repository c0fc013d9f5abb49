"""sim.engine.execute against the numpy reference executor: outputs and every shared counter."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import reference
from sim.compression.quantize import quantize_layer
from sim.engine import execute as ex
from sim.engine.execute import eie_pe_work, execute, quantize_per_tensor
from sim.engine.profile import same_counts
from sim.engine.reference import execute_reference
from sim.workload.load import network_from_dict

GRAPH = {
    "version": 1, "name": "graph", "input_shape": [4, 9, 9], "seed": 3,
    "layers": [
        {"name": "conv1", "type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 1, "weight_density": 0.5},
        {"name": "relu1", "type": "relu"},
        {"name": "dw", "type": "conv2d", "out_channels": 6, "kernel_size": 3, "padding": 2, "groups": 6,
         "dilation": 2, "stride": 2, "weight_density": 0.7},
        {"name": "relu6", "type": "relu6"},
        {"name": "pool1", "type": "avgpool", "kernel_size": 3, "stride": 2, "padding": 1},
        {"name": "pool2", "type": "maxpool", "kernel_size": 3, "stride": 3, "inputs": ["relu1"]},
        {"name": "cat", "type": "concat", "inputs": ["pool1", "pool2"]},
        {"name": "pw", "type": "conv2d", "out_channels": 12, "kernel_size": 1, "weight_density": 0.4},
        {"name": "gap", "type": "global_avgpool"},
        {"name": "flatten", "type": "flatten"},
        {"name": "fc1", "type": "fc", "out_features": 10, "weight_density": 0.3},
        {"name": "sm", "type": "softmax"},
    ]}
RESIDUAL = {
    "version": 1, "name": "res", "input_shape": [3, 6, 6], "seed": 1,
    "layers": [
        {"name": "c1", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "weight_density": 0.6},
        {"name": "r1", "type": "relu"},
        {"name": "c2", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1, "weight_density": 0.6},
        {"name": "add", "type": "add", "inputs": ["c2", "r1"]},
        {"name": "flat", "type": "flatten"},
        {"name": "fc", "type": "fc", "out_features": 5, "weight_density": 0.5},
    ]}


def inputs(rng, shape, batch, density=0.6):
    x = rng.random((batch,) + tuple(shape), dtype=np.float32)
    x[rng.random(x.shape) > density] = 0
    return x


def assert_matches_reference(net, x, **options):
    y, prof = execute(net, x, **options)
    y_ref, prof_ref = execute_reference(net, x)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-5)
    for got, want in zip(prof.layers, prof_ref.layers, strict=True):
        assert same_counts(got, want) == [], got.name
        np.testing.assert_array_equal(got.out_work, want.out_work)
        np.testing.assert_array_equal(got.in_nnz_per_sample, want.in_nnz_per_sample)
    return prof


@pytest.mark.parametrize("spec", [GRAPH, RESIDUAL])
@pytest.mark.parametrize("fc_dataflow", ["csr", "csc"])
@pytest.mark.parametrize("batch", [1, 3])
def test_execute_matches_reference(rng, spec, fc_dataflow, batch):
    net = network_from_dict(spec, "net.yaml")
    assert_matches_reference(net, inputs(rng, net.input_shape, batch), fc_dataflow=fc_dataflow, n_pes=4)


@pytest.mark.parametrize("method,bits", [("kmeans", 4), ("kmeans", 2), ("linear", 8), ("linear", 3), ("binary", 1)])
def test_quantized_layers_match_reference_on_dequantized_weights(rng, method, bits):
    net = network_from_dict(GRAPH, "net.yaml")
    net.layers = [quantize_layer(lay, method, bits, rng=np.random.default_rng(0), per_channel=(bits == 3))
                  if lay.is_weighted else lay for lay in net.layers]
    prof = assert_matches_reference(net, inputs(rng, net.input_shape, 2))
    fc = prof.layer("fc1")
    assert fc.codebook_lookups == (fc.weight_words_read if method == "kmeans" else 0)


def test_dataflow_counters(rng):
    net = network_from_dict(GRAPH, "net.yaml")
    fc_layer = net.layer("fc1")
    nnz = fc_layer.weight_nnz
    x = inputs(rng, net.input_shape, 1)
    _, prof = execute(net, x)
    fc = prof.layer("fc1")
    rows_stored = int(np.count_nonzero(np.count_nonzero(fc_layer.weight, axis=1)))
    assert (fc.weight_words_read, fc.act_reads, fc.psum_writes) == (nnz, nnz, rows_stored)  # one column block
    assert fc.index_words_read == nnz + 10 + 2  # + a count per row + the tile's two pointers
    _, prof3 = execute(net, inputs(rng, net.input_shape, 3))
    fc3 = prof3.layer("fc1")
    per_row = np.count_nonzero(fc_layer.weight, axis=1)  # one column block: a row is one run of mac4 groups
    assert (fc3.weight_words_read, fc3.act_reads) == (nnz, 3 * nnz)
    assert fc3.psum_writes == 3 * int((per_row // 4 + per_row % 4).sum())  # batch < 64: mac4 lanes
    _, prof_csc = execute(net, x, fc_dataflow="csc", n_pes=3)
    fcc = prof_csc.layer("fc1")
    assert fcc.weight_words_read == fcc.psum_writes == fcc.effectual_macs
    assert fcc.act_reads == fcc.in_act_count
    assert fcc.pe_work.sum() == fcc.effectual_macs and fcc.pe_work.shape == (3,)
    conv = prof.layer("conv1")
    conv_nnz = net.layer("conv1").weight_nnz
    assert conv.weight_words_read == conv_nnz * 2 and conv.act_reads == conv_nnz * 81
    per_channel = np.count_nonzero(net.layer("conv1").weight.reshape(6, -1), axis=1)  # one channel block
    assert conv.psum_writes == 81 * int(np.count_nonzero(per_channel))  # float32 register tiles
    lane_tiles = -(-(8 * 11 + 9) // 64)  # 9 x 9 output at the padded width 11
    assert conv.index_words_read == (conv_nnz + 2 * 6) * lane_tiles


def test_eie_pe_work_matches_brute_force(rng):
    net = network_from_dict(GRAPH, "net.yaml")
    layer = net.layer("fc1")
    x = inputs(rng, layer.in_shape, 4, density=0.5)
    for n_pes in (1, 3, 16):
        np.testing.assert_array_equal(eie_pe_work(layer, x, n_pes), reference.pe_work(layer.weight, x, n_pes))
    with pytest.raises(ValueError, match="fc layer"):
        eie_pe_work(net.layer("conv1"), x, 2)


def test_independent_network_takes_one_input_per_layer(rng):
    spec = {"version": 1, "name": "suite", "input_shape": [30], "independent": True, "seed": 2,
            "layers": [{"name": "a", "type": "fc", "out_features": 7, "weight_density": 0.2},
                       {"name": "b", "type": "fc", "out_features": 5, "weight_density": 0.9}]}
    net = network_from_dict(spec, "suite.yaml")
    xs = [inputs(rng, (30,), 2), inputs(rng, (30,), 2)]
    outs, prof = execute(net, xs)
    outs_ref, prof_ref = execute_reference(net, xs)
    for y, y_ref in zip(outs, outs_ref):
        np.testing.assert_allclose(y, y_ref, rtol=1e-5, atol=1e-6)
    assert [same_counts(a, b) for a, b in zip(prof.layers, prof_ref.layers)] == [[], []]


def test_formats_are_converted_once_per_layer(rng, monkeypatch):
    net = network_from_dict(GRAPH, "net.yaml")
    x = inputs(rng, net.input_shape, 2)
    execute(net, x)
    calls = []
    monkeypatch.setattr(ex.formats, "csr_tiles_from_dense", lambda *a: calls.append(a))
    monkeypatch.setattr(ex.formats, "conv_from_dense", lambda *a: calls.append(a))
    execute(net, x)
    assert calls == []
    net.layer("fc1").weight = net.layer("fc1").weight * 2  # a new array: must be re-converted
    monkeypatch.undo()
    y, _ = execute(net, x)
    np.testing.assert_allclose(y, execute_reference(net, x)[0], rtol=1e-4, atol=1e-5)


@settings(max_examples=15, deadline=None, derandomize=True, database=None)
@given(batch=st.integers(1, 4), bits=st.integers(2, 8), density=st.floats(0.05, 1), seed=st.integers(0, 2 ** 32 - 1))
def test_integer_path_equals_integer_reference(batch, bits, density, seed):
    """quantize_acts=True: int8 activations x int8 weights in int32, then the documented requantization."""
    spec = {"version": 1, "name": "q", "input_shape": [2, 6, 6], "seed": seed % 1000,
            "layers": [{"name": "conv", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1,
                        "stride": 2, "weight_density": density},
                       {"name": "flat", "type": "flatten"},
                       {"name": "fc", "type": "fc", "out_features": 4, "weight_density": density}]}
    net = network_from_dict(spec, "q.yaml")
    net.layers = [quantize_layer(lay, "linear", bits, per_channel=True) if lay.is_weighted else lay
                  for lay in net.layers]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 2, 6, 6)).astype(np.float32)
    y, _ = execute(net, x, quantize_acts=True)
    conv, fc = net.layer("conv"), net.layer("fc")
    xq, sx = quantize_per_tensor(x)
    acc = reference.conv2d_int(xq, conv.quant.qvalues, 2, 1, 1, 1)
    h = (acc.astype(np.float32) * (conv.quant.scale * np.float32(sx))[None, :, None, None]
         + conv.bias[None, :, None, None]).reshape(batch, -1)
    hq, sh = quantize_per_tensor(h)
    acc2 = reference.matmul_int(fc.quant.qvalues, hq)
    want = acc2.astype(np.float32) * (fc.quant.scale * np.float32(sh)) + fc.bias
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    if bits >= 4:  # 2- and 3-bit weights are not within 10% of float (seed 36901, density 0.05 at 2 bits)
        y_float, _ = execute(net, x)
        np.testing.assert_allclose(y, y_float, atol=0.1 * (np.abs(y_float).max() + 1e-3))


def test_rejects_unknown_dataflow(rng):
    net = network_from_dict(RESIDUAL, "net.yaml")
    with pytest.raises(ValueError, match="fc_dataflow"):
        execute(net, inputs(rng, net.input_shape, 1), fc_dataflow="diagonal")
