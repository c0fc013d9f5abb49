"""The N:M sparse systolic kind (hwconfigs/sparse_systolic.yaml) against SCALE-Sim v3.

Peer numbers (literals below) were measured with SCALE-Sim v3.0.0 from PyPI (`pip install scalesim
'numpy<2.4'` in a separate venv; never a dependency of sim) on tests/data/scalesim_sparse_{a,b}.csv,
config = configs/sparsity.cfg with ArrayHeight/ArrayWidth 8x8 or 16x16, Dataflow ws,
SparsitySupport true, SparseRep ellpack_block, OptimizedMapping false (layer-wise N:M from the
topology's Sparsity column):

    python -m scalesim.scale -c sp_8x8.cfg -t scalesim_sparse_a.csv -l layout.csv -s N -p out

"Total Cycles" of COMPUTE_REPORT.csv is SCALE-Sim's 0-based index of the last cycle (stall-free
compute, one less than the cycle count); the storage columns are SPARSE_REPORT.csv's, in words.
"""
import pytest

import sim
from sim.engine.dataflows.sparse_systolic import compressed_rows, nm_ratio, sparse_report, NMSparsitySpec
from sim.errors import ConfigError
from sim.workload.topology import load_topology, nm_prune

# topology -> array -> SCALE-Sim v3 "Total Cycles" per layer
SCALESIM_TOTAL_CYCLES = {
    "a": {(8, 8): [2779, 3269, 653], (16, 16): [905, 1451, 483]},
    "b": {(8, 8): [2059, 1739, 1609], (16, 16): [634, 737, 939]},
}
# topology -> SPARSE_REPORT (Original Filter Storage, New Storage (Filter+Metadata), Filter Metadata Storage)
SCALESIM_SPARSE_REPORT = {
    "a": [(1152, 612.0, 36.0), (3456, 918.0, 54.0), (480, 131.25, 11.25)],
    "b": [(1800, 928.125, 28.125), (4320, 1837.5, 157.5), (15000, 3984.375, 234.375)],
}


def _run(root, topo, rows, cols):
    hw = sim.load_hardware(root / "hwconfigs" / "sparse_systolic.yaml", {"pe_array.rows": rows, "pe_array.cols": cols})
    net = load_topology(root / "tests" / "data" / f"scalesim_sparse_{topo}.csv")
    return hw, net, sim.run(hw, net)


@pytest.mark.parametrize("topo", ["a", "b"])
@pytest.mark.parametrize("array", [(8, 8), (16, 16)])
def test_compute_cycles_equal_scalesim_v3(root, topo, array):
    hw, net, r = _run(root, topo, *array)
    assert list(r.layers["compute_cycles"]) == [c + 1 for c in SCALESIM_TOTAL_CYCLES[topo][array]]
    assert (r.layers["cycles"] >= r.layers["bound_cycles"]).all()
    # energy conserved: the layers' energy adds up to the energy rows and to the summary
    assert r.layers["energy_pj"].sum() == pytest.approx(r.energy["energy_pj"].sum())
    assert r.summary["energy_pj"].iloc[0] == pytest.approx(r.energy["energy_pj"].sum())


@pytest.mark.parametrize("topo", ["a", "b"])
def test_filter_storage_and_metadata_equal_sparse_report(root, topo):
    hw = sim.load_hardware(root / "hwconfigs" / "sparse_systolic.yaml")
    net = load_topology(root / "tests" / "data" / f"scalesim_sparse_{topo}.csv")
    got = [sparse_report(layer, hw) for layer in net.layers]
    want = SCALESIM_SPARSE_REPORT[topo]
    assert [(g["original_filter_words"], g["new_storage_words"], g["metadata_words"]) for g in got] == want
    # sim's own storage: the same weights at 8 bits and the same metadata bits
    bits = sum(sim_bits for sim_bits in (
        (g["new_storage_words"] - g["metadata_words"]) * 8 + g["metadata_words"] * 32 for g in got))
    r = sim.run(hw, net)
    assert r.summary["weight_storage_bytes"].iloc[0] == -(-int(bits) // 8)


def test_hand_computed_fold_cycles(root, tmp_path):
    # One 2:4 layer: 6x6 ifmap, 3x3 filters, 4 channels, 6 filters: Npix = 16, K = 36 -> K' = 18.
    # On a 4 x 4 WS array: ceil(18/4) = 5 row folds x ceil(6/4) = 2 column folds, each
    # 2R + C + T - 2 = 8 + 4 + 16 - 2 = 26 cycles: 260 compute cycles (the dense array: 9 x 2 x 26 = 468).
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides, Sparsity,\nc1, 6, 6, 3, 3, 4, 6, 1, 2:4,\n")
    hw = sim.load_hardware(root / "hwconfigs" / "sparse_systolic.yaml", {"pe_array.rows": 4, "pe_array.cols": 4})
    r = sim.run(hw, load_topology(topo))
    assert r.layers["compute_cycles"].tolist() == [260]
    dense = sim.run(sim.load_hardware(root / "hwconfigs" / "systolic.yaml",
                                      {"pe_array.rows": 4, "pe_array.cols": 4}), load_topology(topo))
    assert dense.layers["compute_cycles"].tolist() == [468]
    # MAC slots: the compressed GEMM, 16 x 18 x 6
    assert r.energy.query("component == 'pe_array' and action == 'mac'")["count"].sum() == 16 * 18 * 6


def test_compressed_rows_and_partial_blocks():
    assert compressed_rows(72, 2, 4) == 36
    assert compressed_rows(108, 3, 8) == 13 * 3 + 3  # last block of 4 keeps 3
    assert compressed_rows(10, 3, 8) == 3 + 2  # last block of 2 keeps both
    assert compressed_rows(5, 1, 1) == 5


def test_ratio_read_from_real_weights_when_unstated(root, tmp_path):
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides,\nc1, 6, 6, 3, 3, 4, 6, 1,\n")
    layer = load_topology(topo).layers[0]
    assert layer.sparsity is None
    assert nm_ratio(layer, NMSparsitySpec(block_size=4)) == (4, 4)  # dense weights: 4 of every 4
    pruned = layer.replace(weight=nm_prune(layer.weight, 1, 4))
    assert nm_ratio(pruned, NMSparsitySpec(block_size=4)) == (1, 4)


def test_sparsity_column_is_checked(tmp_path):
    topo = tmp_path / "t.csv"
    topo.write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
                    "Strides, Sparsity,\nc1, 6, 6, 3, 3, 4, 6, 1, 5:4,\n")
    with pytest.raises(ConfigError, match=r"column 'Sparsity': must be N:M with 1 <= N <= M"):
        load_topology(topo)


def test_block_size_must_fit_the_rows(root):
    with pytest.raises(ConfigError, match=r"sparsity\.block_size: must be <= pe_array\.rows \(4\); got 8"):
        sim.load_hardware(root / "hwconfigs" / "sparse_systolic.yaml",
                          {"pe_array.rows": 4, "sparsity.block_size": 8})


def test_cli_reads_the_sparsity_column(root, tmp_path):
    import subprocess
    import sys
    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "sim", "run", str(root / "hwconfigs" / "sparse_systolic.yaml"),
                        "--model", str(root / "tests" / "data" / "scalesim_sparse_a.csv"), "--set", "pe_array.rows=16",
                        "--set", "pe_array.cols=16", "--out", str(out), "-q"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    import pandas as pd
    layers = pd.read_csv(out / "layers.csv")
    assert list(layers["compute_cycles"]) == [c + 1 for c in SCALESIM_TOTAL_CYCLES["a"][(16, 16)]]
