"""TED (thermal eigenmode decomposition) holding power against independent per-ring tuning."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.hardware import ted
from sim.engine.dataflows import action_energies
from sim.hardware.load import load_hardware

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cl():
    return load_hardware(ROOT / "hwconfigs" / "crosslight.yaml")


@pytest.mark.parametrize("n", [1, 2, 5, 15, 50])
@pytest.mark.parametrize("spacing", [1.0, 5.0, 120.0])
def test_no_coupling_is_independent_tuning(cl, n, spacing):
    t = replace(cl.photonic.tuning, rings_per_bank=n, ring_spacing_um=spacing, crosstalk_decay_um=0.0)
    assert ted.ted_power_factor(n, spacing, 0.0) == 1.0
    assert ted.hold_power_mw_per_ring(t) == pytest.approx(
        ted.hold_power_mw_per_ring(replace(t, mode="independent")), rel=1e-12)


def test_independent_tuning_is_27_5_mw_per_fsr_times_the_held_share(cl):
    t = replace(cl.photonic.tuning, mode="independent", eo_range_nm=0.0)
    assert ted.hold_power_mw_per_ring(t) == pytest.approx(27.5 * t.to_hold_fsr_fraction)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), spacing=st.floats(1.0, 50.0), d1=st.floats(0.1, 30.0), d2=st.floats(0.1, 30.0))
def test_ted_power_falls_monotonically_with_coupling(n, spacing, d1, d2):
    lo, hi = sorted((d1, d2))  # a longer decay length = more coupling between rings at the same pitch
    f_lo, f_hi = ted.ted_power_factor(n, spacing, lo), ted.ted_power_factor(n, spacing, hi)
    assert 0 < f_hi <= f_lo + 1e-12 <= 1 + 1e-12


def test_ted_power_falls_as_rings_get_closer_and_banks_larger():
    by_spacing = [ted.ted_power_factor(15, s, 4.5) for s in (120, 50, 20, 10, 5, 2)]
    assert all(a > b for a, b in zip(by_spacing, by_spacing[1:]))
    by_size = [ted.ted_power_factor(n, 5, 4.5) for n in (1, 2, 5, 15, 50)]
    assert by_size[0] == 1.0 and all(a > b for a, b in zip(by_size, by_size[1:]))


def test_ted_factor_is_the_exact_solution_of_the_coupled_heaters():
    # Phases reached = C @ P must equal the common target for every ring of the bank.
    c = ted.coupling_matrix(15, 5.0, 4.5)
    p = np.linalg.solve(c, np.ones(15))
    np.testing.assert_allclose(c @ p, np.ones(15), atol=1e-12)
    assert (p > 0).all() and ted.ted_power_factor(15, 5.0, 4.5) == pytest.approx(p.mean())
    # Infinite-bank limit of the exponential (Kac-Murdock-Szego) kernel: (1 - r) / (1 + r).
    r = np.exp(-5.0 / 4.5)
    assert ted.ted_power_factor(2001, 5.0, 4.5) == pytest.approx((1 - r) / (1 + r), rel=2e-3)


def test_hybrid_eo_absorbs_part_of_the_shift(cl):
    t = cl.photonic.tuning
    assert ted.to_shift_nm(t) == pytest.approx(t.to_hold_fsr_fraction * t.fsr_nm - t.eo_range_nm)
    assert ted.to_shift_nm(replace(t, eo_range_nm=100.0)) == 0.0


def test_energy_table_prices_holding_through_ted_and_boot_accounting_drops_it(cl):
    e = action_energies(cl)
    per_ring = ted.hold_power_mw_per_ring(cl.photonic.tuning)
    assert e[("mrr", "to_hold_ring_cycles")] == pytest.approx(per_ring / cl.clock_ghz)
    boot = load_hardware(ROOT / "hwconfigs" / "crosslight.yaml", {"photonic.tuning.to_hold": "boot"})
    assert action_energies(boot)[("mrr", "to_hold_ring_cycles")] == 0.0
    assert action_energies(boot)[("mrr", "to_calibrate")] == e[("mrr", "to_calibrate")]


def test_sonic_holding_power_is_unchanged_by_the_ted_fields():
    sonic = load_hardware(ROOT / "hwconfigs" / "sonic.yaml")
    assert sonic.photonic.tuning.mode == "independent"
    assert action_energies(sonic)[("mrr", "to_hold_ring_cycles")] == pytest.approx(27.5 * 0.117 * 1.0)
