"""ONNX graph -> Network: the weights a user exported (pruned zeros and int8 QDQ included) as sim layers.

Each node maps to a layer kind sim executes, or folds into one: BatchNormalization and a bias
Add fold into the Conv/Gemm/MatMul before them, Identity/Dropout and no-op reshapes pass through,
and any node whose inputs are all constants is evaluated once here (onnx's reference evaluator),
so exporter chains like Constant -> Reshape or QuantizeLinear -> DequantizeLinear on a weight
become plain weights. Anything else raises ConfigError naming the node and its op type.

Tensors are batch first in ONNX; sim's shapes are per sample, so the leading batch dimension is
dropped everywhere (graph input, Reshape targets, axes).

This module walks the graph and keeps track of tensors; ``onnx_ops`` holds one converter per op.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .network import Layer, Network, Quant, conv_out_size, input_vocab
from .onnx_checks import check_onnx_size, emitted_problems, network_array_problems
from .onnx_ops import OPS as BASE_OPS
from .onnx_quant import OPS as QUANT_OPS

OPS = {**BASE_OPS, **QUANT_OPS}
from .ops import NETWORK_INPUT


GENERIC_NAMES = ("main_graph", "torch_jit", "torch-jit-export", "graph", "model", "onnx_graph")


@dataclass
class Act:
    """An activation tensor: the layer that makes it (None: the network input) and its per-sample shape."""

    layer: str | None
    shape: tuple[int, ...]
    exclusive: bool  # the producing layer's output reaches only this tensor, so BN / bias can fold into it
    batch_axis: int = 0  # where ONNX has the batch (1 for a sequence-first RNN input); sim keeps it first


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
    net = builder.network()
    problems = network_array_problems(net)
    if problems:
        raise ConfigError(path, problems)
    return net


def _read(path: str):
    import onnx  # imported on use: only ONNX users need it

    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if os.path.isdir(path):
        raise ConfigError(path, "is a directory; expected an .onnx file")
    check_onnx_size(path)
    try:
        model = onnx.load(path)
        onnx.checker.check_model(model)
    except Exception as exc:  # protobuf's DecodeError, onnx's ValidationError and friends
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(path, f"not a valid ONNX model ({first})") from None
    return model


class _Builder:
    """Walks the nodes in order, keeping every tensor as a constant, a _QConst or an Act.

    The op converters of ``onnx_ops`` use its public methods: ``act`` / ``const`` / ``value`` to read
    inputs, ``emit`` / ``pass_through`` / ``foldable`` to produce outputs, ``weight``, ``square``,
    ``padding`` to decode attributes, and ``fail`` to raise a ConfigError naming the node.
    """

    def __init__(self, path: str, model, input_shape):
        from onnx import numpy_helper

        self.path, self.model = path, model
        graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        self.consts: dict[str, np.ndarray | _QConst] = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        self.acts: dict[str, Act] = {}
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
        self.acts[self.input_name] = Act(None, self.input_shape, False)

    # ---------------------------------------------------------------- graph input and output
    def _input_shape(self, value_info, override) -> tuple[int, ...]:
        from onnx import TensorProto

        where = f"graph input {value_info.name!r}"
        ttype = value_info.type.tensor_type
        if ttype.elem_type not in (TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32):
            raise ConfigError(self.path, f"{where}: must be a float32 tensor (or int64 token ids); got element type "
                                         f"{TensorProto.DataType.Name(ttype.elem_type)}")
        self.input_ids = ttype.elem_type != TensorProto.FLOAT
        dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in ttype.shape.dim]
        if len(dims) < 2:
            raise ConfigError(self.path, f"{where}: must be batch first with at least one more axis, e.g. (batch, "
                                         f"features), (batch, tokens) or (batch, channels, height, width); got {dims}")
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
            example = ",".join(str(d) if isinstance(d, int) and d > 0 else f"<{d}>" for d in sample)
            raise ConfigError(self.path, f"{where}: has symbolic dimensions {dims}; give the per-sample input "
                                         f"shape (--input-shape {example}, with numbers for the <names>)")
        return tuple(sample)

    def network(self) -> Network:
        producers = []
        for name in self.outputs:
            out = self.acts.get(name)
            if out is None or out.layer is None or not self.layers:
                raise ConfigError(self.path, f"graph output {name!r}: is not computed by any layer")
            producers.append(out.layer)
        meta = {"onnx_input": self.input_name, "onnx_output": self.outputs[0] if len(self.outputs) == 1 else
                list(self.outputs), "onnx_opset": int(self.opset), "onnx_producer": self.model.producer_name or ""}
        vocab = input_vocab(self.layers)
        if vocab:
            meta["vocab"] = vocab
        elif self.input_ids:
            raise ConfigError(self.path, f"graph input {self.input_name!r}: integer inputs are supported only as "
                                         f"token ids of an embedding (Gather on a table)")
        stem = os.path.splitext(os.path.basename(self.path))[0]
        name = self.model.graph.name
        if not name or name in GENERIC_NAMES:  # every torch export is "main_graph": the file says more
            name = stem
        outputs = tuple(producers) if producers != [self.layers[-1].name] else ()
        return Network(name=name, input_shape=self.input_shape, layers=self.layers, source=self.path, meta=meta,
                       outputs=outputs)

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
        convert_op = OPS.get(node.op_type)
        if convert_op is None:
            raise ConfigError(self.path, f"{self.where}: op type {node.op_type} is not supported; sim supports "
                                         f"{', '.join(OPS)}")
        convert_op(self, self.attrs(node))

    @staticmethod
    def attrs(node) -> dict:
        from onnx import helper

        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def fail(self, msg: str):
        raise ConfigError(self.path, f"{self.where}: {msg}")

    # ---------------------------------------------------------------- tensors
    def act(self, name: str) -> Act:
        if name not in self.acts:
            self.fail(f"input {name!r} must be an activation computed from the network input; it is a constant")
        return self.acts[name]

    def const(self, name: str, role: str, optional: bool = False):
        if not name:
            if optional:
                return None
            self.fail(f"the {role} input is missing")
        if name not in self.consts:
            self.fail(f"the {role} {name!r} must be an initializer or a constant; sim imports only fixed weights")
        return self.consts[name]

    @staticmethod
    def value(c) -> np.ndarray:
        return c.value if isinstance(c, _QConst) else np.asarray(c)

    def unused_extra_outputs(self) -> None:
        for extra in self.node.output[1:]:
            if extra and self.uses[extra]:
                self.fail(f"output {extra!r} is used, but sim computes only the first output of this op")

    def pass_through(self, src: Act, shape: tuple | None = None, batch_axis: int | None = None) -> None:
        """The node's output is its input (Identity, Dropout at inference, a no-op reshape, a
        Transpose that only moves the batch axis)."""
        out = self.node.output[0]
        self.acts[out] = Act(src.layer, src.shape if shape is None else tuple(shape),
                             src.exclusive and self.uses[out] == 1,
                             src.batch_axis if batch_axis is None else batch_axis)

    def emit(self, kind: str, src: list[Act], out_shape: tuple[int, ...], output: str | None = None,
             suffix: str = "", batch_axis: int = 0, any_batch_axis: bool = False, **fields) -> Layer:
        """Append a layer fed by ``src`` and register ``output`` (default: the node's first output)
        as made by it. ``suffix`` tells apart the layers one node becomes; ``batch_axis`` is where
        ONNX keeps the batch in the output (converters that understand a moved batch say so with
        ``any_batch_axis``)."""
        if not any_batch_axis and any(a.batch_axis for a in src):
            self.fail("reads a tensor whose batch is not the first axis (after a Transpose that moved it); sim "
                      "supports that only into LSTM / GRU (layout 0), Transpose and Squeeze")
        for msg in emitted_problems(out_shape, fields):
            self.fail(msg)
        names = tuple(NETWORK_INPUT if a.layer is None else a.layer for a in src)
        previous = self.layers[-1].name if self.layers else NETWORK_INPUT
        after_previous = len(src) == 1 and names[0] == previous
        name = self._layer_name(suffix)
        layer = Layer(name=name, kind=kind, in_shape=src[0].shape, out_shape=tuple(int(s) for s in out_shape),
                      inputs=() if after_previous else names, **fields)
        self.layers.append(layer)
        out = self.node.output[0] if output is None else output
        self.acts[out] = Act(name, layer.out_shape, self.uses[out] == 1, batch_axis)
        return layer

    def chain(self, kind: str, src: "Act", out_shape, suffix: str, **fields) -> "Act":
        """An intermediate layer of a node that becomes several: its output as an Act."""
        tmp = f"{self.node.output[0]}::{suffix}"
        self.uses[tmp] = 1
        self.emit(kind, [src], out_shape, output=tmp, suffix=suffix, **fields)
        return self.acts[tmp]

    def _layer_name(self, suffix: str = "") -> str:
        # torch names nodes like "/layer1/conv1/Conv"; dots read better in reports and .npz keys.
        base = self.node.name.strip("/").replace("/", ".") or f"{self.node.op_type.lower()}{self.index}"
        base = f"{base}.{suffix}" if suffix else base
        if base == NETWORK_INPUT:
            base = f"{base}_layer"
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        self.names.add(name)
        return name

    def foldable(self, src: Act) -> Layer | None:
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
            values = evaluator.run(None, {n: self.value(self.consts[n]) for n in names})
        except Exception as exc:  # the evaluator raises whatever the op implementation raises
            self.fail(f"cannot evaluate this constant expression ({type(exc).__name__}: {exc})")
        for name, value in zip([n for n in node.output if n], values):
            self.consts[name] = np.asarray(value)

    def _dequantize(self, node) -> None:
        attrs = self.attrs(node)
        q = self.value(self.consts[node.input[0]])
        scale = self.value(self.consts[node.input[1]]).astype(np.float32)
        zero = self.value(self.consts[node.input[2]]) if len(node.input) > 2 and node.input[2] else np.zeros(1, q.dtype)
        if attrs.get("block_size", 0):
            self.fail("blocked quantization (block_size) is not supported")
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

    def weight(self, c, transpose: bool = False, out_axis: int = 0) -> tuple[np.ndarray, Quant | None]:
        """Float32 (out, ...) weight and its Quant; ``out_axis`` is the output axis of the stored tensor."""
        value = self.value(c).astype(np.float32)
        if not isinstance(c, _QConst):
            return (value.T if transpose else value).copy(), None
        if c.axis is not None and c.axis != out_axis:
            self.fail(f"the int8 weight has per-channel scales along axis {c.axis}, not its output axis "
                      f"{out_axis}; sim stores one scale per output channel")
        q = c.qvalues.T if transpose else c.qvalues
        quant = Quant(kind="linear", bits=8, qvalues=np.ascontiguousarray(q), scale=c.scale.astype(np.float32),
                      per_channel=c.axis is not None)
        return (value.T if transpose else value).copy(), quant

    # ---------------------------------------------------------------- attributes
    def square(self, attrs: dict, key: str) -> int:
        values = [int(v) for v in attrs.get(key, [1, 1])]
        if not values or min(values) < 1:
            self.fail(f"{key}={values[:4]}: must be integers >= 1")
        if len(set(values)) != 1:
            self.fail(f"{key}={values}: sim needs the same value along height and width")
        return values[0]

    def pads4(self, attrs: dict, size: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int],
              dilations: tuple[int, int]) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) padding of the node's pads / auto_pad. End padding that no
        window reaches changes nothing and is dropped (so symmetric layers stay symmetric)."""
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pairs = []
            for n, k, st, d in zip(size, kernel, strides, dilations):
                total = max((-(-n // st) - 1) * st + d * (k - 1) + 1 - n, 0)
                small = total // 2
                pairs.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        elif auto == "VALID":
            pairs = [(0, 0), (0, 0)]
        else:
            pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
            if len(pads) != 4 or min(pads) < 0:
                self.fail(f"pads={pads[:8]}: expected 4 non-negative values for a 2-D window")
            pairs = [(pads[0], pads[2]), (pads[1], pads[3])]
        out = []
        ceil = bool(attrs.get("ceil_mode", 0))
        for n, k, st, d, (begin, end) in zip(size, kernel, strides, dilations, pairs):
            if end > begin and conv_out_size(n, k, st, begin, d, end, ceil) == conv_out_size(n, k, st, begin, d, begin, ceil):
                end = begin
            out.append((begin, end))
        return (out[0][0], out[1][0], out[0][1], out[1][1])

    def pair(self, attrs: dict, key: str) -> tuple[int, int]:
        values = [int(v) for v in attrs.get(key, [1, 1])]
        if len(values) != 2:
            self.fail(f"{key}={values[:8]}: expected 2 values (height, width)")
        if min(values) < 1:
            self.fail(f"{key}={values}: must be integers >= 1")
        return values[0], values[1]

    # ---------------------------------------------------------------- per-sample axes and constants
    def sample_axis(self, axis: int, rank: int, batch_axis: int = 0) -> int:
        """The per-sample axis of ONNX axis ``axis`` of a tensor with ``rank`` per-sample axes
        whose batch is ONNX axis ``batch_axis``."""
        full = rank + 1
        if not -full <= axis < full:
            self.fail(f"axis {axis} is out of range for a rank-{full} tensor")
        axis %= full
        if axis == batch_axis:
            self.fail(f"operates along the batch axis; sim keeps samples apart (axis {batch_axis} is the batch)")
        return axis if axis < batch_axis else axis - 1

    def sample_const(self, value, rank: int) -> np.ndarray:
        """A constant operand as it broadcasts against one sample of per-sample rank ``rank``."""
        v = np.asarray(self.value(value))
        if v.ndim == rank + 1:
            if v.shape[0] != 1:
                self.fail(f"a constant of shape {list(v.shape)} differs per sample; sim needs it to broadcast over "
                          f"the batch (leading size 1)")
            v = v[0]
        elif v.ndim > rank + 1:
            self.fail(f"a constant of shape {list(v.shape)} has more axes than the activation")
        return v
