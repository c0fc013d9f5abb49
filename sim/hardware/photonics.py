"""Optical link budget (CrossLight, Sunny et al. DAC 2021, Eq. 7).

    P_laser - S_detector >= P_photo_loss + 10 log10(N_lambda)      (dBm, dB)

P_photo_loss adds the losses along one VDU waveguide: propagation, splitter and combiner, one
microring pass-by (through loss) per other wavelength, the modulating ring, and the extra loss of
the tuned sections. The electrical laser power is the optical power over the wall-plug efficiency.
"""
from __future__ import annotations

import math

from .spec import HardwareConfig, OpticsSpec


def path_loss_db(optics: OpticsSpec, n_wavelengths: int) -> float:
    """Worst-case optical loss (dB) along one VDU waveguide carrying ``n_wavelengths``."""
    return (optics.propagation_db_per_cm * optics.waveguide_length_cm
            + optics.splitter_db + optics.combiner_db
            + optics.mr_through_db * max(n_wavelengths - 1, 0)
            + optics.mr_modulation_db
            + (optics.eo_tuning_db_per_cm + optics.to_tuning_db_per_cm) * optics.tuning_length_cm)


def laser_dbm_per_waveguide(optics: OpticsSpec, n_wavelengths: int) -> float:
    """Minimum laser output (dBm) feeding one waveguide of ``n_wavelengths`` (Eq. 7 at equality)."""
    return optics.pd_sensitivity_dbm + path_loss_db(optics, n_wavelengths) + 10 * math.log10(n_wavelengths)


def laser_power_mw(hw: HardwareConfig) -> float:
    """Electrical power (mW) of the external laser feeding every VDU; 0 when the per-element
    VCSELs are the only light sources (SONIC), whose energy is charged per symbol instead."""
    ph = hw.photonic
    if ph is None or not ph.optics.external_laser:
        return 0.0
    total_optical_mw = 0.0
    for group in (ph.conv_units, ph.fc_units):
        dbm = laser_dbm_per_waveguide(ph.optics, group.vector_width)
        total_optical_mw += group.count * 10 ** (dbm / 10)
    return total_optical_mw / ph.optics.laser_wall_plug_efficiency
