"""End-to-end runs through the Python API: report columns, conservation and bounds."""
import numpy as np
import pytest

import sim
from sim.engine.cost import relative_index_entries
from sim.report.price import ENERGY_COLUMNS, LAYER_COLUMNS, SUMMARY_COLUMNS


@pytest.fixture(params=["analytical", "auto"])
def engine(request):
    return request.param


def test_report_columns(hw, tiny_network, engine):
    r = sim.run(hw, tiny_network, batch=2, seed=0, engine=engine)
    assert list(r.summary.columns) == SUMMARY_COLUMNS
    assert list(r.layers.columns) == LAYER_COLUMNS
    assert list(r.energy.columns) == ENERGY_COLUMNS
    assert len(r.summary) == 1 and len(r.layers) == len(tiny_network.layers)


def test_energy_conservation(hw, tiny_network, engine):
    """Per-action energies sum to each layer's energy; layers (plus network-level rows) sum to the total."""
    r = sim.run(hw, tiny_network, batch=2, seed=0, engine=engine)
    e = r.energy
    np.testing.assert_allclose(e["energy_pj"], e["count"] * e["pj_per_action"], rtol=1e-12)
    per_layer = e.groupby("layer")["energy_pj"].sum()
    for _, row in r.layers.iterrows():
        assert row["energy_pj"] == pytest.approx(per_layer.get(row["layer"], 0.0), rel=1e-12)
    assert r.summary["energy_pj"].iloc[0] == pytest.approx(e["energy_pj"].sum(), rel=1e-12)
    assert r.summary["energy_pj"].iloc[0] >= r.layers["energy_pj"].sum() * (1 - 1e-12)
    assert r.summary["cycles"].iloc[0] == r.layers["cycles"].sum()


def test_cycles_never_beat_the_bound(hw, tiny_network, engine):
    r = sim.run(hw, tiny_network, batch=3, seed=1, engine=engine)
    assert (r.layers["cycles"] >= r.layers["bound_cycles"]).all()
    assert (r.layers["utilization"] <= 1.0 + 1e-12).all()


def test_same_seed_same_report(hw, tiny_network, tmp_path):
    from sim.report.files import write_run
    for d in ("a", "b"):
        write_run(sim.run(hw, tiny_network, batch=2, seed=5), tmp_path / d)
    for f in ("summary.csv", "layers.csv", "energy.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()


def test_sparse_hardware_does_less_work_than_dense(tiny_network):
    eie = sim.load_hardware("hwconfigs/eie.yaml")
    from sim.hardware.load import read_hardware_dict, validate
    data = read_hardware_dict("hwconfigs/eie.yaml")
    del data["memory"]["buffers"]["ptr_sram"]  # a dense array has no pointers (an unused buffer is rejected)
    data["pe_array"].update(skip_zero_weights=False, skip_zero_acts=False, dataflow="os")
    dense = validate(data, "eie-dense")
    a = sim.run(eie, tiny_network, engine="analytical")
    b = sim.run(dense, tiny_network, engine="analytical")
    mac = lambda r: r.energy.query("component == 'pe_array' and action == 'mac'")["count"].sum()
    padding = sum(lw.padding_macs for lw in b.profile.layers)
    assert mac(a) == r_eff(a) and mac(b) == a.layers["macs"].sum() - padding  # macs counts padded taps too


def r_eff(r):
    return int(r.layers["effectual_macs"].sum())


def test_relative_index_padding_matches_eie_example():
    # EIE §2.2: column [0,0,1,2,0 x 18,3] with 4-bit gaps stores v=[1,2,0,3], z=[2,0,15,2]: 4 entries.
    col = np.array([0, 0, 1, 2] + [0] * 18 + [3], dtype=np.float32)
    assert relative_index_entries(col.reshape(-1, 1), 4) == 4
    # 3-bit gaps (span 8): 18 zeros need two fillers
    assert relative_index_entries(col.reshape(-1, 1), 3) == 5


def test_accuracy_measured_on_digits():
    net = sim.load_network("models/lenet300.yaml")
    r = sim.run(sim.load_hardware("hwconfigs/eie.yaml"), net)
    acc = r.summary["accuracy"].iloc[0]
    assert 0.0 <= acc <= 1.0
    if net.accuracy is not None:  # the shipped weights record their measured accuracy
        assert acc == pytest.approx(net.accuracy, abs=1e-5)


def test_big_activations_never_beat_the_bound(hw):
    """A conv whose input and output overflow the activation buffers (the EIE conv1 case that once
    deadlocked the event model into reporting too few cycles) still never beats its bound."""
    from sim.workload.load import network_from_dict
    spec = {"version": 1, "name": "wide", "input_shape": [3, 64, 64], "seed": 2,
            "layers": [{"name": "conv", "type": "conv2d", "out_channels": 96, "kernel_size": 3, "padding": 1,
                        "weight_density": 0.5},
                       {"name": "relu", "type": "relu"},
                       {"name": "pool", "type": "maxpool", "kernel_size": 2}]}
    net = network_from_dict(spec, "wide.yaml")
    r = sim.run(hw, net, batch=1, seed=0)
    assert (r.layers["cycles"] >= r.layers["bound_cycles"]).all()
    assert (r.layers["utilization"] <= 1.0 + 1e-12).all()


def test_partly_resident_weights_stream_only_the_overflow(tiny_network):
    """EIE-style on-chip weights: what fits stays, only the overflow streams from DRAM."""
    from sim.engine.cost import weight_storage_bits, weights_on_chip
    hw = sim.load_hardware("hwconfigs/eie.yaml")
    need = sum(weight_storage_bits(lay, hw) for lay in tiny_network.layers)
    assert weights_on_chip(tiny_network, hw) == [1.0] * len(tiny_network.layers)
    half_kb = need / 2 / 8 / 1024 / 64  # per-PE size that holds half the weights
    small = sim.load_hardware("hwconfigs/eie.yaml", {"memory.buffers.spmat_sram.size_kb": half_kb})
    assert weights_on_chip(tiny_network, small)[0] == pytest.approx(0.5)
    full = sim.run(hw, tiny_network, engine="analytical")
    part = sim.run(small, tiny_network, engine="analytical")
    dram = lambda r: r.energy.query("component == 'dram' and action == 'read_bits'")["count"].sum()
    assert dram(part) - dram(full) == pytest.approx(need / 2, abs=8 * len(tiny_network.layers))
