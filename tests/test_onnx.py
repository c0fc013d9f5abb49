"""ONNX import: sim's execution of an imported model equals onnxruntime's, and its MACs equal the graph's."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from onnx_models import GraphBuilder, graph_macs
from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.load import load_network
from sim.workload.onnx_import import load_onnx

ort = pytest.importorskip("onnxruntime")

EXECUTORS = [execute_reference]
try:  # the numba executor, when it exists, must agree with onnxruntime too
    from sim.engine.execute import execute

    EXECUTORS.append(execute)
except ImportError:
    pass


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def run_both(tmp_path, model, rng, batch=3, input_shape=None):
    """Save, import, run on the same random inputs in sim (every executor) and onnxruntime; check
    outputs and MACs. Returns the network and the reference executor's profile."""
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    net = load_onnx(path, input_shape=input_shape)
    x = rng.standard_normal((batch,) + net.input_shape).astype(np.float32)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    profiles = []
    for executor in EXECUTORS:
        out, profile = executor(net, x)
        np.testing.assert_allclose(np.asarray(out).reshape(expected.shape), expected, rtol=1e-4, atol=1e-5,
                                   err_msg=executor.__module__)
        weighted = [lw.macs for lw in profile.layers if lw.kind in ("fc", "conv2d")]
        assert weighted == graph_macs(model, batch), executor.__module__
        profiles.append(profile)
    return net, profiles[0]


def mlp(rng):
    g = GraphBuilder(rng)
    h = g.op("Relu", [g.gemm("x", 64, 32, transB=1)])
    h = g.op("MatMul", [h, g.weight(32, 16)])  # MatMul + Add is how many exporters write a biased fc
    h = g.op("Relu", [g.op("Add", [h, g.const(np.full(16, 0.3, np.float32))])])
    h = g.gemm(h, 16, 10, alpha=0.5, beta=2.0)
    return g.model((64,), g.op("Softmax", [h], axis=-1))


def lenet5(rng, density=1.0):
    g = GraphBuilder(rng)
    h = g.op("Relu", [g.conv("x", 1, 6, 5, pads=[2, 2, 2, 2], density=density)])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.conv(h, 6, 16, 5, density=density)])
    h = g.op("AveragePool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Reshape", [h, g.const(np.array([-1, 400], np.int64))])
    h = g.op("Relu", [g.gemm(h, 400, 120, transB=1, density=density)])
    h = g.op("Relu", [g.gemm(h, 120, 84, transB=1, density=density)])
    return g.model((1, 28, 28), g.gemm(h, 84, 10, transB=1, density=density))


def residual(rng):
    g = GraphBuilder(rng)
    stem = g.op("Relu", [g.conv("x", 3, 8, 3, pads=[1, 1, 1, 1])])
    h = g.op("Relu", [g.conv(stem, 8, 8, 3, pads=[1, 1, 1, 1])])
    h = g.conv(h, 8, 8, 3, pads=[1, 1, 1, 1])
    h = g.op("Relu", [g.op("Add", [stem, h])])
    branch1 = g.conv(h, 8, 4, 1)
    branch2 = g.op("MaxPool", [h], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    h = g.op("Concat", [branch1, branch2], axis=1)
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])])
    return g.model((3, 10, 10), g.gemm(h, 12, 5, transB=1))


def depthwise_separable(rng):
    g = GraphBuilder(rng)
    six = g.const(np.float32(6.0))
    zero = g.const(np.float32(0.0))
    h = g.op("Clip", [g.conv("x", 4, 8, 3, strides=[2, 2], pads=[1, 1, 1, 1]), zero, six])
    h = g.op("Clip", [g.conv(h, 8, 8, 3, groups=8, pads=[2, 2, 2, 2], dilations=[2, 2]), zero, six])
    h = g.op("Relu", [g.conv(h, 8, 16, 1, bias=False)])
    h = g.conv(h, 16, 16, 3, groups=16, auto_pad="SAME_UPPER")
    h = g.op("Flatten", [g.op("GlobalAveragePool", [h])])
    return g.model((4, 13, 13), g.gemm(h, 16, 6, transB=1))


def batchnorm(rng):
    g = GraphBuilder(rng)

    def bn(x, c):
        params = [np.abs(rng.standard_normal(c)) + 0.5, rng.standard_normal(c), rng.standard_normal(c),
                  np.abs(rng.standard_normal(c)) + 0.1]
        return g.op("BatchNormalization", [x] + [g.const(p.astype(np.float32)) for p in params], epsilon=1e-3)

    h = g.op("Relu", [bn(g.conv("x", 3, 8, 3, bias=False, pads=[1, 1, 1, 1]), 8)])
    h = g.op("Relu", [bn(g.conv(h, 8, 8, 3, strides=[2, 2]), 8)])
    h = g.op("Flatten", [h])
    return g.model((3, 9, 9), bn(g.gemm(h, 8 * 4 * 4, 10, transB=1), 10))


def test_mlp_matches_onnxruntime(tmp_path, rng):
    net, _ = run_both(tmp_path, mlp(rng), rng)
    assert [lay.kind for lay in net.layers] == ["fc", "relu", "fc", "relu", "fc", "softmax"]
    np.testing.assert_allclose(net.layers[2].bias, 0.3)  # the Add after MatMul became its bias
    assert net.input_shape == (64,)


def test_lenet5_matches_onnxruntime(tmp_path, rng):
    net, profile = run_both(tmp_path, lenet5(rng), rng)
    assert [lay.kind for lay in net.layers] == ["conv2d", "relu", "maxpool", "conv2d", "relu", "avgpool",
                                                "flatten", "fc", "relu", "fc", "relu", "fc"]
    assert net.layers[0].padding == 2 and net.layers[0].out_shape == (6, 28, 28)
    assert profile.layer(net.layers[7].name).macs == 3 * 400 * 120


def test_residual_block_names_its_producers(tmp_path, rng):
    net, _ = run_both(tmp_path, residual(rng), rng)
    kinds = [lay.kind for lay in net.layers]
    add = net.layers[kinds.index("add")]
    concat = net.layers[kinds.index("concat")]
    assert add.inputs == (net.layers[1].name, net.layers[4].name)  # stem relu and the second conv
    assert len(concat.inputs) == 2 and concat.out_shape == (12, 10, 10)
    # the pool branch reads the relu after the add, which is not the layer right before it
    branch = net.layers[kinds.index("concat") - 1]
    assert branch.kind == "maxpool" and branch.inputs == (net.layers[kinds.index("add") + 1].name,)
    assert net.layers[kinds.index("add") + 2].inputs == ()  # the 1x1 conv follows that relu directly


def test_depthwise_separable_matches_onnxruntime(tmp_path, rng):
    net, _ = run_both(tmp_path, depthwise_separable(rng), rng)
    dw = [lay for lay in net.layers if lay.kind == "conv2d" and lay.groups > 1]
    assert [(lay.groups, lay.dilation, lay.padding) for lay in dw] == [(8, 2, 2), (16, 1, 1)]
    assert [lay.kind for lay in net.layers].count("relu6") == 2


def test_batchnorm_folds_into_conv_and_fc(tmp_path, rng):
    net, _ = run_both(tmp_path, batchnorm(rng), rng)
    assert [lay.kind for lay in net.layers] == ["conv2d", "relu", "conv2d", "relu", "flatten", "fc"]
    assert net.layers[0].bias is not None  # a conv without bias gains one from the fold


def test_pruned_model_keeps_its_zeros(tmp_path, rng):
    model = lenet5(rng, density=0.1)
    net, profile = run_both(tmp_path, model, rng)
    zeros = sum(int(np.count_nonzero(onnx.numpy_helper.to_array(t) == 0)) for t in model.graph.initializer
                if len(t.dims) >= 2)
    assert net.weight_count - net.weight_nnz == zeros
    assert 0.85 < 1 - net.weight_nnz / net.weight_count < 0.95
    assert profile.total("effectual_macs") < 0.15 * profile.total("macs")


def qdq_model(rng):
    """int8 weights behind DequantizeLinear: per-channel conv, per-tensor fc, and a fake-quant fc."""
    g = GraphBuilder(rng)
    qconv = rng.integers(-127, 128, size=(6, 2, 3, 3)).astype(np.int8)
    qconv[rng.random(qconv.shape) < 0.5] = 0
    sconv = (0.01 + 0.01 * rng.random(6)).astype(np.float32)
    w = g.op("DequantizeLinear", [g.const(qconv, "qconv"), g.const(sconv, "sconv"),
                                  g.const(np.zeros(6, np.int8))], axis=0)
    h = g.op("Relu", [g.op("Conv", [g.op("Identity", ["x"]), w, g.const(np.zeros(6, np.float32))],
                           pads=[1, 1, 1, 1])])
    h = g.op("Flatten", [h])
    qfc = rng.integers(-127, 128, size=(6 * 5 * 5, 8)).astype(np.int8)
    w = g.op("DequantizeLinear", [g.const(qfc, "qfc"), g.const(np.float32(0.02)), g.const(np.int8(0))])
    h = g.op("Relu", [g.op("Gemm", [h, w, g.const(np.zeros(8, np.float32))])])
    wf = g.weight(4, 8)  # float weight quantized inside the graph (QAT-style fake quantization)
    scale = g.const(np.float32(0.05))
    zero = g.const(np.int8(0))
    w = g.op("DequantizeLinear", [g.op("QuantizeLinear", [wf, scale, zero]), scale, zero])
    return g.model((2, 5, 5), g.op("Gemm", [h, w], transB=1)), qconv, sconv, qfc


def test_qdq_int8_weights_become_linear_quant(tmp_path, rng):
    model, qconv, sconv, qfc = qdq_model(rng)
    net, _ = run_both(tmp_path, model, rng)
    conv, fc1, fc2 = net.weighted_layers
    assert conv.quant.kind == "linear" and conv.quant.bits == 8 and conv.quant.per_channel
    np.testing.assert_array_equal(conv.quant.qvalues, qconv)
    np.testing.assert_array_equal(conv.quant.scale, sconv)
    np.testing.assert_array_equal(conv.weight, qconv * sconv[:, None, None, None])
    assert not fc1.quant.per_channel
    np.testing.assert_array_equal(fc1.quant.qvalues, qfc.T)  # sim's fc weight is (out, in)
    assert fc2.quant.qvalues.dtype == np.int8 and np.abs(fc2.quant.qvalues).max() <= 127
    np.testing.assert_array_equal(fc2.weight, fc2.quant.qvalues * fc2.quant.scale[0])


def test_batchnorm_after_int8_conv_moves_into_scales(tmp_path, rng):
    g = GraphBuilder(rng)
    q = rng.integers(-127, 128, size=(4, 3, 3, 3)).astype(np.int8)
    w = g.op("DequantizeLinear", [g.const(q), g.const(np.float32(0.01)), g.const(np.int8(0))])
    h = g.op("Conv", ["x", w])
    ones = np.ones(4, np.float32)
    h = g.op("BatchNormalization", [h, g.const(2 * ones), g.const(ones), g.const(0.5 * ones), g.const(ones)])
    net, _ = run_both(tmp_path, g.model((3, 6, 6), h), rng)
    layer = net.layers[0]
    np.testing.assert_array_equal(layer.quant.qvalues, q)
    assert layer.quant.per_channel and layer.quant.scale.shape == (4,)
    np.testing.assert_allclose(layer.quant.scale, 0.02 / np.sqrt(1 + 1e-5), rtol=1e-6)


def test_symbolic_input_needs_input_shape(tmp_path, rng):
    g = GraphBuilder(rng)
    model = g.model(("C", 8, 8), g.op("Relu", [g.conv("x", 3, 4, 3)]))
    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="input-shape"):
        load_onnx(tmp_path / "m.onnx")
    with pytest.raises(ConfigError, match="input_shape"):
        load_onnx(tmp_path / "m.onnx", input_shape=(3, 9, 8))
    net, _ = run_both(tmp_path, model, rng, input_shape=(3, 8, 8))
    assert net.input_shape == (3, 8, 8)


def test_load_network_dispatches_onnx(tmp_path, rng):
    onnx.save(mlp(rng), tmp_path / "mlp.onnx")
    net = load_network(tmp_path / "mlp.onnx")
    assert net.source.endswith("mlp.onnx") and len(net.weighted_layers) == 3


def _error(tmp_path, model, match):
    onnx.save(model, tmp_path / "bad.onnx")
    with pytest.raises(ConfigError, match=match) as info:
        load_onnx(tmp_path / "bad.onnx")
    assert str(tmp_path / "bad.onnx") in str(info.value)


def test_unsupported_op_names_op_and_node(tmp_path, rng):
    g = GraphBuilder(rng)
    h = g.op("Sin", [g.gemm("x", 4, 4, transB=1)], name="gate7")
    _error(tmp_path, g.model((4,), h), r"'gate7' \(Sin\).*op type Sin is not supported")


@pytest.mark.parametrize("build", [
    lambda g: g.op("Conv", ["x", g.weight(2, 3, 3, 1)]),  # non-square kernel
    lambda g: g.conv("x", 3, 2, 3, pads=[1, 1, 0, 0]),  # asymmetric padding
    lambda g: g.conv("x", 3, 2, 3, strides=[1, 2]),
    lambda g: g.op("Relu", [g.op("DequantizeLinear", [g.op("QuantizeLinear", ["x", g.const(np.float32(0.1))]),
                                                     g.const(np.float32(0.1))])]),  # quantized activations
    lambda g: g.op("Add", ["x", g.conv("x", 3, 3, 1)]),  # the network input read twice
    lambda g: g.op("MaxPool", [g.conv("x", 3, 2, 1)], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
])
def test_patterns_once_refused_now_match_onnxruntime(tmp_path, rng, build):
    g = GraphBuilder(rng)
    run_both(tmp_path, g.model((3, 7, 7), build(g)), rng)


def test_weight_from_an_activation_is_a_clear_error(tmp_path, rng):
    g = GraphBuilder(rng)
    _error(tmp_path, g.model((3, 7, 7), g.op("Conv", ["x", g.op("Relu", ["x"])])), "must be an initializer")


def test_malformed_and_missing_files(tmp_path):
    bad = tmp_path / "garbage.onnx"
    bad.write_bytes(b"\x08\x07 this is not a protobuf \xff\xfe" * 10)
    with pytest.raises(ConfigError, match="not a valid ONNX model"):
        load_onnx(bad)
    with pytest.raises(ConfigError, match="file not found"):
        load_onnx(tmp_path / "missing.onnx")
    truncated = tmp_path / "truncated.onnx"
    onnx.save(mlp(np.random.default_rng(0)), truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    with pytest.raises(ConfigError, match="not a valid ONNX model"):
        load_onnx(truncated)


def test_two_graph_inputs_are_rejected(tmp_path):
    x = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["N", 4]) for n in ("x", "z")]
    graph = helper.make_graph([helper.make_node("Add", ["x", "z"], ["y"])], "g", x,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    _error(tmp_path, model, "exactly one input")


def test_exporter_idioms_fold_away(tmp_path, rng):
    """Shape->Gather->Unsqueeze->Concat->Reshape (torch's x.view(x.size(0), -1)), Constant-node weights,
    Dropout and Identity leave only real layers."""
    g = GraphBuilder(rng)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    g.nodes.append(helper.make_node("Constant", [], ["wconst"], value=onnx.numpy_helper.from_array(w)))
    h = g.op("Dropout", [g.op("Relu", [g.op("Conv", ["x", "wconst"])])])
    n = g.op("Unsqueeze", [g.op("Gather", [g.op("Shape", [h]), g.const(np.int64(0))], axis=0),
                           g.const(np.array([0], np.int64))])
    target = g.op("Concat", [n, g.const(np.array([-1], np.int64))], axis=0)
    h = g.op("Identity", [g.op("Reshape", [h, target])])
    net, _ = run_both(tmp_path, g.model((2, 5, 5), g.gemm(h, 36, 3, transB=1)), rng)
    assert [lay.kind for lay in net.layers] == ["conv2d", "relu", "flatten", "fc"]
    np.testing.assert_array_equal(net.layers[0].weight, w)


def test_cli_exits_2_naming_the_unsupported_node(tmp_path, rng):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    if not (repo / "hwconfigs" / "systolic.yaml").exists():
        pytest.skip("needs hwconfigs/systolic.yaml")
    g = GraphBuilder(rng)
    onnx.save(g.model((4,), g.op("Sin", [g.gemm("x", 4, 4, transB=1)], name="gate7")), tmp_path / "bad.onnx")
    res = subprocess.run([sys.executable, "-m", "sim", "run", str(repo / "hwconfigs" / "systolic.yaml"), "--model",
                          str(tmp_path / "bad.onnx")], capture_output=True, text=True, cwd=repo, timeout=300)
    assert res.returncode == 2
    assert "'gate7' (Sin)" in res.stderr and "Traceback" not in res.stderr
