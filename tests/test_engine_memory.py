"""Memory of the event model bounded by design: busy intervals are kept only for the timeline layer
(every other result is a running sum, equal to the run that records them all), and SONIC's
per-sample tiles are merged with arrays (``photonic.merged_tiles``), equal to building one Tile
per pass and coalescing them (``tiles.coalesce``)."""
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.engine import simulate as engine
from sim.engine.dataflows import photonic
from sim.engine.tiles import Tile, buffers_of, coalesce, run_starts
from sim.hardware import load_hardware
from sim.paths import REPO_ROOT as ROOT
from sim.run import prepare
from sim.workload.load import network_from_dict

FIELDS = ("cycles", "stalls", "counts", "events", "compute_cycles", "dram_bytes", "sram_bytes", "bound_cycles",
          "macs_performed", "utilization", "stall_cycles", "mapping")


def fields(lr) -> dict:
    out = {f: getattr(lr, f) for f in FIELDS}
    out["counts"] = list(lr.counts.items())  # the same values in the same order (reports list them in it)
    return out


def network(layers: list[dict], in_shape, density: float):
    spec = {"version": 1, "name": "mem", "input_shape": list(in_shape), "input_density": 0.6, "seed": 5,
            "layers": [dict(layer, bias=False, weight_density=density) if layer["type"] in ("fc", "conv2d") else layer
                       for layer in layers]}
    return network_from_dict(spec, "mem.yaml")


DESIGNS = st.sampled_from(["systolic", "eie", "sonic", "crosslight", "eyeriss", "sparse_systolic"])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(design=DESIGNS, conv=st.booleans(), c=st.integers(1, 16), m=st.integers(1, 40), px=st.integers(2, 8),
       batch=st.integers(1, 4), density=st.sampled_from([1.0, 0.4]), bw=st.sampled_from([0.1, 2.0, 50.0]),
       kb=st.sampled_from([0.5, 8.0, 256.0]), prefetch=st.integers(1, 3), pick=st.integers(0, 10))
def test_results_without_intervals_equal_the_full_interval_run(design, conv, c, m, px, batch, density, bw, kb,
                                                               prefetch, pick):
    over = {"memory.dram.bandwidth_gbps": bw, "memory.prefetch_tiles": prefetch}
    base = load_hardware(ROOT / "hwconfigs" / f"{design}.yaml")
    for b in base.memory.buffers:
        if not b.per_pe:
            over[f"memory.buffers.{b.name}.size_kb"] = kb
    hw = load_hardware(ROOT / "hwconfigs" / f"{design}.yaml", over)
    first = ({"type": "conv2d", "out_channels": m, "kernel_size": 3, "padding": 1} if conv
             else {"type": "fc", "out_features": m * 3})
    layers = [dict(first, name="a"), {"type": "relu", "name": "r"}]
    layers += [{"type": "flatten", "name": "f"}] if conv else []
    layers += [{"type": "fc", "out_features": 10, "name": "b"}]
    net = network(layers, (c, px, px) if conv else (c * px,), density)
    ex = prepare(net, batch=batch, seed=2, executor="reference")
    names = [lay.name for lay in net.layers]
    chosen = names[pick % len(names)]
    engine._RUNS.clear()
    full = [engine.simulate_layer(engine.Mapper(net, ex.profile, hw).schedule(i), hw, timeline=True)
            for i in range(len(names))]
    engine._RUNS.clear()
    run = engine.simulate(net, ex.profile, hw, timeline=chosen)
    for old, new in zip(full, run.layers):
        kind_counts = Counter(old.counts)
        kind_counts.update(engine.get(hw).time_based_counts(hw, old.cycles))
        assert fields(new) == dict(fields(old), counts=list(kind_counts.items())), new.name
        assert new.intervals == (old.intervals if new.name == chosen else []), new.name
    for old, new in zip(full, run.layers):  # a layer run again gives the intervals the full run recorded
        if new.cycles:
            assert engine.layer_intervals(net, ex.profile, hw, new) == old.intervals


def same_tiles(a: list[Tile], b: list[Tile]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.label, x.pe_cycles.tolist(), x.pe_cycles.dtype, x.balanced_cycles, x.loads, x.stores,
                x.reprogram_cycles, list(x.counts.items()), x.groups) == \
               (y.label, y.pe_cycles.tolist(), y.pe_cycles.dtype, y.balanced_cycles, y.loads, y.stores,
                y.reprogram_cycles, list(y.counts.items()), y.groups)


@settings(max_examples=60, deadline=None)
@given(passes=st.integers(1, 700), pieces=st.integers(1, 8), cycles=st.integers(0, 10**6),
       reprogram=st.integers(0, 10**5), w_total=st.integers(0, 10**6), stay=st.booleans(),
       in_total=st.integers(0, 10**6), store=st.sampled_from([0, 1, 4096]), w_kb=st.sampled_from([1, 16, 256]),
       a_kb=st.sampled_from([1, 16, 128]), w_dram=st.booleans(), in_dram=st.booleans())
def test_sonic_merged_tiles_equal_per_pass_tiles_coalesced(passes, pieces, cycles, reprogram, w_total, stay,
                                                          in_total, store, w_kb, a_kb, w_dram, in_dram):
    hw = load_hardware(ROOT / "hwconfigs" / "sonic.yaml", {"memory.buffers.weight_sram.size_kb": w_kb,
                                                           "memory.buffers.act_sram.size_kb": a_kb})
    n = passes * pieces
    split = photonic.split
    compute, rep = split(cycles, np.ones(n)), split(reprogram, np.ones(n))
    first = split(w_total, np.ones(pieces))
    w_load = (np.tile(first, passes) if not stay else np.r_[first, np.zeros(n - pieces, dtype=np.int64)]) * w_dram
    in_load = np.zeros(n, dtype=np.int64)
    if in_dram:
        in_load[::pieces] = split(in_total, np.ones(passes))
    bufs = buffers_of(hw)
    args = (n, pieces, compute, rep, w_load, in_load, store, bufs)
    every = photonic.pass_tiles(*args)
    same_tiles(photonic.merged_tiles(*args, hw), coalesce(every, hw))
    # the boundaries alone, against coalesce's, for tiny limits too
    starts = run_starts(n, [(bufs[0].name, w_load), (bufs[1].name, in_load)], hw, max_tiles=7)
    merged = coalesce(every, hw, max_tiles=7)
    assert len(starts) == len(merged)
    assert [t.label.split("..")[0] for t in merged] == [every[i].label for i in starts.tolist()]


def test_sonic_fc_layer_at_a_large_batch_keeps_a_bounded_tile_list():
    hw = load_hardware(ROOT / "hwconfigs" / "sonic.yaml")
    net = network([{"type": "fc", "out_features": 64, "name": "a"}, {"type": "relu", "name": "r"},
                   {"type": "fc", "out_features": 10, "name": "b"}], (96,), 0.5)
    ex = prepare(net, batch=600, seed=1, executor="reference")
    mapper = engine.Mapper(net, ex.profile, hw)
    sched = mapper.schedule(0)
    assert len(sched.tiles) <= 2 * 256
    # The same LayerResult as the tiles built pass by pass and coalesced
    layer, lw = net.layers[0], ex.profile.layers[0]
    pw = photonic.photonic_layer_work(layer, lw, hw)
    assert pw.passes == 600
    every = coalesce(photonic.pass_tiles(*_pass_args(sched, hw)), hw)
    same_tiles(sched.tiles, every)
    a = engine.simulate_layer(sched, hw, timeline=True)
    b = engine.simulate_layer(type(sched)(sched.name, sched.kind, every, sched.floor, sched.counts, sched.mapping), hw,
                              timeline=True)
    assert fields(a) == fields(b) and a.intervals == b.intervals


def _pass_args(sched, hw):
    """Per-pass arrays of a merged SONIC fc schedule, rebuilt the way map_photonic builds them."""
    wbuf, ibuf, obuf = bufs = buffers_of(hw)
    pieces = int(sched.mapping.split(" x ")[1].split(" tile")[0])
    passes = int(sched.mapping.split(": ")[1].split(" pass")[0])
    n = passes * pieces
    w_total = sum(nb for t in sched.tiles for name, nb in t.loads if name == wbuf.name)
    in_total = sum(nb for t in sched.tiles for name, nb in t.loads if name == ibuf.name)
    split = photonic.split
    first = split(w_total, np.ones(pieces))  # the layer fits the buffer: weights come with the first pass
    w_load = np.r_[first, np.zeros(n - pieces, dtype=np.int64)]
    in_load = np.zeros(n, dtype=np.int64)
    in_load[::pieces] = split(in_total, np.ones(passes))
    store = sum(nb for t in sched.tiles for _, nb in t.stores)
    compute = split(sum(t.balanced_cycles for t in sched.tiles), np.ones(n))
    rep = split(sum(t.reprogram_cycles for t in sched.tiles), np.ones(n))
    return n, pieces, compute, rep, w_load, in_load, store, bufs
