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
from .ops import NETWORK_INPUT

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
    emit_conv(b, x, weight, quant, None if bias is None else b.value(bias), attrs)


def emit_conv(b, x: "Act", weight: np.ndarray, quant, bias, attrs: dict, **extra):
    """A conv2d layer of any geometry; square kernels with one stride / dilation and symmetric
    pads keep the scalar fields (and the faster square kernel)."""
    if weight.ndim != 4 or len(x.shape) != 3:
        b.fail(f"only 2-D convolutions are supported; got weight shape {list(weight.shape)} on a per-sample "
               f"input of shape {list(x.shape)}")
    oc, icg, kh, kw = weight.shape
    strides, dilations = b.pair(attrs, "strides"), b.pair(attrs, "dilations")
    groups = int(attrs.get("group", 1))
    c, h, w = x.shape
    if icg * groups != c or oc % groups:
        b.fail(f"weight shape {list(weight.shape)} with group={groups} does not fit {c} input channels")
    pads = b.pads4(attrs, (h, w), (kh, kw), strides, dilations)
    oh = conv_out_size(h, kh, strides[0], pads[0], dilations[0], pads[2])
    ow = conv_out_size(w, kw, strides[1], pads[1], dilations[1], pads[3])
    if oh < 1 or ow < 1:
        b.fail(f"the {kh}x{kw} kernel does not fit the {h}x{w} input")
    bias = None if bias is None else np.asarray(bias, dtype=np.float32).reshape(oc).copy()
    fields = dict(weight=weight, bias=bias, groups=groups, quant=quant, **extra)
    if kh == kw and len(set(strides)) == 1 and len(set(dilations)) == 1 and len(set(pads)) == 1:
        fields.update(stride=strides[0], padding=pads[0], kernel_size=kh, dilation=dilations[0])
    else:
        fields.update(stride=strides[0], padding=pads[0], kernel_size=kh, dilation=dilations[0],
                      attrs=dict(fields.pop("attrs", {}), kernel=(kh, kw), strides=strides, dilations=dilations,
                                 pads=pads))
    return b.emit("conv2d", [x], (oc, oh, ow), **fields)


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
    emit_fc(b, x, weight, bias, quant)


def matmul(b, attrs: dict) -> None:
    left, right = b.node.input[0], b.node.input[1]
    if left in b.acts and right in b.acts:
        act_matmul(b, b.acts[left], b.acts[right])
        return
    x = b.act(left)
    weight, quant = b.weight(b.const(right, "B (weight)"), transpose=True, out_axis=1)
    emit_fc(b, x, weight, None, quant)


def emit_fc(b, x: "Act", weight: np.ndarray, bias, quant, **extra):
    """fc on (features,) or per token on (..., features) (MatMul / Gemm on 3-D activations)."""
    if weight.ndim != 2 or weight.shape[1] != x.shape[-1]:
        b.fail(f"weight shape {list(weight.T.shape)} does not fit {x.shape[-1]} input features")
    if len(x.shape) == 1:
        return b.emit("fc", [x], (weight.shape[0],), weight=weight, bias=bias, quant=quant, **extra)
    attrs = dict(extra.pop("attrs", {}), per_token=True)
    return b.emit("fc", [x], tuple(x.shape[:-1]) + (weight.shape[0],), weight=weight, bias=bias, quant=quant,
                  attrs=attrs, **extra)


def act_matmul(b, xa: "Act", xb: "Act") -> None:
    """MatMul of two activations (attention): batched over the leading per-sample axes."""
    from .ops import infer_shape
    if len(xa.shape) < 2 or len(xb.shape) < 2:
        b.fail(f"a matmul of activations needs per-sample ranks >= 2 (e.g. (heads, tokens, dim)); got "
               f"{list(xa.shape)} and {list(xb.shape)}")
    try:
        out = infer_shape("matmul", [xa.shape, xb.shape], {}, {})
    except ValueError as exc:
        b.fail(str(exc))
    b.emit("matmul", [xa, xb], out, attrs={"k": int(xa.shape[-1]), "causal": False})


def _fc_input(b) -> "Act":
    x = b.act(b.node.input[0])
    if len(x.shape) != 1:
        b.fail(f"Gemm needs a (batch, features) activation; got per-sample shape {list(x.shape)}")
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
    gamma, beta, mean, var = (b.value(b.const(n, role)).astype(np.float64) for n, role in
                              zip(b.node.input[1:5], ("scale", "B", "mean", "var")))
    eps = float(attrs.get("epsilon", 1e-5))
    if layer is None or (layer.kind == "fc" and layer.attrs.get("per_token")) or layer.kind in ("lstm", "gru"):
        # Not right after a Conv/Gemm: a per-channel affine map, y = x * s + (beta - mean * s).
        s = gamma / np.sqrt(var + eps)
        shape = (-1,) + (1,) * (len(x.shape) - 1)
        scaled = b.chain("mul", x, x.shape, "scale", consts={"operand": s.astype(np.float32).reshape(shape)})
        b.emit("add", [scaled], x.shape, consts={"operand": (beta - mean * s).astype(np.float32).reshape(shape)})
        return
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
        b.emit("clip", [x], x.shape, attrs={"min": None if lo is None else float(lo),
                                            "max": None if hi is None else float(hi)})


def max_pool(b, attrs: dict) -> None:
    _pool(b, "maxpool", attrs)


def average_pool(b, attrs: dict) -> None:
    _pool(b, "avgpool", attrs)


def _pool(b, kind: str, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    b.unused_extra_outputs()
    if len(x.shape) != 3 or len(attrs.get("kernel_shape", ())) != 2:
        b.fail(f"only 2-D pooling is supported; got per-sample input shape {list(x.shape)}")
    kh, kw = (int(k) for k in attrs["kernel_shape"])
    if min(kh, kw) < 1:
        b.fail(f"kernel_shape={[kh, kw]}: must be integers >= 1")
    if b.pair(attrs, "dilations") != (1, 1):
        b.fail("dilated pooling is not supported")
    strides = b.pair(attrs, "strides")
    c, h, w = x.shape
    ceil = bool(attrs.get("ceil_mode", 0))
    include = bool(attrs.get("count_include_pad", 0)) and kind == "avgpool"
    pads = b.pads4(attrs, (h, w), (kh, kw), strides, (1, 1))
    oh = conv_out_size(h, kh, strides[0], pads[0], 1, pads[2], ceil)
    ow = conv_out_size(w, kw, strides[1], pads[1], 1, pads[3], ceil)
    floor_same = (oh, ow) == (conv_out_size(h, kh, strides[0], pads[0], 1, pads[2]),
                              conv_out_size(w, kw, strides[1], pads[1], 1, pads[3]))
    if kh == kw and len(set(strides)) == 1 and len(set(pads)) == 1 and floor_same and not (include and pads[0]):
        b.emit(kind, [x], (c, oh, ow), stride=strides[0], padding=pads[0], kernel_size=kh)
        return
    b.emit(kind, [x], (c, oh, ow), stride=strides[0], padding=pads[0], kernel_size=kh,
           attrs={"kernel": (kh, kw), "strides": strides, "pads": pads, "ceil_mode": ceil, "count_include_pad": include})


def global_average_pool(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    if len(x.shape) != 3:
        b.fail(f"needs a (channels, height, width) input; got {list(x.shape)}")
    b.emit("global_avgpool", [x], (x.shape[0], 1, 1))


def softmax(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    rank = len(x.shape)
    axis = int(attrs.get("axis", 1 if b.opset < 13 else -1))
    a = b.sample_axis(axis, rank)
    if b.opset < 13 and a != rank - 1:
        # Before opset 13, Softmax flattens the axes from `axis` on: the same as the last axis only there.
        if any(d != 1 for d in x.shape[a + 1:]):
            b.fail(f"opset {b.opset} Softmax(axis={axis}) normalizes over several axes; sim takes one axis")
    b.emit("softmax", [x], x.shape, attrs={"axis": a})


def _operand(b, name: str, rank: int):
    return b.sample_const(b.const(name, "operand"), rank).astype(np.float32)


def binary(b, kind: str) -> None:
    """Add / Sub / Mul / Div / Max / Min with ONNX broadcasting: of two activations, or of an
    activation and a constant (an Add of one bias per channel folds into the layer before it)."""
    from .ops import broadcast_shape
    left, right = b.node.input[0], b.node.input[1]
    if left in b.acts and right in b.acts:
        xa, xb = b.acts[left], b.acts[right]
        try:
            out = broadcast_shape(xa.shape, xb.shape)
        except ValueError as exc:
            b.fail(str(exc))
        b.emit(kind, [xa, xb], out)
        b.layers[-1].inputs = tuple(NETWORK_INPUT if a.layer is None else a.layer for a in (xa, xb))
        return
    const_first = left not in b.acts
    x = b.acts[right] if const_first else b.acts[left]
    c = b.consts[left] if const_first else b.consts[right]
    if kind == "add" and _fold_bias(b, x, c):
        return
    value = b.sample_const(c, len(x.shape)).astype(np.float32)
    if kind == "add":
        _mask_causal(b, x, value, additive=True)
    try:
        out = broadcast_shape(x.shape, value.shape)
    except ValueError as exc:
        b.fail(str(exc))
    attrs = {"const_first": True} if const_first and kind in ("sub", "div") else {}
    b.emit(kind, [x], out, consts={"operand": value}, attrs=attrs)


def _fold_bias(b, x: "Act", c) -> bool:
    layer = b.foldable(x)
    if layer is None or layer.kind in ("lstm", "gru"):
        return False
    try:
        full = np.broadcast_to(b.value(c).astype(np.float32), (1,) + layer.out_shape)[0]
    except ValueError:
        return False
    if layer.kind == "fc" and layer.attrs.get("per_token"):
        per = full.reshape(-1, full.shape[-1])
        if np.any(per != per[:1]):
            return False
        bias = per[0]
    else:
        per = full.reshape(full.shape[0], -1)
        if np.any(per != per[:, :1]):
            return False
        bias = per[:, 0]
    if np.asarray(b.value(c)).size > bias.size:  # a full tensor that happens to be constant per channel: keep it
        return False
    layer.bias = bias.copy() if layer.bias is None else (layer.bias + bias).astype(np.float32)
    b.pass_through(x)
    return True


def _mask_causal(b, x: "Act", value: np.ndarray, additive: bool) -> bool:
    """Mark the matmul of activations ``x`` comes from as causal when ``value`` masks exactly the
    outputs j > i + (N - M) (an additive mask of large negatives, or a Where's False positions)."""
    if x.layer is None or not x.exclusive:
        return False
    index = {lay.name: i for i, lay in enumerate(b.layers)}
    layer = b.layers[index[x.layer]]
    # Look through a scaling by a constant (attention's 1 / sqrt(d)) that is the matmul's only reader.
    while layer.kind in ("mul", "div") and np.size(layer.consts.get("operand", [0, 0])) == 1:
        i = index[layer.name]
        src = layer.inputs[0] if layer.inputs else b.layers[i - 1].name if i else None
        if src not in index or _readers(b, src) != 1:
            return False
        layer = b.layers[index[src]]
    if layer.kind != "matmul" or value.ndim < 2:
        return False
    m, n = layer.out_shape[-2:]
    try:
        grid = np.broadcast_to(value, np.broadcast_shapes(value.shape, layer.out_shape))
    except ValueError:
        return False
    grid = grid.reshape(-1, m, n)
    masked = grid <= -1e4 if additive else ~grid.astype(bool)
    want = ~np.tril(np.ones((m, n), dtype=bool), k=n - m)
    if not want.any() or not (masked == want).all() or (additive and np.any(grid[:, ~want] != 0)):
        return False
    layer.attrs["causal"] = True
    return True


def _readers(b, name: str) -> int:
    """Layers that read layer ``name``'s output (its graph-output use counts as one)."""
    n = 0
    for i, lay in enumerate(b.layers):
        srcs = lay.inputs or ((b.layers[i - 1].name,) if i else ())
        n += srcs.count(name)
    return n


def where(b, attrs: dict) -> None:
    """Where(cond, x, y) with a constant condition and one constant branch (masked_fill)."""
    from .ops import broadcast_shape
    cond, left, right = b.node.input[:3]
    if cond in b.acts:
        b.fail("Where with a condition computed at run time is not supported; sim needs a constant mask")
    if (left in b.acts) == (right in b.acts):
        b.fail("Where needs one activation branch and one constant branch")
    x_when = left in b.acts
    x = b.acts[left] if x_when else b.acts[right]
    rank = len(x.shape)
    cval = b.sample_const(b.const(cond, "condition"), rank).astype(bool)
    other = b.sample_const(b.const(right if x_when else left, "other branch"), rank).astype(np.float32)
    keep = cval if x_when else ~cval
    if np.all(other <= -1e4):
        _mask_causal(b, x, keep, additive=False)
    try:
        out = broadcast_shape(x.shape, cval.shape, other.shape)
    except ValueError as exc:
        b.fail(str(exc))
    b.emit("where", [x], out, consts={"cond": cval, "other": other}, attrs={"x_when": x_when})


def concat(b, attrs: dict) -> None:
    xs = [b.act(n) for n in b.node.input]
    from .ops import infer_shape
    rank = len(xs[0].shape)
    axis = b.sample_axis(int(attrs.get("axis")), rank)
    try:
        out = infer_shape("concat", [x.shape for x in xs], {"axis": axis}, {})
    except ValueError as exc:
        b.fail(str(exc))
    b.emit("concat", xs, out, attrs={"axis": axis})
    b.layers[-1].inputs = tuple(NETWORK_INPUT if x.layer is None else x.layer for x in xs)


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
    _reshape_to(b, x, target, bool(attrs.get("allowzero", 0)))


def _reshape_to(b, x: "Act", target: list[int], allowzero: bool = False) -> None:
    from .ops import reshape_shape
    size = int(np.prod(x.shape))
    # The leading entry is the batch: 0 copies it, -1 infers it; a traced export may bake in the batch size.
    if not target:
        b.fail("Reshape to a scalar drops the batch axis")
    sample = [x.shape[i - 1] if t == 0 and not allowzero and 0 < i <= len(x.shape) else t
              for i, t in enumerate(target)][1:]
    try:
        shape = reshape_shape((size,), sample) if sample else ()
    except ValueError:
        shape = None
    if shape is None or int(np.prod(shape)) != size or (target[0] not in (0, -1, BATCH_MARKER) and target[0] < 1):
        b.fail(f"Reshape of per-sample {list(x.shape)} to {target} changes the batch; sim keeps samples apart")
    if tuple(shape) == x.shape:
        b.pass_through(x)
    elif len(shape) == 1:
        _flatten(b, x)
    else:
        b.emit("reshape", [x], shape, attrs={"shape": list(shape)})


def _axes_arg(b, attrs):
    axes = attrs.get("axes")
    if len(b.node.input) > 1 and b.node.input[1]:
        axes = [int(a) for a in b.value(b.const(b.node.input[1], "axes")).reshape(-1)]
    return axes


def _emit_reshape(b, x: "Act", shape: tuple, batch_axis: int) -> None:
    """A reshape that keeps the element order of each sample (a no-op in sim's batch-first layout)."""
    shape = tuple(int(s) for s in shape)
    if shape == x.shape:
        b.pass_through(x, batch_axis=batch_axis)
    elif len(shape) == 1 and batch_axis == 0:
        b.emit("flatten", [x], shape, any_batch_axis=True)
    else:
        b.emit("reshape", [x], shape, attrs={"shape": list(shape)}, batch_axis=batch_axis, any_batch_axis=True)


def squeeze(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    axes = _axes_arg(b, attrs)
    rank, ba = len(x.shape), x.batch_axis
    full = rank + 1
    if axes is None:
        drop_full = [i for i in range(full) if i != ba and (x.shape[i if i < ba else i - 1] == 1)]
    else:
        drop_full = sorted(a % full for a in axes)
    drop = [b.sample_axis(a, rank, ba) for a in drop_full]
    if any(x.shape[a] != 1 for a in drop):
        b.fail(f"squeezes axes {axes} of per-sample shape {list(x.shape)} that are not 1")
    new_ba = ba - sum(1 for a in drop_full if a < ba)
    _emit_reshape(b, x, [d for i, d in enumerate(x.shape) if i not in drop], new_ba)


def unsqueeze(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    axes = _axes_arg(b, attrs)
    full = len(x.shape) + 1 + len(axes)
    axes = sorted(a % full for a in axes)
    order = ["b"] + list(range(len(x.shape)))  # ONNX axes of the input: batch first, then the sample
    order.insert(0, order.pop(0)) if x.batch_axis == 0 else order.insert(x.batch_axis, order.pop(0))
    for a in axes:
        order.insert(a, None)
    ba = order.index("b")
    shape = [1 if o is None else x.shape[o] for o in order if o != "b"]
    _emit_reshape(b, x, shape, ba)


def transpose(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    rank, ba = len(x.shape), x.batch_axis
    perm = [int(p) for p in attrs.get("perm", list(range(rank, -1, -1)))]
    new_ba = perm.index(ba)
    sample = [p if p < ba else p - 1 for p in perm if p != ba]
    if sample == list(range(rank)):
        b.pass_through(x, batch_axis=new_ba)  # only the batch moved: sim's layout stays batch first
        return
    b.emit("transpose", [x], tuple(x.shape[p] for p in sample), attrs={"perm": sample}, batch_axis=new_ba,
           any_batch_axis=True)


def _ints_input(b, index: int, role: str):
    if len(b.node.input) > index and b.node.input[index]:
        return [int(v) for v in b.value(b.const(b.node.input[index], role)).reshape(-1)]
    return None


def slice_op(b, attrs: dict) -> None:
    from .ops import slice_shape
    x = b.act(b.node.input[0])
    rank = len(x.shape)
    if b.opset < 10:
        starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
    else:
        starts, ends = _ints_input(b, 1, "starts"), _ints_input(b, 2, "ends")
        axes, steps = _ints_input(b, 3, "axes"), _ints_input(b, 4, "steps")
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    keep = [(a, s, e, st) for a, s, e, st in zip(axes, starts, ends, steps)]
    sample = []
    for a, s, e, st in keep:
        if a % (rank + 1) == 0:
            if len(range(*slice(s, e, st).indices(2**62))) < 2**61:
                b.fail("Slice along the batch axis is not supported")
            continue
        big = 2**62  # ONNX writes INT64_MAX for "to the end"
        sample.append((b.sample_axis(a, rank), max(min(s, big), -big), max(min(e, big), -big), st))
    attrs_out = {"starts": [v[1] for v in sample], "ends": [v[2] for v in sample], "axes": [v[0] for v in sample],
                 "steps": [v[3] for v in sample]}
    out = slice_shape(x.shape, attrs_out["starts"], attrs_out["ends"], attrs_out["axes"], attrs_out["steps"])
    if out == x.shape:
        b.pass_through(x)
        return
    b.emit("slice", [x], out, attrs=attrs_out)


def split(b, attrs: dict) -> None:
    """Split: one slice layer per output."""
    x = b.act(b.node.input[0])
    rank = len(x.shape)
    axis = b.sample_axis(int(attrs.get("axis", 0)), rank)
    sizes = attrs.get("split") or _ints_input(b, 1, "split")
    outputs = [o for o in b.node.output]
    if sizes is None:
        n = int(attrs.get("num_outputs", len(outputs)))
        part = -(-x.shape[axis] // n)
        sizes = [min(part, x.shape[axis] - i * part) for i in range(n)]
    if sum(sizes) != x.shape[axis] or len(sizes) != len(outputs):
        b.fail(f"split sizes {sizes} do not fill axis {axis} of {list(x.shape)} with {len(outputs)} outputs")
    start = 0
    for i, (out, size) in enumerate(zip(outputs, sizes)):
        shape = x.shape[:axis] + (size,) + x.shape[axis + 1:]
        if out:
            b.emit("slice", [x], shape, output=out, suffix=f"{i}",
                   attrs={"starts": [start], "ends": [start + size], "axes": [axis], "steps": [1]})
        start += size


def gather(b, attrs: dict) -> None:
    data, index = b.node.input[0], b.node.input[1]
    axis = int(attrs.get("axis", 0))
    if data in b.consts:  # an embedding table looked up by activation (token) ids
        x = b.act(index)
        if axis != 0:
            b.fail(f"Gather on a constant table along axis {axis}; embeddings look up rows (axis 0)")
        table = b.value(b.consts[data]).astype(np.float32)
        b.emit("gather", [x], x.shape + table.shape[1:], consts={"table": table})
        return
    x = b.act(data)
    a = b.sample_axis(axis, len(x.shape))
    idx = np.asarray(b.value(b.const(index, "indices")), dtype=np.int64)
    idx = np.where(idx < 0, idx + x.shape[a], idx)
    b.emit("gather", [x], x.shape[:a] + idx.shape + x.shape[a + 1:], consts={"indices": idx}, attrs={"axis": a})


def pad(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    mode = attrs.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode != "constant":
        b.fail(f"Pad mode {mode!r} is not supported (only constant)")
    pads = attrs.get("pads") if b.opset < 11 else _ints_input(b, 1, "pads")
    value = float(attrs.get("value", 0.0))
    if b.opset >= 11 and len(b.node.input) > 2 and b.node.input[2]:
        value = float(b.value(b.const(b.node.input[2], "constant_value")).reshape(-1)[0])
    full = len(x.shape) + 1
    axes = _ints_input(b, 3, "axes")
    if axes is not None:
        spread = [0] * (2 * full)
        for i, a in enumerate(axes):
            spread[a % full], spread[a % full + full] = pads[i], pads[i + len(axes)]
        pads = spread
    if pads[0] or pads[full]:
        b.fail("Pad along the batch axis is not supported")
    if min(pads) < 0:
        b.fail(f"negative pads {pads} (cropping) are not supported; use Slice")
    sample = list(pads[1:full]) + list(pads[full + 1:])
    shape = tuple(s + sample[i] + sample[i + len(x.shape)] for i, s in enumerate(x.shape))
    b.emit("pad", [x], shape, attrs={"pads": sample, "value": value})


def layer_normalization(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    b.unused_extra_outputs()
    axis = b.sample_axis(int(attrs.get("axis", -1)), len(x.shape))
    norm = x.shape[axis:]
    consts = {}
    for i, key in ((1, "scale"), (2, "bias")):
        if len(b.node.input) > i and b.node.input[i]:
            consts[key] = np.broadcast_to(b.value(b.const(b.node.input[i], key)).astype(np.float32), norm).copy()
    b.emit("layernorm", [x], x.shape, attrs={"axis": axis, "epsilon": float(attrs.get("epsilon", 1e-5))},
           consts=consts)


def reduce_mean(b, attrs: dict) -> None:
    from .ops import infer_shape
    x = b.act(b.node.input[0])
    axes = attrs.get("axes") if b.opset < 18 else _ints_input(b, 1, "axes")
    rank = len(x.shape)
    if axes is None:
        if attrs.get("noop_with_empty_axes", 0):
            b.pass_through(x)
            return
        b.fail("ReduceMean over every axis includes the batch")
    sample = sorted(b.sample_axis(a, rank) for a in axes)
    keep = bool(attrs.get("keepdims", 1))
    if sample == [1, 2] and rank == 3 and keep:
        b.emit("global_avgpool", [x], (x.shape[0], 1, 1))
        return
    b.emit("reduce_mean", [x], infer_shape("reduce_mean", [x.shape], {"axes": sample, "keepdims": keep}, {}),
           attrs={"axes": sample, "keepdims": keep})


def _unary(kind: str, **fixed):
    def convert(b, attrs: dict) -> None:
        x = b.act(b.node.input[0])
        extra = {k: (attrs.get(k, v) if not callable(v) else v(b, attrs)) for k, v in fixed.items()}
        b.emit(kind, [x], x.shape, attrs=extra)
    return convert


def gelu(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    approx = attrs.get("approximate", b"none")
    approx = approx.decode() if isinstance(approx, bytes) else str(approx)
    b.emit("gelu", [x], x.shape, attrs={"approximate": approx})


def pow_op(b, attrs: dict) -> None:
    x = b.act(b.node.input[0])
    e = np.asarray(b.value(b.const(b.node.input[1], "exponent")))
    if e.size != 1:
        b.fail("Pow needs one constant exponent")
    b.emit("pow", [x], x.shape, attrs={"exponent": float(e.reshape(-1)[0])})


def cast(b, attrs: dict) -> None:
    from onnx import TensorProto
    x = b.act(b.node.input[0])
    if attrs.get("to") not in (TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32, TensorProto.DOUBLE):
        b.fail(f"Cast to element type {attrs.get('to')} is not supported (activations are float32)")
    b.pass_through(x)  # activations stay float32; integer ids are exact in it


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


def _binary(kind):
    return lambda b, attrs: binary(b, kind)


OPS = {"Conv": conv, "Gemm": gemm, "MatMul": matmul, "BatchNormalization": batch_normalization, "Relu": relu,
       "Clip": clip, "MaxPool": max_pool, "AveragePool": average_pool, "GlobalAveragePool": global_average_pool,
       "Softmax": softmax, "Add": _binary("add"), "Sub": _binary("sub"), "Mul": _binary("mul"),
       "Div": _binary("div"), "Max": _binary("max"), "Min": _binary("min"), "Where": where, "Concat": concat,
       "Flatten": flatten, "Reshape": reshape, "Squeeze": squeeze, "Unsqueeze": unsqueeze, "Transpose": transpose,
       "Slice": slice_op, "Split": split, "Gather": gather, "Pad": pad, "Shape": shape, "Identity": identity,
       "Dropout": dropout, "Cast": cast, "LayerNormalization": layer_normalization, "ReduceMean": reduce_mean,
       "Sigmoid": _unary("sigmoid"), "Tanh": _unary("tanh"), "Erf": _unary("erf"), "Sqrt": _unary("sqrt"),
       "Exp": _unary("exp"), "Reciprocal": _unary("reciprocal"), "Neg": _unary("neg"), "Abs": _unary("abs"),
       "HardSigmoid": _unary("hardsigmoid", alpha=0.2, beta=0.5), "HardSwish": _unary("hardswish"),
       "LeakyRelu": _unary("leaky_relu", alpha=0.01), "Gelu": gelu, "Pow": pow_op}


