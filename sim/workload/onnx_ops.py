"""ONNX op converters: one function per op type, each turning ``b.node`` into sim layers.

Every function takes the builder of ``onnx_import`` (``b``) and the node's attributes. It reads
inputs with ``b.act`` (an activation) or ``b.const`` (an initializer or folded constant), and
either appends a layer (``b.emit``), folds the node into the layer before it (BatchNormalization,
a bias Add), or passes its input through (Identity, Dropout, a no-op reshape). Anything sim
cannot represent ends in ``b.fail``, a ConfigError naming the node and its op type.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .network import Quant, conv_out_size

if TYPE_CHECKING:
    from .onnx_import import Act

# Shape of an activation gives this for the batch dimension. torch writes x.view(x.size(0), -1) as
# Shape -> Gather -> Unsqueeze -> Concat -> Reshape; the constant chain carries the marker to the Reshape,
# whose leading entry is the batch anyway. Negative, so it can never size a real allocation.
BATCH_MARKER = -(2**40) + 1


def conv(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    weight, quant = b.weight(b.const(b.node.input[1], "weight"))
    bias = b.const(b.node.input[2], "bias", optional=True) if len(b.node.input) > 2 else None
    if weight.ndim != 4 or len(x.shape) != 3:
        b.fail(f"only 2-D convolutions are supported; got weight shape {list(weight.shape)} on a per-sample "
               f"input of shape {list(x.shape)}")
    oc, icg, kh, kw = weight.shape
    if kh != kw:
        b.fail(f"non-square kernel {kh}x{kw}; sim's conv2d has square kernels")
    stride = b.square(attrs, "strides")
    dilation = b.square(attrs, "dilations")
    groups = int(attrs.get("group", 1))
    c, h, w = x.shape
    if icg * groups != c or oc % groups:
        b.fail(f"weight shape {list(weight.shape)} with group={groups} does not fit {c} input channels")
    pad = b.padding(attrs, (h, w), kh, stride, dilation)
    oh, ow = conv_out_size(h, kh, stride, pad, dilation), conv_out_size(w, kh, stride, pad, dilation)
    bias = None if bias is None else b.value(bias).astype(np.float32).reshape(oc).copy()
    b.emit("conv2d", [x], (oc, oh, ow), weight=weight, bias=bias, stride=stride, padding=pad,
           groups=groups, kernel_size=kh, dilation=dilation, quant=quant)


def gemm(b, attrs: dict) -> None:
    x = _fc_input(b)
    if attrs.get("transA", 0):
        b.fail("transA=1 is not supported (the activation must be the (batch, features) operand)")
    trans_b = bool(attrs.get("transB", 0))
    weight, quant = b.weight(b.const(b.node.input[1], "B (weight)"), transpose=not trans_b,
                             out_axis=0 if trans_b else 1)
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    n_out = weight.shape[0]
    if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
        b.fail(f"weight shape {list(weight.shape)} does not fit {x.shape[0]} input features")
    if alpha != 1.0:
        weight = (weight * np.float32(alpha)).astype(np.float32)
        if quant is not None:
            quant.scale = (quant.scale * np.float32(alpha)).astype(np.float32)
            weight = dequantized(quant, weight.shape)
    bias = None
    if len(b.node.input) > 2 and b.node.input[2]:
        c = b.value(b.const(b.node.input[2], "C (bias)")).astype(np.float32)
        if c.ndim == 2 and c.shape[0] != 1 or c.size not in (1, n_out):
            b.fail(f"bias C of shape {list(c.shape)} is not one value per output ({n_out})")
        bias = (np.broadcast_to(c.reshape(-1), (n_out,)) * np.float32(beta)).astype(np.float32)
    b.emit("fc", [x], (n_out,), weight=weight, bias=bias, quant=quant)


def matmul(b, attrs: dict) -> None:
    x = _fc_input(b)
    weight, quant = b.weight(b.const(b.node.input[1], "B (weight)"), transpose=True, out_axis=1)
    if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
        b.fail(f"weight shape {list(weight.T.shape)} does not fit {x.shape[0]} input features")
    b.emit("fc", [x], (weight.shape[0],), weight=weight, bias=None, quant=quant)


def _fc_input(b) -> "Act":
    x = b.act(b.node.input[0])
    if len(x.shape) != 1:
        b.fail(f"the activation must be (batch, features); got per-sample shape {list(x.shape)}")
    return x


def dequantized(quant: Quant, shape: tuple) -> np.ndarray:
    """qvalues x scale as float32: the weight a linear Quant stands for (after its scale changed)."""
    scale = quant.scale.reshape((-1,) + (1,) * (len(shape) - 1)) if quant.per_channel else quant.scale[0]
    return (quant.qvalues.astype(np.float32) * scale).astype(np.float32)


def batch_normalization(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    b.unused_extra_outputs()
    if attrs.get("training_mode", 0):
        b.fail("training_mode=1 is not supported; export the model in eval mode")
    layer = b.foldable(x)
    if layer is None:
        follows = "the network input" if x.layer is None else \
            f"layer {x.layer!r}, which is not one or whose output is also used elsewhere"
        b.fail(f"BatchNormalization is folded into the Conv/Gemm/MatMul right before it; here it follows {follows}")
    gamma, beta, mean, var = (b.value(b.const(n, role)).astype(np.float64) for n, role in
                              zip(b.node.input[1:5], ("scale", "B", "mean", "var")))
    eps = float(attrs.get("epsilon", 1e-5))
    n_out = layer.out_shape[0]
    if any(a.size != n_out for a in (gamma, beta, mean, var)):
        b.fail(f"parameters must have one value per channel ({n_out})")
    s = gamma / np.sqrt(var + eps)
    bias = np.zeros(n_out) if layer.bias is None else layer.bias.astype(np.float64)
    layer.bias = ((bias - mean) * s + beta).astype(np.float32)
    per_out = (-1,) + (1,) * (layer.weight.ndim - 1)
    if layer.quant is not None:
        # Fold the per-channel factor into the scales: the int8 values stay the exported ones.
        q = layer.quant
        q.scale = (np.broadcast_to(q.scale, (n_out,)) * s).astype(np.float32)
        q.per_channel = True
        layer.weight = dequantized(q, layer.weight.shape)
    else:
        layer.weight = (layer.weight * s.reshape(per_out)).astype(np.float32)
    b.pass_through(x)


def relu(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    b.emit("relu", [x], x.shape)


def clip(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    lo, hi = attrs.get("min"), attrs.get("max")  # opset < 11 keeps them as attributes
    inputs = list(b.node.input) + ["", ""]
    if inputs[1]:
        lo = float(b.value(b.const(inputs[1], "min")))
    if inputs[2]:
        hi = float(b.value(b.const(inputs[2], "max")))
    if lo == 0.0 and hi == 6.0:
        b.emit("relu6", [x], x.shape)
    elif lo == 0.0 and (hi is None or hi >= np.finfo(np.float32).max):
        b.emit("relu", [x], x.shape)
    else:
        b.fail(f"Clip({lo}, {hi}) is supported only as ReLU (0, none) or ReLU6 (0, 6)")


def max_pool(b, attrs: dict) -> None:
    _pool(b, "maxpool", attrs)


def average_pool(b, attrs: dict) -> None:
    _pool(b, "avgpool", attrs)


def _pool(b, kind: str, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    b.unused_extra_outputs()
    if len(x.shape) != 3 or len(attrs.get("kernel_shape", ())) != 2:
        b.fail(f"only 2-D pooling is supported; got per-sample input shape {list(x.shape)}")
    kh, kw = attrs["kernel_shape"]
    if kh != kw:
        b.fail(f"non-square window {kh}x{kw}; sim's pools have square windows")
    if b.square(attrs, "dilations") != 1:
        b.fail("dilated pooling is not supported")
    stride = b.square(attrs, "strides")
    c, h, w = x.shape
    pad = b.padding(attrs, (h, w), kh, stride, 1)
    if kind == "avgpool" and attrs.get("count_include_pad", 0) and pad:
        b.fail("count_include_pad=1 with padding is not supported (sim averages over real cells only)")
    oh, ow = conv_out_size(h, kh, stride, pad), conv_out_size(w, kh, stride, pad)
    if attrs.get("ceil_mode", 0) and any(
            -(-(n + 2 * pad - kh) // stride) + 1 != o for n, o in ((h, oh), (w, ow))):
        b.fail("ceil_mode=1 adds a partial window here; sim pools in floor mode")
    b.emit(kind, [x], (c, oh, ow), stride=stride, padding=pad, kernel_size=kh)


def global_average_pool(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    if len(x.shape) != 3:
        b.fail(f"needs a (channels, height, width) input; got {list(x.shape)}")
    b.emit("global_avgpool", [x], (x.shape[0], 1, 1))


def softmax(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    axis = attrs.get("axis", 1 if b.opset < 13 else -1)
    rank = len(x.shape) + 1
    ok = (len(x.shape) == 1 and axis in (1, -1)) or (len(x.shape) == 3 and b.opset >= 13 and axis in (1, -3))
    if not ok:
        b.fail(f"softmax over axis {axis} of a rank-{rank} tensor is not supported; sim takes softmax over "
               f"the features of (batch, features) or the channels of (batch, channels, height, width)")
    b.emit("softmax", [x], x.shape)


def add(b, attrs: dict) -> None:
    left, right = b.node.input[0], b.node.input[1]
    if left in b.acts and right in b.acts:
        xa, xb = b.acts[left], b.acts[right]
        if xa.shape != xb.shape:
            b.fail(f"adds shapes {list(xa.shape)} and {list(xb.shape)}; sim's add needs equal shapes")
        if xa.layer is None or xb.layer is None:
            b.fail("adds the network input; sim feeds the network input only to the first layer")
        b.emit("add", [xa, xb], xa.shape)
        b.layers[-1].inputs = (xa.layer, xb.layer)  # always explicit: two producers
        return
    x, c = (b.acts[left], b.consts[right]) if left in b.acts else (b.acts[right], b.consts[left])
    layer = b.foldable(x)
    if layer is None:
        b.fail("adding a constant is supported only as the bias of the Conv/Gemm/MatMul right before it")
    try:
        full = np.broadcast_to(b.value(c).astype(np.float32), (1,) + layer.out_shape)[0]
    except ValueError:
        b.fail(f"constant of shape {list(b.value(c).shape)} does not broadcast to {list(layer.out_shape)}")
    per_channel = full.reshape(full.shape[0], -1)
    if np.any(per_channel != per_channel[:, :1]):
        b.fail("the added constant varies within a channel; only one bias per output channel folds")
    bias = per_channel[:, 0]
    layer.bias = bias.copy() if layer.bias is None else (layer.bias + bias).astype(np.float32)
    b.pass_through(x)


def concat(b, attrs: dict) -> None:
    xs = [b.act(n) for n in b.node.input]
    rank = len(xs[0].shape) + 1
    if attrs.get("axis") % rank != 1:
        b.fail(f"concat along axis {attrs.get('axis')} is not supported; sim concatenates channels (axis 1)")
    if any(len(x.shape) != len(xs[0].shape) or x.shape[1:] != xs[0].shape[1:] for x in xs):
        b.fail(f"shapes {[list(x.shape) for x in xs]} differ in more than the channel axis")
    if any(x.layer is None for x in xs):
        b.fail("concatenates the network input; sim feeds the network input only to the first layer")
    b.emit("concat", xs, (sum(x.shape[0] for x in xs),) + xs[0].shape[1:])
    b.layers[-1].inputs = tuple(x.layer for x in xs)


def flatten(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    if attrs.get("axis", 1) % (len(x.shape) + 1) != 1:
        b.fail(f"Flatten(axis={attrs.get('axis')}) is not supported; only axis 1 keeps the batch apart")
    _flatten(b, x)


def _flatten(b, x: "Act") -> None:
    if len(x.shape) == 1:
        b.pass_through(x)
    else:
        b.emit("flatten", [x], (int(np.prod(x.shape)),))


def reshape(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    target = [int(t) for t in b.value(b.const(b.node.input[1], "shape")).reshape(-1)]
    size = int(np.prod(x.shape))
    # The leading entry is the batch: 0 copies it, -1 infers it; a traced export may bake in the batch size.
    sample = target[1:]
    if sample.count(-1) == 1 and all(t > 0 for t in sample if t != -1):
        known = int(np.prod([t for t in sample if t != -1]))
        if known and size % known == 0:
            sample[sample.index(-1)] = size // known
    if len(target) < 2 or int(np.prod(sample)) != size or any(t < 1 for t in sample):
        b.fail(f"Reshape to {target} is not supported: only flattening to (batch, -1) or a no-op")
    if tuple(sample) == x.shape:
        b.pass_through(x)
    elif len(sample) == 1:
        _flatten(b, x)
    else:
        b.fail(f"Reshape of {list(x.shape)} to {sample} per sample is not supported; only flattening")


def shape(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    full = np.array((BATCH_MARKER,) + x.shape, dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", len(full))
    b.consts[b.node.output[0]] = full[start:end]


def identity(b, attrs: dict) -> None:
    b.pass_through(b.act(b.node.input[0]))


def dropout(b, attrs: dict) -> None:
    b.unused_extra_outputs()
    b.pass_through(b.act(b.node.input[0]))  # inference: dropout is the identity


def quantize_activation(b, attrs: dict) -> None:
    b.fail("quantizing an activation is not supported; sim imports int8 weights (QuantizeLinear/"
           "DequantizeLinear on initializers) with float activations")


def dequantize_activation(b, attrs: dict) -> None:
    quantize_activation(b, attrs)


OPS = {"Conv": conv, "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_normalization, "Relu": relu,
       "Clip": clip, "MaxPool": max_pool, "AveragePool": average_pool, "GlobalAveragePool": global_average_pool,
       "Softmax": softmax, "Add": add, "Concat": concat, "Flatten": flatten, "Reshape": reshape, "Shape": shape,
       "Identity": identity, "Dropout": dropout, "QuantizeLinear": quantize_activation,
       "DequantizeLinear": dequantize_activation}
