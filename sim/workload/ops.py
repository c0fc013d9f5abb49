"""The op table: every layer kind sim knows, its category, its attributes and its output shape.

One table serves the YAML loader, the ONNX importer and the executors. Shapes and axes are per
sample (batch excluded): axis 0 is the first axis after the batch. Categories say what kind of
work a layer is, so that a hardware design can map it without knowing the op:

=================  ==========================================================================
category           kinds
=================  ==========================================================================
weighted_matmul    fc (on (features,) or per token of (..., features))
conv               conv2d (any kernel HxW, stride and dilation per axis, asymmetric pads, groups)
recurrent          lstm, gru (gate matmuls per time step; weight = [W | R], (gates*H, I+H))
act_matmul         matmul of two activations (attention QK^T, AV), batched, optional causal mask
pool               maxpool, avgpool (ceil_mode, count_include_pad, asymmetric pads), global_avgpool
elementwise        activations, binary ops with broadcasting, quantize / dequantize
normalization      layernorm, softmax (any axis), reduce_mean
data_movement      flatten, reshape, transpose, slice, concat, gather, pad
=================  ==========================================================================

``map_kind`` is the category today's mapper (sim/engine) understands: "fc", "conv2d", "flatten"
(data movement: buffer traffic, no compute) or the kind itself (the activation / pooling unit).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NETWORK_INPUT = "input"  # the name a layer's ``inputs`` use for the network input
CATEGORIES = ("weighted_matmul", "conv", "recurrent", "act_matmul", "pool", "elementwise", "normalization",
              "data_movement")


@dataclass(frozen=True)
class OpKind:
    category: str
    map_kind: str
    n_inputs: tuple[int, int] = (1, 1)  # (min, max) activation inputs
    attrs: dict = field(default_factory=dict)  # YAML attribute -> default (None: required)


UNARY = ("relu", "relu6", "clip", "sigmoid", "silu", "gelu", "hardsigmoid", "hardswish", "tanh", "erf", "sqrt", "exp",
         "reciprocal", "pow", "neg", "abs", "leaky_relu")
BINARY = ("add", "sub", "mul", "div", "where", "max", "min")
_ACT = "activation"
OPS: dict[str, OpKind] = {
    "fc": OpKind("weighted_matmul", "fc"),
    "conv2d": OpKind("conv", "conv2d"),
    "lstm": OpKind("recurrent", "fc", attrs={"hidden_size": None}),
    "gru": OpKind("recurrent", "fc", attrs={"hidden_size": None, "linear_before_reset": 1}),
    "matmul": OpKind("act_matmul", _ACT, (2, 2), {"causal": False}),
    "maxpool": OpKind("pool", "maxpool"),
    "avgpool": OpKind("pool", "avgpool"),
    "global_avgpool": OpKind("pool", "global_avgpool"),
    **{k: OpKind("elementwise", k) for k in UNARY},
    **{k: OpKind("elementwise", k, (1, 2)) for k in BINARY},
    "quantize": OpKind("elementwise", "quantize", attrs={"axis": None, "dtype": "int8"}),
    "dequantize": OpKind("elementwise", "dequantize", attrs={"axis": None}),
    "layernorm": OpKind("normalization", "layernorm", attrs={"axis": -1, "epsilon": 1e-5}),
    "softmax": OpKind("normalization", "softmax", attrs={"axis": 0}),
    "reduce_mean": OpKind("normalization", "reduce_mean", attrs={"axes": None, "keepdims": True}),
    "flatten": OpKind("data_movement", "flatten", attrs={"axis": 0}),
    "reshape": OpKind("data_movement", "flatten", attrs={"shape": None}),
    "transpose": OpKind("data_movement", "flatten", attrs={"perm": None}),
    "slice": OpKind("data_movement", "flatten", attrs={"starts": None, "ends": None, "axes": None, "steps": None}),
    "concat": OpKind("data_movement", "concat", (2, 64), {"axis": 0}),
    "gather": OpKind("data_movement", "flatten", attrs={"axis": 0}),
    "pad": OpKind("data_movement", "flatten", attrs={"pads": None, "value": 0.0}),
}
WEIGHTED_KINDS = ("fc", "conv2d", "lstm", "gru")
# Attributes a unary op takes (YAML keys) and their defaults.
UNARY_ATTRS = {"clip": {"min": None, "max": None}, "gelu": {"approximate": "none"},
               "hardsigmoid": {"alpha": 0.2, "beta": 0.5}, "pow": {"exponent": None}, "leaky_relu": {"alpha": 0.01}}
QUANT_DTYPES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "uint16": (0, 65535),
                "int32": (-2**31, 2**31 - 1)}


def axis_of(axis: int, rank: int) -> int:
    """A per-sample axis, negative counted from the end; ValueError if out of range."""
    if not -rank <= axis < rank:
        raise ValueError(f"axis {axis} is out of range for a per-sample shape of rank {rank}")
    return axis % rank


def broadcast_shape(*shapes) -> tuple[int, ...]:
    try:
        return tuple(int(s) for s in np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise ValueError(f"shapes {[list(s) for s in shapes]} do not broadcast") from None


def slice_shape(shape, starts, ends, axes, steps) -> tuple[int, ...]:
    out = list(shape)
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for a, s, e, st in zip(axes, starts, ends, steps):
        a = axis_of(a, len(shape))
        if st == 0:
            raise ValueError("slice step must not be 0")
        out[a] = len(range(*slice(s, e, st).indices(shape[a])))
    return tuple(out)


def reshape_shape(shape, target) -> tuple[int, ...]:
    """Per-sample reshape target with one -1 inferred (0 copies that axis, as in ONNX)."""
    size = int(np.prod(shape))
    t = [shape[i] if v == 0 and i < len(shape) else int(v) for i, v in enumerate(target)]
    if t.count(-1) > 1 or any(v < -1 for v in t):
        raise ValueError(f"reshape target {list(target)} needs positive sizes and at most one -1")
    if -1 in t:
        known = int(np.prod([v for v in t if v != -1]))
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape {list(shape)} to {list(target)}")
        t[t.index(-1)] = size // known
    if int(np.prod(t)) != size:
        raise ValueError(f"cannot reshape {list(shape)} ({size} elements) to {t}")
    return tuple(t)


def window_out(size: int, kernel: int, stride: int, dilation: int, begin: int, end: int, ceil: bool) -> int:
    return conv_out_size(size, kernel, stride, begin, dilation, pad_end=end, ceil_mode=ceil)


def infer_shape(kind: str, in_shapes: list, attrs: dict, consts: dict, weight=None) -> tuple[int, ...]:
    """Per-sample output shape of a layer of ``kind`` reading ``in_shapes``; ValueError says why
    the inputs do not fit. Covers every kind except conv2d / pools / fc (their loaders size them)."""
    x = tuple(in_shapes[0])
    rank = len(x)
    if kind in UNARY or kind in ("quantize", "dequantize"):
        return x
    if kind in BINARY:
        shapes = list(in_shapes)
        if kind == "where":
            shapes += [np.shape(consts[k]) for k in ("cond", "other") if k in consts]
        elif "operand" in consts:
            shapes.append(np.shape(consts["operand"]))
        if len(shapes) < 2:
            raise ValueError(f"{kind} needs two operands (a second input or a constant)")
        return broadcast_shape(*shapes)
    if kind == "matmul":
        a, b = x, tuple(in_shapes[1])
        if len(a) < 2 or len(b) < 2:
            raise ValueError(f"matmul of activations needs per-sample ranks >= 2; got {list(a)} and {list(b)}")
        if a[-1] != b[-2]:
            raise ValueError(f"matmul: {list(a)} x {list(b)}: inner sizes {a[-1]} and {b[-2]} differ")
        return broadcast_shape(a[:-2], b[:-2]) + (a[-2], b[-1])
    if kind in ("lstm", "gru"):
        if rank != 2:
            raise ValueError(f"{kind} needs a (time, features) input per sample; got {list(x)}")
        return (x[0], 1, int(attrs["hidden_size"]))
    if kind == "layernorm":
        axis_of(int(attrs.get("axis", -1)), rank)
        return x
    if kind == "softmax":
        axis_of(int(attrs.get("axis", 0)), rank)
        return x
    if kind == "reduce_mean":
        axes = attrs.get("axes")
        axes = sorted(axis_of(a, rank) for a in (range(rank) if axes is None else axes))
        keep = attrs.get("keepdims", True)
        return tuple((1 if i in axes else s) for i, s in enumerate(x) if keep or i not in axes)
    if kind == "flatten":
        axis = axis_of(int(attrs.get("axis", 0)), rank) if rank else 0
        return tuple(x[:axis]) + (int(np.prod(x[axis:])),)
    if kind == "reshape":
        return reshape_shape(x, attrs["shape"])
    if kind == "transpose":
        perm = [axis_of(p, rank) for p in attrs["perm"]]
        if sorted(perm) != list(range(rank)):
            raise ValueError(f"perm {attrs['perm']} is not a permutation of the {rank} per-sample axes")
        return tuple(x[p] for p in perm)
    if kind == "slice":
        return slice_shape(x, attrs["starts"], attrs["ends"], attrs.get("axes"), attrs.get("steps"))
    if kind == "concat":
        axis = axis_of(int(attrs.get("axis", 0)), rank)
        for s in in_shapes:
            if len(s) != rank or any(a != b for i, (a, b) in enumerate(zip(s, x)) if i != axis):
                raise ValueError(f"concat along axis {axis}: shapes {[list(s) for s in in_shapes]} differ elsewhere")
        return x[:axis] + (sum(s[axis] for s in in_shapes),) + x[axis + 1:]
    if kind == "gather":
        if "table" in consts:  # embedding: integer ids in, rows of the table out
            return x + tuple(np.shape(consts["table"])[1:])
        axis = axis_of(int(attrs.get("axis", 0)), rank)
        idx = np.shape(consts["indices"])
        return x[:axis] + tuple(idx) + x[axis + 1:]
    if kind == "pad":
        pads = attrs["pads"]
        if len(pads) != 2 * rank or any(p < 0 for p in pads):
            raise ValueError(f"pads must be {2 * rank} non-negative numbers (begins, then ends); got {pads}")
        return tuple(s + pads[i] + pads[i + rank] for i, s in enumerate(x))
    raise ValueError(f"no shape rule for {kind!r}")


def parse_n_m(value) -> tuple[int, int] | None:
    """Structured sparsity "N:M" (N nonzeros in every M consecutive weights, SCALE-Sim v3's
    ``Sparsity`` column) as (N, M); None if it is not one."""
    text = str(value).strip()
    parts = text.split(":")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        return None
    n, m = int(parts[0]), int(parts[1])
    return (n, m) if 1 <= n <= m else None


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                  pad_end: int | None = None, ceil_mode: bool = False) -> int:
    """Output length of a convolution or pooling window along one axis.

    ``padding`` pads the start (and the end unless ``pad_end`` is given). ``ceil_mode`` keeps a
    last partial window if it starts inside the input or the start padding (ONNX / PyTorch rule)."""
    end = padding if pad_end is None else pad_end
    span = dilation * (kernel - 1) + 1
    total = size + padding + end - span
    if not ceil_mode:
        return total // stride + 1
    out = -(-total // stride) + 1
    if (out - 1) * stride >= size + padding:  # the last window would start in the end padding
        out -= 1
    return out
