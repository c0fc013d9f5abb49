"""ONNX graph -> Network: the weights a user exported (pruned zeros and int8 QDQ included) as sim layers.

Each node maps to a layer kind sim executes, or folds into one: BatchNormalization and a bias
Add fold into the Conv/Gemm/MatMul before them, Identity/Dropout and no-op reshapes pass through,
and any node whose inputs are all constants is evaluated once here (onnx's reference evaluator),
so exporter chains like Constant -> Reshape or QuantizeLinear -> DequantizeLinear on a weight
become plain weights. Anything else raises ConfigError naming the node and its op type.

Tensors are batch first in ONNX; sim's shapes are per sample, so the leading batch dimension is
dropped everywhere (graph input, Reshape targets, axes).
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .network import Layer, Network, Quant, conv_out_size

SUPPORTED_OPS = ("Conv", "Gemm", "MatMul", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "Flatten", "Reshape", "BatchNormalization", "Add", "Concat", "Softmax", "Identity", "Dropout",
                 "QuantizeLinear", "DequantizeLinear", "Shape")
# Shape of an activation gives this for the batch dimension. torch writes x.view(x.size(0), -1) as
# Shape -> Gather -> Unsqueeze -> Concat -> Reshape; the constant chain carries the marker to the Reshape,
# whose leading entry is the batch anyway. Negative, so it can never size a real allocation.
BATCH_MARKER = -(2**40) + 1


@dataclass
class _Act:
    """An activation tensor: the layer that makes it (None: the network input) and its per-sample shape."""

    layer: str | None
    shape: tuple[int, ...]
    exclusive: bool  # the producing layer's output reaches only this tensor, so BN / bias can fold into it


@dataclass
class _QConst:
    """A float weight that is int8 integers times a scale: the output of DequantizeLinear on an initializer."""

    value: np.ndarray  # float32, = qvalues * scale
    qvalues: np.ndarray  # int8
    scale: np.ndarray  # float32, shape (1,) per tensor or (n,) along ``axis``
    axis: int | None  # axis of value the scales run along; None: per tensor


def load_onnx(path: str | os.PathLike, input_shape: tuple[int, ...] | None = None) -> Network:
    """Read an ONNX model into a Network whose execution equals onnxruntime's on the same inputs.

    Parameters
    ----------
    path : the .onnx file.
    input_shape : per-sample input shape, batch excluded ((features,) or (channels, height, width));
        needed when the graph input has symbolic dimensions other than the batch.

    Raises
    ------
    ConfigError : unreadable or malformed file, unsupported op (naming the op type and node), or a
        pattern sim cannot represent (non-square kernels, asymmetric padding, activation quantization).
    """
    path = str(path)
    model = _read(path)
    builder = _Builder(path, model, input_shape)
    for index, node in enumerate(model.graph.node):
        builder.convert(index, node)
    return builder.network()


def _read(path: str):
    import onnx  # imported on use: only ONNX users need it

    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if os.path.isdir(path):
        raise ConfigError(path, "is a directory; expected an .onnx file")
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf's DecodeError, onnx's ValidationError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(path, f"not a valid ONNX model ({first})") from None
    return model


class _Builder:
    """Walks the nodes in order, keeping every tensor as a constant, a _QConst or an _Act."""

    def __init__(self, path: str, model, input_shape):
        from onnx import numpy_helper

        self.path, self.model = path, model
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts: dict[str, np.ndarray | _QConst] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.acts: dict[str, _Act] = {}
        self.layers: list[Layer] = []
        self.names: set[str] = set()
        self.outputs = [o.name for o in graph.output]
        self.uses = Counter(name for node in graph.node for name in node.input if name)
        self.uses.update(self.outputs)  # a graph output is a use BN / bias folding must not hide
        inputs = [i for i in graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ConfigError(path, f"graph inputs: sim runs models with exactly one input tensor; got "
                                    f"{[i.name for i in inputs]}")
        self.input_name = inputs[0].name
        self.input_shape = self._input_shape(inputs[0], input_shape)
        self.acts[self.input_name] = _Act(None, self.input_shape, False)

    # ---------------------------------------------------------------- graph input and output
    def _input_shape(self, value_info, override) -> tuple[int, ...]:
        from onnx import TensorProto

        where = f"graph input {value_info.name!r}"
        ttype = value_info.type.tensor_type
        if ttype.elem_type != TensorProto.FLOAT:
            raise ConfigError(self.path, f"{where}: must be a float32 tensor; got element type "
                                         f"{TensorProto.DataType.Name(ttype.elem_type)}")
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in ttype.shape.dim]
        if len(dims) not in (2, 4):
            raise ConfigError(self.path, f"{where}: must be (batch, features) or (batch, channels, height, width); "
                                         f"got shape {dims}")
        sample = dims[1:]
        if override is not None:
            override = tuple(int(s) for s in override)
            clash = len(override) != len(sample) or any(
                isinstance(d, int) and d != s for d, s in zip(sample, override))
            if clash or any(s < 1 for s in override):
                raise ConfigError(self.path, f"input_shape: {where} has shape {dims} (batch first); "
                                             f"the per-sample input shape {list(override)} does not fit it")
            return override
        if not all(isinstance(d, int) and d > 0 for d in sample):
            raise ConfigError(self.path, f"{where}: has symbolic dimensions {dims}; give the per-sample input "
                                         f"shape (e.g. --input-shape {','.join('3' for _ in sample)})")
        return tuple(sample)

    def network(self) -> Network:
        if len(self.outputs) != 1:
            raise ConfigError(self.path, f"graph outputs: sim runs models with exactly one output; got {self.outputs}")
        out = self.acts.get(self.outputs[0])
        if out is None or out.layer is None or not self.layers:
            raise ConfigError(self.path, f"graph output {self.outputs[0]!r}: is not computed by any layer")
        if out.layer != self.layers[-1].name:
            raise ConfigError(self.path, f"graph output {self.outputs[0]!r}: comes from layer {out.layer!r}, "
                                         f"not from the last layer {self.layers[-1].name!r}")
        meta = {"onnx_input": self.input_name, "onnx_output": self.outputs[0], "onnx_opset": int(self.opset),
                "onnx_producer": self.model.producer_name or ""}
        name = self.model.graph.name or os.path.splitext(os.path.basename(self.path))[0]
        return Network(name=name, input_shape=self.input_shape, layers=self.layers, source=self.path, meta=meta)

    # ---------------------------------------------------------------- dispatch
    def convert(self, index: int, node) -> None:
        self.node, self.where = node, f"node {node.name or '#' + str(index)!r} ({node.op_type})"
        self.index = index
        if node.domain not in ("", "ai.onnx"):
            raise ConfigError(self.path, f"{self.where}: op {node.domain}.{node.op_type} is not supported "
                                         f"(only the standard ONNX domain)")
        present = [n for n in node.input if n]
        if all(n in self.consts for n in present):
            self._fold_constant(node)
            return
        handler = getattr(self, f"_op_{node.op_type}", None)
        if handler is None:
            raise ConfigError(self.path, f"{self.where}: op type {node.op_type} is not supported; sim supports "
                                         f"{', '.join(SUPPORTED_OPS)}")
        handler(self._attrs(node))

    @staticmethod
    def _attrs(node) -> dict:
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def _fail(self, msg: str):
        raise ConfigError(self.path, f"{self.where}: {msg}")

    # ---------------------------------------------------------------- tensors
    def _act(self, name: str) -> _Act:
        if name not in self.acts:
            self._fail(f"input {name!r} must be an activation computed from the network input; it is a constant")
        return self.acts[name]

    def _const(self, name: str, role: str, optional: bool = False):
        if not name:
            if optional:
                return None
            self._fail(f"the {role} input is missing")
        if name not in self.consts:
            self._fail(f"the {role} {name!r} must be an initializer or a constant; sim imports only fixed weights")
        return self.consts[name]

    @staticmethod
    def _value(c) -> np.ndarray:
        return c.value if isinstance(c, _QConst) else np.asarray(c)

    def _unused_extra_outputs(self) -> None:
        for extra in self.node.output[1:]:
            if extra and self.uses[extra]:
                self._fail(f"output {extra!r} is used, but sim computes only the first output of this op")

    def _pass(self, src: _Act) -> None:
        """The node's output is its input (Identity, Dropout at inference, a no-op reshape)."""
        out = self.node.output[0]
        self.acts[out] = _Act(src.layer, src.shape, src.exclusive and self.uses[out] == 1)

    def _emit(self, kind: str, src: list[_Act], out_shape: tuple[int, ...], **fields) -> Layer:
        """Append a layer fed by ``src`` and register the node's first output as made by it."""
        if any(a.layer is None for a in src) and self.layers:
            self._fail("reads the network input, but is not the first layer; sim feeds the network input only "
                       "to the first layer")
        names = tuple(a.layer for a in src)
        after_previous = len(src) == 1 and (names[0] is None or names[0] == self.layers[-1].name)
        name = self._layer_name()
        layer = Layer(name=name, kind=kind, in_shape=src[0].shape, out_shape=tuple(int(s) for s in out_shape),
                      inputs=() if after_previous else names, **fields)
        self.layers.append(layer)
        out = self.node.output[0]
        self.acts[out] = _Act(name, layer.out_shape, self.uses[out] == 1)
        return layer

    def _layer_name(self) -> str:
        # torch names nodes like "/layer1/conv1/Conv"; dots read better in reports and .npz keys.
        base = self.node.name.strip("/").replace("/", ".") or f"{self.node.op_type.lower()}{self.index}"
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    def _foldable(self, src: _Act) -> Layer | None:
        """The weighted layer ``src`` comes straight from, if nothing else reads its output."""
        if src.layer is None or not src.exclusive:
            return None
        layer = next(lay for lay in self.layers if lay.name == src.layer)
        return layer if layer.is_weighted else None

    # ---------------------------------------------------------------- constants
    def _fold_constant(self, node) -> None:
        if node.op_type == "DequantizeLinear":
            self._dequantize(node)
            return
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        names = [n for n in node.input if n]
        try:
            one = helper.make_graph([node], "fold", [helper.make_tensor_value_info(n, 0, None) for n in names],
                                   [helper.make_tensor_value_info(n, 0, None) for n in node.output if n])
            evaluator = ReferenceEvaluator(helper.make_model(one, opset_imports=self.model.opset_import))
            values = evaluator.run(None, {n: self._value(self.consts[n]) for n in names})
        except Exception as exc:  # the evaluator raises whatever the op implementation raises
            self._fail(f"cannot evaluate this constant expression ({type(exc).__name__}: {exc})")
        for name, value in zip([n for n in node.output if n], values):
            self.consts[name] = np.asarray(value)

    def _dequantize(self, node) -> None:
        attrs = self._attrs(node)
        q = self._value(self.consts[node.input[0]])
        scale = self._value(self.consts[node.input[1]]).astype(np.float32)
        zero = self._value(self.consts[node.input[2]]) if len(node.input) > 2 and node.input[2] else np.zeros(1, q.dtype)
        if attrs.get("block_size", 0):
            self._fail("blocked quantization (block_size) is not supported")
        axis = attrs.get("axis", 1) % max(q.ndim, 1) if scale.size > 1 else None
        shape = [1] * q.ndim
        if axis is not None:
            shape[axis] = scale.size
        value = ((q.astype(np.float32) - zero.astype(np.float32).reshape(shape if zero.size > 1 else ()))
                 * scale.reshape(shape if scale.size > 1 else ())).astype(np.float32)
        if q.dtype == np.int8 and not np.any(zero) and q.ndim >= 2:
            # Symmetric int8 weights: keep the integers so the layer reports a linear 8-bit encoding.
            self.consts[node.output[0]] = _QConst(value, q, scale.reshape(-1), axis)
        else:  # an int32 bias, a uint8 / zero-point tensor: only the float value matters
            self.consts[node.output[0]] = value

    def _weight(self, c, transpose: bool = False, out_axis: int = 0) -> tuple[np.ndarray, Quant | None]:
        """Float32 (out, ...) weight and its Quant; ``out_axis`` is the output axis of the stored tensor."""
        value = self._value(c).astype(np.float32)
        if not isinstance(c, _QConst):
            return (value.T if transpose else value).copy(), None
        if c.axis is not None and c.axis != out_axis:
            self._fail(f"the int8 weight has per-channel scales along axis {c.axis}, not its output axis "
                       f"{out_axis}; sim stores one scale per output channel")
        q = c.qvalues.T if transpose else c.qvalues
        quant = Quant(kind="linear", bits=8, qvalues=np.ascontiguousarray(q), scale=c.scale.astype(np.float32),
                      per_channel=c.axis is not None)
        return (value.T if transpose else value).copy(), quant

    # ---------------------------------------------------------------- weighted layers
    def _op_Conv(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        weight, quant = self._weight(self._const(self.node.input[1], "weight"))
        bias = self._const(self.node.input[2], "bias", optional=True) if len(self.node.input) > 2 else None
        if weight.ndim != 4 or len(x.shape) != 3:
            self._fail(f"only 2-D convolutions are supported; got weight shape {list(weight.shape)} on a per-sample "
                       f"input of shape {list(x.shape)}")
        oc, icg, kh, kw = weight.shape
        if kh != kw:
            self._fail(f"non-square kernel {kh}x{kw}; sim's conv2d has square kernels")
        stride = self._square(attrs, "strides")
        dilation = self._square(attrs, "dilations")
        groups = int(attrs.get("group", 1))
        c, h, w = x.shape
        if icg * groups != c or oc % groups:
            self._fail(f"weight shape {list(weight.shape)} with group={groups} does not fit {c} input channels")
        pad = self._padding(attrs, (h, w), kh, stride, dilation)
        oh, ow = conv_out_size(h, kh, stride, pad, dilation), conv_out_size(w, kh, stride, pad, dilation)
        b = None if bias is None else self._value(bias).astype(np.float32).reshape(oc).copy()
        self._emit("conv2d", [x], (oc, oh, ow), weight=weight, bias=b, stride=stride, padding=pad,
                   groups=groups, kernel_size=kh, dilation=dilation, quant=quant)

    def _op_Gemm(self, attrs: dict) -> None:
        x = self._fc_input()
        if attrs.get("transA", 0):
            self._fail("transA=1 is not supported (the activation must be the (batch, features) operand)")
        trans_b = bool(attrs.get("transB", 0))
        weight, quant = self._weight(self._const(self.node.input[1], "B (weight)"), transpose=not trans_b,
                                     out_axis=0 if trans_b else 1)
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        n_out = weight.shape[0]
        if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
            self._fail(f"weight shape {list(weight.shape)} does not fit {x.shape[0]} input features")
        if alpha != 1.0:
            weight = (weight * np.float32(alpha)).astype(np.float32)
            if quant is not None:
                quant.scale = (quant.scale * np.float32(alpha)).astype(np.float32)
                weight = self._dequantized(quant, weight.shape)
        bias = None
        if len(self.node.input) > 2 and self.node.input[2]:
            c = self._value(self._const(self.node.input[2], "C (bias)")).astype(np.float32)
            if c.ndim == 2 and c.shape[0] != 1 or c.size not in (1, n_out):
                self._fail(f"bias C of shape {list(c.shape)} is not one value per output ({n_out})")
            bias = (np.broadcast_to(c.reshape(-1), (n_out,)) * np.float32(beta)).astype(np.float32)
        self._emit("fc", [x], (n_out,), weight=weight, bias=bias, quant=quant)

    def _op_MatMul(self, attrs: dict) -> None:
        x = self._fc_input()
        weight, quant = self._weight(self._const(self.node.input[1], "B (weight)"), transpose=True, out_axis=1)
        if weight.ndim != 2 or weight.shape[1] != x.shape[0]:
            self._fail(f"weight shape {list(weight.T.shape)} does not fit {x.shape[0]} input features")
        self._emit("fc", [x], (weight.shape[0],), weight=weight, bias=None, quant=quant)

    def _fc_input(self) -> _Act:
        x = self._act(self.node.input[0])
        if len(x.shape) != 1:
            self._fail(f"the activation must be (batch, features); got per-sample shape {list(x.shape)}")
        return x

    @staticmethod
    def _dequantized(quant: Quant, shape: tuple) -> np.ndarray:
        scale = quant.scale.reshape((-1,) + (1,) * (len(shape) - 1)) if quant.per_channel else quant.scale[0]
        return (quant.qvalues.astype(np.float32) * scale).astype(np.float32)

    def _op_BatchNormalization(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        self._unused_extra_outputs()
        if attrs.get("training_mode", 0):
            self._fail("training_mode=1 is not supported; export the model in eval mode")
        layer = self._foldable(x)
        if layer is None:
            self._fail("BatchNormalization is folded into the Conv/Gemm/MatMul right before it; here it follows "
                       + ("the network input" if x.layer is None else f"layer {x.layer!r}, which is not one "
                          f"or whose output is also used elsewhere"))
        gamma, beta, mean, var = (self._value(self._const(n, role)).astype(np.float64) for n, role in
                                  zip(self.node.input[1:5], ("scale", "B", "mean", "var")))
        eps = float(attrs.get("epsilon", 1e-5))
        n_out = layer.out_shape[0]
        if any(a.size != n_out for a in (gamma, beta, mean, var)):
            self._fail(f"parameters must have one value per channel ({n_out})")
        s = gamma / np.sqrt(var + eps)
        bias = np.zeros(n_out) if layer.bias is None else layer.bias.astype(np.float64)
        layer.bias = ((bias - mean) * s + beta).astype(np.float32)
        per_out = (-1,) + (1,) * (layer.weight.ndim - 1)
        if layer.quant is not None:
            # Fold the per-channel factor into the scales: the int8 values stay the exported ones.
            q = layer.quant
            q.scale = (np.broadcast_to(q.scale, (n_out,)) * s).astype(np.float32)
            q.per_channel = True
            layer.weight = self._dequantized(q, layer.weight.shape)
        else:
            layer.weight = (layer.weight * s.reshape(per_out)).astype(np.float32)
        self._pass(x)

    # ---------------------------------------------------------------- element-wise and pooling
    def _op_Relu(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        self._emit("relu", [x], x.shape)

    def _op_Clip(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        lo, hi = attrs.get("min"), attrs.get("max")  # opset < 11 keeps them as attributes
        inputs = list(self.node.input) + ["", ""]
        if inputs[1]:
            lo = float(self._value(self._const(inputs[1], "min")))
        if inputs[2]:
            hi = float(self._value(self._const(inputs[2], "max")))
        if lo == 0.0 and hi == 6.0:
            self._emit("relu6", [x], x.shape)
        elif lo == 0.0 and (hi is None or hi >= np.finfo(np.float32).max):
            self._emit("relu", [x], x.shape)
        else:
            self._fail(f"Clip({lo}, {hi}) is supported only as ReLU (0, none) or ReLU6 (0, 6)")

    def _op_MaxPool(self, attrs: dict) -> None:
        self._pool("maxpool", attrs)

    def _op_AveragePool(self, attrs: dict) -> None:
        self._pool("avgpool", attrs)

    def _pool(self, kind: str, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        self._unused_extra_outputs()
        if len(x.shape) != 3 or len(attrs.get("kernel_shape", ())) != 2:
            self._fail(f"only 2-D pooling is supported; got per-sample input shape {list(x.shape)}")
        kh, kw = attrs["kernel_shape"]
        if kh != kw:
            self._fail(f"non-square window {kh}x{kw}; sim's pools have square windows")
        if self._square(attrs, "dilations") != 1:
            self._fail("dilated pooling is not supported")
        stride = self._square(attrs, "strides")
        c, h, w = x.shape
        pad = self._padding(attrs, (h, w), kh, stride, 1)
        if kind == "avgpool" and attrs.get("count_include_pad", 0) and pad:
            self._fail("count_include_pad=1 with padding is not supported (sim averages over real cells only)")
        oh, ow = conv_out_size(h, kh, stride, pad), conv_out_size(w, kh, stride, pad)
        if attrs.get("ceil_mode", 0) and any(
                -(-(n + 2 * pad - kh) // stride) + 1 != o for n, o in ((h, oh), (w, ow))):
            self._fail("ceil_mode=1 adds a partial window here; sim pools in floor mode")
        self._emit(kind, [x], (c, oh, ow), stride=stride, padding=pad, kernel_size=kh)

    def _op_GlobalAveragePool(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        if len(x.shape) != 3:
            self._fail(f"needs a (channels, height, width) input; got {list(x.shape)}")
        self._emit("global_avgpool", [x], (x.shape[0], 1, 1))

    def _op_Softmax(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        axis = attrs.get("axis", 1 if self.opset < 13 else -1)
        rank = len(x.shape) + 1
        ok = (len(x.shape) == 1 and axis in (1, -1)) or (len(x.shape) == 3 and self.opset >= 13 and axis in (1, -3))
        if not ok:
            self._fail(f"softmax over axis {axis} of a rank-{rank} tensor is not supported; sim takes softmax over "
                       f"the features of (batch, features) or the channels of (batch, channels, height, width)")
        self._emit("softmax", [x], x.shape)

    def _op_Add(self, attrs: dict) -> None:
        a, b = self.node.input[0], self.node.input[1]
        if a in self.acts and b in self.acts:
            xa, xb = self.acts[a], self.acts[b]
            if xa.shape != xb.shape:
                self._fail(f"adds shapes {list(xa.shape)} and {list(xb.shape)}; sim's add needs equal shapes")
            if xa.layer is None or xb.layer is None:
                self._fail("adds the network input; sim feeds the network input only to the first layer")
            self._emit("add", [xa, xb], xa.shape)
            self.layers[-1].inputs = (xa.layer, xb.layer)  # always explicit: two producers
            return
        x, c = (self.acts[a], self.consts[b]) if a in self.acts else (self.acts[b], self.consts[a])
        layer = self._foldable(x)
        if layer is None:
            self._fail("adding a constant is supported only as the bias of the Conv/Gemm/MatMul right before it")
        try:
            full = np.broadcast_to(self._value(c).astype(np.float32), (1,) + layer.out_shape)[0]
        except ValueError:
            self._fail(f"constant of shape {list(self._value(c).shape)} does not broadcast to {list(layer.out_shape)}")
        per_channel = full.reshape(full.shape[0], -1)
        if np.any(per_channel != per_channel[:, :1]):
            self._fail("the added constant varies within a channel; only one bias per output channel folds")
        bias = per_channel[:, 0]
        layer.bias = bias.copy() if layer.bias is None else (layer.bias + bias).astype(np.float32)
        self._pass(x)

    def _op_Concat(self, attrs: dict) -> None:
        xs = [self._act(n) for n in self.node.input]
        rank = len(xs[0].shape) + 1
        if attrs.get("axis") % rank != 1:
            self._fail(f"concat along axis {attrs.get('axis')} is not supported; sim concatenates channels (axis 1)")
        if any(len(x.shape) != len(xs[0].shape) or x.shape[1:] != xs[0].shape[1:] for x in xs):
            self._fail(f"shapes {[list(x.shape) for x in xs]} differ in more than the channel axis")
        if any(x.layer is None for x in xs):
            self._fail("concatenates the network input; sim feeds the network input only to the first layer")
        self._emit("concat", xs, (sum(x.shape[0] for x in xs),) + xs[0].shape[1:])
        self.layers[-1].inputs = tuple(x.layer for x in xs)

    # ---------------------------------------------------------------- shape ops and pass-throughs
    def _op_Flatten(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        if attrs.get("axis", 1) % (len(x.shape) + 1) != 1:
            self._fail(f"Flatten(axis={attrs.get('axis')}) is not supported; only axis 1 keeps the batch apart")
        self._flatten(x)

    def _flatten(self, x: _Act) -> None:
        if len(x.shape) == 1:
            self._pass(x)
        else:
            self._emit("flatten", [x], (int(np.prod(x.shape)),))

    def _op_Reshape(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        target = [int(t) for t in self._value(self._const(self.node.input[1], "shape")).reshape(-1)]
        size = int(np.prod(x.shape))
        # The leading entry is the batch: 0 copies it, -1 infers it; a traced export may bake in the batch size.
        sample = target[1:]
        if sample.count(-1) == 1 and all(t > 0 for t in sample if t != -1):
            known = int(np.prod([t for t in sample if t != -1]))
            if known and size % known == 0:
                sample[sample.index(-1)] = size // known
        if len(target) < 2 or int(np.prod(sample)) != size or any(t < 1 for t in sample):
            self._fail(f"Reshape to {target} is not supported: only flattening to (batch, -1) or a no-op")
        if tuple(sample) == x.shape:
            self._pass(x)
        elif len(sample) == 1:
            self._flatten(x)
        else:
            self._fail(f"Reshape of {list(x.shape)} to {sample} per sample is not supported; only flattening")

    def _op_Shape(self, attrs: dict) -> None:
        x = self._act(self.node.input[0])
        full = np.array((BATCH_MARKER,) + x.shape, dtype=np.int64)
        start, end = attrs.get("start", 0), attrs.get("end", len(full))
        self.consts[self.node.output[0]] = full[start:end]

    def _op_Identity(self, attrs: dict) -> None:
        self._pass(self._act(self.node.input[0]))

    def _op_Dropout(self, attrs: dict) -> None:
        self._unused_extra_outputs()
        self._pass(self._act(self.node.input[0]))  # inference: dropout is the identity

    def _op_QuantizeLinear(self, attrs: dict) -> None:
        self._fail("quantizing an activation is not supported; sim imports int8 weights (QuantizeLinear/"
                   "DequantizeLinear on initializers) with float activations")

    def _op_DequantizeLinear(self, attrs: dict) -> None:
        self._op_QuantizeLinear(attrs)

    # ---------------------------------------------------------------- attributes
    def _square(self, attrs: dict, key: str) -> int:
        values = [int(v) for v in attrs.get(key, [1, 1])]
        if len(set(values)) != 1:
            self._fail(f"{key}={values}: sim needs the same value along height and width")
        return values[0]

    def _padding(self, attrs: dict, size: tuple[int, int], k: int, stride: int, dilation: int) -> int:
        """One symmetric padding that gives the same windows as the node's pads / auto_pad."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        span = dilation * (k - 1) + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pairs = []
            for n in size:
                total = max((-(-n // stride) - 1) * stride + span - n, 0)
                small = total // 2
                pairs.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        elif auto == "VALID":
            pairs = [(0, 0), (0, 0)]
        else:
            pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
            pairs = [(pads[0], pads[2]), (pads[1], pads[3])]
        chosen = set()
        for n, (begin, end) in zip(size, pairs):
            # Padding at the end that no window reaches changes nothing: symmetric `begin` is then exact.
            if conv_out_size(n, k, stride, begin, dilation) != (n + begin + end - span) // stride + 1:
                self._fail(f"asymmetric padding (begin {begin}, end {end}) changes the output size; sim pads "
                           f"symmetrically")
            chosen.add(begin)
        if len(chosen) != 1:
            self._fail(f"padding differs between height and width ({sorted(chosen)}); sim pads both alike")
        return chosen.pop()
