"""Sampled execution (sim/execution/sampled.py): stratified row samples of large fc layers."""
import numpy as np
from hypothesis import given, settings, strategies as st

from sim.execution.execute import execute
from sim.execution.sampled import execute_sampled, stratified_rows
from sim.workload.load import network_from_dict

COUNTERS = ("macs", "effectual_macs", "skipped_zero_weight", "skipped_zero_act", "weight_words_read",
            "index_words_read", "act_reads", "psum_writes", "out_act_nnz")


def _net(rng, n_in, n_out, density, act_density, batch):
    net = network_from_dict({"input_shape": [n_in], "layers": [
        {"name": "fc1", "type": "fc", "out_features": n_out}]}, "m.yaml")
    lay = net.layer("fc1")
    w = rng.normal(size=(n_out, n_in)).astype(np.float32)
    w[rng.random(w.shape) > density] = 0
    lay.weight, lay.bias = w, rng.normal(size=n_out).astype(np.float32)
    x = rng.normal(size=(batch, n_in)).astype(np.float32)
    x[rng.random(x.shape) > act_density] = 0
    return net, x


@settings(max_examples=25, deadline=None)
@given(n_in=st.integers(8, 300), n_out=st.integers(4, 400), density=st.floats(0.05, 1.0),
       act_density=st.floats(0.05, 1.0), batch=st.sampled_from([1, 3, 70]), seed=st.integers(0, 2 ** 31))
def test_fraction_one_equals_full_execution(n_in, n_out, density, act_density, batch, seed):
    net, x = _net(np.random.default_rng(seed), n_in, n_out, density, act_density, batch)
    y_full, full = execute(net, x)
    y_s, samp = execute_sampled(net, x, seed=seed, threshold=0, fraction=1.0)
    np.testing.assert_allclose(y_s, y_full, rtol=1e-4, atol=1e-4)
    a, b = full.layer("fc1"), samp.layer("fc1")
    for c in COUNTERS:
        assert getattr(b, c) == getattr(a, c), c
    np.testing.assert_array_equal(b.out_work, a.out_work)
    assert b.effectual_ci == (b.effectual_macs, b.effectual_macs) and not b.sampled


def test_estimates_converge_and_the_interval_covers():
    rng = np.random.default_rng(7)
    net, x = _net(rng, 256, 2048, 0.3, 0.4, 1)
    # rows of uneven activation overlap: the first half reads only the nonzero half of the input
    w = net.layer("fc1").weight
    x[0, :128] = np.abs(x[0, :128]) + 0.1
    x[0, 128:] = 0
    w[:1024, 128:] = 0
    truth = execute(net, x)[1].layer("fc1").effectual_macs
    errors, covered = {}, 0
    for f in (0.05, 0.2, 0.6):
        errs = []
        for s in range(30):
            lw = execute_sampled(net, x, seed=s, threshold=0, fraction=f)[1].layer("fc1")
            errs.append(abs(lw.effectual_macs - truth) / truth)
            lo, hi = lw.effectual_ci
            covered += f == 0.2 and lo <= truth <= hi
            assert lw.sampled and abs(lw.sample_fraction - f) < 0.05
        errors[f] = float(np.mean(errs))
    assert errors[0.05] > errors[0.2] > errors[0.6]
    assert errors[0.2] < 0.05
    assert covered >= 24  # a 95% interval covers in at least 80% of 30 seeded draws


def test_stratified_rows_cover_every_stratum_and_are_seeded():
    a = stratified_rows(1000, 0.1, 10, np.random.default_rng(3))
    b = stratified_rows(1000, 0.1, 10, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    rows, strata_of = a[0], a[1]
    assert len(set(strata_of.tolist())) == 10 and len(set(rows.tolist())) == rows.size
