"""The row-stationary kind (hwconfigs/eyeriss.yaml): hand-computed cycles and counts, energy
conservation, Eyeriss's normalized energy hierarchy, and the config rules of the kind."""
import pytest

import sim
from sim.engine.dataflows import action_energies
from sim.errors import ConfigError
from sim.hardware.load import read_hardware_dict, validate
from sim.workload.load import network_from_dict


def conv_net(c=2, hw_=8, m=3, k=3, stride=1):
    spec = {"version": 1, "name": "one-conv", "input_shape": [c, hw_, hw_], "seed": 3,
            "layers": [{"name": "conv", "type": "conv2d", "out_channels": m, "kernel_size": k, "stride": stride,
                        "bias": False}]}
    return network_from_dict(spec, "one-conv.yaml")


def eyeriss(root, **overrides):
    return sim.load_hardware(root / "hwconfigs" / "eyeriss.yaml", overrides or None)


@pytest.mark.parametrize("engine", ["event", "analytical"])
def test_hand_computed_cycles_on_12x14(root, engine):
    # conv 2 -> 3 channels, 3x3 on 8x8: R = S = 3, E = F = 6. A PE set is 3 x 6; 12 // 3 = 4 sets stacked and
    # 14 // 6 = 2 side by side: 8 sets at once. Jobs = 3 filters x 2 channels = 6 -> one round of S x F = 18 cycles.
    # DRAM made fast so that the bound is the compute bound, ceil(1944 MACs / 168 PEs) = 12.
    r = sim.run(eyeriss(root, **{"memory.dram.bandwidth_gbps": 1000}), conv_net(), engine=engine)
    assert r.layers["compute_cycles"].tolist() == ([18] if engine == "event" else [12])  # analytical: ideal compute
    assert r.layers["bound_cycles"].tolist() == [-(-3 * 2 * 9 * 36 // 168)]
    assert (r.layers["cycles"] >= 18).all() and (r.layers["cycles"] >= r.layers["bound_cycles"]).all()


def test_hand_computed_cycles_with_strips_and_row_folds(root):
    # 4 x 5 array: e = 5 output rows per strip -> 2 strips; 3 filter rows fit once (4 // 3 = 1), 5 // 5 = 1:
    # one set at a time; jobs = 3 x 2 x 2 strips = 12 rounds of 18 cycles.
    r = sim.run(eyeriss(root, **{"pe_array.rows": 4, "pe_array.cols": 5}), conv_net(), engine="event")
    assert r.layers["compute_cycles"].tolist() == [12 * 18]
    # 5x5 filters on 3 rows: 2 row folds; E = F = 4 on 5 columns: one strip, 1 set. Jobs = 3 x 2 x 2 folds = 12
    # rounds of S x F = 5 x 4 = 20 cycles.
    r = sim.run(eyeriss(root, **{"pe_array.rows": 3, "pe_array.cols": 5}), conv_net(k=5), engine="event")
    assert r.layers["compute_cycles"].tolist() == [12 * 20]


def test_hand_computed_counts(root):
    hw = eyeriss(root, **{"row_stationary.data_gating": False})
    r = sim.run(hw, conv_net(), engine="event")
    e = r.energy.set_index(["component", "action"])["count"]
    macs = 3 * 2 * 9 * 36
    assert e[("pe_array", "mac")] == macs
    assert e[("ifmap_spad", "read_bits")] == macs * 16
    assert e[("filter_spad", "read_bits")] == macs * 16
    assert e[("psum_spad", "read_bits")] == e[("psum_spad", "write_bits")] == macs * 16
    # fills: filter rows 3 x 2 x 3 rows x 3 weights x 6 columns = 324; ifmap rows (p = 3 filters share one):
    # 2 channels x 3 rows x 6 columns x Win 8 = 288; psum hops 3 x 2 x 2 x 36 = 432; psums out 108 (q = 2: one pass).
    assert e[("filter_spad", "write_bits")] == 324 * 16
    assert e[("ifmap_spad", "write_bits")] == 288 * 16
    assert e[("array", "transfer_bits")] == (324 + 288 + 432 + 108) * 16


def test_data_gating_skips_macs_of_zero_inputs(root, tiny_network):
    on = sim.run(eyeriss(root), tiny_network, engine="analytical")
    off = sim.run(eyeriss(root, **{"row_stationary.data_gating": False}), tiny_network, engine="analytical")
    mac = lambda r: r.energy.query("component == 'pe_array' and action == 'mac'")["count"].sum()  # noqa: E731
    assert mac(on) < mac(off) <= off.layers["macs"].sum()  # macs counts padded taps too
    assert on.summary["cycles"].iloc[0] == off.summary["cycles"].iloc[0]  # gating saves energy, not time


@pytest.mark.parametrize("engine", ["event", "analytical"])
def test_energy_is_conserved(root, tiny_network, engine):
    r = sim.run(eyeriss(root), tiny_network, engine=engine, batch=2)
    assert r.layers["energy_pj"].sum() == pytest.approx(r.energy["energy_pj"].sum())
    assert r.summary["energy_pj"].iloc[0] == pytest.approx(r.energy["energy_pj"].sum())
    assert (r.energy["count"] * r.energy["pj_per_action"]).sum() == pytest.approx(r.energy["energy_pj"].sum())


def test_normalized_energy_follows_eyeriss_hierarchy(root):
    # ISCA 2016: RF 1x, array 2x, global buffer 6x, DRAM 200x the energy of one MAC (16-bit accesses).
    e = action_energies(eyeriss(root))
    mac = e[("pe_array", "mac")]
    word = 16
    assert e[("filter_spad", "read_bits")] * word / mac == pytest.approx(1, rel=0.01)
    assert e[("array", "transfer_bits")] * word / mac == pytest.approx(2, rel=0.01)
    assert e[("glb", "read_bits")] * word / mac == pytest.approx(6, rel=0.01)
    assert e[("dram", "read_bits")] * word / mac == pytest.approx(200, rel=0.01)


def test_reports_show_register_file_and_array(root, tiny_network):
    from sim.report.compare import DEVICES, device_breakdown
    hw = eyeriss(root)
    r = sim.run(hw, tiny_network)
    parts = device_breakdown(r.energy, hw)
    assert {"register_file", "array_network"} <= set(DEVICES)
    assert parts["register_file"] > 0 and parts["array_network"] > 0
    assert sum(parts.values()) == pytest.approx(r.energy["energy_pj"].sum())


def test_every_buffer_is_used_or_the_config_is_rejected(root):
    data = read_hardware_dict(root / "hwconfigs" / "eyeriss.yaml")
    data["memory"]["buffers"]["extra"] = {"size_kb": 4, "width_bits": 16, "holds": ["weights"], "per_pe": True}
    with pytest.raises(ConfigError, match=r"one per-PE scratchpad .* scratchpads \['filter_spad', 'extra'\]"):
        validate(data, "eyeriss-x.yaml")
    data = read_hardware_dict(root / "hwconfigs" / "systolic.yaml")
    data["memory"]["buffers"]["second"] = {"size_kb": 4, "width_bits": 16, "holds": ["weights"]}
    with pytest.raises(ConfigError, match=r"weight_fifo, second all hold weights; .* the others would be ignored"):
        validate(data, "systolic-x.yaml")
    data = read_hardware_dict(root / "hwconfigs" / "systolic.yaml")
    data["memory"]["buffers"]["ptrs"] = {"size_kb": 4, "width_bits": 16, "holds": ["pointers"]}
    with pytest.raises(ConfigError, match=r"memory\.buffers\.ptrs\.holds: a dataflow 'ws' design keeps no pointers"):
        validate(data, "systolic-y.yaml")


def test_rs_dataflow_needs_its_scratchpads(root):
    data = read_hardware_dict(root / "hwconfigs" / "systolic.yaml")
    data["pe_array"]["dataflow"] = "rs"
    with pytest.raises(ConfigError, match=r"row-stationary design keeps weights in one per-PE scratchpad"):
        validate(data, "systolic-rs.yaml")
