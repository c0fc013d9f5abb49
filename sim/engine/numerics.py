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

from ..hardware.numerics import NumberFormat, NumericsSpec
from ..hardware.spec import HardwareConfig
from ..kernels.intmac import FLOOR, NEAREST_AWAY, NEAREST_EVEN, SATURATE, WRAP, int_csr_matmul
from ..workload.network import Layer, Network
from .execute import execute_layer
from .numberformats import Grid, cast_float, dequantize, fake_quantize, grid_for, quantize
from .reference import _windows, count_layer, forward_layer, run_layers

CLUSTER_SAMPLE = 200_000  # weights a re-clustering fits on (1-D k-means converges long before)
ROUNDING_CODES = {"nearest_even": NEAREST_EVEN, "nearest_away": NEAREST_AWAY, "floor": FLOOR}
OVERFLOW_CODES = {"saturate": SATURATE, "wrap": WRAP}


def numerics_of(hw: HardwareConfig) -> NumericsSpec:
    """The design's numerics; float32 without noise when its config has no ``numerics`` section."""
    return hw.numerics if hw.numerics is not None else NumericsSpec()


@dataclass(frozen=True)
class LayerRange:
    """What calibration saw of one layer: its input's range and, for weighted layers, the
    largest |output| per output channel."""

    in_lo: float
    in_hi: float
    out_absmax: np.ndarray | None = None


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
        if layer.is_weighted:
            axes = tuple(i for i in range(y.ndim) if i != 1)
            absmax = np.max(np.abs(y), axis=axes).astype(np.float64) if y.size else np.zeros(y.shape[1])
        ranges[layer.name] = LayerRange(float(x.min()) if x.size else 0.0, float(x.max()) if x.size else 0.0, absmax)
        return y, None

    run_layers(net, inputs, record, count=False)
    return ranges


def channel_shape(layer: Layer) -> tuple[int, ...]:
    """Shape that broadcasts one value per output channel over the layer's weight."""
    return (layer.weight.shape[0],) + (1,) * (layer.weight.ndim - 1)


def _keeps_integers(layer: Layer, fmt: NumberFormat) -> bool:
    """Does the model's own integer encoding fit the format exactly (int4 on int8)?"""
    q = layer.quant
    return bool(q is not None and q.kind in ("linear", "binary") and q.qvalues is not None and q.scale is not None
                and fmt.format == "int" and fmt.scheme == "symmetric" and q.bits <= fmt.bits
                and (fmt.granularity == "per_channel" or np.size(q.scale) == 1))


def weight_grid(layer: Layer, fmt: NumberFormat) -> Grid:
    """The grid of the layer's weights on format ``fmt`` (per channel: scale shaped per row)."""
    rows = layer.weight.shape[0]
    if _keeps_integers(layer, fmt):
        qmax = 2 ** (fmt.bits - 1) - 1
        scale = np.broadcast_to(np.asarray(layer.quant.scale, dtype=np.float64).ravel(), (rows,))
        return Grid(scale.reshape(channel_shape(layer)).copy(), 0, -qmax, qmax)
    w = layer.weight
    if fmt.granularity == "per_channel":
        flat = w.reshape(rows, -1)
        lo = flat.min(axis=1).astype(np.float64).reshape(channel_shape(layer))
        hi = flat.max(axis=1).astype(np.float64).reshape(channel_shape(layer))
    else:
        lo, hi = float(w.min()), float(w.max())
    return grid_for(fmt, lo, hi)


def stored_codes(layer: Layer, fmt: NumberFormat, grid: Grid, rsl: slice):
    """CSR (indptr, indices, codes - zero point as int64) of the stored weights of rows ``rsl``,
    flattened per row; only stored weights are quantized (pruned ones stay absent)."""
    w2 = layer.weight[rsl].reshape(rsl.stop - rsl.start, -1)
    rows, cols = np.nonzero(w2)
    indptr = np.zeros(w2.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=w2.shape[0]), out=indptr[1:])
    if _keeps_integers(layer, fmt):
        codes = layer.quant.qvalues[rsl].reshape(w2.shape)[rows, cols].astype(np.int64)
    else:
        scale = np.asarray(grid.scale, dtype=np.float64).reshape(-1)
        scale = scale[rows + rsl.start] if scale.size > 1 else scale
        codes = quantize(w2[rows, cols], Grid(scale, grid.zero_point, grid.qmin, grid.qmax), fmt)
    return indptr, cols.astype(np.int64), codes - grid.zero_point


def design_weights(layer: Layer, fmt: NumberFormat) -> tuple[np.ndarray, Grid]:
    """Integer weight codes (shape of ``layer.weight``, int64; pruned weights at the zero point)
    and their grid on format ``fmt``."""
    grid = weight_grid(layer, fmt)
    rows = layer.weight.shape[0]
    indptr, indices, codes = stored_codes(layer, fmt, grid, slice(0, rows))
    dense = np.full((rows, int(layer.weight.size // rows)), grid.zero_point, dtype=np.int64)
    dense[np.repeat(np.arange(rows), np.diff(indptr)), indices] = codes + grid.zero_point
    return dense.reshape(layer.weight.shape), grid


def gemm_operands(layer: Layer, x: np.ndarray, pad_value=0):
    """A weighted layer as matrix products, one per group: [(x_cols (N, K), weight rows slice)].
    fc: N = batch; conv: N = batch x output positions (im2col, padding filled with ``pad_value``)."""
    batch = x.shape[0]
    if layer.kind == "fc":
        return [(np.ascontiguousarray(x.reshape(batch, -1)), slice(0, layer.weight.shape[0]))]
    o, cg, k, _ = layer.weight.shape
    win = _windows(x, k, layer.stride, layer.padding, layer.dilation, pad_value)
    n = batch * win.shape[2] * win.shape[3]
    og = o // layer.groups
    return [(np.ascontiguousarray(win[:, g * cg:(g + 1) * cg].transpose(0, 2, 3, 1, 4, 5).reshape(n, cg * k * k)),
             slice(g * og, (g + 1) * og)) for g in range(layer.groups)]


def gemm_result(layer: Layer, parts: list[np.ndarray], batch: int) -> np.ndarray:
    """Per-group (N, rows) results -> the layer's (batch, *out_shape) output."""
    y = np.concatenate(parts, axis=1)
    if layer.kind == "fc":
        return y
    _, oh, ow = layer.out_shape
    return y.reshape(batch, oh, ow, -1).transpose(0, 3, 1, 2)


def csr_of(dense: np.ndarray):
    """(indptr, indices, values) of a 2-D array's nonzeros, row by row in column order."""
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return indptr, cols.astype(np.int64), np.ascontiguousarray(dense[rows, cols])


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


def with_codebook(layer: Layer, codebook_bits: int) -> Layer:
    """The layer as a design with a ``2**codebook_bits``-entry weight codebook holds it (EIE's
    4-bit indices): weights with more distinct nonzero values are re-clustered by 1-D k-means
    (linear initialisation, Deep Compression's best); a layer that already fits is unchanged."""
    values = layer.weight[layer.weight != 0]
    if codebook_bits <= 0 or np.unique(values).size <= 2 ** codebook_bits:
        return layer
    from ..compression.quantize import init_centroids, kmeans_1d  # compression's clustering, reused
    if values.size > CLUSTER_SAMPLE:  # fit on a seeded sample; every weight then takes its nearest centroid
        values = np.random.default_rng(0).choice(values, CLUSTER_SAMPLE, replace=False)
    rng = np.random.default_rng(0)
    values = np.sort(values)  # sorted queries make k-means' nearest-centroid search cache friendly
    centroids, _ = kmeans_1d(values, init_centroids(values, 2 ** codebook_bits, "linear", rng))
    centroids = np.sort(centroids.astype(np.float32))
    mids = (centroids[1:] + centroids[:-1]) / 2
    w = np.zeros_like(layer.weight, dtype=np.float32)
    kept = layer.weight != 0
    w[kept] = centroids[np.searchsorted(mids, layer.weight[kept])]
    return layer.replace(weight=w, quant=None)


def is_integer(spec: NumericsSpec) -> bool:
    return all(f.format in ("int", "fixed") for f in (spec.weights, spec.activations, spec.accumulator))


def execute_design(net: Network, inputs, hw: HardwareConfig, ranges: dict[str, LayerRange]):
    """Run ``net`` on ``inputs`` at ``hw``'s numerics: (outputs, per-layer outputs)."""
    from .noise import photonic_layer  # the analog path (imports this module's helpers)

    spec = numerics_of(hw)
    codebook_bits = hw.pe_array.codebook_bits if hw.pe_array is not None else 0
    outs: list[np.ndarray] = []

    def step(layer, xs):
        if layer.is_weighted and codebook_bits:
            layer = with_codebook(layer, codebook_bits)
        if not layer.is_weighted:
            y = execute_layer(layer, xs)[0]
        elif hw.photonic is not None:
            y = photonic_layer(layer, xs[0], hw, spec, ranges[layer.name], len(outs))
        elif is_integer(spec):
            y = integer_layer(layer, xs[0], spec, ranges[layer.name])
        else:
            y = float_layer(layer, xs[0], spec, ranges[layer.name])
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


@dataclass(frozen=True)
class DesignNumerics:
    """What one design's arithmetic does to the network: accuracy on the evaluation inputs
    (None without labels) and each layer's relative RMS output error against the float run."""

    accuracy: float | None
    layer_errors: tuple[float, ...]


def design_numerics(hw: HardwareConfig, ref: FloatReference) -> DesignNumerics:
    """Execute the reference's inputs at ``hw``'s numerics (cached per distinct numerics)."""
    key = (hw.kind, hw.numerics, hw.photonic)
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
