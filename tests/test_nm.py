"""N:M pruning, its compressed format, packed narrow weights and sparse-tensor-core mode."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sim
from sim.compression.nm import is_n_of_m, nm_mask, nm_storage_bits
from sim.engine.cost import weight_storage_bits
from sim.errors import ConfigError
from sim.workload.network import Layer, Quant

ROOT = Path(__file__).resolve().parents[1]
STC = ["pe_array.structured_sparsity.n=2", "pe_array.structured_sparsity.m=4"]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), rows=st.integers(1, 5), k=st.integers(1, 19), n=st.integers(1, 3),
       extra=st.integers(1, 4))
def test_nm_mask_keeps_the_largest_n_of_every_group(seed, rows, k, n, extra):
    m = n + extra
    w = np.random.default_rng(seed).normal(size=(rows, k)).astype(np.float32)
    mask = nm_mask(w, n, m)
    assert is_n_of_m(w * mask, n, m)
    for r in range(rows):
        for g in range(0, k, m):
            grp, kept = np.abs(w[r, g:g + m]), mask[r, g:g + m].astype(bool)
            assert kept.sum() == min(n, grp.size)
            if (~kept).any():
                assert grp[kept].min() >= grp[~kept].max()


def test_nm_storage_is_n_slots_and_positions_per_group():
    w = np.ones((3, 10), dtype=np.float32)  # 3 groups of 4 per row (the last padded)
    assert nm_storage_bits(w, 2, 4, 8) == 3 * 3 * 2 * (8 + 2)


def test_recipe_rejects_bad_n_of_m(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text((ROOT / "models" / "lenet300-2of4-recipe.yaml").read_text().replace("n: 2, m: 4", "n: 4, m: 4")
                 .replace("model: lenet300.yaml", f"model: {ROOT / 'models' / 'lenet300.yaml'}"))
    from sim.compression.recipe import load_recipe
    with pytest.raises(ConfigError, match=r"prune.n: must be < m"):
        load_recipe(p)


def test_shipped_2of4_model_is_2of4_on_every_layer():
    net = sim.load_network(ROOT / "models" / "lenet300-2of4.yaml")
    for layer in net.weighted_layers:
        assert is_n_of_m(layer.weight, 2, 4)
    assert net.weight_nnz == net.weight_count // 2


@pytest.fixture(scope="module")
def runs():
    out = {}
    for m in ("lenet300", "lenet300-2of4"):
        ex = sim.prepare(sim.load_network(ROOT / "models" / f"{m}.yaml"), batch=16)
        for mode, sets in (("dense", []), ("stc", STC)):
            hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rows=32", "pe_array.cols=32"] + sets)
            out[(m, mode)] = sim.cost(hw, ex, engine="analytical")
    return out


def test_2of4_is_faster_only_on_sparse_tensor_cores(runs):
    compute = {k: int(r.layers["compute_cycles"].sum()) for k, r in runs.items()}
    assert compute[("lenet300", "stc")] == compute[("lenet300", "dense")]  # dense model: no N:M, no gain
    assert compute[("lenet300-2of4", "dense")] == compute[("lenet300", "dense")]  # dense array cannot skip
    assert compute[("lenet300-2of4", "stc")] == pytest.approx(compute[("lenet300-2of4", "dense")] / 2, rel=0.01)
    s = {k: int(r.summary["weight_storage_bytes"][0]) for k, r in runs.items()}
    assert s[("lenet300-2of4", "stc")] == 50200 // 4 * 2 * 10 // 8  # 2 slots x (8 + 2 bits) per group of 4


def test_int4_weights_pack_on_an_int8_array(rng):
    q = rng.integers(-7, 8, size=(16, 32)).astype(np.int8)
    layer = Layer("l", "fc", (32,), (16,), weight=(q * 0.1).astype(np.float32),
                  quant=Quant("linear", 4, scale=np.array(0.1, dtype=np.float32), qvalues=q))
    hw = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml")
    dense = layer.replace(quant=None)
    assert weight_storage_bits(layer, hw) * 2 == weight_storage_bits(dense, hw)
    from sim.engine.precision import mac_slots
    assert mac_slots(layer, hw, 1000) == 1000  # MACs at the datapath width ...
    hw2 = sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.subword_parallelism=2"])
    assert mac_slots(layer, hw2, 1000) == 500  # ... unless the design declares sub-word parallelism
    assert mac_slots(dense, hw2, 1000) == 1000


def test_structured_sparsity_fields_are_checked():
    with pytest.raises(ConfigError, match="structured_sparsity.n: must be < m"):
        sim.load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.structured_sparsity.n=4",
                                                                 "pe_array.structured_sparsity.m=4"])
