"""Every design maps every layer kind (issue 12, item 3): a matmul of two activations per dataflow
kind with hand-computed cycles and run-time operand loads, vector-unit op counts of elementwise and
normalization layers, buffer traffic of data movement, and a ViT-style graph on every hwconfig."""
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.workload.load import network_from_dict

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = sorted(p.stem for p in (ROOT / "hwconfigs").glob("*.yaml"))
FAST_DRAM = {"memory.dram.bandwidth_gbps": 10000, "memory.dram.latency_ns": 0}


def attention_net():
    """2 heads of (M=4 x K=8) @ (K=8 x N=4): the input times its own transpose (all nonzero)."""
    spec = {"version": 1, "name": "qk", "input_shape": [2, 4, 8], "seed": 0, "layers": [
        {"name": "kt", "type": "transpose", "perm": [0, 2, 1]},
        {"name": "mm", "type": "matmul", "inputs": ["input", "kt"]}]}
    return network_from_dict(spec, "qk.yaml")


def run(design, net, overrides=None, engine="event"):
    hw = sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml", {**FAST_DRAM, **(overrides or {})})
    return sim.run(hw, net, batch=1, seed=0, engine=engine)


def layer(r, name):
    return r.layers.set_index("layer").loc[name]


def count(r, name, component, action):
    e = r.energy
    return int(e[(e["layer"] == name) & (e["component"] == component) & (e["action"] == action)]["count"].sum())


def test_the_operands_are_dense():
    r = run("systolic", attention_net())
    lw = r.profile.layer("mm")
    assert lw.macs == lw.effectual_macs == 2 * 4 * 8 * 4


@pytest.mark.parametrize("dataflow,cycles,fills", [
    # ws: Sr = K = 8 -> 2 row folds of 4, Sc = N = 4, T = M = 4: 2 x (2R + C + T - 2) = 2 x 14 per head;
    #     the (K x N) operand is filled once per fold: K x N = 32 elements per head.
    ("ws", 2 * 2 * 14, 2 * 32),
    # os: Sr = M = 4, Sc = N = 4, T = K = 8: R + C + T - 2 = 14 per head; outputs held: M x N = 16 per head.
    ("os", 2 * 14, 2 * 16),
    # is: Sr = K = 8 (2 folds), Sc = M = 4, T = N = 4: 2 x 14 per head; the (M x K) operand: 32 per head.
    ("is", 2 * 2 * 14, 2 * 32),
])
def test_systolic_matmul_of_activations(dataflow, cycles, fills):
    r = run("systolic", attention_net(), {"pe_array.rows": 4, "pe_array.cols": 4, "pe_array.dataflow": dataflow})
    mm = layer(r, "mm")
    assert mm["compute_cycles"] == cycles
    assert mm["cycles"] >= mm["bound_cycles"] == -(-256 // 16)
    assert count(r, "mm", "pe_array", "operand_fill") == fills
    assert count(r, "mm", "pe_array", "mac") == 256
    assert count(r, "mm", "codebook", "lookup") == 0


def test_sparse_systolic_runs_a_matmul_of_activations_dense():
    # ws folds, as the dense systolic array: no N:M structure to skip on activations.
    r = run("sparse_systolic", attention_net(), {"pe_array.rows": 4, "pe_array.cols": 4})
    assert layer(r, "mm")["compute_cycles"] == 2 * 2 * 14
    assert count(r, "mm", "pe_array", "mac") == 256
    assert count(r, "mm", "pe_array", "operand_fill") == 64


def test_eie_encodes_the_run_time_operand():
    hw = sim.load_hardware(ROOT / "hwconfigs" / "eie.yaml", {**FAST_DRAM, "vector_unit.lanes": 4})
    r = sim.run(hw, attention_net(), batch=1, seed=0)
    pe = hw.pe_array
    mm = layer(r, "mm")
    # per head: encode K x N = 32 elements at 4 per cycle = 8 cycles (a reprogramming stall), then
    # 128 MACs over the PEs: ceil(128 / PEs) cycles.
    assert mm["stall_reprogramming_cycles"] == 2 * 8
    assert mm["compute_cycles"] == 2 * -(-128 // (pe.count * pe.macs_per_pe_per_cycle))
    assert mm["cycles"] >= mm["bound_cycles"]
    assert count(r, "mm", "activation_unit", "op") == 2 * 32  # one compare-and-compact per element
    wbuf = hw.memory.buffer_for("weights").name
    assert count(r, "mm", wbuf, "write_bits") == 2 * 32 * (pe.act_bits + pe.index_bits)  # all 64 are nonzero
    ptr = (hw.memory.buffer_for("pointers") or hw.memory.buffer_for("weights")).name
    assert count(r, "mm", ptr, "write_bits") >= 2 * 9 * pe.pointer_bits  # K + 1 column pointers per head
    assert count(r, "mm", "pe_array", "mac") == 256


@pytest.mark.parametrize("design", ["sonic", "crosslight"])
def test_photonic_programs_the_rings_at_run_time(design):
    # 2 conv VDUs of width 4: per head N = 4 columns of K = 8 -> 2 chunks each: 16 chunks in all, no
    # replicas, 8 passes; each pass streams the M = 4 rows: 32 ops on the busiest unit.
    r = run(design, attention_net(), {"photonic.conv_units.count": 2, "photonic.conv_units.vector_width": 4})
    hw = sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml",
                           {"photonic.conv_units.count": 2, "photonic.conv_units.vector_width": 4})
    from sim.engine.photonic import op_timing
    t = op_timing(hw, acts_change_every_op=True)
    mm = layer(r, "mm")
    assert mm["compute_cycles"] == 8 * 4 * t.op_cycles
    assert mm["stall_reprogramming_cycles"] == 8 * t.reload_stall_cycles
    assert count(r, "mm", "mrr", "eo_tune") == 2 * 8 * 4  # every element of the (K x N) operand, per head
    assert count(r, "mm", "weight_dac", "convert") == 2 * 8 * 4
    assert count(r, "mm", "adc", "convert") == 16 * 4  # one op per chunk and row
    assert mm["cycles"] >= mm["bound_cycles"]


def test_eyeriss_maps_a_matmul_of_activations_as_a_1x1_conv():
    # 1 x 1 conv of C = 8 channels on an E x F = 4 x 1 map, M = 4 filters, one image per head: jobs =
    # 2 x 4 x 8 = 64; PE sets 1 x 4: 12 stacked x 3 side by side = 36 at once -> 2 rounds of 1 x 1 MACs.
    r = run("eyeriss", attention_net())
    assert layer(r, "mm")["compute_cycles"] == 2
    assert count(r, "mm", "pe_array", "mac") == 256


def vector_net():
    spec = {"version": 1, "name": "vec", "input_shape": [4, 8], "seed": 0, "layers": [
        {"name": "ln", "type": "layernorm", "axis": -1},
        {"name": "sm", "type": "softmax", "axis": -1},
        {"name": "ge", "type": "gelu"},
        {"name": "sg", "type": "sigmoid"},
        {"name": "sc", "type": "mul", "operand": 0.5},
        {"name": "res", "type": "add", "inputs": ["input", "sc"]},
        {"name": "rm", "type": "reduce_mean", "axes": [-1]},
        {"name": "t", "type": "transpose", "perm": [1, 0], "inputs": ["res"]},
        {"name": "r", "type": "reshape", "shape": [32]},
        {"name": "sl", "type": "slice", "starts": [0], "ends": [8], "axes": [0]},
        {"name": "cat", "type": "concat", "axis": 0, "inputs": ["sl", "sl"]}],
        "outputs": ["rm", "cat"]}
    return network_from_dict(spec, "vec.yaml")


@pytest.mark.parametrize("engine", ["event", "analytical"])
def test_vector_unit_op_counts_by_hand(engine):
    r = run("systolic", vector_net(), {"vector_unit.lanes": 8}, engine=engine)
    ops = {name: count(r, name, "activation_unit", "op") for name in r.layers["layer"]}
    # 32 elements each: layernorm 7, softmax 5, gelu 5, sigmoid 3, mul by a constant 1, add of two
    # activations 1 per output (not per operand), reduce_mean 1 per input; data movement no ALU op.
    assert ops == {"ln": 7 * 32, "sm": 5 * 32, "ge": 5 * 32, "sg": 3 * 32, "sc": 32, "res": 32, "rm": 32,
                   "t": 0, "r": 0, "sl": 0, "cat": 16}
    cycles = layer(r, "ln")["compute_cycles"] if engine == "event" else None
    if cycles is not None:
        assert cycles == 7 * 32 // 8
        assert layer(r, "t")["compute_cycles"] == 32 // 8  # the lanes move every element once
        assert layer(r, "r")["compute_cycles"] == 0
    hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml")
    abits = hw.pe_array.act_bits
    ibuf, obuf = hw.memory.buffer_for("inputs").name, hw.memory.buffer_for("outputs").name
    assert count(r, "t", ibuf, "read_bits") == 32 * abits and count(r, "t", obuf, "write_bits") == 32 * abits
    assert count(r, "r", ibuf, "read_bits") == 0 and count(r, "r", obuf, "write_bits") == 0  # a view
    assert count(r, "sl", ibuf, "read_bits") == 8 * abits  # only the selected elements


def test_ops_per_element_is_a_hwconfig_field():
    r = run("systolic", vector_net(), {"vector_unit.ops_per_element.softmax": 9, "vector_unit.op_pj": 2.5})
    assert count(r, "sm", "activation_unit", "op") == 9 * 32
    e = r.energy
    assert set(e[e["component"] == "activation_unit"]["pj_per_action"]) == {2.5}


@pytest.fixture(scope="module")
def vit():
    return sim.load_network(ROOT / "models" / "vit-tiny.yaml")


@pytest.mark.parametrize("design", DESIGNS)
def test_vit_runs_on_every_design(design, vit):
    r = sim.run(sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml"), vit, batch=1, seed=0)
    e = r.energy
    np.testing.assert_allclose(e["energy_pj"], e["count"] * e["pj_per_action"], rtol=1e-12)
    per_layer = e.groupby("layer")["energy_pj"].sum()
    for _, row in r.layers.iterrows():
        assert row["energy_pj"] == pytest.approx(per_layer.get(row["layer"], 0.0), rel=1e-12)
    assert r.summary["energy_pj"].iloc[0] == pytest.approx(e["energy_pj"].sum(), rel=1e-12)
    assert (r.layers["cycles"] >= r.layers["bound_cycles"]).all()
    mm = r.layers[r.layers["type"] == "matmul"]
    assert len(mm) == 2 and (mm["compute_cycles"] > 0).all() and (mm["energy_pj"] > 0).all()


def lstm_net():
    spec = {"version": 1, "name": "rnn", "input_shape": [5, 6], "seed": 0,
            "layers": [{"name": "lstm", "type": "lstm", "hidden_size": 4}]}
    return network_from_dict(spec, "rnn.yaml")


def test_recurrent_steps_run_in_sequence_on_a_systolic_array():
    # LSTM, 5 steps, hidden 4: weight [W | R] is (16 gates x 10); per step a GEMM of 2 samples:
    # ws on 4 x 4: Sr = K = 10 -> 3 folds, Sc = 16 -> 4 folds, T = 2: 12 x (2R + C + T - 2) = 144 per step.
    hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", {**FAST_DRAM, "pe_array.rows": 4, "pe_array.cols": 4})
    r = sim.run(hw, lstm_net(), batch=2, seed=0)
    assert layer(r, "lstm")["compute_cycles"] == 5 * 144
    assert r.layers["macs"].tolist() == [2 * 5 * 160]


@pytest.mark.parametrize("design", DESIGNS)
def test_recurrent_cells_map_on_every_design(design):
    r = sim.run(sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml"), lstm_net(), batch=2, seed=0)
    assert (r.layers["cycles"] >= r.layers["bound_cycles"]).all() and (r.layers["compute_cycles"] > 0).all()
