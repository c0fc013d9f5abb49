"""Packed synthetic weights (``load_network(packed=True)``): the same weights as the dense load,
the same outputs and counters from every executor, dense again where a design reads values, and
a YAML model whose mode does not fit stops before any weight is drawn."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.execution.execute import execute
from sim.execution.sampled import execute_sampled
from sim.run import cost, prepare
from sim.workload import load as L
from sim.workload import synthetic as S

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"version": 1, "name": "packed", "input_shape": [3, 10, 10], "seed": 4,
         "layers": [{"name": "c1", "type": "conv2d", "out_channels": 40, "kernel_size": 3, "padding": 1,
                     "weight_density": 0.3},
                    {"name": "r1", "type": "relu"}, {"name": "f", "type": "flatten"},
                    {"name": "fc1", "type": "fc", "out_features": 300, "weight_density": 0.05},
                    {"name": "r2", "type": "relu"},
                    {"name": "fc2", "type": "fc", "out_features": 10, "weight_density": 0.5}]}


@pytest.fixture
def nets(monkeypatch):
    monkeypatch.setattr(L, "COMPRESSED_ABOVE_ELEMENTS", 1000)  # every weighted layer is packed (c1 has 1080 weights)
    monkeypatch.setattr(S, "COMPRESSED_ABOVE_ELEMENTS", 1000)
    dense = L.network_from_dict(MODEL, "packed.yaml")
    packed = L.network_from_dict(MODEL, "packed.yaml", packed=True)
    return dense, packed


def test_packed_weights_are_the_dense_loads(nets):
    dense, packed = nets
    assert [lay.name for lay in packed.layers if "packed" in lay.attrs] == ["c1", "fc1", "fc2"]
    for a, b in zip(dense.layers, packed.layers):
        if a.weight is None:
            continue
        np.testing.assert_array_equal(S.dense_weight(b), a.weight)
        np.testing.assert_array_equal(b.bias, a.bias)
        assert b.weight_nnz == a.weight_nnz
    assert packed.layer("fc1").weight.strides == (0, 0)  # no dense tensor behind the packed layer


@pytest.mark.parametrize("batch", [1, 3])
def test_executors_give_the_same_results_on_packed_weights(nets, batch):
    dense, packed = nets
    x = np.random.default_rng(1).random((batch, 3, 10, 10), dtype=np.float32)
    (ya, pa), (yb, pb) = execute(dense, x), execute(packed, x)
    np.testing.assert_array_equal(ya, yb)
    for wa, wb in zip(pa.layers, pb.layers):
        assert (wa.macs, wa.effectual_macs, wa.weight_nnz, wa.weight_words_read, wa.index_words_read, wa.act_reads,
                wa.psum_writes) == (wb.macs, wb.effectual_macs, wb.weight_nnz, wb.weight_words_read,
                                    wb.index_words_read, wb.act_reads, wb.psum_writes), wa.name
        np.testing.assert_array_equal(wa.out_work, wb.out_work)
    (ya, pa), (yb, pb) = execute_sampled(dense, x, threshold=1000), execute_sampled(packed, x, threshold=1000)
    np.testing.assert_allclose(ya, yb, rtol=1e-4, atol=1e-5)  # BLAS vs sparse product of the unsampled rows
    for wa, wb in zip(pa.layers, pb.layers):
        assert (wa.effectual_macs, wa.weight_nnz, wa.psum_writes, wa.sampled) == \
            (wb.effectual_macs, wb.weight_nnz, wb.psum_writes, wb.sampled), wa.name


def test_packed_layers_become_dense_where_values_are_read(nets):
    dense, packed = nets
    ex = prepare(packed, batch=1, execute="sampled")
    cost(ROOT / "hwconfigs" / "systolic.yaml", ex)  # a dense systolic array reads no weight values
    assert "packed" in ex.net.layer("fc1").attrs
    cost(ROOT / "hwconfigs" / "eie.yaml", ex)  # EIE stores the nonzeros: the weights are made dense
    assert "packed" not in ex.net.layer("fc1").attrs
    np.testing.assert_array_equal(ex.net.layer("fc1").weight, dense.layer("fc1").weight)
    full = prepare(L.network_from_dict(MODEL, "packed.yaml", packed=True), batch=1, execute="full")
    assert not any("packed" in lay.attrs for lay in full.net.layers)  # the float reference reads dense weights


def test_yaml_model_that_does_not_fit_stops_before_drawing_weights(tmp_path):
    model = tmp_path / "big.yaml"
    model.write_text(yaml.safe_dump(dict(MODEL, layers=[{"name": "f", "type": "flatten"},
                                                        {"name": "fc", "type": "fc", "out_features": 500_000}])))
    env = {"SIM_MEMORY_LIMIT_MB": "1000", "PYTHONPATH": ":".join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "hwconfigs/systolic.yaml", "--model", str(model),
                           "--execute", "full", "-q", "-o", str(tmp_path / "out")], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "--execute shapes would fit" in proc.stderr and "Traceback" not in proc.stderr


def test_shapes_run_draws_weights_only_for_designs_that_read_them(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(MODEL))
    ex = prepare(str(path), batch=1, execute="shapes")
    assert ex.net.layer("fc1").weight.strides == (0, 0)
    cost(ROOT / "hwconfigs" / "systolic.yaml", ex)
    assert ex.net.layer("fc1").weight.strides == (0, 0)
    eie = cost(ROOT / "hwconfigs" / "eie.yaml", ex)  # EIE's storage counts the real zeros
    np.testing.assert_array_equal(ex.net.layer("fc1").weight, L.load_network(path, seed=0).layer("fc1").weight)
    drawn = prepare(L.load_network(path, seed=0), batch=1, execute="shapes")
    assert eie.run.weight_storage_bits == cost(ROOT / "hwconfigs" / "eie.yaml", drawn).run.weight_storage_bits


def test_inverse_normal_matches_scipy():
    from scipy.special import ndtri

    from sim.kernels.normal import inverse_normal
    p = np.concatenate([np.random.default_rng(0).random(20_000), np.logspace(-300, -0.31, 2000), [0.075, 0.5, 0.925]])
    np.testing.assert_allclose(inverse_normal(p), ndtri(p), rtol=1e-13, atol=1e-15)
    assert inverse_normal(np.array([0.025]))[0] == pytest.approx(-1.959963984540054, rel=1e-15)
