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

from ..errors import ConfigError, did_you_mean
from ..limits import short, size_problem
from ..validate import check_seed
from ..yamlfile import read_yaml, top_level_problems
from .npzfile import float_array_problem, quant_problems, read_npz
from .network import LAYER_KINDS, Layer, Network, Quant, conv_out_size

TOP_KEYS = {"version", "name", "description", "input_shape", "dataset", "input_density", "weights", "seed",
            "independent", "accuracy", "layers", "notes", "meta"}
COMMON_KEYS = {"name", "type", "inputs", "weight_density", "act_density", "quant", "notes"}
KIND_KEYS = {
    "fc": {"out_features", "bias", "in_features"},
    "conv2d": {"out_channels", "kernel_size", "stride", "padding", "groups", "dilation", "bias"},
    "maxpool": {"kernel_size", "stride", "padding"},
    "avgpool": {"kernel_size", "stride", "padding"},
    "global_avgpool": set(),
    "relu": set(), "relu6": set(), "softmax": set(), "flatten": set(), "add": set(), "concat": set(),
}
QUANT_KINDS = ("kmeans", "linear", "binary")
DATASETS = ("digits", "mnist")


class _Problems:
    """Collects every problem of one file, then raises a single ConfigError."""

    def __init__(self, file: str):
        self.file, self.items = file, []

    def add(self, path: str, msg: str) -> None:
        self.items.append(f"{path}: {msg}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.file, self.items)


def _int(p: _Problems, path: str, value, minimum: int = 1):
    if isinstance(value, bool) or not isinstance(value, int):
        p.add(path, f"must be an integer >= {minimum}; got {value!r}")
        return None
    if value < minimum:
        p.add(path, f"must be an integer >= {minimum}; got {value}")
        return None
    return value


def _fraction(p: _Problems, path: str, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= float(value) <= 1.0:
        p.add(path, f"must be a number in [0, 1]; got {value!r}")
        return None
    return float(value)


def _too_big(p: _Problems, where: str, what: str, shape) -> bool:
    msg = size_problem(what, shape)
    if msg:
        p.add(where, msg)
    return msg is not None


def load_network(path: str | os.PathLike, seed: int | None = None, density: float | None = None,
                 input_shape: tuple[int, ...] | None = None) -> Network:
    """Load a network from a model YAML, an ONNX file or a SCALE-Sim topology CSV.

    seed: overrides the file's seed for synthetic weights. density: weight density of synthetic
    weights for formats that carry none (SCALE-Sim topologies; default dense). input_shape: per-sample
    input shape for ONNX graphs whose input has symbolic dimensions.
    """
    path = str(path)
    check_seed(seed, "seed")
    suffix = Path(path).suffix.lower()
    if suffix == ".onnx":
        from .onnx_import import load_onnx  # imported on use: onnx is only needed here
        return load_onnx(path, input_shape=input_shape)
    if suffix == ".csv":
        from .topology import load_topology
        return load_topology(path, seed=0 if seed is None else seed, density=1.0 if density is None else density)
    data = read_yaml(path)
    return network_from_dict(data, path, seed=seed)


def network_from_dict(data: dict, path: str, seed: int | None = None) -> Network:
    p = _Problems(path)
    p.items.extend(top_level_problems(data, TOP_KEYS))
    name = data.get("name", Path(path).stem)
    shape = data.get("input_shape")
    if not isinstance(shape, list) or len(shape) not in (1, 3) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape):
        p.add("input_shape", f"must be a list of 1 or 3 positive integers ([features] or [channels, height, width]); got {shape!r}")
        shape = None
    if shape is not None and _too_big(p, "input_shape", "one input sample", shape):
        shape = None
    dataset = data.get("dataset")
    if dataset is not None and dataset not in DATASETS:
        p.add("dataset", f"must be one of {', '.join(DATASETS)}; got {dataset!r}")
    input_density = _fraction(p, "input_density", data.get("input_density", 1.0))
    if "seed" in data:
        _int(p, "seed", data["seed"], minimum=0)
    layers_raw = data.get("layers")
    if not isinstance(layers_raw, list) or not layers_raw:
        p.add("layers", f"must be a non-empty list of layers; got {layers_raw!r}")
        p.raise_if_any()
    independent = bool(data.get("independent", False))
    p.raise_if_any()

    base_seed = int(data.get("seed", 0) if seed is None else seed)
    layers = _build_layers(p, layers_raw, tuple(shape), independent)
    _too_big(p, "layers", "all weights together", (sum(lay.weight.size for lay in layers if lay.weight is not None),))
    p.raise_if_any()

    weights_file = data.get("weights")
    if weights_file is not None:
        wpath = os.path.join(os.path.dirname(path), str(weights_file))
        _load_weights(p, layers, wpath, layers_raw)
    else:
        _synthesize_weights(layers, layers_raw, base_seed)
    p.raise_if_any()
    accuracy = data.get("accuracy")
    return Network(name=str(name), input_shape=tuple(shape), layers=layers, input_density=input_density,
                   dataset=dataset, independent=independent,
                   accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None, source=path,
                   meta=dict(data.get("meta") or {}))


def _build_layers(p: _Problems, raw: list, input_shape: tuple, independent: bool) -> list[Layer]:
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
            p.add(f"{where}.type", f"unknown layer type {short(kind)}; expected one of {', '.join(LAYER_KINDS)}"
                  + did_you_mean(str(kind), LAYER_KINDS))
            continue
        if name in shapes:
            p.add(f"{where}.name", f"duplicate layer name {name!r}")
        allowed = COMMON_KEYS | KIND_KEYS[kind]
        for key in spec:
            if key not in allowed:
                p.add(f"{where}.{key}", f"unknown key for a {kind} layer" + did_you_mean(str(key), allowed))
        inputs = spec.get("inputs", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or any(n not in shapes for n in inputs):
            missing = [n for n in (inputs if isinstance(inputs, list) else [inputs]) if n not in shapes]
            p.add(f"{where}.inputs", f"must name earlier layers; unknown {missing!r}")
            continue
        if kind in ("add", "concat") and len(inputs) < 2:
            p.add(f"{where}.inputs", f"a {kind} layer needs at least 2 inputs; got {inputs!r}")
            continue
        in_shapes = [shapes[n] for n in inputs] if inputs else [prev_shape]
        if independent:
            in_shapes = [input_shape] if kind != "fc" or "in_features" not in spec else [(spec["in_features"],)]
        layer = _layer(p, where, name, kind, spec, in_shapes, tuple(inputs))
        if layer is None:
            continue
        layers.append(layer)
        shapes[name] = layer.out_shape
        prev_shape = layer.out_shape
    return layers


def _layer(p: _Problems, where: str, name: str, kind: str, spec: dict, in_shapes: list, inputs: tuple):
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
        n_in = math.prod(in_shape)
        if spec.get("in_features", n_in) != n_in:
            p.add(f"{where}.in_features", f"must equal the {n_in} features the layer receives ({list(in_shape)}); got "
                                          f"{short(spec['in_features'])}")
            return None
        if _too_big(p, where, "its weight", (out, n_in)):
            return None
        return Layer(out_shape=(out,), weight=np.zeros((out, n_in), np.float32),
                     bias=np.zeros(out, np.float32) if spec.get("bias", True) else None, **common)
    if kind == "conv2d":
        if len(in_shape) != 3:
            p.add(where, f"conv2d needs a [channels, height, width] input; the layer before gives {list(in_shape)}")
            return None
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
                     stride=s, padding=pad, groups=g, kernel_size=k, dilation=d, **common)
    if kind in ("maxpool", "avgpool"):
        if len(in_shape) != 3:
            p.add(where, f"{kind} needs a [channels, height, width] input; the layer before gives {list(in_shape)}")
            return None
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
    if kind == "flatten":
        return Layer(out_shape=(int(np.prod(in_shape)),), **common)
    if kind == "add":
        if any(s != in_shape for s in in_shapes):
            p.add(f"{where}.inputs", f"add needs equal shapes; got {[list(s) for s in in_shapes]}")
            return None
        return Layer(out_shape=in_shape, **common)
    if kind == "concat":
        if any(len(s) != len(in_shape) or s[1:] != in_shape[1:] for s in in_shapes):
            p.add(f"{where}.inputs", f"concat needs shapes equal but for channels; got {[list(s) for s in in_shapes]}")
            return None
        return Layer(out_shape=(sum(s[0] for s in in_shapes),) + in_shape[1:], **common)
    return Layer(out_shape=in_shape, **common)  # relu, relu6, softmax


def synthetic_weight(shape: tuple, density: float, rng: np.random.Generator) -> np.ndarray:
    """He-normal weights pruned by magnitude to exactly round(density * size) nonzeros."""
    fan_in = int(np.prod(shape[1:]))
    w = rng.standard_normal(shape, dtype=np.float32)
    w[w == 0] = np.finfo(np.float32).tiny  # float32 draws are exactly 0 about once in 7e6; 0 would mean pruned
    w *= np.float32(np.sqrt(2.0 / max(fan_in, 1)))
    keep = int(round(density * w.size))
    if keep < w.size:
        flat = w.reshape(-1)
        # Indices of the (size - keep) smallest magnitudes; partition is O(n) where a sort is O(n log n).
        drop = np.argpartition(np.abs(flat), w.size - keep - 1)[: w.size - keep] if keep else slice(None)
        flat[drop] = 0.0
    return w


def _synthesize_weights(layers: list[Layer], raw: list, seed: int) -> None:
    for i, layer in enumerate(layers):
        if not layer.is_weighted:
            continue
        spec = next(s for s in raw if isinstance(s, dict) and str(s.get("name", "")) == layer.name)
        rng = np.random.default_rng([seed, i])
        layer.weight = synthetic_weight(layer.weight.shape, float(spec.get("weight_density", 1.0)), rng)
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
    for layer in net.weighted_layers:
        arrays[f"{layer.name}/weight"] = layer.weight
        if layer.bias is not None:
            arrays[f"{layer.name}/bias"] = layer.bias
        if layer.quant is not None:
            for k in ("codebook", "codes", "scale", "qvalues"):
                if getattr(layer.quant, k) is not None:
                    arrays[f"{layer.name}/{k}"] = np.asarray(getattr(layer.quant, k))
    return arrays


def save_network(net: Network, path: str | os.PathLike, extra: dict | None = None) -> None:
    """Write ``net`` as a model YAML plus a byte-reproducible .npz of its weights beside it (atomically)."""
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
    doc["weights"] = npz_path.name
    if net.accuracy is not None:
        doc["accuracy"] = float(net.accuracy)
    if net.meta:
        doc["meta"] = net.meta
    doc.update(extra or {})
    doc["layers"] = layers
    write_npz(npz_path, weight_arrays(net))
    tmp = path.with_suffix(".tmp.yaml")
    with open(tmp, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=120)
    os.replace(tmp, path)
