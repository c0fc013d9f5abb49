"""Compressed-form synthetic weights: exact nonzero counts, uniform positions, the value
distribution of magnitude pruning, N:M per group, and the shipped (small-layer) generator unchanged."""
import numpy as np
import pytest

from sim.workload import synthetic as S


@pytest.mark.parametrize("density", [0.0, 0.013, 0.5, 1.0])
def test_compressed_weight_has_exact_count_and_no_zero_values(density):
    idx, values = S.compressed_weight((37, 301), density, np.random.default_rng(3))
    assert len(idx) == len(values) == round(density * 37 * 301)
    assert np.all(np.diff(idx) > 0) and np.all(values != 0)


def test_positions_are_uniform_across_chunks(monkeypatch):
    monkeypatch.setattr(S, "_CHUNK", 1000)
    idx = S.sample_positions(100_000, 20_000, np.random.default_rng(0))
    per_decile = np.bincount(idx // 10_000, minlength=10)
    assert len(np.unique(idx)) == 20_000
    assert np.all(np.abs(per_decile - 2000) < 5 * np.sqrt(2000))


def test_values_follow_magnitude_pruned_he_normal(monkeypatch):
    shape, density = (64, 2000), 0.1
    old = S.synthetic_weight(shape, density, np.random.default_rng(1))
    monkeypatch.setattr(S, "COMPRESSED_ABOVE_ELEMENTS", 0)
    new = S.synthetic_weight(shape, density, np.random.default_rng(1))
    a, b = np.abs(old[old != 0]), np.abs(new[new != 0])
    assert len(a) == len(b)
    assert b.mean() == pytest.approx(a.mean(), rel=0.02)
    assert b.min() == pytest.approx(a.min(), rel=0.02)  # the pruning threshold


def test_small_layers_keep_the_dense_generator():
    rng = np.random.default_rng([0, 0])
    w = S.synthetic_weight((10, 20), 0.5, rng)
    ref_rng = np.random.default_rng([0, 0])
    ref = ref_rng.standard_normal((10, 20), dtype=np.float32) * np.float32(np.sqrt(2.0 / 20))
    kept = np.argsort(-np.abs(ref.ravel()))[:100]
    assert set(np.flatnonzero(w)) == set(kept)


@pytest.mark.parametrize("n,m,fan", [(2, 4, 13), (1, 8, 64), (4, 4, 7)])
def test_nm_weight_has_n_per_group(n, m, fan):
    idx, values = S.compressed_nm_weight((9, fan), n, m, np.random.default_rng(5))
    mask = np.zeros((9, -(-fan // m) * m), dtype=int)
    mask[:, :fan] = S.dense_from((9, fan), idx, values) != 0
    per_group = mask.reshape(9, -1, m).sum(axis=2)
    full = np.minimum(n, np.diff(np.r_[np.arange(0, fan, m), fan]))
    np.testing.assert_array_equal(per_group, np.broadcast_to(full, per_group.shape))
