"""Execution at a design's numerics: exact integers, bounded quantization error, float32 = today."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import reference
import sim
from sim.engine import numerics as nx
from sim.engine.numberformats import dequantize, grid_for, quantize
from sim.errors import ConfigError
from sim.hardware.numerics import NumberFormat, NumericsSpec
from sim.kernels.intmac import int_csr_matmul
from sim.workload.network import Layer

ROOT = Path(__file__).resolve().parents[1]
ROUNDINGS = ["nearest_even", "nearest_away", "floor"]


@pytest.mark.parametrize("kernel", [int_csr_matmul, int_csr_matmul.py_func])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), rows=st.integers(1, 6), k=st.integers(1, 12), batch=st.integers(1, 3),
       density=st.sampled_from([0.0, 0.3, 1.0]), wbits=st.integers(2, 9), acc_bits=st.integers(4, 24),
       overflow=st.sampled_from(["saturate", "wrap"]), rounding=st.sampled_from(ROUNDINGS))
def test_int_kernel_equals_integer_reference(kernel, seed, rows, k, batch, density, wbits, acc_bits, overflow, rounding):
    rng = np.random.default_rng(seed)
    lim = 2 ** (wbits - 1)
    w = rng.integers(-lim, lim, size=(rows, k)) * (rng.random((rows, k)) < density)
    x = rng.integers(-lim, lim, size=(batch, k)) * (rng.random((batch, k)) < 0.7)
    init = rng.integers(-2 ** (acc_bits - 1), 2 ** (acc_bits - 1), size=rows)
    shift = rng.integers(0, 4, size=rows)
    indptr, indices, values = nx.csr_of(w)
    out = np.empty((batch, rows), dtype=np.int64)
    arith = np.array([acc_bits, nx.OVERFLOW_CODES[overflow], nx.ROUNDING_CODES[rounding]], dtype=np.int64)
    done = kernel(indptr, indices, values.astype(np.int64), x.astype(np.int64), init, shift, arith, out)
    np.testing.assert_array_equal(out, reference.int_matmul(w, x, init, shift, acc_bits, overflow, rounding))
    assert done == int(((w != 0)[None, :, :] & (x != 0)[:, None, :]).sum())


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), bits=st.integers(2, 16), fmt=st.sampled_from(["int", "fixed"]),
       scheme=st.sampled_from(["symmetric", "affine"]), rounding=st.sampled_from(ROUNDINGS),
       lo=st.floats(-100, 0), span=st.floats(1e-3, 200))
def test_quantize_dequantize_within_half_a_step(seed, bits, fmt, scheme, rounding, lo, span):
    f = NumberFormat(fmt, bits, scheme=scheme, rounding=rounding)
    hi = lo + span
    grid = grid_for(f, lo, hi)
    x = np.random.default_rng(seed).uniform(lo, hi, 200)
    err = np.abs(dequantize(quantize(x, grid, f), grid) - x)
    step = float(np.max(grid.scale))
    bound = step if rounding == "floor" else step / 2
    assert np.all(err <= bound * (1 + 1e-9) + 1e-12)
    assert dequantize(quantize(np.zeros(1), grid, f), grid)[0] == 0.0  # zero is always exact


def test_wrap_and_saturate_out_of_range():
    sat, wrap = NumberFormat("int", 4), NumberFormat("int", 4, overflow="wrap")
    grid = grid_for(sat, -7, 7)  # step 1, codes -7..7
    assert quantize(np.array([9.0, -9.0]), grid, sat).tolist() == [7, -7]
    assert quantize(np.array([9.0, -9.0]), grid, wrap).tolist() == [-7, 7]  # two's complement in 4 bits


def _layer(rng, kind, density, bias=True):
    if kind == "fc":
        w = (rng.normal(size=(7, 13)) * (rng.random((7, 13)) < density)).astype(np.float32)
        return Layer("l", "fc", (13,), (7,), weight=w, bias=rng.normal(size=7).astype(np.float32) if bias else None)
    w = (rng.normal(size=(4, 2, 3, 3)) * (rng.random((4, 2, 3, 3)) < density)).astype(np.float32)
    return Layer("l", "conv2d", (4, 6, 6), (4, 6, 6), weight=w, kernel_size=3, padding=1, groups=2,
                 bias=rng.normal(size=4).astype(np.float32) if bias else None)


@pytest.mark.parametrize("kind", ["fc", "conv2d"])
@pytest.mark.parametrize("overflow", ["saturate", "wrap"])
@pytest.mark.parametrize("acc_bits", [8, 12, 32])
def test_integer_layer_is_exact_integer_arithmetic(rng, kind, overflow, acc_bits):
    """The whole integer layer (im2col, zero points, shifts, saturation) against numpy integers."""
    layer = _layer(rng, kind, 0.6)
    x = np.maximum(rng.normal(size=(2,) + layer.in_shape), 0).astype(np.float32)
    spec = NumericsSpec(NumberFormat("int", 6, granularity="per_channel"), NumberFormat("int", 7, scheme="affine"),
                        NumberFormat("int", acc_bits, overflow=overflow))
    ranges = nx.LayerRange(0.0, float(x.max()), np.abs(reference.conv2d(x, layer.weight, 1, 1, 2)).max(axis=(0, 2, 3))
                           if kind == "conv2d" else np.abs(x.reshape(2, -1) @ layer.weight.T).max(axis=0))
    y = nx.integer_layer(layer, x, spec, ranges)
    # the same computation spelled out with numpy integers
    wcodes, wgrid = nx.design_weights(layer, spec.weights)
    xgrid = grid_for(spec.activations, ranges.in_lo, ranges.in_hi)
    xs = quantize(x, xgrid, spec.activations) - xgrid.zero_point
    unit = wgrid.scale.reshape(-1) * float(xgrid.scale)
    shift = nx.accumulator_shift(ranges.out_absmax, unit, acc_bits)
    init = np.rint(layer.bias / (unit * 2.0 ** shift)).astype(np.int64)
    parts = []
    for cols, rsl in nx.gemm_operands(layer, xs):
        w2 = wcodes[rsl].reshape(rsl.stop - rsl.start, -1)
        parts.append(reference.int_matmul(w2, cols, init[rsl], shift[rsl], acc_bits, overflow, "nearest_even")
                     * (unit * 2.0 ** shift)[rsl])
    np.testing.assert_array_equal(y, nx.gemm_result(layer, parts, 2).astype(np.float32))
    if acc_bits == 32:  # wide accumulator: only the operands' rounding separates it from float
        f = reference.conv2d(x, layer.weight, 1, 1, 2) + layer.bias[:, None, None] if kind == "conv2d" \
            else x @ layer.weight.T + layer.bias
        assert nx.relative_rms(y, f) < 0.05


def test_linear_int4_model_keeps_its_integers_on_int8(rng):
    from sim.workload.network import Quant
    q = rng.integers(-7, 8, size=(5, 9)).astype(np.int8)
    scale = np.float32(0.03)
    layer = Layer("l", "fc", (9,), (5,), weight=(q * scale).astype(np.float32),
                  quant=Quant("linear", 4, scale=np.array(scale), qvalues=q))
    codes, grid = nx.design_weights(layer, NumberFormat("int", 8))
    np.testing.assert_array_equal(codes, q)
    assert float(grid.scale.ravel()[0]) == pytest.approx(0.03)
    codes2, _ = nx.design_weights(layer, NumberFormat("int", 3))  # narrower datapath: re-quantized
    assert np.abs(codes2).max() <= 3


@pytest.fixture(scope="module")
def lenet300():
    net = sim.load_network(ROOT / "models" / "lenet300.yaml")
    return net, sim.prepare(net, batch=2)


FLOAT32 = ["numerics.weights.format=float", "numerics.activations.format=float", "numerics.accumulator.format=float",
           "numerics.weights.bits=32", "numerics.activations.bits=32", "numerics.accumulator.bits=32"]


@pytest.mark.parametrize("design,sets", [("systolic", FLOAT32), ("sonic", ["numerics.noise.enabled=false"])])
def test_float32_without_noise_equals_the_float_model(lenet300, design, sets):
    net, ex = lenet300
    r = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml", sets), ex)
    assert r.summary["accuracy"][0] == r.summary["model_accuracy"][0] == ex.accuracy
    assert (r.layers["output_error_rms"] == 0).all()


def test_float_path_at_float32_is_todays_executor_exactly(lenet300):
    """The non-shortcut float path (used for float16 / mixed designs) at float32 reproduces the
    float executor bit for bit."""
    net, ex = lenet300
    spec = NumericsSpec()
    hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", FLOAT32)
    ranges = ex.reference.ranges()
    x = ex.reference.inputs
    outs = []
    for layer, ref_out in zip(net.layers, ex.reference.layer_outputs):
        y = nx.float_layer(layer, x, spec, ranges[layer.name]) if layer.is_weighted else \
            nx.execute_layer(layer, [x])[0]
        np.testing.assert_array_equal(y, ref_out)
        outs.append(y)
        x = y
    assert hw.numerics.is_float32


def test_design_numerics_lose_accuracy_as_precision_falls(lenet300):
    net, ex = lenet300
    acc = {}
    for bits in (2, 3, 8):
        hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", [f"pe_array.weight_bits={bits}",
                                                                        f"pe_array.act_bits={bits}"])
        acc[bits] = sim.cost(hw, ex).summary["accuracy"][0]
    assert acc[2] < acc[3] <= acc[8] + 0.01
    assert acc[8] == pytest.approx(ex.accuracy, abs=0.01)


def test_photonic_noise_is_seeded_and_each_source_costs_error(lenet300):
    net, ex = lenet300
    base = ["numerics.noise.detector.laser_margin_db=-10"]
    a = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "sonic.yaml", base), ex).layers["output_error_rms"]
    b = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "sonic.yaml", base + ["numerics.noise.seed=0"]), ex)
    np.testing.assert_array_equal(a, b.layers["output_error_rms"])
    quiet = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "sonic.yaml",
                                       base + ["numerics.noise.shot_noise.enabled=false",
                                               "numerics.noise.thermal_noise.enabled=false"]), ex)
    assert quiet.layers["output_error_rms"][0] < a[0]
    low_adc = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "sonic.yaml", ["photonic.adc.bits=4"]), ex)
    assert low_adc.summary["accuracy"][0] < ex.accuracy - 0.05


def test_numerics_bits_must_agree_with_the_datapath(tmp_path):
    text = (ROOT / "hwconfigs" / "systolic.yaml").read_text().replace(
        "weights: {format: int, bits: 8,", "weights: {format: int, bits: 4,")
    p = tmp_path / "x.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=r"numerics.weights.bits: must equal pe_array.weight_bits \(8\)"):
        sim.load_hardware(p)
    with pytest.raises(ConfigError, match="numerics.noise.enabled"):
        sim.load_hardware(ROOT / "hwconfigs" / "eie.yaml", ["numerics.noise.enabled=true"])
    with pytest.raises(ConfigError, match="numerics.weights.rounding"):
        sim.load_hardware(ROOT / "hwconfigs" / "eie.yaml", ["numerics.weights.rounding=up"])


def test_codebook_design_reclusters_wider_models(rng):
    w = rng.normal(size=(8, 16)).astype(np.float32)
    layer = Layer("l", "fc", (16,), (8,), weight=w)
    held = nx.with_codebook(layer, 4)
    assert np.unique(held.weight[held.weight != 0]).size <= 16
    assert nx.relative_rms(held.weight, w) < 0.1
    small = layer.replace(weight=np.round(w).astype(np.float32))  # few distinct values: kept as is
    assert nx.with_codebook(small, 4) is small


def test_designs_sharing_an_execution_do_not_share_unequal_numerics(lenet300):
    """EIE (16-entry codebook) and Eyeriss (no codebook) have equal number formats; their
    numerics passes must still differ."""
    net, ex = lenet300
    eie = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "eie.yaml"), ex).layers["output_error_rms"]
    rs = sim.cost(sim.load_hardware(ROOT / "hwconfigs" / "eyeriss.yaml"), ex).layers["output_error_rms"]
    assert rs[0] < eie[0]
