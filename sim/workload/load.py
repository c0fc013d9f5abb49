"""models/*.yaml (+ .npz weights) -> Network, and Network -> YAML + .npz.

A model file::

    version: 1
    name: lenet300
    input_shape: [64]          # per sample: [features] or [channels, height, width]
    dataset: digits            # optional: real inputs + labels (scikit-learn's bundled digits)
    input_density: 1.0         # optional: density of seeded synthetic inputs
    weights: lenet300.npz      # optional, relative to this file; else synthetic weights
    seed: 0                    # seed of synthetic weights
    independent: false         # true: each layer is its own benchmark on its own input
    layers:
      - {name: fc1, type: fc, out_features: 300, weight_density: 0.08}
      - {name: relu1, type: relu}

Layer keys by type: fc (out_features, bias), conv2d (out_channels, kernel_size, stride, padding,
groups, dilation, bias), maxpool/avgpool (kernel_size, stride, padding), add/concat (inputs),
and for any layer: name, type, inputs, weight_density, act_density, quant ({kind, bits,
per_channel}) which says how the .npz stores its weights.
"""
from __future__ import annotations

import io
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import yaml

from .. import schema as S
from ..errors import did_you_mean
from ..limits import short, size_problem
from ..schema import Problems as _Problems
from ..validate import check_seed
from ..yamlfile import read_yaml
from .network import LAYER_KINDS, Layer, Network, Quant, conv_out_size, input_vocab, placeholder_weight
from .npzfile import float_array_problem, quant_problems, read_npz
from .ops import NETWORK_INPUT, OPS, UNARY_ATTRS, infer_shape
from .synthetic import COMPRESSED_ABOVE_ELEMENTS, dense_weight, packed_weight, synthetic_weight

DATASETS = ("digits", "mnist5k", "mnist")
TOP = S.Record(dict, {
    "version": S.choice(1, 1), "name": S.Field("str", None, doc="default: the file's stem"),
    "description": S.Field("str", ""), "input_shape": S.Field("any", None, doc="[features] or [C, H, W]; checked below"),
    "dataset": S.Field("choice", None, choices=DATASETS), "input_density": S.fraction(1.0),
    "weights": S.Field("str", None, doc=".npz file, relative to the model"), "seed": S.Field("int", 0, min=0),
    "independent": S.flag(False, "each layer is its own benchmark on its own input"),
    "accuracy": S.fraction(None), "layers": S.Field("any", None, doc="checked below"), "notes": S.Field("any", None),
    "meta": S.Field("any", None),
    "outputs": S.Field("any", None, doc="names of the graph's output layers (default: the last layer); checked below"),
})
TOP_KEYS = set(TOP.fields)
COMMON_KEYS = {"name", "type", "inputs", "weight_density", "act_density", "quant", "notes"}
KIND_KEYS = {
    "fc": {"out_features", "bias", "in_features", "per_token", "sparsity"},
    "conv2d": {"out_channels", "kernel_size", "stride", "padding", "groups", "dilation", "bias", "sparsity"},
    "maxpool": {"kernel_size", "stride", "padding", "ceil_mode"},
    "avgpool": {"kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"},
    "global_avgpool": set(),
}
# Every other kind: its attributes from the op table, plus constants given inline.
CONST_KEYS = {"add": {"operand", "const_first"}, "sub": {"operand", "const_first"}, "mul": {"operand", "const_first"},
              "div": {"operand", "const_first"}, "max": {"operand"}, "min": {"operand"},
              "where": {"cond", "other", "x_when"},
              "quantize": {"scale", "zero_point"}, "dequantize": {"scale", "zero_point"},
              "layernorm": {"scale", "bias"}, "gather": {"indices", "vocab", "embedding_dim"},
              "lstm": {"bias"}, "gru": {"bias"}}
for _kind, _op in OPS.items():
    if _kind not in KIND_KEYS:
        KIND_KEYS[_kind] = set(_op.attrs) | set(UNARY_ATTRS.get(_kind, {})) | CONST_KEYS.get(_kind, set())
QUANT_KINDS = ("kmeans", "linear", "binary")


def _int(p: _Problems, path: str, value, minimum: int = 1):
    return value if p.check(S.Field("int", S.REQUIRED, min=minimum), value, path) else None


def _fraction(p: _Problems, path: str, value):
    return float(value) if p.check(S.fraction(), value, path) else None


def _too_big(p: _Problems, where: str, what: str, shape) -> bool:
    msg = size_problem(what, shape)
    if msg:
        p.add(where, msg)
    return msg is not None


def load_network(path: str | os.PathLike, seed: int | None = None, density: float | None = None,
                 input_shape: tuple[int, ...] | None = None, shapes_only: bool = False,
                 packed: bool = False) -> Network:
    """Load a network from a model YAML, an ONNX file or a SCALE-Sim topology CSV.

    seed: overrides the file's seed for synthetic weights. density: weight density of synthetic
    weights for formats that carry none (SCALE-Sim topologies; default dense). input_shape: per-sample
    input shape for ONNX graphs whose input has symbolic dimensions.
    shapes_only: model YAMLs without a weights file and topologies draw no weights: every weighted
    layer gets a read-only all-ones view that takes no memory, and ``meta["weight_densities"]``
    (YAML) or ``meta["weight_density"]`` (topology) states the densities (``--execute shapes``).
    packed: synthesized layers above ``synthetic.COMPRESSED_ABOVE_ELEMENTS`` weights keep their
    weights in compressed form (``layer.attrs["packed"]``, a ``synthetic.Packed``; ``layer.weight``
    is then the all-ones view): the same weights, 12 bytes per nonzero instead of 4 per weight.
    Executors read them through ``sim.execution.execute.dense_weight``; ``unpack`` makes them dense.
    """
    path = str(path)
    check_seed(seed, "seed")
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        from .onnx_import import load_onnx  # imported on use: onnx is only needed here
        return load_onnx(path, input_shape=input_shape)
    if suffix == ".csv":
        from .topology import load_topology
        return load_topology(path, seed=0 if seed is None else seed, density=1.0 if density is None else density,
                             shapes_only=shapes_only)
    data = read_yaml(path)
    return network_from_dict(data, path, seed=seed, shapes_only=shapes_only, packed=packed)


def network_from_dict(data: dict, path: str, seed: int | None = None, shapes_only: bool = False,
                      packed: bool = False) -> Network:
    p = _Problems(path)
    p.check(TOP, data, "")
    name = data.get("name") or Path(path).stem
    shape = data.get("input_shape")
    if not isinstance(shape, list) or not shape or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        p.add("input_shape", f"must be a list of positive integers per sample ([features], [tokens, features] or "
                             f"[channels, height, width]); got {shape!r}")
        shape = None
    if shape is not None and _too_big(p, "input_shape", "one input sample", shape):
        shape = None
    dataset = data.get("dataset")
    input_density = float(data.get("input_density", 1.0)) if S.is_number(data.get("input_density", 1.0)) else None
    layers_raw = data.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        p.add("layers", f"must be a non-empty list of layers; got {layers_raw!r}")
        p.raise_if_any()
    independent = data.get("independent", False) is True
    p.raise_if_any()

    base_seed = int(data.get("seed", 0) if seed is None else seed)
    layers = _build_layers(p, layers_raw, tuple(shape), independent, deferred="weights" in data)
    _too_big(p, "layers", "all weights together", (sum(lay.weight.size for lay in layers if lay.weight is not None),))
    p.raise_if_any()

    weights_file = data.get("weights")
    if weights_file is not None:
        wpath = os.path.join(os.path.dirname(path), str(weights_file))
        _load_weights(p, layers, wpath, layers_raw)
    elif shapes_only:
        densities = _placeholder_weights(layers, layers_raw)
    else:
        _synthesize_weights(layers, layers_raw, base_seed, packed)
    outputs = data.get("outputs", [])
    names = {lay.name for lay in layers}
    if isinstance(outputs, str):
        outputs = [outputs]
    if not isinstance(outputs, list) or any(o not in names for o in outputs):
        p.add("outputs", f"must list layer names; unknown {[o for o in outputs if o not in names] if isinstance(outputs, list) else outputs!r}")
    p.raise_if_any()
    accuracy = data.get("accuracy")
    meta = dict(data.get("meta") or {})
    vocab = input_vocab(layers)
    if vocab:
        meta["vocab"] = vocab
    if shapes_only and weights_file is None:
        meta["weight_densities"] = densities
        meta["seed"] = base_seed  # the weights ``load_network(source, seed)`` would draw (``fill_weights``)
    return Network(name=str(name), input_shape=tuple(shape), layers=layers, input_density=input_density,
                   dataset=dataset, independent=independent,
                   accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None, source=path,
                   meta=meta, outputs=tuple(outputs))


def _build_layers(p: _Problems, raw: list, input_shape: tuple, independent: bool,
                  deferred: bool = False) -> list[Layer]:
    """deferred: constants may come from the weights file (not required inline)."""
    layers: list[Layer] = []
    shapes: dict[str, tuple] = {}
    prev_shape = input_shape
    for i, spec in enumerate(raw):
        where = f"layers[{i}]"
        if not isinstance(spec, dict):
            p.add(where, f"must be a mapping with at least 'type'; got {spec!r}")
            continue
        kind = spec.get("type")
        name = str(spec.get("name", f"{kind}{i}"))
        where = f"layers[{i}] ({name})"
        if not isinstance(kind, str) or kind not in KIND_KEYS:
            p.add(f"{where}.type", f"unknown layer type {short(kind)}" + did_you_mean(str(kind)[:200], LAYER_KINDS)
                  + f"; expected one of {', '.join(LAYER_KINDS)}")
            continue
        if name in shapes:
            p.add(f"{where}.name", f"duplicate layer name {name!r}")
        allowed = COMMON_KEYS | KIND_KEYS[kind]
        for key in spec:
            if key not in allowed:
                p.add(f"{where}.{key}", f"unknown key for a {kind} layer" + did_you_mean(str(key), allowed))
        if name == NETWORK_INPUT:
            p.add(f"{where}.name", f"{NETWORK_INPUT!r} is reserved: it names the network input")
        inputs = spec.get("inputs", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        known = dict(shapes, **{NETWORK_INPUT: input_shape})
        if not isinstance(inputs, list) or not all(isinstance(n, str) for n in inputs):
            p.add(f"{where}.inputs", f"must be a layer name or a list of layer names; got {short(inputs)}")
            continue
        if any(n not in known for n in inputs):
            missing = [n for n in (inputs if isinstance(inputs, list) else [inputs]) if n not in known]
            p.add(f"{where}.inputs", f"must name earlier layers or {NETWORK_INPUT!r}; unknown {missing!r}")
            continue
        lo, hi = OPS[kind].n_inputs
        given = len(inputs) if inputs else 1
        needs_const = kind in ("add", "sub", "mul", "div", "max", "min") and "operand" in spec
        if kind in ("add", "concat") and not needs_const and given < 2:
            p.add(f"{where}.inputs", f"a {kind} layer needs at least 2 inputs; got {inputs!r}")
            continue
        if given < lo or given > hi + (1 if kind == "add" else 0) * 62:
            p.add(f"{where}.inputs", f"a {kind} layer reads {lo}..{hi} tensors; got {inputs!r}")
            continue
        in_shapes = [known[n] for n in inputs] if inputs else [prev_shape]
        if independent:
            in_shapes = [input_shape] if kind != "fc" or "in_features" not in spec else [(spec["in_features"],)]
        layer = _layer(p, where, name, kind, spec, in_shapes, tuple(inputs), deferred)
        if layer is None:
            continue
        layers.append(layer)
        shapes[name] = layer.out_shape
        prev_shape = layer.out_shape
    return layers


def _layer(p: _Problems, where: str, name: str, kind: str, spec: dict, in_shapes: list, inputs: tuple,
           deferred: bool = False):
    in_shape = in_shapes[0]
    n_problems = len(p.items)
    common = dict(name=name, kind=kind, in_shape=in_shape, inputs=inputs)
    if "act_density" in spec:
        common["act_density"] = _fraction(p, f"{where}.act_density", spec["act_density"])
    if "weight_density" in spec:
        _fraction(p, f"{where}.weight_density", spec["weight_density"])
    if "quant" in spec:
        q = spec["quant"]
        if not isinstance(q, dict) or q.get("kind") not in QUANT_KINDS:
            p.add(f"{where}.quant.kind", f"must be one of {', '.join(QUANT_KINDS)}; got {q!r}")
        else:
            _int(p, f"{where}.quant.bits", q.get("bits"), minimum=1)
    if kind == "fc":
        out = _int(p, f"{where}.out_features", spec.get("out_features"))
        if "in_features" in spec:
            _int(p, f"{where}.in_features", spec["in_features"])
        if out is None or len(p.items) > n_problems:
            return None
        per_token = bool(spec.get("per_token", False))
        if per_token and len(in_shape) < 2:
            p.add(f"{where}.per_token", f"needs a (tokens, ..., features) input; got {list(in_shape)}")
            return None
        n_in = int(in_shape[-1]) if per_token else math.prod(in_shape)
        if spec.get("in_features", n_in) != n_in:
            p.add(f"{where}.in_features", f"must equal the {n_in} features the layer receives ({list(in_shape)}"
                                          f"{', per token' if per_token else ''}); got {short(spec['in_features'])}")
            return None
        if _too_big(p, where, "its weight", (out, n_in)):
            return None
        out_shape = tuple(in_shape[:-1]) + (out,) if per_token else (out,)
        return Layer(out_shape=out_shape, weight=np.zeros((out, n_in), np.float32),
                     bias=np.zeros(out, np.float32) if spec.get("bias", True) else None,
                     attrs=_sparsity(p, where, spec, {"per_token": True} if per_token else {}), **common)
    if kind == "conv2d":
        if len(in_shape) != 3:
            p.add(where, f"conv2d needs a [channels, height, width] input; the layer before gives {list(in_shape)}")
            return None
        if _general_window(spec):
            return _window_layer(p, where, kind, spec, in_shape, common)
        oc = _int(p, f"{where}.out_channels", spec.get("out_channels"))
        k = _int(p, f"{where}.kernel_size", spec.get("kernel_size"))
        s = _int(p, f"{where}.stride", spec.get("stride", 1))
        pad = _int(p, f"{where}.padding", spec.get("padding", 0), minimum=0)
        g = _int(p, f"{where}.groups", spec.get("groups", 1))
        d = _int(p, f"{where}.dilation", spec.get("dilation", 1))
        if None in (oc, k, s, pad, g, d):
            return None
        c, h, w = in_shape
        if c % g or oc % g:
            p.add(f"{where}.groups", f"must divide input channels ({c}) and out_channels ({oc}); got {g}")
            return None
        oh, ow = conv_out_size(h, k, s, pad, d), conv_out_size(w, k, s, pad, d)
        if oh < 1 or ow < 1:
            p.add(f"{where}.kernel_size", f"kernel {k} (dilation {d}, padding {pad}) does not fit the {h}x{w} input")
            return None
        if _too_big(p, where, "its weight", (oc, c // g, k, k)) or _too_big(p, where, "its output", (oc, oh, ow)):
            return None
        return Layer(out_shape=(oc, oh, ow), weight=np.zeros((oc, c // g, k, k), np.float32),
                     bias=np.zeros(oc, np.float32) if spec.get("bias", True) else None,
                     stride=s, padding=pad, groups=g, kernel_size=k, dilation=d,
                     attrs=_sparsity(p, where, spec, {}), **common)
    if kind in ("maxpool", "avgpool"):
        if len(in_shape) != 3:
            p.add(where, f"{kind} needs a [channels, height, width] input; the layer before gives {list(in_shape)}")
            return None
        if _general_window(spec):
            return _window_layer(p, where, kind, spec, in_shape, common)
        k = _int(p, f"{where}.kernel_size", spec.get("kernel_size"))
        s = _int(p, f"{where}.stride", spec.get("stride", k if isinstance(k, int) else 1))
        pad = _int(p, f"{where}.padding", spec.get("padding", 0), minimum=0)
        if None in (k, s, pad):
            return None
        c, h, w = in_shape
        oh, ow = conv_out_size(h, k, s, pad), conv_out_size(w, k, s, pad)
        if oh < 1 or ow < 1:
            p.add(f"{where}.kernel_size", f"window {k} does not fit the {h}x{w} input")
            return None
        return Layer(out_shape=(c, oh, ow), stride=s, padding=pad, kernel_size=k, **common)
    if kind == "global_avgpool":
        if len(in_shape) != 3:
            p.add(where, f"global_avgpool needs a [channels, height, width] input; got {list(in_shape)}")
            return None
        return Layer(out_shape=(in_shape[0], 1, 1), **common)
    return _generic_layer(p, where, kind, spec, in_shapes, common, deferred)


def _general_window(spec: dict) -> bool:
    return any(isinstance(spec.get(k), list) for k in ("kernel_size", "stride", "padding", "dilation")) or \
        bool(spec.get("ceil_mode")) or bool(spec.get("count_include_pad"))


def _ints(p: _Problems, path: str, value, n: int, minimum: int) -> tuple | None:
    """One int (repeated n times) or a list of n ints, each >= minimum."""
    values = [value] * n if not isinstance(value, list) else value
    if len(values) != n or any(isinstance(v, bool) or not isinstance(v, int) or v < minimum for v in values):
        p.add(path, f"must be an integer >= {minimum} or a list of {n} of them; got {value!r}")
        return None
    return tuple(values)


def _window_layer(p: _Problems, where: str, kind: str, spec: dict, in_shape: tuple, common: dict):
    """conv2d / pool with kernel [kh, kw], stride [sh, sw], dilation [dh, dw], padding
    [top, left, bottom, right] (or one int each), ceil_mode, count_include_pad."""
    c, h, w = in_shape
    k = _ints(p, f"{where}.kernel_size", spec.get("kernel_size"), 2, 1)
    s = _ints(p, f"{where}.stride", spec.get("stride", 1 if kind == "conv2d" else spec.get("kernel_size")), 2, 1)
    d = _ints(p, f"{where}.dilation", spec.get("dilation", 1), 2, 1)
    pads = _ints(p, f"{where}.padding", spec.get("padding", 0), 4, 0)
    if None in (k, s, d, pads):
        return None
    ceil = bool(spec.get("ceil_mode", False))
    oh = conv_out_size(h, k[0], s[0], pads[0], d[0], pads[2], ceil)
    ow = conv_out_size(w, k[1], s[1], pads[1], d[1], pads[3], ceil)
    if oh < 1 or ow < 1:
        p.add(f"{where}.kernel_size", f"window {list(k)} (dilation {list(d)}, padding {list(pads)}) does not fit "
                                      f"the {h}x{w} input")
        return None
    attrs = {"kernel": k, "strides": s, "dilations": d, "pads": pads}
    if kind != "conv2d":
        attrs.update(ceil_mode=ceil, count_include_pad=bool(spec.get("count_include_pad", False)))
        return Layer(out_shape=(c, oh, ow), stride=s[0], padding=pads[0], kernel_size=k[0], attrs=attrs, **common)
    oc = _int(p, f"{where}.out_channels", spec.get("out_channels"))
    g = _int(p, f"{where}.groups", spec.get("groups", 1))
    if None in (oc, g):
        return None
    if c % g or oc % g:
        p.add(f"{where}.groups", f"must divide input channels ({c}) and out_channels ({oc}); got {g}")
        return None
    return Layer(out_shape=(oc, oh, ow), weight=np.zeros((oc, c // g) + k, np.float32),
                 bias=np.zeros(oc, np.float32) if spec.get("bias", True) else None, stride=s[0], padding=pads[0],
                 groups=g, kernel_size=k[0], dilation=d[0], attrs=_sparsity(p, where, spec, attrs), **common)


def _sparsity(p: _Problems, where: str, spec: dict, attrs: dict) -> dict:
    """``sparsity: "N:M"`` (structured N:M, as SCALE-Sim v3's topology column): kept as metadata."""
    if "sparsity" in spec:
        from .ops import parse_n_m
        nm = parse_n_m(spec["sparsity"])
        if nm is None:
            p.add(f"{where}.sparsity", f"must be 'N:M' with 1 <= N <= M; got {spec['sparsity']!r}")
        else:
            attrs = dict(attrs, sparsity=nm)
    return attrs


def _generic_layer(p: _Problems, where: str, kind: str, spec: dict, in_shapes: list, common: dict,
                   deferred: bool = False):
    """Every kind whose output shape the op table gives (activations, binary ops, normalization,
    data movement, matmul of activations, recurrent cells)."""
    attrs = {k: v for k, v in OPS[kind].attrs.items() if v is not None}
    attrs.update(UNARY_ATTRS.get(kind, {}))
    consts = {}
    for key in KIND_KEYS[kind]:
        if key not in spec:
            continue
        if key in CONST_KEYS.get(kind, ()) and key not in ("const_first", "x_when", "vocab", "embedding_dim", "bias"):
            value = np.asarray(spec[key], dtype=np.float32)
            if not np.all(np.isfinite(value)) and kind not in ("where", "add"):
                p.add(f"{where}.{key}", "must be finite numbers")
            consts[key] = value
        else:
            attrs[key] = spec[key]
    missing = [k for k, v in OPS[kind].attrs.items() if v is None and k not in spec and k not in ("axis", "axes", "steps")]
    if kind in ("quantize", "dequantize") and "scale" not in consts and not deferred:
        missing.append("scale")
    if kind == "gather" and "indices" not in consts and "vocab" not in attrs:
        missing.append("indices (or vocab and embedding_dim)")
    if kind == "pow" and attrs.get("exponent") is None:
        missing.append("exponent")
    if missing:
        p.add(where, f"a {kind} layer needs {', '.join(missing)}")
        return None
    weight = None
    if kind == "gather" and "vocab" in attrs:
        consts["table"] = np.zeros((int(attrs.pop("vocab")), int(attrs.pop("embedding_dim", 1))), np.float32)
    if kind in ("lstm", "gru"):
        hidden = _int(p, f"{where}.hidden_size", attrs.get("hidden_size"))
        if hidden is None:
            return None
        attrs["hidden_size"] = hidden
        gates = 4 if kind == "lstm" else 3
        if len(in_shapes[0]) == 2:
            weight = np.zeros((gates * hidden, in_shapes[0][1] + hidden), np.float32)
        if spec.get("bias", True):
            consts["wb"] = np.zeros(gates * hidden, np.float32)
            consts["rb"] = np.zeros(gates * hidden, np.float32)
    if kind == "matmul":
        attrs["k"] = int(in_shapes[0][-1]) if in_shapes[0] else 0
    if kind == "concat" and "axis" not in spec:
        attrs["axis"] = 0
    try:
        out = infer_shape(kind, in_shapes, attrs, consts, weight)
    except (ValueError, KeyError, TypeError) as exc:
        p.add(where, str(exc))
        return None
    return Layer(out_shape=out, weight=weight, attrs=attrs, consts=consts, **common)


def _spec_density(raw: list, layer: Layer) -> float:
    spec = next(s for s in raw if isinstance(s, dict) and str(s.get("name", "")) == layer.name)
    return float(spec.get("weight_density", 1.0))


def _placeholder_weights(layers: list[Layer], raw: list) -> dict:
    """Shapes only: all-ones read-only views (no memory) in place of every weight; returns the
    stated density of each weighted layer by name."""
    densities = {}
    for layer in layers:
        if layer.is_weighted and layer.weight is not None:
            layer.weight = placeholder_weight(layer.weight.shape)
            densities[layer.name] = _spec_density(raw, layer)
    return densities


def fill_weights(net: Network) -> Network:
    """A shapes-only network from a model YAML (``load_network(shapes_only=True)``) given, in place,
    the synthesized weights a full load draws (dense, for cost models that read weight values)."""
    if "weight_densities" not in net.meta or not net.source:
        return net
    full = load_network(net.source, seed=int(net.meta.get("seed", 0)))
    for layer, drawn in zip(net.layers, full.layers):
        layer.weight, layer.bias = drawn.weight, drawn.bias
    del net.meta["weight_densities"]
    return net


def unpack(net: Network) -> Network:
    """``net`` with every packed layer's weight made dense in place (``load_network(packed=True)``)."""
    for layer in net.layers:
        if "packed" in layer.attrs:
            layer.weight = dense_weight(layer)
            del layer.attrs["packed"]
    return net


def _synthesize_weights(layers: list[Layer], raw: list, seed: int, packed: bool = False) -> None:
    for i, layer in enumerate(layers):
        if layer.kind == "gather" and "table" in layer.consts and not np.any(layer.consts["table"]):
            rng = np.random.default_rng([seed, i])
            layer.consts["table"] = rng.standard_normal(layer.consts["table"].shape).astype(np.float32)
        if not layer.is_weighted:
            continue
        rng = np.random.default_rng([seed, i])
        shape, density = layer.weight.shape, _spec_density(raw, layer)
        if packed and layer.quant is None and int(np.prod(shape)) > COMPRESSED_ABOVE_ELEMENTS:
            layer.attrs["packed"] = packed_weight(shape, density, rng)  # the same draws as synthetic_weight's
            layer.weight = placeholder_weight(shape)
        else:
            layer.weight = synthetic_weight(shape, density, rng)
        if layer.bias is not None:
            layer.bias = (0.01 * rng.standard_normal(layer.bias.shape)).astype(np.float32)


def _load_weights(p: _Problems, layers: list[Layer], wpath: str, raw: list) -> None:
    if not os.path.exists(wpath):
        p.add("weights", f"weights file not found: {wpath}")
        return
    arrays = read_npz(wpath, p.items)
    if arrays is None:
        return
    specs = {str(s.get("name")): s for s in raw if isinstance(s, dict)}
    for layer in layers:
        for key in [k for k in arrays if k.startswith(layer.name + "/const.")]:
            arr = arrays[key]  # constants may hold +-inf (attention masks), never NaN
            bad = f"array {key!r}: must not hold NaN" if arr.dtype.kind == "f" and np.isnan(arr).any() else None
            if bad:
                p.add(f"layers ({layer.name})", f"{wpath}: {bad}")
                continue
            layer.consts[key.split("/const.", 1)[1]] = arrays[key]
        if not layer.is_weighted:
            continue
        key = f"{layer.name}/weight"
        if key not in arrays:
            p.add("weights", f"{wpath} has no array {key!r}")
            continue
        bad = float_array_problem(key, arrays[key])
        if bad:
            p.add(f"layers ({layer.name})", f"{wpath}: {bad}")
            continue
        w = arrays[key].astype(np.float32)
        if w.shape != layer.weight.shape:
            p.add(f"layers ({layer.name})", f"weights in {wpath} have shape {list(w.shape)}; the model needs {list(layer.weight.shape)}")
            continue
        layer.weight = w
        if layer.bias is not None:
            b = arrays.get(f"{layer.name}/bias")
            bad = None if b is None else float_array_problem(f"{layer.name}/bias", b)
            if bad:
                p.add(f"layers ({layer.name}).bias", f"{wpath}: {bad}")
            elif b is None or b.shape != layer.bias.shape:
                p.add(f"layers ({layer.name}).bias", f"{wpath} needs a bias of shape {list(layer.bias.shape)}")
            else:
                layer.bias = b.astype(np.float32)
        q = specs.get(layer.name, {}).get("quant")
        bad = quant_problems(layer.name, q, arrays, layer.weight.shape) if isinstance(q, dict) else []
        for msg in bad:
            p.add(f"layers ({layer.name}).quant", f"{wpath}: {msg}")
        if isinstance(q, dict) and not bad:
            layer.quant = Quant(kind=q["kind"], bits=int(q["bits"]), per_channel=bool(q.get("per_channel", False)),
                                **{k: arrays.get(f"{layer.name}/{k}") for k in ("codebook", "codes", "scale", "qvalues")})


def _plain(v):
    """An attribute as YAML writes it (tuples as lists, numpy scalars as Python numbers)."""
    if isinstance(v, (tuple, list)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry time: the same arrays always give the same bytes


def write_npz(path: str | os.PathLike, arrays: dict) -> None:
    """Write a compressed .npz whose bytes depend only on ``arrays`` (sorted keys, fixed
    timestamps; np.savez stamps the current time), atomically."""
    path = Path(path)
    tmp = path.with_suffix(".tmp.npz")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def weight_arrays(net: Network) -> dict:
    """The .npz arrays of a network's weights and encodings, keyed as ``load_network`` reads them."""
    arrays = {}
    for layer in net.layers:
        for key, value in layer.consts.items():
            arrays[f"{layer.name}/const.{key}"] = np.asarray(value)
    for layer in net.weighted_layers:
        arrays[f"{layer.name}/weight"] = dense_weight(layer)
        if layer.bias is not None:
            arrays[f"{layer.name}/bias"] = layer.bias
        if layer.quant is not None:
            for k in ("codebook", "codes", "scale", "qvalues"):
                if getattr(layer.quant, k) is not None:
                    arrays[f"{layer.name}/{k}"] = np.asarray(getattr(layer.quant, k))
    return arrays


def save_network(net: Network, path: str | os.PathLike, extra: dict | None = None, weights: bool = True) -> None:
    """Write ``net`` as a model YAML plus a byte-reproducible .npz of its weights beside it (atomically);
    with ``weights`` False, the architecture alone (a model to train from scratch)."""
    path = Path(path)
    npz_path = path.with_suffix(".npz")
    layers = []
    for layer in net.layers:
        spec: dict = {"name": layer.name, "type": layer.kind}
        if layer.inputs:
            spec["inputs"] = list(layer.inputs)
        if layer.kind == "fc":
            spec.update(out_features=int(layer.out_shape[0]), bias=layer.bias is not None)
        elif layer.kind == "conv2d":
            spec.update(out_channels=int(layer.out_shape[0]), kernel_size=layer.kernel_size, stride=layer.stride,
                        padding=layer.padding, groups=layer.groups, dilation=layer.dilation, bias=layer.bias is not None)
        elif layer.kind in ("maxpool", "avgpool"):
            spec.update(kernel_size=layer.kernel_size, stride=layer.stride, padding=layer.padding)
        if layer.kind in ("conv2d", "maxpool", "avgpool") and layer.general_window:
            spec.update(kernel_size=list(layer.kernel_hw), stride=list(layer.strides_hw), padding=list(layer.pads4))
            if layer.kind == "conv2d":
                spec["dilation"] = list(layer.dilations_hw)
            else:
                spec["ceil_mode"] = bool(layer.attrs.get("ceil_mode"))
                if layer.kind == "avgpool":
                    spec["count_include_pad"] = bool(layer.attrs.get("count_include_pad"))
        elif layer.kind not in KIND_KEYS or layer.kind in ("lstm", "gru") or not KIND_KEYS[layer.kind] <= {
                "kernel_size", "stride", "padding", "out_features", "bias", "in_features", "out_channels", "groups",
                "dilation", "ceil_mode", "count_include_pad", "per_token", "sparsity"}:
            spec.update({k: _plain(v) for k, v in layer.attrs.items() if k in KIND_KEYS.get(layer.kind, ())})
            for key in ("operand", "cond", "other", "indices"):  # needed for shapes: written inline
                if key in layer.consts:
                    spec[key] = np.asarray(layer.consts[key]).tolist()
            if layer.kind == "gather" and "table" in layer.consts:
                spec.update(vocab=int(layer.consts["table"].shape[0]), embedding_dim=int(layer.consts["table"].shape[1]))
        if layer.kind == "fc" and layer.attrs.get("per_token"):
            spec["per_token"] = True
        if "sparsity" in layer.attrs:
            spec["sparsity"] = "{}:{}".format(*layer.attrs["sparsity"])
        if layer.act_density is not None:
            spec["act_density"] = float(layer.act_density)
        if layer.is_weighted and layer.quant is not None:
            q = layer.quant
            spec["quant"] = {"kind": q.kind, "bits": int(q.bits), "per_channel": bool(q.per_channel)}
        layers.append(spec)
    doc = {"version": 1, "name": net.name, "input_shape": list(net.input_shape)}
    if net.dataset:
        doc["dataset"] = net.dataset
    doc["input_density"] = float(net.input_density)
    if weights:
        doc["weights"] = npz_path.name
    if net.accuracy is not None:
        doc["accuracy"] = float(net.accuracy)
    if net.meta:
        doc["meta"] = net.meta
    if net.outputs:
        doc["outputs"] = list(net.outputs)
    doc.update(extra or {})
    doc["layers"] = layers
    if weights:
        write_npz(npz_path, weight_arrays(net))
    tmp = path.with_suffix(".tmp.yaml")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=120)
    os.replace(tmp, path)
