"""Systolic compute cycles match SCALE-Sim v2's model (scalesim/compute/systolic_compute_*.py).

Hand values: AlexNet conv1 (227x227x3 input, 96 filters of 11x11, stride 4: Npix = 55 x 55 = 3025,
K = 363, M = 96) on a 32 x 32 array. SCALE-Sim's golden test (test/golden_trace/COMPUTE_REPORT.csv,
WS) prints 112283 "Total Cycles": the 0-based index of the last cycle, i.e. 112284 cycles.
"""

import pytest

from sim.engine.dataflows.systolic import fill_drain_cycles, fold_counts, scalesim_compute_cycles
from sim.engine.tiling import layer_io, map_layer
from sim.hardware import load_hardware
from sim.run import prepare
from sim.workload.load import network_from_dict

CONV1 = dict(n_pix=3025, k=363, m=96)


@pytest.mark.parametrize("dataflow, folds, per_fold, total", [
    ("ws", 12 * 3, 2 * 32 + 32 + 3025 - 2, 112284),  # SCALE-Sim golden: 112283 + 1
    ("os", 95 * 3, 32 + 32 + 363 - 2, 121125),       # Sr = Npix (95 row folds), T = K
    ("is", 12 * 95, 2 * 32 + 32 + 96 - 2, 216600),   # Sr = K, Sc = Npix, T = M
])
def test_scalesim_formula_by_hand(dataflow, folds, per_fold, total):
    rf, cf, t = fold_counts(dataflow, 32, 32, **CONV1)
    assert rf * cf == folds
    assert t + fill_drain_cycles(dataflow, 32, 32) == per_fold
    assert folds * per_fold == total
    assert scalesim_compute_cycles(dataflow, 32, 32, **CONV1) == total


def test_fc_layer_is_a_gemm_with_batch_pixels():
    # fc 1000 -> 500, batch 4 on 128 x 64 WS: K = 1000 (8 row folds), M = 500 (8 col folds), T = 4.
    assert scalesim_compute_cycles("ws", 128, 64, n_pix=4, k=1000, m=500) == 64 * (256 + 64 + 4 - 2)


@pytest.fixture(scope="module")
def conv1():
    spec = {"version": 1, "name": "alex-conv1", "input_shape": [3, 227, 227], "seed": 1,
            "layers": [{"name": "conv1", "type": "conv2d", "out_channels": 96, "kernel_size": 11, "stride": 4,
                        "bias": False}]}
    net = network_from_dict(spec, "alex-conv1.yaml")
    return net, prepare(net, batch=1, seed=0, executor="reference")


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_event_model_compute_matches_scalesim(root, conv1, dataflow):
    net, ex = conv1
    hw = load_hardware(root / "hwconfigs" / "systolic.yaml",
                       {"pe_array.rows": 32, "pe_array.cols": 32, "pe_array.dataflow": dataflow})
    layer, lw = net.layers[0], ex.profile.layers[0]
    sched = map_layer(layer, lw, hw, layer_io(layer, lw, hw, True, True, False), fused=False)
    assert sum(t.compute_cycles for t in sched.tiles) == scalesim_compute_cycles(dataflow, 32, 32, **CONV1)
    assert sum(t.counts[("pe_array", "mac")] for t in sched.tiles) == 3025 * 363 * 96


def test_chunking_when_partial_sums_overflow_the_accumulators(root, conv1):
    # 3025 x 32 partial sums x 4 B = 387 KB: with a 256 KiB accumulator buffer (128 KiB per half)
    # T is cut in 3 chunks, and each chunk repeats the 36 folds with their fill and drain.
    net, ex = conv1
    hw = load_hardware(root / "hwconfigs" / "systolic.yaml",
                       {"pe_array.rows": 32, "pe_array.cols": 32, "memory.buffers.accumulators.size_kb": 256})
    layer, lw = net.layers[0], ex.profile.layers[0]
    sched = map_layer(layer, lw, hw, layer_io(layer, lw, hw, True, True, False), fused=False)
    assert len(sched.tiles) == 3 * 36
    assert sum(t.compute_cycles for t in sched.tiles) == 3 * 36 * (2 * 32 + 32 - 2) + 12 * 3 * 3025
