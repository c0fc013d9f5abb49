"""An analog photonic dot product: light sums products on a photodetector, an ADC digitises it.

A vector unit of ``vector_width`` wavelengths computes one chunk of a row's stored weights at a
time (its rings hold those weights; each wavelength carries one activation). The photocurrent is
the chunk's sum of products plus detector noise; the ADC quantizes it over the unit's full scale
and the electronic side adds the digitised chunks (sim/engine/noise.py gives the physics).

Everything is normalised: weights to [-1, 1] of the weight DAC's full scale, activations to
[0, 1] of the activation DAC's (|x| is what the VCSEL emits; the sign is applied after), so one
full-scale product is 1 and a chunk spans [-vector_width, vector_width].

``params`` is float64[5]: (vector_width, ADC step (0: ideal ADC), shot-noise variance per unit
of |product| sum, thermal-noise variance per chunk, seed).
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def analog_csr_matmul(indptr, indices, values, x, params, out):
    """out[b, r] = sum over chunks of row r's stored weights of ADC(sum(values * x) + noise).

    indptr, indices: int64 CSR; values: float64 normalised effective weights (after crosstalk
    and drift); x: (batch, K) float64 normalised activations; out: (batch, rows) float64 in
    full-scale-product units. Returns the number of ADC conversions."""
    width = int(params[0])
    step, shot_var, thermal_var = params[1], params[2], params[3]
    np.random.seed(int(params[4]))
    half_codes = np.inf
    if step > 0:
        half_codes = np.floor(width / step)  # the ADC's largest code: full scale = vector width
    conversions = 0
    for b in range(x.shape[0]):
        for r in range(indptr.shape[0] - 1):
            total = 0.0
            start = indptr[r]
            while start < indptr[r + 1]:
                stop = min(start + width, indptr[r + 1])
                signal = 0.0
                light = 0.0
                for j in range(start, stop):
                    p = values[j] * x[b, indices[j]]
                    signal += p
                    light += abs(p)
                var = shot_var * light + thermal_var
                if var > 0:
                    signal += np.sqrt(var) * np.random.standard_normal()
                if step > 0:
                    code = np.rint(signal / step)
                    code = min(max(code, -half_codes - 1), half_codes)
                    signal = code * step
                total += signal
                conversions += 1
                start = stop
            out[b, r] = total
    return conversions


@njit(cache=True, nogil=True)
def crosstalk_chunks(indptr, values, coupling, out):
    """out = values with each row's chunks of ``coupling.shape[0]`` stored weights mixed by the
    bank's coupling matrix: out[e] = sum_f coupling[e, f] * values[f] within the chunk."""
    width = coupling.shape[0]
    for r in range(indptr.shape[0] - 1):
        start = indptr[r]
        while start < indptr[r + 1]:
            stop = min(start + width, indptr[r + 1])
            for e in range(start, stop):
                acc = 0.0
                for f in range(start, stop):
                    acc += coupling[e - start, f - start] * values[f]
                out[e] = acc
            start = stop
