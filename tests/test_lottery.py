import numpy as np
import pandas as pd
import pytest

from sim.compression.lottery import LotteryConfig, run_lottery, summarize
from sim.compression.pipeline import SplitData
from sim.compression.train import TrainConfig, init_weights
from sim.workload.data import load_dataset
from sim.workload.load import network_from_dict

MLP = {"input_shape": [64], "dataset": "digits", "layers": [
    {"name": "fc1", "type": "fc", "out_features": 24}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 10}]}


@pytest.fixture(scope="module")
def experiment():
    arch = network_from_dict(MLP, "m.yaml")
    data = SplitData(arch, load_dataset("digits"))
    cfg = TrainConfig(epochs=1, lr=1e-2, eval_every=5)
    lcfg = LotteryConfig(rounds=2, rate=0.5, output_rate_factor=0.5, seeds=(0, 1))
    rows, tickets = run_lottery(arch, data.train, data.test, cfg, lcfg)
    return arch, rows, tickets


def test_rows_cover_rounds_variants_and_seeds(experiment):
    _, rows, _ = experiment
    assert list(rows.columns) == ["round", "weights_remaining_fraction", "variant", "seed", "accuracy",
                                  "early_stop_iteration", "val_accuracy"]
    assert len(rows) == 2 * (1 + 2 * 3)
    assert set(rows["variant"]) == {"ticket", "reinit", "random_mask"}
    assert rows["early_stop_iteration"].between(0, 21).all() and rows["accuracy"].between(0, 1).all()


def test_controls_share_the_ticket_density_each_round(experiment):
    _, rows, _ = experiment
    for _, group in rows[rows["round"] > 0].groupby(["round", "seed"]):
        assert group["weights_remaining_fraction"].nunique() == 1
    fc1, fc2 = 64 * 24, 24 * 10
    expect = {1: (fc1 * 0.5 + fc2 * 0.75) / (fc1 + fc2), 2: (fc1 * 0.25 + round(fc2 * 0.75 * 0.75)) / (fc1 + fc2)}
    for rnd, frac in expect.items():
        got = rows[(rows["round"] == rnd)]["weights_remaining_fraction"].iloc[0]
        assert got == pytest.approx(frac, abs=1e-3)


def test_tickets_are_rewound_masked_and_retrained(experiment):
    arch, rows, tickets = experiment
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
    arch, rows, _ = experiment
    data = SplitData(arch, load_dataset("digits"))
    again, _ = run_lottery(arch, data.train, data.test, TrainConfig(epochs=1, lr=1e-2, eval_every=5),
                           LotteryConfig(rounds=2, rate=0.5, output_rate_factor=0.5, seeds=(0, 1)))
    pd.testing.assert_frame_equal(rows, again)


def test_summary_mean_and_std_by_hand():
    rows = pd.DataFrame({"round": [1, 1, 1, 1], "weights_remaining_fraction": [0.5] * 4,
                         "variant": ["ticket", "ticket", "reinit", "reinit"], "seed": [0, 1, 0, 1],
                         "accuracy": [0.9, 0.8, 0.7, 0.7], "early_stop_iteration": [10, 30, 20, 20],
                         "val_accuracy": [0.0] * 4})
    s = summarize(rows)
    assert list(s["variant"]) == ["ticket", "reinit"]
    t = s.iloc[0]
    assert t["accuracy_mean"] == pytest.approx(0.85) and t["accuracy_std"] == pytest.approx(np.std([0.9, 0.8], ddof=1), abs=1e-6)  # summaries keep 6 decimals
    assert t["early_stop_iteration_mean"] == 20 and s.iloc[1]["accuracy_std"] == 0


def test_late_rewinding_changes_the_tickets(experiment):
    arch, rows, tickets = experiment
    data = SplitData(arch, load_dataset("digits"))
    late, late_tickets = run_lottery(arch, data.train, data.test, TrainConfig(epochs=1, lr=1e-2, eval_every=5),
                                     LotteryConfig(rounds=1, rate=0.5, output_rate_factor=0.5, seeds=(0,),
                                                   rewind_iteration=5, controls=()))
    assert list(late["variant"]) == ["ticket", "ticket"]
    np.testing.assert_array_equal(late_tickets[0][0].layer("fc1").weight, tickets[0][0].layer("fc1").weight)
    assert not np.array_equal(late_tickets[0][1].layer("fc1").weight, tickets[0][1].layer("fc1").weight)
