"""ONNX graphs of modern CNNs and transformers: every operator and block runs in both executors and
equals onnxruntime (rtol 1e-4); the two executors agree on every count."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_models import GraphBuilder
from sim.engine.execute import execute
from sim.engine.profile import same_counts
from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.onnx_import import load_onnx

ort = pytest.importorskip("onnxruntime")


@pytest.fixture
def rng():
    return np.random.default_rng(7)


def make_model(g: GraphBuilder, inputs, outputs, opset: int = 17, name: str = "test_graph"):
    graph = helper.make_graph(g.nodes, name, inputs, outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    model = onnx.shape_inference.infer_shapes(model)
    onnx.checker.check_model(model)
    return model


def io(shape, dtype=TensorProto.FLOAT, name="x"):
    return helper.make_tensor_value_info(name, dtype, ["N", *shape])


def out(name="y"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def ort_run(path, feeds, optimize=True):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    if not optimize:  # QDQ graphs: the reference semantics, not onnxruntime's fused integer kernels
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check(tmp_path, model, x, rtol=1e-4, atol=1e-5, optimize=True, feed=None, input_shape=None):
    """Both executors equal onnxruntime on ``x``; return (net, kernel profile)."""
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    net = load_onnx(path, input_shape=input_shape)
    expected = ort_run(path, {"x": x if feed is None else feed}, optimize)
    results = []
    for executor in (execute_reference, execute):
        y, prof = executor(net, x.astype(np.float32))
        ys = y if isinstance(y, tuple) else (y,)
        assert len(ys) == len(expected)
        for got, want in zip(ys, expected):
            np.testing.assert_allclose(np.asarray(got).reshape(want.shape), want, rtol=rtol, atol=atol,
                                       err_msg=executor.__module__)
        results.append(prof)
    for a, b in zip(*[p.layers for p in results], strict=True):
        assert same_counts(a, b) == [], (a.name, same_counts(a, b))
    return net, results[1]


# ------------------------------------------------------------------ single operators
UNARY = [("Sigmoid", {}), ("Tanh", {}), ("Erf", {}), ("Exp", {}), ("Abs", {}), ("Neg", {}),
         ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("HardSwish", {}), ("LeakyRelu", {"alpha": 0.1})]


@pytest.mark.parametrize("op, attrs", UNARY)
def test_unary_ops_match_onnxruntime(tmp_path, rng, op, attrs):
    g = GraphBuilder(rng)
    g.op(op, ["x"], out="y", **attrs)
    check(tmp_path, make_model(g, [io((3, 5))], [out()]), rng.standard_normal((2, 3, 5)).astype(np.float32))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_both_forms(tmp_path, rng, approximate):
    g = GraphBuilder(rng)
    g.op("Gelu", ["x"], out="y", approximate=approximate)
    net, _ = check(tmp_path, make_model(g, [io((4, 6))], [out()], opset=20), rng.standard_normal((2, 4, 6)).astype(np.float32))
    assert net.layers[0].kind == "gelu"


def test_gelu_erf_decomposition_and_silu(tmp_path, rng):
    """torch's GELU export before opset 20: x * 0.5 * (1 + erf(x / sqrt 2)); SiLU: x * sigmoid(x)."""
    g = GraphBuilder(rng)
    e = g.op("Erf", [g.op("Div", ["x", g.const(np.float32(np.sqrt(2.0)))])])
    gelu = g.op("Mul", [g.op("Mul", ["x", g.op("Add", [e, g.const(np.float32(1.0))])]), g.const(np.float32(0.5))])
    silu = g.op("Mul", [gelu, g.op("Sigmoid", [gelu])])
    g.op("Clip", [silu, g.const(np.float32(-0.5)), g.const(np.float32(1.5))], out="y")
    check(tmp_path, make_model(g, [io((8,))], [out()]), rng.standard_normal((3, 8)).astype(np.float32))


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_ops_broadcast(tmp_path, rng, op):
    g = GraphBuilder(rng)
    a = g.op(op, ["x", g.const(rng.uniform(0.5, 2, (1, 4, 1)).astype(np.float32))])  # per-channel constant
    b = g.op(op, [g.const(rng.uniform(0.5, 2, (5,)).astype(np.float32)), a])  # constant first, last axis
    c = g.op("Relu", [b])
    g.op(op, [c, g.op("ReduceMean", [c], axes=[2], keepdims=1)], out="y")  # two activations, broadcast
    check(tmp_path, make_model(g, [io((4, 5))], [out()]), rng.uniform(0.5, 2, (2, 4, 5)).astype(np.float32))


def test_data_movement_ops(tmp_path, rng):
    g = GraphBuilder(rng)
    t = g.op("Transpose", ["x"], perm=[0, 2, 1, 3])  # (N, 3, 4, 6) -> (N, 4, 3, 6)
    r = g.op("Reshape", [t, g.const(np.array([0, 12, -1], np.int64))])  # (N, 12, 6)
    parts = ["s0", "s1", "s2"]
    g.nodes.append(helper.make_node("Split", [r, g.const(np.array([1, 2, 3], np.int64))], parts, axis=2, name="split"))
    sl = g.op("Slice", [parts[2], g.const(np.array([1, 0], np.int64)), g.const(np.array([11, 2], np.int64)),
                        g.const(np.array([1, 2], np.int64)), g.const(np.array([2, 1], np.int64))])  # (N, 5, 2)
    pad = g.op("Pad", [sl, g.const(np.array([0, 1, 0, 0, 2, 1], np.int64)), g.const(np.float32(0.5))])  # (N, 8, 3)
    cat = g.op("Concat", [g.op("Slice", [parts[1], g.const(np.array([0], np.int64)), g.const(np.array([8], np.int64)),
                                         g.const(np.array([1], np.int64))]), pad], axis=2)  # (N, 8, 5)
    sq = g.op("Unsqueeze", [cat, g.const(np.array([1], np.int64))])
    g.op("Flatten", [g.op("Squeeze", [sq, g.const(np.array([1], np.int64))])], out="y", axis=1)
    net, _ = check(tmp_path, make_model(g, [io((3, 4, 6))], [out()]), rng.standard_normal((2, 3, 4, 6)).astype(np.float32))
    kinds = {lay.kind for lay in net.layers}
    assert {"transpose", "reshape", "slice", "pad", "concat", "flatten"} <= kinds
    assert all(lay.category == "data_movement" for lay in net.layers)


def test_embedding_gather_and_token_select(tmp_path, rng):
    g = GraphBuilder(rng)
    table = rng.standard_normal((50, 8)).astype(np.float32)
    emb = g.op("Gather", [g.const(table), "x"], axis=0)  # (N, 6, 8)
    first = g.op("Gather", [emb, g.const(np.int64(0))], axis=1)  # the class token: (N, 8)
    g.op("Gemm", [first, g.weight(8, 3), g.const(np.zeros(3, np.float32))], out="y")
    ids = rng.integers(0, 50, (2, 6))
    net, prof = check(tmp_path, make_model(g, [io((6,), TensorProto.INT64)], [out()]), ids.astype(np.float32),
                      feed=ids.astype(np.int64))
    assert net.meta["vocab"] == 50 and net.layers[0].consts["table"].shape == (50, 8)


def test_layernorm_softmax_axes_and_reduce_mean(tmp_path, rng):
    g = GraphBuilder(rng)
    ln = g.op("LayerNormalization", ["x", g.const(rng.standard_normal(6).astype(np.float32)),
                                     g.const(rng.standard_normal(6).astype(np.float32))], axis=-1, epsilon=1e-5)
    s1 = g.op("Softmax", [ln], axis=1)
    s2 = g.op("Softmax", [s1], axis=-1)
    g.op("ReduceMean", [s2], out="y", axes=[1], keepdims=0)
    check(tmp_path, make_model(g, [io((4, 6))], [out()]), rng.standard_normal((3, 4, 6)).astype(np.float32))


def test_matmul_on_3d_activations_and_of_two_activations(tmp_path, rng):
    g = GraphBuilder(rng)
    q = g.op("MatMul", ["x", g.weight(8, 8)])  # (N, 5, 8) x (8, 8): per-token fc
    k = g.op("Add", [g.op("MatMul", ["x", g.weight(8, 8)]), g.const(rng.standard_normal(8).astype(np.float32))])
    att = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 2, 1])])  # (N, 5, 5): two activations
    g.op("MatMul", [g.op("Softmax", [att], axis=-1), "x"], out="y")
    net, prof = check(tmp_path, make_model(g, [io((5, 8))], [out()]), rng.standard_normal((2, 5, 8)).astype(np.float32))
    fc = [lay for lay in net.layers if lay.kind == "fc"]
    assert len(fc) == 2 and fc[1].bias is not None and fc[0].attrs["per_token"]
    mm = [lw for lw in prof.layers if lw.kind == "matmul"]
    assert [lw.macs for lw in mm] == [2 * 5 * 5 * 8, 2 * 5 * 8 * 5]
    assert all(lay.category == "act_matmul" for lay in net.layers if lay.kind == "matmul")


@pytest.mark.parametrize("kernel, strides, dilations, pads, group", [
    ((1, 7), (1, 1), (1, 1), (0, 3, 0, 3), 1),
    ((7, 1), (1, 1), (1, 1), (3, 0, 3, 0), 1),
    ((3, 3), (1, 2), (1, 1), (1, 1, 1, 1), 1),
    ((3, 2), (2, 1), (2, 1), (0, 1, 2, 0), 2),
    ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 4),  # TF-style SAME padding: the extra row / column at the end
])
def test_general_convolutions(tmp_path, rng, kernel, strides, dilations, pads, group):
    g = GraphBuilder(rng)
    w = g.weight(8, 4 // group, *kernel, density=0.6)
    g.op("Conv", ["x", w, g.const(rng.standard_normal(8).astype(np.float32))], out="y", strides=list(strides),
         dilations=list(dilations), pads=list(pads), group=group)
    x = rng.standard_normal((2, 4, 9, 10)).astype(np.float32)
    x[x < 0] = 0
    net, prof = check(tmp_path, make_model(g, [io((4, 9, 10))], [out()]), x)
    lw, lay = prof.layers[0], net.layers[0]
    oh, ow = lay.out_shape[1:]
    assert lw.macs == 2 * 8 * (4 // group) * kernel[0] * kernel[1] * oh * ow  # every tap, padding included
    assert lw.macs == lw.effectual_macs + lw.skipped_zero_weight + lw.skipped_zero_act + lw.padding_macs


@pytest.mark.parametrize("op, attrs", [
    ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1,
                     "count_include_pad": 1}),
    ("AveragePool", {"kernel_shape": [2, 3], "strides": [1, 2], "pads": [0, 1, 1, 0], "ceil_mode": 1}),
    ("MaxPool", {"kernel_shape": [1, 3], "strides": [1, 1], "pads": [0, 1, 0, 1]}),
])
def test_general_pooling(tmp_path, rng, op, attrs):
    g = GraphBuilder(rng)
    g.op(op, ["x"], out="y", **attrs)
    check(tmp_path, make_model(g, [io((3, 8, 9))], [out()]), rng.standard_normal((2, 3, 8, 9)).astype(np.float32))


def test_residual_from_the_network_input_and_two_outputs(tmp_path, rng):
    g = GraphBuilder(rng)
    h = g.op("Relu", [g.conv("x", 3, 3, 3, pads=[1, 1, 1, 1])])
    g.op("Add", ["x", h], out="y")  # the network input feeds two nodes
    g.op("Mul", [h, "x"], out="z")  # a second graph output
    model = make_model(g, [io((3, 6, 6))], [out("y"), out("z")], name="main_graph")
    net, _ = check(tmp_path, model, rng.standard_normal((2, 3, 6, 6)).astype(np.float32))
    assert net.name == "m"  # torch's "main_graph" gives way to the file's stem
    assert len(net.output_names) == 2 and net.layers[2].inputs == ("input", net.layers[1].name)


def test_unsupported_op_and_node_are_named(tmp_path, rng):
    g = GraphBuilder(rng)
    g.op("Sin", [g.op("Relu", ["x"])], out="y", name="wave3")
    path = tmp_path / "m.onnx"
    onnx.save(make_model(g, [io((4,))], [out()]), path)
    with pytest.raises(ConfigError, match=r"'wave3' \(Sin\).*op type Sin is not supported"):
        load_onnx(path)


@pytest.mark.parametrize("build, match", [
    (lambda g: g.op("Relu", [g.op("Transpose", ["x"], perm=[1, 0, 2])]), "batch is not the first axis"),
    (lambda g: g.op("Where", [g.op("Relu", ["x"]), "x", g.const(np.float32(0))]), "constant mask"),
    (lambda g: g.op("Pad", ["x", g.const(np.array([0, 0, 0, 0, 1, 1], np.int64))], mode="reflect"), "reflect"),
])
def test_patterns_sim_cannot_represent(tmp_path, rng, build, match):
    g = GraphBuilder(rng)
    g.op("Identity", [build(g)], out="y")
    path = tmp_path / "m.onnx"
    onnx.save(make_model(g, [io((3, 4))], [out()]), path)
    with pytest.raises(ConfigError, match=match):
        load_onnx(path)


# ------------------------------------------------------------------ blocks of real networks
def _conv_bn(g, rng, x, c_in, c_out, k, stride=1, groups=1, pads=None, kernel=None):
    kh, kw = kernel or (k, k)
    pads = pads if pads is not None else [kh // 2, kw // 2, kh // 2, kw // 2]
    h = g.op("Conv", [x, g.weight(c_out, c_in // groups, kh, kw)], strides=[stride, stride], pads=pads, group=groups)
    gamma, beta = rng.uniform(0.5, 1.5, c_out).astype(np.float32), rng.standard_normal(c_out).astype(np.float32)
    mean, var = rng.standard_normal(c_out).astype(np.float32), rng.uniform(0.5, 1.5, c_out).astype(np.float32)
    return g.op("BatchNormalization", [h] + [g.const(v) for v in (gamma, beta, mean, var)])


def test_efficientnet_mbconv_with_squeeze_excite(tmp_path, rng):
    g = GraphBuilder(rng)
    e = _conv_bn(g, rng, "x", 8, 32, 1)
    e = g.op("Mul", [e, g.op("Sigmoid", [e])])  # SiLU
    d = _conv_bn(g, rng, e, 32, 32, 3, groups=32)
    d = g.op("Mul", [d, g.op("Sigmoid", [d])])
    s = g.op("GlobalAveragePool", [d])
    s = g.op("Conv", [s, g.weight(8, 32, 1, 1), g.const(np.zeros(8, np.float32))])
    s = g.op("Mul", [s, g.op("Sigmoid", [s])])
    s = g.op("Sigmoid", [g.op("Conv", [s, g.weight(32, 8, 1, 1), g.const(np.zeros(32, np.float32))])])
    p = _conv_bn(g, rng, g.op("Mul", [d, s]), 32, 8, 1)  # excite: per-channel scale broadcast over H, W
    g.op("Add", [p, "x"], out="y")
    net, prof = check(tmp_path, make_model(g, [io((8, 10, 10))], [out()]), rng.standard_normal((2, 8, 10, 10)).astype(np.float32),
                      atol=1e-4)
    assert {"sigmoid", "mul", "global_avgpool", "add"} <= {lay.kind for lay in net.layers}


def test_inception_block_with_1x7_7x1_and_asymmetric_pads(tmp_path, rng):
    g = GraphBuilder(rng)
    b1 = g.op("Relu", [_conv_bn(g, rng, "x", 6, 4, 1)])
    b2 = g.op("Relu", [_conv_bn(g, rng, "x", 6, 4, 1, kernel=(1, 7), pads=[0, 3, 0, 3])])
    b2 = g.op("Relu", [_conv_bn(g, rng, b2, 4, 4, 1, kernel=(7, 1), pads=[3, 0, 3, 0])])
    b3 = g.op("Relu", [_conv_bn(g, rng, "x", 6, 4, 3, stride=2, pads=[0, 0, 1, 1])])  # TF SAME
    b4 = g.op("AveragePool", ["x"], kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)
    b4 = g.op("Relu", [_conv_bn(g, rng, b4, 6, 4, 1)])
    cat = g.op("Concat", [b1, b2, b4], axis=1)
    m = g.op("MaxPool", [cat], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    g.op("Concat", [m, b3], axis=1, out="y")
    x = rng.standard_normal((2, 6, 9, 9)).astype(np.float32)
    net, prof = check(tmp_path, make_model(g, [io((6, 9, 9))], [out()]), x, atol=1e-4)
    kernels = {lay.kernel_hw for lay in net.layers if lay.kind == "conv2d"}
    assert {(1, 7), (7, 1)} <= kernels


def _encoder(g, rng, x, tokens, dim, heads, causal=False):
    """Pre-norm transformer block: LN -> multi-head attention -> residual -> LN -> GELU MLP -> residual."""
    hd = dim // heads

    def ln(t):
        return g.op("LayerNormalization", [t, g.const(rng.uniform(0.5, 1.5, dim).astype(np.float32)),
                                           g.const(rng.standard_normal(dim).astype(np.float32) * 0.1)], axis=-1)

    def heads_of(t):  # (N, T, D) -> (N, H, T, hd)
        return g.op("Transpose", [g.op("Reshape", [t, g.const(np.array([0, 0, heads, hd], np.int64))])],
                    perm=[0, 2, 1, 3])

    h = ln(x)
    qkv = g.op("Add", [g.op("MatMul", [h, g.weight(dim, 3 * dim)]), g.const(np.zeros(3 * dim, np.float32))])
    parts = [f"q{g.count}", f"k{g.count}", f"v{g.count}"]
    g.nodes.append(helper.make_node("Split", [qkv, g.const(np.array([dim] * 3, np.int64))], parts, axis=-1,
                                    name=f"split{g.count}"))
    q, k, v = (heads_of(p) for p in parts)
    att = g.op("Div", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]),
                       g.const(np.float32(np.sqrt(hd)))])
    if causal:
        mask = np.triu(np.ones((tokens, tokens), bool), k=1)
        att = g.op("Where", [g.const(mask), g.const(np.float32(-np.inf)), att])
    p = g.op("Softmax", [att], axis=-1)
    o = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3]),
                         g.const(np.array([0, 0, dim], np.int64))])
    x = g.op("Add", [x, g.op("MatMul", [o, g.weight(dim, dim)])])
    h = g.op("MatMul", [ln(x), g.weight(dim, 2 * dim)])
    h = g.op("Gelu", [h]) if not causal else g.op("Mul", [h, g.op("Mul", [g.const(np.float32(0.5)), g.op(
        "Add", [g.const(np.float32(1.0)), g.op("Tanh", [g.op("Mul", [g.const(np.float32(np.sqrt(2 / np.pi))), g.op(
            "Add", [h, g.op("Mul", [g.const(np.float32(0.044715)), g.op("Pow", [h, g.const(np.float32(3.0))])])])])])])])])
    return g.op("Add", [x, g.op("MatMul", [h, g.weight(2 * dim, dim)])])


def test_vit_encoder_block(tmp_path, rng):
    g = GraphBuilder(rng)
    cls = g.op("Gather", [_encoder(g, rng, "x", 5, 16, 4), g.const(np.int64(0))], axis=1)
    g.op("Gemm", [cls, g.weight(16, 10), g.const(np.zeros(10, np.float32))], out="y")
    net, prof = check(tmp_path, make_model(g, [io((5, 16))], [out()], opset=20),
                      rng.standard_normal((2, 5, 16)).astype(np.float32), atol=1e-4)
    kinds = [lay.kind for lay in net.layers]
    assert kinds.count("matmul") == 2 and "layernorm" in kinds and "gelu" in kinds
    assert net.layers[0].inputs == () and any("input" in lay.inputs for lay in net.layers[1:])  # residual


def test_causal_gpt_block(tmp_path, rng):
    g = GraphBuilder(rng)
    table = rng.standard_normal((40, 16)).astype(np.float32)
    pos = rng.standard_normal((6, 16)).astype(np.float32)
    h = g.op("Add", [g.op("Gather", [g.const(table), "x"], axis=0), g.const(pos)])
    g.op("MatMul", [_encoder(g, rng, h, 6, 16, 2, causal=True), g.const(table.T.copy())], out="y")
    ids = rng.integers(0, 40, (2, 6))
    net, prof = check(tmp_path, make_model(g, [io((6,), TensorProto.INT64)], [out()]), ids.astype(np.float32),
                      feed=ids.astype(np.int64), atol=1e-4)
    qk = next(lay for lay in net.layers if lay.kind == "matmul")
    assert qk.attrs["causal"]
    lw = prof.layer(qk.name)
    assert lw.macs == 2 * 2 * 6 * 6 * 8 and lw.padding_macs == 2 * 2 * 15 * 8  # 15 masked outputs per head


def _lstm_model(g, rng, kind, steps, n_in, hidden):
    gates = 4 if kind == "LSTM" else 3
    w = g.const((rng.standard_normal((1, gates * hidden, n_in)) * 0.4).astype(np.float32))
    r = g.const((rng.standard_normal((1, gates * hidden, hidden)) * 0.4).astype(np.float32))
    bias = g.const((rng.standard_normal((1, 2 * gates * hidden)) * 0.1).astype(np.float32))
    extra = {"linear_before_reset": 1} if kind == "GRU" else {}
    seq_first = g.op("Transpose", ["x"], perm=[1, 0, 2])  # torch's batch_first=True export
    g.nodes.append(helper.make_node(kind, [seq_first, w, r, bias], ["Y", "Y_h"], hidden_size=hidden,
                                    name=kind.lower(), **extra))
    last = g.op("Squeeze", ["Y_h", g.const(np.array([0], np.int64))])  # (batch, hidden)
    ys = g.op("Transpose", [g.op("Squeeze", ["Y", g.const(np.array([1], np.int64))])], perm=[1, 0, 2])
    g.op("ReduceMean", [ys], out="z", axes=[1], keepdims=0)  # the mean hidden state over time
    return g.op("Gemm", [last, g.weight(hidden, 3), g.const(np.zeros(3, np.float32))], out="y")


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_one_layer_recurrent_cell(tmp_path, rng, kind):
    g = GraphBuilder(rng)
    _lstm_model(g, rng, kind, 7, 5, 6)
    net, prof = check(tmp_path, make_model(g, [io((7, 5))], [out(), out("z")]),
                      rng.standard_normal((2, 7, 5)).astype(np.float32))
    cell = prof.layers[0]
    gates = 4 if kind == "LSTM" else 3
    assert net.layers[0].category == "recurrent" and cell.macs == 2 * 7 * gates * 6 * (5 + 6)
    assert cell.batch == 2 * 7  # one gate matmul per sample and time step


def test_gru_reset_after_matmul_form(tmp_path, rng):
    g = GraphBuilder(rng)
    w = g.const((rng.standard_normal((1, 12, 4)) * 0.4).astype(np.float32))
    r = g.const((rng.standard_normal((1, 12, 4)) * 0.4).astype(np.float32))
    seq_first = g.op("Transpose", ["x"], perm=[1, 0, 2])
    g.nodes.append(helper.make_node("GRU", [seq_first, w, r], ["Y"], hidden_size=4, linear_before_reset=0))
    g.op("Transpose", ["Y"], out="y", perm=[2, 0, 1, 3])
    check(tmp_path, make_model(g, [io((5, 4))], [out()]), rng.standard_normal((2, 5, 4)).astype(np.float32))


# ------------------------------------------------------------------ quantized graphs
def test_onnxruntime_quantized_qdq_cnn(tmp_path, rng):
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    g = GraphBuilder(rng)
    h = g.op("Relu", [g.conv("x", 3, 8, 3, pads=[1, 1, 1, 1])])
    h = g.op("MaxPool", [h], kernel_shape=[2, 2], strides=[2, 2])
    h = g.op("Relu", [g.conv(h, 8, 8, 3, groups=8, pads=[1, 1, 1, 1])])
    h = g.op("Add", [h, g.conv(h, 8, 8, 1)])
    g.op("Gemm", [g.op("Flatten", [g.op("GlobalAveragePool", [h])], axis=1), g.weight(4, 8),
                  g.const(np.zeros(4, np.float32))], out="y", transB=1)
    float_path, q_path = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(make_model(g, [io((3, 8, 8))], [out()], opset=17), float_path)
    samples = [rng.standard_normal((1, 3, 8, 8)).astype(np.float32) for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": s} for s in samples])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(float_path), str(q_path), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8, per_channel=True)
    model = onnx.load(q_path)
    x = np.concatenate(samples[:3])
    net, prof = check(tmp_path, model, x, optimize=False, atol=1e-5)
    kinds = [lay.kind for lay in net.layers]
    assert "quantize" in kinds and "dequantize" in kinds
    assert any(lay.quant is not None and lay.quant.per_channel for lay in net.layers if lay.kind == "conv2d")


def _q(rng, shape, dtype=np.uint8):
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max + 1, shape).astype(dtype)


def test_qlinear_conv_and_matmul(tmp_path, rng):
    g = GraphBuilder(rng)
    xs, xz = g.const(np.float32(0.02)), g.const(np.uint8(128))
    q = g.op("QuantizeLinear", ["x", xs, xz])
    ws = g.const(rng.uniform(0.005, 0.02, 4).astype(np.float32))
    wz = g.const(np.zeros(4, np.int8))
    w = g.const(_q(rng, (4, 3, 3, 3), np.int8))
    bias = g.const(rng.integers(-500, 500, 4).astype(np.int32))
    ys, yz = g.const(np.float32(0.05)), g.const(np.uint8(100))
    c = g.op("QLinearConv", [q, xs, xz, w, ws, wz, ys, yz, bias], pads=[1, 1, 1, 1])
    f = g.op("Flatten", [c], axis=1)
    w2 = g.const(_q(rng, (4 * 5 * 5, 6), np.uint8))
    m = g.op("QLinearMatMul", [f, ys, yz, w2, g.const(np.float32(0.01)), g.const(np.uint8(120)),
                               g.const(np.float32(0.3)), g.const(np.uint8(90))])
    g.op("DequantizeLinear", [m, g.const(np.float32(0.3)), g.const(np.uint8(90))], out="y")
    path = tmp_path / "m.onnx"
    onnx.save(make_model(g, [io((3, 5, 5))], [out()], opset=17), path)
    net = load_onnx(path)
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    want = ort_run(path, {"x": x}, optimize=False)[0]
    for executor in (execute_reference, execute):
        got = executor(net, x)[0]
        # Integer outputs: requantization rounds at .5 boundaries; a float32 reordering may move
        # one value by one quantum (0.3), never more.
        diff = np.abs(got - want)
        assert diff.max() <= 0.3 + 1e-6 and np.mean(diff > 1e-6) < 0.05


def test_matmul_integer_and_conv_integer(tmp_path, rng):
    g = GraphBuilder(rng)
    q = g.op("QuantizeLinear", ["x", g.const(np.float32(0.05)), g.const(np.uint8(128))])
    c = g.op("ConvInteger", [q, g.const(_q(rng, (4, 2, 3, 3))), g.const(np.uint8(128)), g.const(np.uint8(120))])
    f = g.op("Cast", [g.op("Flatten", [c], axis=1)], to=TensorProto.FLOAT)
    q2 = g.op("QuantizeLinear", [f, g.const(np.float32(50.0)), g.const(np.int8(0))])
    m = g.op("MatMulInteger", [q2, g.const(_q(rng, (4 * 4 * 4, 5), np.int8)), g.const(np.int8(0)), g.const(np.int8(3))])
    g.op("Cast", [m], out="y", to=TensorProto.FLOAT)
    model = make_model(g, [io((2, 6, 6))], [out()])
    check(tmp_path, model, rng.standard_normal((2, 2, 6, 6)).astype(np.float32), optimize=False)
