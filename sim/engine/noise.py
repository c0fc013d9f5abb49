"""Photonic analog non-idealities: what a SONIC/CrossLight-style vector unit really computes.

Each weighted layer runs as chunks of ``vector_width`` stored weights per output (the unit's
rings hold one chunk; SONIC packs a kernel's nonzero weights into dense vectors, §III.C), each
wavelength carrying one activation. Switches under ``numerics.noise`` (all off with
``enabled: false``):

- ``dac_quantization``: weights on the weight DAC's levels (``photonic.weight_dac.bits``, a
  symmetric grid over the layer's largest |weight|; k-means centroids land on the nearest level),
  activations on the activation DAC's (``photonic.act_dac.bits``, affine over the calibrated range).
- ``adc_quantization``: each chunk's photocurrent is digitised by a ``photonic.adc.bits`` ADC whose
  full scale is the largest sum the unit can produce, ``vector_width`` full-scale products (so it
  never clips); the digital side adds the chunks exactly.
- ``shot_noise`` and ``thermal_noise`` of the photodetector. The link budget that sizes the
  laser (CrossLight Eq. 7, ``sim.hardware.photonics``) delivers the PD sensitivity to each
  wavelength at full scale; ``detector.laser_margin_db`` adds laser power above it. With
  responsivity R, one full-scale product gives I1 = R * P_rx. Shot noise: variance 2 q I B on the
  chunk's total photocurrent (balanced detection of the positive and negative weights sums both
  arms' light); thermal (Johnson) noise of the load: 4 k T B / R_L per detector, two detectors
  (textbook receiver noise, e.g. Agrawal, *Fiber-Optic Communication Systems*, §4.4). Both are
  normalised by I1 so they add to the sum of normalised products.
- ``crosstalk``: the drop response of a ring is Lorentzian, T(d) = 1 / (1 + (2 d / FWHM)^2) with
  FWHM = lambda / Q. Wavelength e passing ring f (spacing |e - f| * delta, delta = FSR / width
  unless ``channel_spacing_nm`` says otherwise; a unit wider than ``rings_per_bank`` reuses the
  wavelengths in further banks, which do not couple) is weighted by T * w_f as well, so the detector
  sees x_e * (w_e + sum_f T(|e - f| delta) w_f) (the inter-channel crosstalk model of Duong et
  al. that CrossLight §III uses to bound bank resolution; CrossLight: Q ~ 8000, FSR 18 nm).
- ``thermal_drift``: each ring's resonance sits off its tuned point by a seeded Gaussian
  N(0, sigma_nm); a weight |w| set by detuning d = FWHM/2 * sqrt(1/|w| - 1) becomes
  1 / (1 + (2 (d + delta) / FWHM)^2) (residual error after TO calibration, CrossLight §IV.B).

Draws are seeded by ``numerics.noise.seed`` and the layer's position, so a run is repeatable.
"""
from __future__ import annotations


import numpy as np

from ..hardware.numerics import NumberFormat, NumericsSpec
from ..hardware.photonics import laser_dbm_per_waveguide
from ..hardware.spec import HardwareConfig
from ..kernels.analog import analog_csr_matmul, crosstalk_chunks
from ..workload.network import Layer
from .numberformats import dequantize, grid_for, quantize
from .operands import LayerRange, csr_of, gemm_operands, gemm_result, stored_codes, weight_grid
from .photonic import group_for

Q_ELECTRON_C = 1.602176634e-19
K_BOLTZMANN_J_PER_K = 1.380649e-23


def received_power_mw(hw: HardwareConfig, spec: NumericsSpec) -> float:
    """Optical power per wavelength at the photodetector for a full-scale product (mW): the PD
    sensitivity the link budget is sized for, plus the laser margin."""
    return 10 ** ((hw.photonic.optics.pd_sensitivity_dbm + spec.noise.detector.laser_margin_db) / 10)


def laser_dbm(hw: HardwareConfig, spec: NumericsSpec, vector_width: int) -> float:
    """Laser (or VCSEL) output per waveguide that delivers ``received_power_mw`` (dBm)."""
    return laser_dbm_per_waveguide(hw.photonic.optics, vector_width) + spec.noise.detector.laser_margin_db


def noise_variances(hw: HardwareConfig, spec: NumericsSpec) -> tuple[float, float]:
    """(shot variance per unit of normalised |product| sum, thermal variance per chunk), in
    full-scale-product units squared."""
    n = spec.noise
    det = n.detector
    i1 = det.responsivity_a_per_w * received_power_mw(hw, spec) * 1e-3  # A per full-scale product
    bw = det.bandwidth_ghz * 1e9
    shot = 2 * Q_ELECTRON_C * i1 * bw / i1 ** 2 if n.on("shot_noise") else 0.0
    th = n.thermal_noise
    thermal = 2 * 4 * K_BOLTZMANN_J_PER_K * th.temperature_k * bw / th.load_ohm / i1 ** 2 if n.on("thermal_noise") else 0.0
    return shot, thermal


def lorentzian(detune_nm, fwhm_nm: float):
    return 1.0 / (1.0 + (2.0 * np.asarray(detune_nm, dtype=np.float64) / fwhm_nm) ** 2)


def crosstalk_weights(indptr: np.ndarray, values: np.ndarray, width: int, spec: NumericsSpec) -> np.ndarray:
    """Effective weights after inter-channel crosstalk within each chunk of ``width``."""
    ct = spec.noise.crosstalk
    fwhm = ct.wavelength_nm / ct.q_factor
    per_bank = min(ct.rings_per_bank or width, width)
    spacing = ct.channel_spacing_nm or ct.fsr_nm / max(per_bank, 1)
    pos = np.arange(width)
    coupling = lorentzian(np.abs(pos[:, None] - pos[None, :]) * spacing, fwhm)
    coupling *= (pos[:, None] // per_bank) == (pos[None, :] // per_bank)  # banks reuse wavelengths
    np.fill_diagonal(coupling, 1.0)
    out = np.empty_like(values)
    crosstalk_chunks(indptr, np.ascontiguousarray(values, dtype=np.float64), np.ascontiguousarray(coupling), out)
    return out


def drifted(values: np.ndarray, spec: NumericsSpec, rng: np.random.Generator) -> np.ndarray:
    """Normalised weights after a residual resonance drift of each ring."""
    ct = spec.noise.crosstalk
    fwhm = ct.wavelength_nm / ct.q_factor
    mag = np.clip(np.abs(values), 1e-12, 1.0)
    detune = fwhm / 2 * np.sqrt(1.0 / mag - 1.0)
    delta = rng.normal(0.0, spec.noise.thermal_drift.sigma_nm, size=values.shape)
    return np.sign(values) * lorentzian(detune + delta, fwhm)


def _operand(v: np.ndarray, fmt: NumberFormat, lo, hi, quantized: bool) -> np.ndarray:
    if not quantized or fmt.format == "float":
        return np.asarray(v, dtype=np.float64)
    grid = grid_for(fmt, lo, hi)
    return dequantize(quantize(v, grid, fmt), grid)


def photonic_layer(layer: Layer, x: np.ndarray, hw: HardwareConfig, spec: NumericsSpec, rng_: LayerRange,
                   index: int) -> np.ndarray:
    """One weighted layer on a photonic vector unit with the switched-on non-idealities (float32)."""
    n = spec.noise
    width = group_for(layer, hw).vector_width
    dac = n.on("dac_quantization")
    wgrid = weight_grid(layer, spec.weights) if dac and spec.weights.format != "float" else None

    def stored(rsl):
        """CSR of the stored weights of rows ``rsl`` as the weight DACs set them (float64)."""
        if wgrid is None:
            return csr_of(layer.weight[rsl].reshape(rsl.stop - rsl.start, -1).astype(np.float64))
        indptr, indices, codes = stored_codes(layer, spec.weights, wgrid, rsl)
        scale = np.asarray(wgrid.scale, dtype=np.float64).reshape(-1)
        if scale.size > 1:
            scale = np.repeat(scale[rsl], np.diff(indptr))
        return indptr, indices, codes * scale

    w_fs = float(np.max(np.abs(layer.weight))) or 1.0
    if wgrid is not None:
        w_fs = float(np.max(wgrid.full_scale)) or 1.0
    xq = _operand(x, spec.activations, rng_.in_lo, rng_.in_hi, dac)
    x_fs = float(max(abs(rng_.in_lo), abs(rng_.in_hi), np.max(np.abs(xq)) if xq.size else 0.0)) or 1.0
    rng = np.random.default_rng([n.seed, index, 104729])
    adc_step = 0.0
    if n.on("adc_quantization") and spec.accumulator.format != "float":
        adc_step = 2.0 * width / 2 ** spec.accumulator.bits  # ADC codes span [-width, width]
    shot, thermal = noise_variances(hw, spec)
    parts = []
    for cols, rsl in gemm_operands(layer, xq / x_fs):
        indptr, indices, values = stored(rsl)
        values = values / w_fs
        if n.on("thermal_drift") and n.thermal_drift.sigma_nm > 0:
            values = drifted(values, spec, rng)
        if n.on("crosstalk"):
            values = crosstalk_weights(indptr, values, width, spec)
        params = np.array([width, adc_step, shot, thermal, float(rng.integers(0, 2 ** 31))], dtype=np.float64)
        out = np.empty((cols.shape[0], rsl.stop - rsl.start), dtype=np.float64)
        analog_csr_matmul(indptr, indices, np.ascontiguousarray(values), cols.astype(np.float64), params, out)
        parts.append(out)
    y = gemm_result(layer, parts, x.shape[0]) * (w_fs * x_fs)
    if layer.bias is not None:
        y = y + (layer.bias if layer.kind == "fc" else layer.bias[:, None, None])
    return y.astype(np.float32)


