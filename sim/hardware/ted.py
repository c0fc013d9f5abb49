"""Thermo-optic holding power of microrings: independent per-ring tuning or Thermal Eigenmode
Decomposition (TED) of a bank.

Physics (Milanizadeh et al., "Canceling thermal cross-talk effects in photonic integrated
circuits", JLT 37(4), 2019): heater powers ``P`` and ring phase shifts ``phi`` are linked by a
thermal coupling matrix, ``phi = M P``. The diagonal is each heater's own efficiency; the
off-diagonal terms are the heat a ring receives from its neighbours. Written relative to the
self term, ``M = eta * C`` with ``C_ii = 1`` and ``C_ij = r(d_ij)`` the *phase crosstalk ratio*
between rings ``d_ij`` apart. TED drives all heaters of a bank together along the eigenmodes of
``M``, so the bank reaches its target phases exactly with ``P = M^-1 phi``: the crosstalk is not
fought but used, and each ring is helped by its neighbours' heat.

Modelling decisions (each an assumption where the papers are silent):

1. ``r(d) = exp(-d / crosstalk_decay_um)``: CrossLight Fig. 4 (Lumerical HEAT on its rings) shows
   the phase crosstalk ratio falling exponentially with the distance between two rings, as De et
   al. (IEEE Access 2020) measure for thermo-optic phase shifters. Rings of a bank sit in a row at
   ``ring_spacing_um`` pitch, so ``d_ij = |i - j| * spacing``.
2. Every ring of a bank is held at the same mean shift (the bank's FPV compensation), i.e. the
   target is the bank's common mode ``phi = phi_0 * 1``. The mean heater power per ring relative
   to an isolated ring is then ``mean(C^-1 1)`` (``ted_power_factor``): 1 without coupling, and
   falling as coupling grows (for this kernel ``C^-1 1 > 0``, so more coupling always helps).
   The differential part of FPV (ring-to-ring scatter) is not modelled: at CrossLight's 5 um
   pitch the paper reports that TED cancels it.
3. **Independent** tuning: each ring's heater is driven on its own; its designs space rings
   120-200 um apart so that crosstalk is negligible (CrossLight §IV.A), so the factor is 1.
4. **Hybrid** EO + TO tuning (CrossLight §IV.B, used with TED): the EO tuner absorbs up to
   ``eo_range_nm`` of each ring's shift (small, fast, ~uW), the heater only the rest.
"""
from __future__ import annotations

import numpy as np

from .spec import TuningSpec


def coupling_matrix(n_rings: int, spacing_um: float, decay_um: float) -> np.ndarray:
    """C (n x n): 1 on the diagonal, phase crosstalk ratio exp(-d/decay) elsewhere.
    decay_um <= 0 means no coupling (C = I)."""
    if n_rings < 1:
        raise ValueError(f"a bank needs at least one ring; got {n_rings}")
    idx = np.arange(n_rings, dtype=float)
    dist = np.abs(idx[:, None] - idx[None, :]) * float(spacing_um)
    if decay_um <= 0:
        return np.eye(n_rings)
    return np.exp(-dist / float(decay_um))


def ted_power_factor(n_rings: int, spacing_um: float, decay_um: float) -> float:
    """Mean heater power per ring of a TED-tuned bank of ``n_rings`` holding a common shift,
    relative to one isolated ring holding the same shift: mean(C^-1 1)."""
    c = coupling_matrix(n_rings, spacing_um, decay_um)
    return float(np.mean(np.linalg.solve(c, np.ones(n_rings))))


def to_shift_nm(t: TuningSpec) -> float:
    """Mean resonance shift (nm) each ring's heater holds: the FPV compensation share of the FSR,
    less what the EO tuner absorbs in hybrid tuning."""
    return max(0.0, t.to_hold_fsr_fraction * t.fsr_nm - t.eo_range_nm)


def tuning_factor(t: TuningSpec) -> float:
    """Heater power per ring relative to independent tuning: 1 (independent) or TED's factor."""
    if t.mode == "ted":
        return ted_power_factor(t.rings_per_bank, t.ring_spacing_um, t.crosstalk_decay_um)
    return 1.0


def hold_power_mw_per_ring(t: TuningSpec) -> float:
    """Mean thermo-optic holding power of one ring (mW): 27.5 mW/FSR x held share x TED factor."""
    return t.to_power_mw_per_fsr * to_shift_nm(t) / t.fsr_nm * tuning_factor(t)
