"""Fast-forward of the event model (sim/engine/simulate.py ``FastForward``): skipping the periods of
a periodic steady state gives exactly the results of simulating every event, on random layers,
buffers, bandwidths and designs; and it does skip on a long periodic layer."""
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import simulate as engine
from sim.engine.dataflows import get
from sim.engine.tiles import layer_io
from sim.engine.tiling import map_layer
from sim.engine.traffic import fused_flags, weights_on_chip
from sim.hardware import load_hardware
from sim.paths import REPO_ROOT as ROOT
from sim.run import prepare
from sim.workload.load import network_from_dict

FIELDS = ("cycles", "stalls", "counts", "events", "intervals", "compute_cycles", "dram_bytes", "sram_bytes",
          "bound_cycles", "macs_performed", "utilization")


def schedules(net, ex, hw):
    kind = get(hw)
    storage = [kind.weight_storage_bits(layer, hw) for layer in net.layers]
    resident = weights_on_chip(net, hw, storage)
    _, abits = kind.bits(hw)
    fused = fused_flags(net)
    for i, (layer, lw) in enumerate(zip(net.layers, ex.profile.layers)):
        io = layer_io(layer, lw, hw, net.reads_input(i), net.is_output(i), resident[i], storage[i], abits,
                      kind.buffers(hw)[1])
        yield map_layer(layer, lw, hw, io, fused[i])


def assert_same(sched, hw):
    on = engine.simulate_layer(sched, hw, fast_forward=True, timeline=True)
    off = engine.simulate_layer(sched, hw, fast_forward=False, timeline=True)
    for f in FIELDS:
        a, b = getattr(on, f), getattr(off, f)
        if isinstance(a, Counter):  # same values in the same order (reports list them in it)
            a, b = list(a.items()), list(b.items())
        assert a == b, (sched.name, f)


def network(layer: dict, in_shape, density: float):
    spec = {"version": 1, "name": "ff", "input_shape": list(in_shape), "input_density": 0.7, "seed": 3,
            "layers": [dict(layer, name="L", bias=False, weight_density=density)]}
    return network_from_dict(spec, "ff.yaml")


DESIGNS = st.sampled_from([("systolic", "os"), ("systolic", "ws"), ("systolic", "is"), ("eie", None),
                           ("sonic", None), ("sparse_systolic", None), ("eyeriss", None)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=DESIGNS, conv=st.booleans(), c=st.integers(1, 24), m=st.integers(1, 48), hw_px=st.integers(2, 10),
       batch=st.integers(1, 3), density=st.sampled_from([1.0, 0.5, 0.2]), rows=st.integers(2, 12),
       cols=st.integers(2, 12), bw=st.sampled_from([0.05, 0.5, 4.0, 100.0]), latency=st.sampled_from([0.0, 30.0]),
       channels=st.integers(1, 3), prefetch=st.integers(1, 3), kb=st.sampled_from([0.25, 1.0, 16.0]))
def test_fast_forward_equals_every_event(design, conv, c, m, hw_px, batch, density, rows, cols, bw, latency,
                                         channels, prefetch, kb):
    name, dataflow = design
    base = load_hardware(ROOT / "hwconfigs" / f"{name}.yaml")
    over = {"memory.dram.bandwidth_gbps": bw, "memory.dram.latency_ns": latency, "memory.dram.channels": channels,
            "memory.prefetch_tiles": prefetch}
    if dataflow:
        over.update({"pe_array.rows": rows, "pe_array.cols": cols, "pe_array.dataflow": dataflow})
    for b in base.memory.buffers:
        if not b.per_pe:
            over[f"memory.buffers.{b.name}.size_kb"] = kb
    hw = load_hardware(ROOT / "hwconfigs" / f"{name}.yaml", over)
    if conv:
        net = network({"type": "conv2d", "out_channels": m, "kernel_size": 3, "padding": 1}, (c, hw_px, hw_px),
                      density)
    else:
        net = network({"type": "fc", "out_features": m * 4}, (c * hw_px,), density)
    ex = prepare(net, batch=batch, seed=1, executor="reference")
    for sched in schedules(net, ex, hw):
        assert_same(sched, hw)


def test_a_long_periodic_layer_is_skipped_through_and_equals_every_event(monkeypatch):
    """A 64 x 512 x 96 GEMM on a 4 x 4 output-stationary array with a slow DRAM: ~3000 tiles in a
    periodic memory-bound steady state."""
    hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml",
                       {"pe_array.rows": 4, "pe_array.cols": 4, "pe_array.dataflow": "os",
                        "memory.dram.bandwidth_gbps": 0.5, "memory.buffers.weight_fifo.size_kb": 1})
    net = network({"type": "fc", "out_features": 96}, (512,), 1.0)
    ex = prepare(net, batch=64, seed=1, executor="reference")
    jumps = []
    real_jump = engine.FastForward.jump
    monkeypatch.setattr(engine.FastForward, "jump", lambda self, k, *a: jumps.append(k) or real_jump(self, k, *a))
    (sched,) = list(schedules(net, ex, hw))
    assert len(sched.tiles) >= 256
    assert_same(sched, hw)
    assert jumps and sum(jumps) * 2 > len(sched.tiles) // 8, jumps  # most of the layer skipped


def test_the_same_tiles_run_once_and_give_the_same_results():
    hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml", {"pe_array.rows": 4, "pe_array.cols": 4})
    net = network({"type": "fc", "out_features": 32}, (64,), 1.0)
    ex = prepare(net, batch=8, seed=1, executor="reference")
    (sched,) = list(schedules(net, ex, hw))
    (again,) = list(schedules(net, ex, hw))
    assert again.tiles is sched.tiles  # the mapper's memo
    a, b = engine.simulate_layer(sched, hw), engine.simulate_layer(again, hw)
    for f in FIELDS:
        assert getattr(a, f) == getattr(b, f), f
