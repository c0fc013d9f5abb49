"""Event-model scenarios with hand-computed cycles, in the style of SimPy's own tests."""
import numpy as np
import pytest

from sim.engine.buffers import Buffer, CountingEnvironment, Dram
from sim.engine.result import LayerResult
from sim.engine.simulate import run_tiles
from sim.engine.tiling import Tile
from sim.hardware.spec import BufferSpec

BW = 64  # bytes per cycle


def make(capacity_bytes=1 << 20, latency=0, channels=1, width_bits=8 * BW * 4):
    """An environment with one DRAM (64 B/cycle) and one buffer "buf" whose port is never the
    bottleneck (4x the DRAM width) unless a test says otherwise."""
    env = CountingEnvironment()
    spec = BufferSpec(name="buf", size_kb=capacity_bytes / 1024, width_bits=width_bits, banks=1, holds=("inputs",))
    dram = Dram(env, BW, latency, channels)
    return env, dram, {"buf": Buffer(env, spec, capacity_bytes)}


def tile(label, load=0, compute=0, store=0, pe=None, balanced=None, reprogram=0):
    pe_cycles = np.array(pe if pe is not None else [compute], dtype=np.int64)
    return Tile(label, pe_cycles, int(balanced if balanced is not None else pe_cycles.max()),
                loads=(("buf", load),) if load else (), stores=(("buf", store),) if store else (),
                reprogram_cycles=reprogram)


def run(tiles, prefetch_tiles=2, **kw):
    env, dram, bufs = make(**kw)
    lr = LayerResult("L", "fc", 0, 0, 0, 0)
    run_tiles(env, tiles, dram, bufs, lr, lambda *a: None, prefetch_tiles)
    return env.now, lr


def test_two_loads_share_one_dram_port():
    # 1000 B at 64 B/cycle = 15.6 -> 16 cycles each; one port serves them one after the other.
    env, dram, _ = make()
    done = []

    def load(name):
        yield env.process(dram.transfer(1000, name))
        done.append((name, env.now))

    env.process(load("a"))
    env.process(load("b"))
    env.run()
    assert done == [("a", 16), ("b", 32)]


def test_two_channels_halve_the_transfer():
    env, dram, _ = make(channels=2)
    env.process(dram.transfer(1024, "x"))  # 512 B per channel at 32 B/cycle
    env.run()
    assert env.now == 16


def test_latency_is_pipelined_not_held():
    # Two loads with 100 cycles of latency: the port is busy 10 cycles each; the second lands at
    # 20 + 100, not 2 x (10 + 100).
    now, lr = run([tile("a", load=640, compute=1), tile("b", load=640, compute=1)], latency=100)
    assert now == 20 + 100 + 1  # b lands at 120 (after a ended at 111) and computes 1 cycle
    assert lr.stalls["dram_bandwidth"] == 110 + 9


def test_double_buffering_hides_the_load_when_compute_is_longer():
    # 3 tiles, each 640 B (10 cycles) and 15 cycles of compute: only the first load is exposed.
    now, lr = run([tile(f"t{i}", load=640, compute=15) for i in range(3)])
    assert now == 10 + 3 * 15
    assert lr.stalls["dram_bandwidth"] == 10


def test_double_buffering_cannot_hide_a_longer_load():
    # Loads of 10 cycles, compute of 5: the DRAM port decides, 3 x 10 + the last compute.
    now, lr = run([tile(f"t{i}", load=640, compute=5) for i in range(3)])
    assert now == 3 * 10 + 5
    assert lr.stalls["dram_bandwidth"] == 10 + 5 + 5


def test_full_buffer_serialises_load_and_compute():
    # 800 B tiles in a 1000 B buffer: the second tile cannot load until the first is done.
    now, lr = run([tile("a", load=800, compute=20), tile("b", load=800, compute=20)], capacity_bytes=1000)
    assert now == 13 + 20 + 13 + 20  # ceil(800 / 64) = 13
    assert lr.stalls["buffer_full"] == 13
    assert lr.stalls["dram_bandwidth"] == 13


def test_tile_waits_for_its_slowest_pe():
    now, lr = run([tile("t", pe=[10, 30, 20], balanced=20)])
    assert now == 30
    assert lr.stalls["load_imbalance"] == 10


def test_write_back_tail_and_reprogramming():
    # reprogram 7, compute 10, then 640 B written back (10 cycles) before the layer ends.
    now, lr = run([tile("t", compute=10, store=640, reprogram=7)])
    assert now == 7 + 10 + 10
    assert lr.stalls == {"dram_bandwidth": 10, "buffer_full": 0, "load_imbalance": 0, "reprogramming": 7}
    assert lr.counts[("dram", "write_bits")] == 8 * 640
    assert lr.counts[("buf", "read_bits")] == 8 * 640


def test_write_back_shares_the_port_with_the_next_load():
    # t0 computes 1 cycle then stores 640 B (cycles 11-21); t1's load (issued at 10 while t0 ran)
    # already holds the port 10-20, so the store goes 20-30.
    now, lr = run([tile("a", load=640, compute=1, store=640), tile("b", load=640, compute=1)])
    assert now == 30


def test_narrow_sram_port_limits_the_load():
    # The DRAM moves 64 B/cycle but the SRAM takes only 16 B/cycle: 640 B take 40 cycles.
    now, _ = run([tile("a", load=640, compute=1)], width_bits=128)
    assert now == 41


@pytest.mark.parametrize("n_tiles", [1, 5])
def test_counts_are_recorded_per_byte_moved(n_tiles):
    now, lr = run([tile(f"t{i}", load=100, compute=3) for i in range(n_tiles)])
    assert lr.counts[("dram", "read_bits")] == 800 * n_tiles
    assert lr.counts[("buf", "write_bits")] == 800 * n_tiles
    assert sum(lr.stalls.values()) <= now


def test_prefetch_tiles_from_the_config():
    # Two tiles, each 640 B to load (10 cycles at 64 B/cycle) and 100 cycles of compute. With two tiles
    # in flight the second load hides under the first compute: 10 + 100 + 100 = 210 cycles; with one
    # slot the second load waits for the first compute to end: 10 + 100 + 10 + 100 = 220.
    tiles = [tile(f"t{i}", load=640, compute=100) for i in range(2)]
    assert run(tiles, prefetch_tiles=2)[0] == 210
    assert run(tiles, prefetch_tiles=1)[0] == 220
