"""Photonic device model (sim/engine/photonic.py): hand-computed ops, sparsity switches, conservation."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.engine import photonic as P
from sim.engine.reference import execute_reference
from sim.hardware import load_hardware
from sim.engine.dataflows import action_energies
from sim.hardware.photonics import laser_dbm_per_waveguide, path_loss_db
from sim.run import cost, prepare
from sim.workload.load import network_from_dict
from sim.workload.network import Layer, Network

ROOT = Path(__file__).resolve().parents[1]
SWITCHES = ("fc_compression", "conv_compression", "vcsel_power_gating", "weight_clustering")


@pytest.fixture(scope="module")
def sonic():
    return load_hardware(ROOT / "hwconfigs" / "sonic.yaml")


@pytest.fixture(scope="module")
def crosslight():
    return load_hardware(ROOT / "hwconfigs" / "crosslight.yaml")


def with_sparsity(hw, **switches):
    return replace(hw, photonic=replace(hw.photonic, sparsity=replace(hw.photonic.sparsity, **switches)))


def one_layer_work(layer: Layer, x: np.ndarray):
    net = Network("one", layer.in_shape, [layer])
    _, profile = execute_reference(net, x)
    return profile.layers[0]


def test_sonic_op_period_is_the_adc_and_fc_reload_stall_is_eo_minus_adc(sonic, crosslight):
    t = P.op_timing(sonic, acts_change_every_op=True)
    assert (t.op_ns, t.op_cycles, t.reload_stall_cycles) == (14.0, 14, 6)  # 16-bit ADC 14 ns; EO 20 ns
    conv = P.op_timing(crosslight, acts_change_every_op=True)  # input rings retune every op
    fc = P.op_timing(crosslight, acts_change_every_op=False)
    assert (conv.op_cycles, conv.reload_stall_cycles) == (20, 0)
    assert (fc.op_cycles, fc.reload_stall_cycles) == (14, 6)
    two_adcs = replace(sonic, photonic=replace(sonic.photonic, adcs_per_unit=2))
    assert P.op_timing(two_adcs, True).op_cycles == 7


def test_hand_computed_dot_product_on_one_unit(sonic):
    """x = [1, 0, 2, 3, 0], w = [1, 2, 0, 4, 5] on one fc unit of width 5.

    fc compression keeps the 3 nonzero activations (and w columns 0, 2, 3): one op, 3 activation
    and 3 weight conversions, 3 EO tunes; power gating lights only the 2 elements whose weight is
    also nonzero (columns 0 and 3); one PD detection, one ADC conversion, one accumulate."""
    hw = replace(sonic, photonic=replace(sonic.photonic, fc_units=replace(sonic.photonic.fc_units, count=1,
                                                                             vector_width=5)))
    layer = Layer("fc", "fc", (5,), (1,), weight=np.array([[1, 2, 0, 4, 5]], dtype=np.float32))
    lw = one_layer_work(layer, np.array([[1, 0, 2, 3, 0]], dtype=np.float32))
    work = P.photonic_layer_work(layer, lw, hw)
    assert dict(work.counts) == {("act_dac", "convert"): 3, ("weight_dac", "convert"): 3, ("mrr", "eo_tune"): 3,
                                 ("vcsel", "symbol"): 2, ("photodetector", "detect"): 1, ("adc", "convert"): 1,
                                 ("accumulator", "add"): 1}
    assert (work.compute_cycles, work.reprogram_cycles, work.passes) == (14, 6, 1)
    e = action_energies(hw)
    energy = sum(n * e[key] for key, n in work.counts.items())
    by_hand = (3 * 40 * 0.33 + 3 * 3 * 0.25 + 3 * 4 * 0.5 * 20e-3 + 2 * 1.3 * 0.07 + 2.8 * 0.0058 + 62 * 14
               + 0.1)  # DAC16, DAC6, EO (uW/nm x nm x ns), VCSEL, PD, ADC (mW x ns = pJ), 32-bit add
    assert energy == pytest.approx(by_hand)
    dense = P.photonic_layer_work(layer, lw, with_sparsity(hw, fc_compression=False, vcsel_power_gating=False))
    assert dense.counts[("act_dac", "convert")] == 5 and dense.counts[("vcsel", "symbol")] == 5


@pytest.mark.parametrize("length,out_f,units,width,expected", [
    (6, 3, 2, 4, (6, 3, 6)),  # two chunks, each on one unit
    (10, 1, 4, 4, (3, 1, 10)),  # three chunks of one row on three units
    (4, 10, 4, 4, (10, 3, 16)),  # one chunk shared by all four units: converted four times
    (0, 10, 4, 4, (0, 0, 0)),  # an all-zero compressed vector does no optical work
])
def test_fc_schedule_balances_ops_and_counts_shared_chunk_conversions(length, out_f, units, width, expected):
    assert P.fc_sample_schedule(length, out_f, units, width) == expected


def test_conv_weights_are_tuned_once_and_reused_across_positions_and_samples(sonic):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    w[w < 0.3] = 0.0
    layer = Layer("c", "conv2d", (2, 6, 6), (4, 4, 4), weight=w, kernel_size=3)
    x1 = rng.random((1, 2, 6, 6)).astype(np.float32)
    x8 = rng.random((8, 2, 6, 6)).astype(np.float32)
    w1 = P.photonic_layer_work(layer, one_layer_work(layer, x1), sonic)
    w8 = P.photonic_layer_work(layer, one_layer_work(layer, x8), sonic)
    k_len = np.count_nonzero(w.reshape(4, -1), axis=1)
    n_chunks = int(np.sum(-(-k_len // 5)))
    replicas = 50 // n_chunks
    assert w1.weight_loads == w8.weight_loads == int(k_len.sum()) * replicas
    assert w8.ops == n_chunks * 16 * 8 and w8.counts[("adc", "convert")] == w8.ops
    assert w8.passes == 1 and w8.reprogram_cycles == 6  # one reload per unit for the whole batch
    assert w8.compute_cycles == -(-16 * 8 // replicas) * 14


def tiny_net(conv_density, fc_density, act_density, seed):
    spec = {"version": 1, "name": "t", "input_shape": [2, 6, 6], "input_density": act_density, "seed": seed,
            "layers": [{"name": "conv", "type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1,
                        "weight_density": conv_density},
                       {"name": "relu", "type": "relu"}, {"name": "flat", "type": "flatten"},
                       {"name": "fc", "type": "fc", "out_features": 7, "weight_density": fc_density}]}
    return network_from_dict(spec, "t.yaml")


def test_power_gating_saves_exactly_the_vcsel_energy_of_zero_elements(sonic):
    ex = prepare(tiny_net(0.5, 0.4, 0.5, 1), batch=3, seed=2, executor="reference")
    on = cost(sonic, ex, engine="analytical")
    off = cost(with_sparsity(sonic, vcsel_power_gating=False), ex, engine="analytical")
    assert on.run.cycles == off.run.cycles
    dark = sum(P.photonic_layer_work(lay, lw, sonic).elements - lw.effectual_macs
               for lay, lw in zip(ex.net.layers, ex.profile.layers) if lay.is_weighted)
    assert dark > 0
    saved = off.energy["energy_pj"].sum() - on.energy["energy_pj"].sum()
    assert saved == pytest.approx(dark * action_energies(sonic)[("vcsel", "symbol")])


@settings(max_examples=20, deadline=None)
@given(conv_density=st.sampled_from([0.0, 0.2, 0.6, 1.0]), fc_density=st.sampled_from([0.05, 0.3, 1.0]),
       act_density=st.sampled_from([0.0, 0.3, 0.7, 1.0]), seed=st.integers(0, 50),
       switch=st.sampled_from(SWITCHES), design=st.sampled_from(["sonic", "crosslight"]))
def test_turning_a_sparsity_technique_off_never_lowers_energy(conv_density, fc_density, act_density, seed, switch,
                                                               design):
    hw = load_hardware(ROOT / "hwconfigs" / f"{design}.yaml")
    hw = with_sparsity(hw, **{s: True for s in SWITCHES})
    ex = prepare(tiny_net(conv_density, fc_density, act_density, seed), batch=2, seed=seed, executor="reference")
    on = cost(hw, ex, engine="analytical")
    off = cost(with_sparsity(hw, **{switch: False}), ex, engine="analytical")
    assert off.energy["energy_pj"].sum() >= on.energy["energy_pj"].sum() * (1 - 1e-12)
    assert off.run.cycles >= on.run.cycles


def test_first_fidelity_cost_uses_the_device_model_and_never_beats_the_bound(sonic, crosslight):
    ex = prepare(tiny_net(0.5, 0.3, 0.6, 4), batch=2, seed=0, executor="reference")
    for hw in (sonic, crosslight):
        res = cost(hw, ex, engine="analytical")
        for lay, lw, lr in zip(ex.net.layers, ex.profile.layers, res.run.layers):
            assert lr.cycles >= lr.bound_cycles
            if lay.is_weighted:
                work = P.photonic_layer_work(lay, lw, hw)
                assert lr.cycles >= work.cycles and lr.stalls["reprogramming"] == work.reprogram_cycles
                for key, n in work.counts.items():
                    assert lr.counts[key] == n
            assert lr.counts[("mrr", "to_hold_ring_cycles")] == P.ring_count(hw) * lr.cycles


def test_time_based_counts_and_calibration(sonic, crosslight):
    assert P.ring_count(sonic) == 50 * (5 + 1) + 10 * (50 + 1)  # weight rings + one batch-norm ring per VDU
    assert P.ring_count(crosslight) == 100 * (20 + 20) + 60 * (150 + 150)  # weight rings + input rings
    c = P.time_based_counts(sonic, 100)
    assert dict(c) == {("static", "cycles"): 100, ("mrr", "to_hold_ring_cycles"): 81000}
    c = P.time_based_counts(crosslight, 10)
    assert c[("laser", "on_cycles")] == 10 and c[("tia", "on_unit_cycles")] == 160 * 10
    cal = P.calibration(sonic)
    assert cal.cycles == 4000 and cal.counts[("mrr", "to_calibrate")] == 810


def test_laser_power_follows_eq7(crosslight):
    """Eq. 7 at equality: P_laser = S + loss + 10 log10(N) dBm per waveguide."""
    o = crosslight.photonic.optics
    loss = 1.0 * 1.0 + 0.13 + 0.9 + 0.02 * 19 + 0.72 + (6.0 + 1.0) * 0.01
    assert path_loss_db(o, 20) == pytest.approx(loss)
    assert laser_dbm_per_waveguide(o, 20) == pytest.approx(-20 + loss + 10 * np.log10(20))
