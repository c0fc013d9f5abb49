"""The mapper: exact byte splits, DRAM reuse across tiles, EIE per-PE work and activation queues."""
import numpy as np
import pytest

from sim.engine.pe import eie_column_work, queue_finish_cycles
from sim.engine.tiling import layer_io, map_layer, split
from sim.hardware import load_hardware
from sim.run import prepare
from sim.workload.load import network_from_dict


@pytest.mark.parametrize("total, weights", [(10, [1, 1, 1]), (7, [0, 5, 2]), (0, [1, 2]), (1001, [3] * 13)])
def test_split_is_exact_and_proportional(total, weights):
    parts = split(total, weights)
    assert parts.sum() == total
    assert np.all(np.abs(parts - total * np.array(weights) / sum(weights)) <= 1)


@pytest.mark.parametrize("kernel", [eie_column_work, eie_column_work.py_func])
def test_eie_padding_zero_from_the_paper(kernel):
    # published.md §2.2: column [0,0,1,2,0 x 18,3] -> v = [1,2,0,3]: 3 nonzeros + 1 padding zero.
    col = np.array([0, 0, 1, 2] + [0] * 18 + [3], dtype=np.float32).reshape(-1, 1)
    out, fill = np.zeros((1, 1), dtype=np.int64), np.zeros(1, dtype=np.int64)
    kernel(col, 1, 16, np.array([0], dtype=np.int64), out, fill)
    assert out[0, 0] == 4 and fill[0] == 1


def test_eie_rows_are_interleaved_over_pes():
    w = np.zeros((6, 2), dtype=np.float32)
    w[[0, 2, 4], 0] = 1  # rows 0, 2, 4 -> PE 0 of 2
    w[[1, 3], 1] = 1  # rows 1, 3 -> PE 1
    out, fill = np.zeros((2, 2), dtype=np.int64), np.zeros(2, dtype=np.int64)
    eie_column_work(w, 2, 16, np.array([0, 1], dtype=np.int64), out, fill)
    assert out.tolist() == [[3, 0], [0, 2]]


@pytest.mark.parametrize("kernel", [queue_finish_cycles, queue_finish_cycles.py_func])
@pytest.mark.parametrize("depth, finish", [(0, [4, 5]), (1, [3, 4]), (8, [3, 3])])
def test_activation_queue_by_hand(kernel, depth, finish):
    # PE 0 has 3 cycles on column 0; PE 1 has 1 cycle on columns 1 and 2. Lockstep (depth 0) pays
    # the slowest PE per column; a 1-deep FIFO lets PE 1 start column 1 early but column 2 waits
    # until PE 0 starts column 1 (cycle 3); depth 8 absorbs the imbalance.
    work = np.array([[3, 0, 0], [0, 1, 1]], dtype=np.int64)
    out = np.zeros(2, dtype=np.int64)
    kernel(work, depth, out)
    assert out.tolist() == finish


def test_detector_broadcasts_one_column_per_cycle():
    out = np.zeros(2, dtype=np.int64)
    assert queue_finish_cycles(np.zeros((2, 5), dtype=np.int64), 8, out) == 5


def _fc(out_f, in_f, density, act_density=1.0, batch=1):
    spec = {"version": 1, "name": "one-fc", "input_shape": [in_f], "input_density": act_density, "seed": 2,
            "layers": [{"name": "fc", "type": "fc", "out_features": out_f, "weight_density": density, "bias": False}]}
    net = network_from_dict(spec, "one-fc.yaml")
    ex = prepare(net, batch=batch, seed=0, executor="reference")
    return net.layers[0], ex.profile.layers[0]


def _schedule(hw, layer, lw, on_chip=False):
    return map_layer(layer, lw, hw, layer_io(layer, lw, hw, True, True, on_chip), fused=False)


def _loaded(sched, buf):
    return sum(n for t in sched.tiles for b, n in t.loads if b == buf)


def test_systolic_weights_fetched_once_when_they_fit(root):
    layer, lw = _fc(512, 1024, 1.0, batch=2)
    hw = load_hardware(root / "hwconfigs" / "systolic.yaml", {"pe_array.rows": 64, "pe_array.cols": 64})
    sched = _schedule(hw, layer, lw)
    assert _loaded(sched, "weight_fifo") == 512 * 1024  # int8, each weight once
    assert _loaded(sched, "unified_buffer") == 2 * 1024
    assert sum(n for t in sched.tiles for _, n in t.stores) == 2 * 512


def test_systolic_inputs_refetched_when_they_do_not_stay(root):
    # 16 KiB unified buffer < 2 x 20000 B of inputs: each of the 8 column folds reads them again.
    layer, lw = _fc(512, 20000, 1.0, batch=2)
    hw = load_hardware(root / "hwconfigs" / "systolic.yaml",
                       {"pe_array.rows": 64, "pe_array.cols": 64, "memory.buffers.unified_buffer.size_kb": 16})
    sched = _schedule(hw, layer, lw)
    assert _loaded(sched, "unified_buffer") == 8 * 2 * 20000


def test_eie_real_per_pe_totals_and_resident_weights(root):
    layer, lw = _fc(256, 512, 0.2, act_density=0.5)
    hw = load_hardware(root / "hwconfigs" / "eie.yaml")
    sched = _schedule(hw, layer, lw, on_chip=True)
    assert _loaded(sched, "spmat_sram") == 0  # resident weights: no DRAM
    macs = sum(t.counts[("pe_array", "mac")] for t in sched.tiles)
    padding = macs - lw.effectual_macs
    assert 0 <= padding < 0.2 * lw.effectual_macs  # 20% density: gaps of 16+ local rows are rare
    slowest = max(t.compute_cycles for t in sched.tiles)
    per_pe = lw.out_work.reshape(-1, 64).sum(axis=0)
    assert slowest >= per_pe.max()


@pytest.mark.parametrize("batch", [1, 3])
def test_eie_walks_the_real_activation_columns(root, batch):
    """With the executor's nonzero positions, each PE's entries are exactly its effectual MACs plus
    its relative-index padding, computed by brute force from the weight columns that fire."""
    layer, lw = _fc(128, 300, 0.1, act_density=0.4, batch=batch)
    assert len(lw.in_nz_cols) == batch
    hw = load_hardware(root / "hwconfigs" / "eie.yaml")
    sched = _schedule(hw, layer, lw, on_chip=True)
    w = layer.weight
    expect = 0
    for cols in lw.in_nz_cols:
        for p in range(64):
            for c in cols:
                rows = np.flatnonzero(w[p::64, c])  # local rows of PE p in column c
                gaps = np.diff(np.r_[-1, rows]) - 1
                expect += rows.size + int(np.sum(gaps // 16))
    assert sum(t.counts[("pe_array", "mac")] for t in sched.tiles) == expect
