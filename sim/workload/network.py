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

WEIGHTED_KINDS = ("fc", "conv2d")
POOL_KINDS = ("maxpool", "avgpool")
ELEMENTWISE_KINDS = ("relu", "relu6", "softmax")
LAYER_KINDS = WEIGHTED_KINDS + POOL_KINDS + ELEMENTWISE_KINDS + ("flatten", "add", "concat", "global_avgpool")


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
    """One layer. ``inputs`` names the producing layers; empty means the previous layer (or the
    network input for the first layer)."""

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
    # Structured N:M sparsity (n, m): at most n nonzeros in every m consecutive weights of a filter
    # (SCALE-Sim v3's Sparsity column); None when the source states none.
    sparsity: tuple[int, int] | None = None

    @property
    def is_weighted(self) -> bool:
        return self.kind in WEIGHTED_KINDS

    @property
    def weight_count(self) -> int:
        return 0 if self.weight is None else int(self.weight.size)

    @property
    def weight_nnz(self) -> int:
        return 0 if self.weight is None else int(np.count_nonzero(self.weight))

    @property
    def weight_density(self) -> float:
        return self.weight_nnz / self.weight_count if self.weight_count else 1.0

    @property
    def dense_macs(self) -> int:
        """MACs per sample if every weight and activation were nonzero."""
        if self.kind == "fc":
            return int(self.weight.size)
        if self.kind == "conv2d":
            oc, icg, kh, kw = self.weight.shape
            return int(oc * icg * kh * kw * self.out_shape[1] * self.out_shape[2])
        return 0

    def replace(self, **changes) -> "Layer":
        return dataclasses.replace(self, **changes)


@dataclass
class Network:
    """An ordered list of layers (topologically sorted) plus what inputs it expects."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[Layer]
    input_density: float = 1.0  # density of seeded synthetic inputs
    dataset: str | None = None  # "digits": real test inputs and labels exist
    independent: bool = False  # each layer is a separate benchmark fed its own synthetic input
    accuracy: float | None = None  # measured test accuracy recorded with the weights
    source: str = ""
    meta: dict = field(default_factory=dict)

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
        return self.layers[-1].out_shape

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
            layers.append(lay.replace(weight=None if lay.weight is None else lay.weight.copy(),
                                      bias=None if lay.bias is None else lay.bias.copy(), quant=q))
        return self.replace(layers=layers, meta=dict(self.meta))


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis (floor mode)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
