"""Event model end to end: the analytical bound is a floor, met exactly (within the documented
fill/drain and one-cycle transfer terms) when bandwidth is unlimited and work is balanced;
energy is conserved."""
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine.dataflows.systolic import fill_drain_cycles, scalesim_compute_cycles
from sim.engine.simulate import simulate
from sim.hardware import load_hardware
from sim.run import cost, prepare
from sim.workload.load import network_from_dict


def unlimited(hw):
    """Same design with a DRAM that moves anything in one cycle and has no latency."""
    dram = dataclasses.replace(hw.memory.dram, bandwidth_gbps=1e12, latency_ns=0.0)
    return dataclasses.replace(hw, memory=dataclasses.replace(hw.memory, dram=dram))


def one_layer(layer: dict, in_shape, act_density=1.0, batch=1):
    spec = {"version": 1, "name": "one", "input_shape": list(in_shape), "input_density": act_density, "seed": 5,
            "layers": [dict(layer, name="L", bias=False)]}
    net = network_from_dict(spec, "one.yaml")
    return net, prepare(net, batch=batch, seed=1, executor="reference")


def test_every_config_conserves_energy_and_respects_the_bound(hw, tiny_network):
    res = cost(hw, prepare(tiny_network, batch=2, seed=0, executor="reference"), engine="event")
    for lr in res.run.layers:
        assert lr.cycles >= lr.bound_cycles, lr.name
        assert lr.stall_cycles <= lr.cycles, lr.name
        assert lr.events > 0
    by_layer = res.energy.groupby("layer")["energy_pj"].sum()
    for _, row in res.layers.iterrows():
        assert row["energy_pj"] == pytest.approx(by_layer.get(row["layer"], 0.0))
    assert res.layers["energy_pj"].sum() == pytest.approx(res.summary["energy_pj"].iloc[0])
    assert (res.energy["count"] * res.energy["pj_per_action"]).sum() == pytest.approx(res.summary["energy_pj"].iloc[0])
    assert res.layers["cycles"].sum() == res.summary["cycles"].iloc[0]


def test_systolic_counts_every_dense_mac(root, tiny_network):
    hw = load_hardware(root / "hwconfigs" / "systolic.yaml", {"pe_array.rows": 8, "pe_array.cols": 8})
    ex = prepare(tiny_network, batch=1, seed=0, executor="reference")
    run = simulate(tiny_network, ex.profile, hw)
    assert run.counts[("pe_array", "mac")] == ex.profile.total("macs") - ex.profile.total("padding_macs")  # padded taps are not run


@settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dataflow=st.sampled_from(["ws", "os", "is"]), rows=st.sampled_from([4, 8, 16]),
       cols=st.sampled_from([4, 8, 16]), a=st.integers(1, 3), b=st.integers(1, 3), batch=st.integers(1, 3),
       conv=st.booleans())
def test_systolic_bound_is_met_within_fill_and_drain(root, dataflow, rows, cols, a, b, batch, conv):
    # Balanced: the folded dimensions are multiples of the array, so every fold is full.
    hw = unlimited(load_hardware(root / "hwconfigs" / "systolic.yaml",
                                 {"pe_array.rows": rows, "pe_array.cols": cols, "pe_array.dataflow": dataflow}))
    if conv:  # K = channels x 1 x 1, Npix = 4 x 4 x batch
        k, m = a * rows, b * cols
        net, ex = one_layer({"type": "conv2d", "out_channels": m, "kernel_size": 1}, (k, 4, 4), batch=batch)
        n_pix = 16 * batch
    else:
        k, m, n_pix = a * rows, b * cols, batch
        net, ex = one_layer({"type": "fc", "out_features": m}, (k,), batch=batch)
    if dataflow == "os":  # os folds Npix over rows: make it a multiple too
        n_pix_ok = n_pix % rows == 0
    elif dataflow == "is":
        n_pix_ok = n_pix % cols == 0
    else:
        n_pix_ok = True
    lr = simulate(net, ex.profile, hw).layers[0]
    assert lr.cycles >= lr.bound_cycles
    expected = scalesim_compute_cycles(dataflow, rows, cols, n_pix, k, m)
    # +1 for the first load and +1 for the last write-back: a transfer takes at least one cycle.
    assert lr.cycles == expected + 2
    if n_pix_ok:
        folds = (expected - 0) // (fill_drain_cycles(dataflow, rows, cols) + {"ws": n_pix, "os": k, "is": m}[dataflow])
        assert lr.cycles == lr.bound_cycles + folds * fill_drain_cycles(dataflow, rows, cols) + 2


@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows_per_pe=st.integers(1, 4), in_f=st.integers(8, 300))
def test_eie_bound_is_met_when_every_pe_has_the_same_work(root, rows_per_pe, in_f):
    # Dense weights, dense activations, out = 64 x r rows: each PE does r cycles per column.
    hw = unlimited(load_hardware(root / "hwconfigs" / "eie.yaml"))
    net, ex = one_layer({"type": "fc", "out_features": 64 * rows_per_pe, "weight_density": 1.0}, (in_f,))
    lr = simulate(net, ex.profile, hw).layers[0]
    assert lr.bound_cycles == rows_per_pe * in_f
    # + filling and draining the activation SRAMs: 64 PEs x 64-bit rows = 512 B per cycle.
    sram_cycles = -(-2 * in_f // 512) + -(-2 * 64 * rows_per_pe // 512)
    assert lr.cycles == lr.bound_cycles + sram_cycles
    assert lr.stalls["load_imbalance"] == 0


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cfg=st.sampled_from(["eie", "systolic", "sonic", "crosslight"]), out_f=st.integers(1, 200),
       in_f=st.integers(1, 300), density=st.sampled_from([0.05, 0.3, 1.0]), act=st.sampled_from([0.2, 1.0]),
       batch=st.integers(1, 3))
def test_event_model_never_beats_the_bound(root, cfg, out_f, in_f, density, act, batch):
    hw = load_hardware(root / "hwconfigs" / f"{cfg}.yaml")
    net, ex = one_layer({"type": "fc", "out_features": out_f, "weight_density": density}, (in_f,), act, batch)
    lr = simulate(net, ex.profile, hw).layers[0]
    assert lr.cycles >= lr.bound_cycles
    assert lr.stall_cycles <= lr.cycles


def test_eie_imbalance_is_measured(root):
    # 65 rows on 64 PEs: PE 0 owns rows 0 and 64, every other PE one row: half the array idles.
    hw = unlimited(load_hardware(root / "hwconfigs" / "eie.yaml"))
    net, ex = one_layer({"type": "fc", "out_features": 65, "weight_density": 1.0}, (100,))
    lr = simulate(net, ex.profile, hw).layers[0]
    assert lr.cycles == 2 * 100 + 2
    assert lr.stalls["load_imbalance"] == 200 - int(np.ceil(65 * 100 / 64))
