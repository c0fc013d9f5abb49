"""Execute a network at a design's arithmetic (DESIGN.md, "Numerics belong to the design").

The float execution (today's executor, on the model as given) is hardware independent and
shared by every design; this module replays the network once per design's ``numerics``:

- weights are put on the design's weight format after the model's own compression: a k-means
  codebook's centroids land on the design's levels (SONIC's 6-bit weight DACs, EIE's 16-bit
  fixed-point codebook entries); a design with a weight codebook (``pe_array.codebook_bits``)
  re-clusters a layer with more distinct weights than its entries; a linear-quantized model whose integers fit the design's
  width keeps them exactly (int4 on an int8 array), a wider one is re-quantized to the width;
- each weighted layer's input is quantized to the activation format, with its scale calibrated
  on the float execution of calibration inputs (the dataset's train split, else the inputs);
  this is where outputs are requantized between layers (ReLU and max pooling commute with it);
- int/fixed designs then compute exactly in integers (``sim.kernels.intmac``): products shifted
  to the accumulator's binary point, which calibration places so the layer's float output range
  fits ``accumulator.bits``, saturating or wrapping after every addition;
- float16 formats round operands and results to binary16 (products summed in float32);
- photonic designs compute in analog (sim/engine/noise.py).

A design whose numerics are float32 with no noise returns the float execution itself, so its
accuracy and outputs equal the float model's exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hardware.numerics import NumericsSpec
from ..hardware.spec import HardwareConfig
from ..kernels.intmac import FLOOR, NEAREST_AWAY, NEAREST_EVEN, SATURATE, WRAP, int_csr_matmul
from ..workload.network import Layer, Network
from ..execution.execute import execute_layer
from .result import DesignNumerics  # noqa: F401 (defined beside the run's results: shapes runs import no numba)
from .numberformats import cast_float, dequantize, fake_quantize, grid_for, quantize
from .noise import photonic_layer
from .operands import (LayerRange, channel_shape, csr_of, design_weights, gemm_operands, gemm_result,  # noqa: F401
                       stored_codes, weight_grid)
from ..execution.reference import count_layer, forward_layer, run_layers

CLUSTER_SAMPLE = 200_000  # weights a re-clustering fits on (1-D k-means converges long before)
ROUNDING_CODES = {"nearest_even": NEAREST_EVEN, "nearest_away": NEAREST_AWAY, "floor": FLOOR}
OVERFLOW_CODES = {"saturate": SATURATE, "wrap": WRAP}


def numerics_of(hw: HardwareConfig) -> NumericsSpec:
    """The design's numerics; float32 without noise when its config has no ``numerics`` section."""
    return hw.numerics if hw.numerics is not None else NumericsSpec()


def float_step(executor: str = "auto"):
    """The float executor's per-layer function (kernels, or the numpy reference)."""
    if executor == "reference":
        return lambda layer, xs: (lambda y: (y, count_layer(layer, xs, y)))(forward_layer(layer, xs))
    return execute_layer


def traced(net: Network, inputs, executor: str = "auto"):
    """Float execution that also keeps every layer's output: (outputs, WorkProfile, per-layer outputs)."""
    step = float_step(executor)
    outs: list[np.ndarray] = []

    def record(layer, xs):
        y, lw = step(layer, xs)
        outs.append(y)
        return y, lw

    final, profile = run_layers(net, inputs, record)
    return final, profile, outs


def calibrate(net: Network, inputs, executor: str = "auto") -> dict[str, LayerRange]:
    """Per layer: the input range and (weighted layers) per-channel |output| maxima, from a
    float execution of ``inputs``."""
    step = float_step(executor)
    ranges: dict[str, LayerRange] = {}

    def record(layer, xs):
        y = step(layer, xs)[0]
        x = xs[0]
        absmax = None
        if at_design_numerics(layer, xs):
            channel = y.ndim - 1 if layer.kind == "fc" else 1  # fc on (batch, tokens, features): the last axis
            axes = tuple(i for i in range(y.ndim) if i != channel)
            absmax = np.max(np.abs(y), axis=axes).astype(np.float64) if y.size else np.zeros(y.shape[channel])
        ranges[layer.name] = LayerRange(float(x.min()) if x.size else 0.0, float(x.max()) if x.size else 0.0, absmax)
        return y, None

    run_layers(net, inputs, record, count=False)
    return ranges


def accumulator_shift(out_absmax: np.ndarray, unit: np.ndarray, acc_bits: int) -> np.ndarray:
    """Right shift of every product so the calibrated output range fits a signed ``acc_bits``
    accumulator (0 when it already does: a wide accumulator keeps products exact)."""
    codes = np.asarray(out_absmax, dtype=np.float64) / unit
    needed = np.ceil(np.log2(codes + 1.0)) + 1  # magnitude bits + sign
    return np.maximum(0, needed - acc_bits).astype(np.int64)


def integer_layer(layer: Layer, x: np.ndarray, spec: NumericsSpec, rng_: LayerRange) -> np.ndarray:
    """A weighted layer computed exactly in integers at the design's formats (float32 result)."""
    wf, af, accf = spec.weights, spec.activations, spec.accumulator
    wgrid = weight_grid(layer, wf)
    xgrid = grid_for(af, rng_.in_lo, rng_.in_hi)
    xs = quantize(x, xgrid, af) - xgrid.zero_point
    rows = layer.weight.shape[0]
    unit = np.broadcast_to(wgrid.scale, channel_shape(layer)).reshape(rows) * float(xgrid.scale)
    absmax = rng_.out_absmax if rng_.out_absmax is not None else np.zeros(rows)
    shift = accumulator_shift(absmax, unit, accf.bits)
    step = unit * 2.0 ** shift
    bias = layer.bias if layer.bias is not None else np.zeros(rows)
    init = np.rint(np.asarray(bias, dtype=np.float64) / step).astype(np.int64)
    arith = np.array([accf.bits, OVERFLOW_CODES[accf.overflow], ROUNDING_CODES[accf.rounding]], dtype=np.int64)
    parts = []
    for cols, rsl in gemm_operands(layer, xs):
        indptr, indices, values = stored_codes(layer, wf, wgrid, rsl)
        out = np.empty((cols.shape[0], rsl.stop - rsl.start), dtype=np.int64)
        int_csr_matmul(indptr, indices, values, cols, init[rsl], shift[rsl], arith, out)
        parts.append(out * step[rsl])
    return gemm_result(layer, parts, x.shape[0]).astype(np.float32)


def float_layer(layer: Layer, x: np.ndarray, spec: NumericsSpec, rng_: LayerRange) -> np.ndarray:
    """A weighted layer on operands rounded to their formats, summed in float32 (float16 or
    mixed float/integer designs); the result is rounded to a float accumulator's type."""
    wf, af, accf = spec.weights, spec.activations, spec.accumulator
    if wf.format == "float":
        w = cast_float(layer.weight, wf.bits)
    else:
        codes, grid = design_weights(layer, wf)
        w = (dequantize(codes, grid) * (layer.weight != 0)).astype(np.float32)
    xq = fake_quantize(x, af, rng_.in_lo, rng_.in_hi)
    y = execute_layer(layer.replace(weight=w, quant=None), [xq])[0]
    return cast_float(y, accf.bits) if accf.format == "float" else y


def lloyd_1d(sorted_values: np.ndarray, k: int, iterations: int = 100) -> np.ndarray:
    """k centroids of sorted 1-D values by Lloyd's algorithm from a linear initialisation over
    [min, max] (Deep Compression's best); empty clusters keep their centroid."""
    c = np.linspace(sorted_values[0], sorted_values[-1], k)
    for _ in range(iterations):
        edges = np.searchsorted(sorted_values, (c[1:] + c[:-1]) / 2)
        bounds = np.r_[0, edges, sorted_values.size]
        sums = np.add.reduceat(np.r_[sorted_values, 0.0], bounds[:-1])
        counts = np.diff(bounds)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.allclose(new, c, rtol=0, atol=1e-12):
            break
        c = new
    return np.sort(c)


def with_codebook(layer: Layer, codebook_bits: int) -> Layer:
    """The layer as a design with a ``2**codebook_bits``-entry weight codebook holds it (EIE's
    4-bit indices): weights with more distinct nonzero values are re-clustered by 1-D k-means
    (linear initialisation, Deep Compression's best); a layer that already fits is unchanged."""
    values = layer.weight[layer.weight != 0]
    if codebook_bits <= 0 or np.unique(values).size <= 2 ** codebook_bits:
        return layer
    if values.size > CLUSTER_SAMPLE:  # fit on a seeded sample; every weight then takes its nearest centroid
        values = np.random.default_rng(0).choice(values, CLUSTER_SAMPLE, replace=False)
    centroids = lloyd_1d(np.sort(values.astype(np.float64)), 2 ** codebook_bits).astype(np.float32)
    mids = (centroids[1:] + centroids[:-1]) / 2
    w = np.zeros_like(layer.weight, dtype=np.float32)
    kept = layer.weight != 0
    w[kept] = centroids[np.searchsorted(mids, layer.weight[kept])]
    return layer.replace(weight=w, quant=None)


def at_design_numerics(layer: Layer, xs) -> bool:
    """Is this layer executed at the design's arithmetic? Weighted fc layers (per token too) and
    conv2d layers with square kernels, one stride and symmetric pads are. Recurrent cells and
    general conv windows (non-square kernels, per-axis strides, asymmetric pads) run as the model
    gives them (float), as do unweighted layers: their error against the float model is 0."""
    if layer.kind == "fc":
        return True
    return layer.kind == "conv2d" and xs[0].ndim == 4 and not layer.general_window


def is_integer(spec: NumericsSpec) -> bool:
    return all(f.format in ("int", "fixed") for f in (spec.weights, spec.activations, spec.accumulator))


def execute_design(net: Network, inputs, hw: HardwareConfig, ranges: dict[str, LayerRange]):
    """Run ``net`` on ``inputs`` at ``hw``'s numerics: (outputs, per-layer outputs)."""
    spec = numerics_of(hw)
    codebook_bits = hw.pe_array.codebook_bits if hw.pe_array is not None else 0
    outs: list[np.ndarray] = []

    def weighted(layer, x):
        if hw.photonic is not None:
            return photonic_layer(layer, x, hw, spec, ranges[layer.name], len(outs))
        if is_integer(spec):
            return integer_layer(layer, x, spec, ranges[layer.name])
        return float_layer(layer, x, spec, ranges[layer.name])

    def step(layer, xs):
        if not at_design_numerics(layer, xs):
            y = execute_layer(layer, xs)[0]  # see at_design_numerics: runs as the model gives it
        else:
            if codebook_bits:
                layer = with_codebook(layer, codebook_bits)
            x = xs[0]
            if layer.kind == "fc" and x.ndim > 2:  # per-token fc: the same rows applied to every token
                y = weighted(layer, x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1] + (-1,))
            else:
                y = weighted(layer, x)
        outs.append(y)
        return y, None

    final, _ = run_layers(net, inputs, step, count=False)
    return final, outs


def relative_rms(y: np.ndarray, ref: np.ndarray) -> float:
    """sqrt(mean((y - ref)^2)) / sqrt(mean(ref^2)); 0 when both are zero."""
    ref = np.asarray(ref, dtype=np.float64)
    err = np.sqrt(np.mean((np.asarray(y, dtype=np.float64) - ref) ** 2)) if ref.size else 0.0
    norm = np.sqrt(np.mean(ref ** 2)) if ref.size else 0.0
    if norm == 0:
        return 0.0 if err == 0 else float("inf")
    return float(err / norm)


def is_exact(hw: HardwareConfig) -> bool:
    """Does the design compute what the float model computes? (float32 and no noise; a photonic
    design with its non-idealities off has ideal converters and analog sums.)"""
    spec = numerics_of(hw)
    if hw.photonic is not None:
        return not spec.noise.enabled
    return spec.is_float32


@dataclass
class FloatReference:
    """The shared, hardware-independent float execution the designs are compared against:
    the evaluation inputs (and labels), every layer's float output on them, and the inputs
    that calibrate the designs' scales (computed once, on first use)."""

    net: Network
    inputs: object
    labels: np.ndarray | None
    layer_outputs: list[np.ndarray]
    calibration_inputs: object
    executor: str = "auto"
    _ranges: dict | None = None
    _by_design: dict | None = None

    def ranges(self) -> dict[str, LayerRange]:
        if self._ranges is None:
            self._ranges = calibrate(self.net, self.calibration_inputs, self.executor)
        return self._ranges


def design_numerics(hw: HardwareConfig, ref: FloatReference) -> DesignNumerics:
    """Execute the reference's inputs at ``hw``'s numerics (cached per distinct numerics)."""
    # everything the numerics pass reads of the design (two designs with equal keys compute alike)
    key = (hw.numerics, hw.photonic, hw.pe_array.codebook_bits if hw.pe_array is not None else 0)
    if ref._by_design is None:
        ref._by_design = {}
    if key in ref._by_design:
        return ref._by_design[key]
    if is_exact(hw):
        outs = ref.layer_outputs
    else:
        _, outs = execute_design(ref.net, ref.inputs, hw, ref.ranges())
    errors = tuple(relative_rms(y, f) for y, f in zip(outs, ref.layer_outputs))
    accuracy = None
    if ref.labels is not None and outs:
        accuracy = float(np.mean(np.argmax(outs[-1], axis=1) == ref.labels))
    result = DesignNumerics(accuracy, errors)
    ref._by_design[key] = result
    return result
