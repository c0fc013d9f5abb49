"""Layer and Network: the plain data every stage passes forward.

Shapes are per sample, batch excluded: fc/flatten outputs are ``(features,)`` and conv/pool
tensors are ``(channels, height, width)``. Weights are always held dense as float32 in
``Layer.weight`` (pruned positions are exact zeros, quantized layers hold their dequantized
values); ``Layer.quant`` carries the compressed encoding (codebook + codes, or integer values +
scale) that kernels and storage accounting use. Keeping both means the numpy oracle never needs
to know how a layer was compressed.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .ops import NETWORK_INPUT, OPS, WEIGHTED_KINDS, conv_out_size  # noqa: F401 (re-exported)

POOL_KINDS = ("maxpool", "avgpool")
LAYER_KINDS = tuple(OPS)


@dataclass
class Quant:
    """How a layer's weights are encoded.

    kind: ``kmeans`` (codebook of ``2**bits`` float32 centroids, ``codes`` uint8/uint16 per weight),
    ``linear`` (``qvalues`` int8 integers, ``scale`` per tensor or per output channel, weight =
    qvalues * scale) or ``binary`` (weight = sign * scale, stored like linear with qvalues in {-1,0,1}).
    """

    kind: str
    bits: int
    codebook: np.ndarray | None = None
    codes: np.ndarray | None = None
    scale: np.ndarray | None = None
    qvalues: np.ndarray | None = None
    per_channel: bool = False


@dataclass
class Layer:
    """One node of the network graph.

    ``inputs`` names the producing layers (``"input"`` is the network input); empty means the
    previous layer (or the network input for the first layer). ``attrs`` holds the op's
    attributes (see ``ops.OPS``: axes are per sample, batch excluded; conv / pool geometry that
    is not square and symmetric is ``kernel`` (kh, kw), ``strides`` (sh, sw), ``dilations``
    (dh, dw), ``pads`` (top, left, bottom, right)); ``consts`` its constant tensors that are not
    compressible weights (a broadcast operand, LayerNorm scale / bias, gather indices,
    quantization scales and zero points)."""

    name: str
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weight: np.ndarray | None = None  # fc: (out, in); conv2d: (out_c, in_c // groups, kh, kw)
    bias: np.ndarray | None = None
    stride: int = 1
    padding: int = 0
    groups: int = 1
    kernel_size: int = 1  # conv2d: kh (= kw); pools: window
    dilation: int = 1
    inputs: tuple[str, ...] = ()
    quant: Quant | None = None
    act_density: float | None = None  # stated input-activation density (synthetic inputs of independent layers)
    attrs: dict = field(default_factory=dict)
    consts: dict = field(default_factory=dict)

    @property
    def is_weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS

    @property
    def sparsity(self) -> tuple[int, int] | None:
        """Structured N:M sparsity (n, m): at most n nonzeros in every m consecutive weights of a
        filter (SCALE-Sim v3's Sparsity column, a model's ``sparsity: "N:M"``); None when unstated."""
        nm = self.attrs.get("sparsity")
        return (int(nm[0]), int(nm[1])) if nm else None

    @property
    def category(self) -> str:
        """What kind of work the layer is (``ops.CATEGORIES``): the unit a design maps it to."""
        return OPS[self.kind].category

    @property
    def map_kind(self) -> str:
        """The layer kind today's mapper handles this layer as: "fc" (weighted matmul, incl.
        recurrent gate matmuls), "conv2d", "flatten" (pure data movement) or the kind itself
        (activation / pooling unit)."""
        return OPS[self.kind].map_kind

    @property
    def kernel_hw(self) -> tuple[int, int]:
        if "kernel" in self.attrs:
            return tuple(self.attrs["kernel"])
        if self.kind == "conv2d" and self.weight is not None:
            return tuple(int(k) for k in self.weight.shape[2:])
        return (self.kernel_size, self.kernel_size)

    @property
    def strides_hw(self) -> tuple[int, int]:
        return tuple(self.attrs.get("strides", (self.stride, self.stride)))

    @property
    def dilations_hw(self) -> tuple[int, int]:
        return tuple(self.attrs.get("dilations", (self.dilation, self.dilation)))

    @property
    def pads4(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) zero padding."""
        return tuple(self.attrs.get("pads", (self.padding,) * 4))

    @property
    def general_window(self) -> bool:
        """Geometry beyond square kernels, one stride / dilation and symmetric pads (or pooling
        options): executed by the general kernels."""
        return any(k in self.attrs for k in ("kernel", "strides", "dilations", "pads", "ceil_mode",
                                              "count_include_pad"))

    @property
    def tokens(self) -> int:
        """Rows a matmul-like layer applies its weights to per sample: 1 for (features,) inputs,
        the product of the leading axes for (tokens, features) inputs; time steps of recurrent layers."""
        if self.kind == "fc" and self.attrs.get("per_token"):
            return int(np.prod(self.in_shape[:-1]))
        if self.kind in ("lstm", "gru"):
            return int(self.in_shape[0])
        return 1

    @property
    def weight_count(self) -> int:
        return 0 if self.weight is None else int(self.weight.size)

    @property
    def weight_nnz(self) -> int:
        if "packed" in self.attrs:  # weights held in compressed form (workload.synthetic.Packed)
            return self.attrs["packed"].nnz
        return 0 if self.weight is None else int(np.count_nonzero(self.weight))

    @property
    def weight_density(self) -> float:
        return self.weight_nnz / self.weight_count if self.weight_count else 1.0

    @property
    def dense_macs(self) -> int:
        """MACs per sample if every weight and activation were nonzero."""
        if self.kind in ("fc", "lstm", "gru"):
            return int(self.weight.size) * self.tokens
        if self.kind == "conv2d":
            oc, icg, kh, kw = self.weight.shape
            return int(oc * icg * kh * kw * self.out_shape[1] * self.out_shape[2])
        if self.kind == "matmul":  # (..., M, K) x (..., K, N): every output takes K MACs
            return int(np.prod(self.out_shape)) * int(self.attrs["k"])
        return 0

    def replace(self, **changes) -> "Layer":
        return dataclasses.replace(self, **changes)


@dataclass
class Network:
    """A graph of layers in topological order plus what inputs it expects.

    A layer reads the layers its ``inputs`` name (``"input"``: the network input; empty: the
    layer before). ``outputs`` names the graph outputs (empty: the last layer)."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]
    input_density: float = 1.0  # density of seeded synthetic inputs
    dataset: str | None = None  # "digits": real test inputs and labels exist
    independent: bool = False  # each layer is a separate benchmark fed its own synthetic input
    accuracy: float | None = None  # measured test accuracy recorded with the weights
    source: str = ""
    meta: dict = field(default_factory=dict)
    outputs: tuple[str, ...] = ()

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.outputs) or (self.layers[-1].name,)

    def sources(self, index: int) -> tuple[str, ...]:
        """Names of what layer ``index`` reads (``"input"`` for the network input)."""
        layer = self.layers[index]
        if layer.inputs:
            return tuple(layer.inputs)
        return (NETWORK_INPUT,) if index == 0 else (self.layers[index - 1].name,)

    def reads_input(self, index: int) -> bool:
        """Layer ``index`` reads the network input (which comes from DRAM)."""
        return self.independent or NETWORK_INPUT in self.sources(index)

    def is_output(self, index: int) -> bool:
        """Layer ``index`` is a graph output (which goes to DRAM)."""
        return self.independent or self.layers[index].name in self.output_names

    def layer(self, name: str) -> Layer:
        for lay in self.layers:
            if lay.name == name:
                return lay
        raise KeyError(name)

    @property
    def weighted_layers(self) -> list[Layer]:
        return [lay for lay in self.layers if lay.is_weighted]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.layer(self.output_names[0]).out_shape

    @property
    def weight_count(self) -> int:
        return sum(lay.weight_count for lay in self.layers)

    @property
    def weight_nnz(self) -> int:
        return sum(lay.weight_nnz for lay in self.layers)

    def replace(self, **changes) -> "Network":
        return dataclasses.replace(self, **changes)

    def copy(self) -> "Network":
        """Deep copy of the arrays, so compression can change weights without aliasing."""
        layers = []
        for lay in self.layers:
            q = lay.quant
            if q is not None:
                q = dataclasses.replace(q, **{k: (None if getattr(q, k) is None else getattr(q, k).copy())
                                              for k in ("codebook", "codes", "scale", "qvalues")})
            layers.append(lay.replace(weight=None if lay.weight is None else _copy_weight(lay.weight),
                                      bias=None if lay.bias is None else lay.bias.copy(), quant=q,
                                      attrs=dict(lay.attrs), consts={k: np.array(v) for k, v in lay.consts.items()}))
        return self.replace(layers=layers, meta=dict(self.meta))


def placeholder_weight(shape) -> np.ndarray:
    """The weight of a layer whose values are not held (loaded from shapes only, or kept packed):
    a read-only all-ones view that takes no memory."""
    return np.broadcast_to(np.float32(1.0), tuple(shape))


def is_placeholder_weight(w: np.ndarray | None) -> bool:
    """``w`` is a ``placeholder_weight``: no values stand behind it."""
    return w is not None and w.size > 0 and not any(w.strides)


def _copy_weight(w: np.ndarray) -> np.ndarray:
    """A copy of a weight; a placeholder is shared (read-only, it holds nothing)."""
    return w if is_placeholder_weight(w) else w.copy()


def input_vocab(layers: list[Layer]) -> int:
    """Rows of the embedding table the network input indexes (its inputs are token ids), else 0."""
    for i, lay in enumerate(layers):
        reads_input = NETWORK_INPUT in lay.inputs or (i == 0 and not lay.inputs)
        if reads_input and lay.kind == "gather" and "table" in lay.consts:
            return int(np.shape(lay.consts["table"])[0])
    return 0
