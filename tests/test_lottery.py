import numpy as np
import pandas as pd
import pytest

from sim.compression.lottery import LotteryConfig, random_mask_control, reinit_control, run_lottery, summarize
from sim.compression.pipeline import SplitData
from sim.compression.train import TrainConfig, init_weights, layer_weights
from sim.errors import ConfigError
from sim.workload.data import load_dataset
from sim.workload.load import network_from_dict

MLP = {"input_shape": [64], "dataset": "digits", "layers": [
    {"name": "fc1", "type": "fc", "out_features": 24}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 10}]}


CFG = TrainConfig(epochs=1, lr=1e-2, eval_every=5, target_val_loss=1.0)


@pytest.fixture(scope="module")
def experiment():
    arch = network_from_dict(MLP, "m.yaml")
    data = SplitData(arch, load_dataset("digits"))
    lcfg = LotteryConfig(rounds=2, rate=0.5, output_rate_factor=0.5, seeds=(0, 1))
    runs = []
    rows, tickets = run_lottery(arch, data.train, data.test, CFG, lcfg, observe=lambda *run: runs.append(run))
    return arch, rows, tickets, runs


def test_rows_cover_rounds_variants_and_seeds(experiment):
    _, rows, _, _ = experiment
    assert list(rows.columns) == ["round", "weights_remaining_fraction", "variant", "seed", "accuracy",
                                  "early_stop_iteration", "target_iteration", "val_accuracy"]
    assert len(rows) == 2 * (1 + 2 * 3)
    assert set(rows["variant"]) == {"ticket", "reinit", "random_mask"}
    assert rows["early_stop_iteration"].between(0, 21).all() and rows["accuracy"].between(0, 1).all()
    reached = rows["target_iteration"].dropna()
    assert len(reached) > 0 and reached.between(0, 21).all()


def test_controls_share_the_ticket_density_each_round(experiment):
    _, rows, _, _ = experiment
    for _, group in rows[rows["round"] > 0].groupby(["round", "seed"]):
        assert group["weights_remaining_fraction"].nunique() == 1
    fc1, fc2 = 64 * 24, 24 * 10
    expect = {1: (fc1 * 0.5 + fc2 * 0.75) / (fc1 + fc2), 2: (fc1 * 0.25 + round(fc2 * 0.75 * 0.75)) / (fc1 + fc2)}
    for rnd, frac in expect.items():
        got = rows[(rows["round"] == rnd)]["weights_remaining_fraction"].iloc[0]
        assert got == pytest.approx(frac, abs=1e-3)


def test_tickets_are_rewound_masked_and_retrained(experiment):
    arch, rows, tickets, _ = experiment
    theta0 = init_weights(arch, 0)
    dense, round1, round2 = tickets[0]
    kept1 = round1.layer("fc1").weight != 0
    assert kept1.mean() == pytest.approx(0.5, abs=1e-3)
    kept2 = round2.layer("fc1").weight != 0
    assert np.all(kept2 <= kept1)  # masks only shrink
    # Round 2's mask is the largest-magnitude half of round 1's trained weights.
    w1 = np.abs(round1.layer("fc1").weight)
    assert w1[kept1 & ~kept2].max() <= w1[kept2].min()
    # Retraining moved the rewound weights away from theta_0 (but kept zeros at pruned positions).
    assert not np.allclose(round1.layer("fc1").weight[kept1], theta0.layer("fc1").weight[kept1])


def test_lottery_is_reproducible(experiment):
    arch, rows, _, _ = experiment
    data = SplitData(arch, load_dataset("digits"))
    again, _ = run_lottery(arch, data.train, data.test, CFG,
                           LotteryConfig(rounds=2, rate=0.5, output_rate_factor=0.5, seeds=(0, 1)))
    pd.testing.assert_frame_equal(rows, again)


def _kept(net):
    return {lay.name: (lay.weight != 0).astype(np.float32) for lay in net.weighted_layers}


def test_reinit_control_is_a_fresh_draw_of_the_tickets_initializer_on_the_same_mask(experiment):
    arch, _, _, runs = experiment
    theta0 = init_weights(arch, 0)
    by = {(seed, rnd, variant): (start, masks) for seed, rnd, variant, start, masks, _ in runs}
    for seed, rnd in [(0, 1), (0, 2), (1, 2)]:
        ticket_start, ticket_masks = by[(seed, rnd, "ticket")]
        start, masks = by[(seed, rnd, "reinit")]
        for name in ticket_masks:
            np.testing.assert_array_equal(masks[name], ticket_masks[name])  # the ticket's very mask
            np.testing.assert_array_equal(_kept(start)[name], ticket_masks[name])
    # The draw is init_weights (He normal, zero bias: the ticket's initializer) with its own seed.
    ticket_masks = by[(0, 2, "ticket")][1]
    start = reinit_control(arch, ticket_masks, seed=123)
    fresh = init_weights(arch, 123)
    for lay in start.weighted_layers:
        kept = ticket_masks[lay.name] != 0
        np.testing.assert_array_equal(lay.weight[kept], fresh.layer(lay.name).weight[kept])
        assert np.all(lay.weight[~kept] == 0) and np.all(lay.bias == 0)
        assert not np.allclose(lay.weight[kept], theta0.layer(lay.name).weight[kept])
        full = fresh.layer(lay.name).weight
        he_std = np.sqrt(2.0 / full.shape[1])
        assert full.std() == pytest.approx(he_std, rel=0.1)
        assert full.std() == pytest.approx(theta0.layer(lay.name).weight.std(), rel=0.1)


def test_random_mask_control_keeps_per_layer_counts_on_the_rewound_weights(experiment, rng):
    arch, _, _, runs = experiment
    theta0 = layer_weights(init_weights(arch, 0))
    by = {(seed, rnd, variant): (start, masks) for seed, rnd, variant, start, masks, _ in runs}
    for seed, rnd in [(0, 1), (0, 2), (1, 1), (1, 2)]:
        _, ticket_masks = by[(seed, rnd, "ticket")]
        start, masks = by[(seed, rnd, "random_mask")]
        for name, tm in ticket_masks.items():
            assert masks[name].sum() == tm.sum()  # same density in every layer, not just overall
            np.testing.assert_array_equal(_kept(start)[name], masks[name])
        assert any(not np.array_equal(masks[n], ticket_masks[n]) for n in masks if ticket_masks[n].mean() < 1)
    start, masks = random_mask_control(arch, theta0, by[(0, 2, "ticket")][1], rng)
    for lay in start.weighted_layers:
        kept = masks[lay.name] != 0
        np.testing.assert_array_equal(lay.weight[kept], theta0[lay.name][0][kept])  # rewound values kept


def test_late_rewinding_trains_only_the_remaining_iterations(experiment):
    arch, _, tickets, _ = experiment
    data = SplitData(arch, load_dataset("digits"))
    runs = []
    cfg = TrainConfig(epochs=2, lr=1e-2, eval_every=5, target_val_loss=0.5)
    late, late_tickets = run_lottery(arch, data.train, data.test, cfg,
                                     LotteryConfig(rounds=1, rate=0.5, output_rate_factor=0.5, seeds=(0,),
                                                   rewind_iteration=7), observe=lambda *run: runs.append(run))
    assert list(late["variant"]) == ["ticket", "ticket", "reinit", "random_mask"]
    dense, ticket, reinit, random_mask = (run[5] for run in runs)
    # 2 epochs x 21 mini-batches = 42; the rewound runs resume at 7 and train the other 35.
    assert dense.iterations == 42 and reinit.iterations == 42
    assert ticket.iterations == 35 and random_mask.iterations == 35
    assert ticket.history[0][0] == 7 and ticket.history[-1][0] == 42
    assert late["early_stop_iteration"].between(0, 42).all()
    assert ticket.best_iteration >= 7 and random_mask.best_iteration >= 7
    # The ticket starts from the dense run's weights at iteration 7 (not theta_0), masked.
    theta0 = init_weights(arch, 0)
    start = runs[1][3]
    kept = start.layer("fc1").weight != 0
    assert not np.allclose(start.layer("fc1").weight[kept], theta0.layer("fc1").weight[kept])
    np.testing.assert_array_equal(late_tickets[0][0].layer("fc1").weight,
                                  run_lottery(arch, data.train, data.test, cfg,
                                              LotteryConfig(rounds=1, seeds=(0,), controls=()))[1][0][0]
                                  .layer("fc1").weight)  # the dense run does not depend on k
    with pytest.raises(ConfigError, match="lottery.rewind_iteration: must be below the training budget of 42"):
        run_lottery(arch, data.train, data.test, cfg, LotteryConfig(rounds=1, seeds=(0,), rewind_iteration=42),
                    source="r.yaml")


def test_summary_mean_and_std_by_hand():
    rows = pd.DataFrame({"round": [1, 1, 1, 1], "weights_remaining_fraction": [0.5] * 4,
                         "variant": ["ticket", "ticket", "reinit", "reinit"], "seed": [0, 1, 0, 1],
                         "accuracy": [0.9, 0.8, 0.7, 0.7], "early_stop_iteration": [10, 30, 20, 20],
                         "target_iteration": pd.array([5, 9, None, 12], dtype="Int64"), "val_accuracy": [0.0] * 4})
    s = summarize(rows)
    assert list(s["variant"]) == ["ticket", "reinit"]
    t = s.iloc[0]
    assert t["accuracy_mean"] == pytest.approx(0.85) and t["accuracy_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1), abs=1e-6)  # summaries keep 6 decimals
    assert t["early_stop_iteration_mean"] == 20 and s.iloc[1]["accuracy_std"] == 0
    assert t["target_reached"] == 2 and t["target_iteration_mean"] == 7
    assert t["target_iteration_std"] == pytest.approx(np.std([5, 9], ddof=1), abs=1e-6)
    r = s.iloc[1]  # one seed of two reached the target: its iteration, std 0
    assert r["target_reached"] == 1 and r["target_iteration_mean"] == 12 and r["target_iteration_std"] == 0
