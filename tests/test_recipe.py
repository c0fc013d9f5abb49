import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.cli import main
from sim.compression.pipeline import run_recipe
from sim.compression.recipe import load_recipe
from sim.engine.reference import execute_reference
from sim.errors import ConfigError
from sim.workload.data import inputs_for

MODEL = {"version": 1, "name": "mini", "input_shape": [64], "dataset": "digits", "layers": [
    {"name": "fc1", "type": "fc", "out_features": 24}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 16}, {"name": "relu2", "type": "relu"},
    {"name": "fc3", "type": "fc", "out_features": 10}]}
FAST = {"lr": 1.0e-2, "epochs": 2, "eval_every": 5}
DC = {"version": 1, "recipe": "deep_compression", "model": "mini.yaml", "output_model": "mini-dc.yaml", "seed": 1,
      "train": FAST, "stages": [
          {"prune": {"method": "percentile", "rate": 0.5, "output_rate_factor": 0.5, "rounds": 2, "retrain": {"epochs": 1}}},
          {"structured": {"layers": {"fc2": 0.25}, "norm": "l1", "retrain": {"epochs": 1}}},
          {"quantize": {"method": "kmeans", "bits": 3, "init": "density", "finetune": {"epochs": 1, "lr": 1e-3}}},
          {"encode": {"index_bits": 4}}]}


def _write(tmp_path, recipe, name="recipe.yaml"):
    (tmp_path / "mini.yaml").write_text(yaml.safe_dump(MODEL))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.mark.parametrize("name", ["lenet300-deepcomp", "lenet300-lth", "lenet300-sonic-recipe"])
def test_shipped_recipes_load(root, name):
    recipe = load_recipe(root / "models" / f"{name}.yaml")
    assert recipe.kind in ("deep_compression", "lottery_ticket")


@pytest.mark.parametrize("change,message", [
    ({"stages": [{"prune": {"rate": 1.5}}]}, r"stages\[0\]\.prune\.rate: must be a number in \[0, 1\); got 1.5"),
    ({"stages": [{"prun": {}}]}, "did you mean 'prune'"),
    ({"stages": [{"quantize": {"method": "linear", "bits": 8, "finetune": {}}}]}, "needs method kmeans"),
    ({"stages": [{"quantize": {"bits": {"fc": 40}}}]}, r"bits\.fc: must be an integer in \[1, 16\]"),
    ({"model": "nope.yaml"}, "model: file not found"),
    ({"recipe": "magic"}, "recipe: must be one of deep_compression, lottery_ticket"),
    ({"sede": 1}, "did you mean 'seed'"),
    ({"train": {"epochs": 0}}, r"train\.epochs: must be an integer >= 1"),
    ({"stages": [{"quantize": {"bits": 4}}, {"prune": {"rate": 0.5}}]}, "before quantize"),
])
def test_bad_recipes_name_the_key(tmp_path, change, message):
    path = _write(tmp_path, {**DC, **change})
    with pytest.raises(ConfigError, match=message):
        load_recipe(path)


def test_bad_lottery_keys(tmp_path):
    path = _write(tmp_path, {"recipe": "lottery_ticket", "model": "mini.yaml",
                             "lottery": {"seeds": [], "controls": ["reinit", "magic"], "rounds": 0}})
    with pytest.raises(ConfigError) as err:
        load_recipe(path)
    text = str(err.value)
    assert "lottery.seeds" in text and "lottery.controls" in text and "lottery.rounds" in text


def test_deep_compression_recipe_end_to_end(tmp_path):
    path = _write(tmp_path, DC)
    files = run_recipe(load_recipe(path), str(tmp_path / "out"), log=lambda *a: None)
    stages = pd.read_csv(tmp_path / "out" / "compression.csv")
    assert list(stages.columns) == ["stage", "accuracy", "weights_kept_fraction", "storage_bytes", "compression_ratio"]
    assert list(stages["stage"]) == ["dense", "pruned", "quantized", "huffman"]
    assert stages["storage_bytes"].is_monotonic_decreasing
    assert stages["accuracy"].iloc[3] == stages["accuracy"].iloc[2]  # Huffman decoding is lossless
    layers = pd.read_csv(tmp_path / "out" / "compression_layers.csv")
    assert list(layers["layer"]) == ["fc1", "fc2", "fc3", "total"]
    assert (tmp_path / "out" / "storage.png").stat().st_size > 1000
    net = sim.load_network(tmp_path / "mini-dc.yaml")
    assert net.name == "mini-dc" and net.layer("fc2").weight.shape == (12, 24)  # structured: 16 -> 12 neurons
    assert net.layer("fc3").weight.shape == (10, 12)
    for lay in net.weighted_layers:
        q, kept = lay.quant, lay.weight != 0
        assert q.kind == "kmeans" and q.bits == 3 and q.codebook.shape == (8,)
        np.testing.assert_array_equal(lay.weight[kept], q.codebook[q.codes[kept]])
    x, y = inputs_for(net)
    acc = float((execute_reference(net, x)[0].argmax(axis=1) == y).mean())
    assert acc == pytest.approx(net.accuracy, abs=1e-6) == pytest.approx(stages["accuracy"].iloc[-1], abs=1e-6)
    assert files[-1].endswith("mini-dc.yaml")


def test_same_seed_gives_identical_bytes(tmp_path):
    path = _write(tmp_path, DC)
    files = ("compression.csv", "compression_layers.csv")
    blobs = []
    for run in ("a", "b"):
        run_recipe(load_recipe(path), str(tmp_path / run), model_out=str(tmp_path / run / "m.yaml"), log=lambda *a: None)
        blobs.append([(tmp_path / run / f).read_bytes() for f in files + ("m.npz",)])
    assert blobs[0] == blobs[1]
    run_recipe(load_recipe(path), str(tmp_path / "c"), seed=7, model_out=str(tmp_path / "c" / "m.yaml"),
               log=lambda *a: None)
    assert (tmp_path / "c" / "m.npz").read_bytes() != blobs[0][2]


def test_lottery_recipe_and_cli(tmp_path, capsys):
    path = _write(tmp_path, {"version": 1, "recipe": "lottery_ticket", "model": "mini.yaml",
                             "output_model": "mini-ticket.yaml", "train": {**FAST, "epochs": 1},
                             "lottery": {"rounds": 2, "rate": 0.5, "seeds": [0, 1], "ship_fraction": 0.6}})
    assert main(["compress", str(path), "--out", str(tmp_path / "lth"), "--quiet"]) == 0
    rows = pd.read_csv(tmp_path / "lth" / "lth.csv")
    assert list(rows.columns)[:6] == ["round", "weights_remaining_fraction", "variant", "seed", "accuracy",
                                      "early_stop_iteration"]
    summary = pd.read_csv(tmp_path / "lth" / "lth_summary.csv")
    assert set(summary["seeds"]) == {2}
    ticket = sim.load_network(tmp_path / "mini-ticket.yaml")
    assert ticket.meta["round"] == 1 and ticket.meta["weights_remaining_fraction"] <= 0.6
    assert "lth_summary.csv" in capsys.readouterr().out


def test_cli_train_and_bad_input(tmp_path, capsys):
    _write(tmp_path, DC)
    out = tmp_path / "trained.yaml"
    assert main(["train", str(tmp_path / "mini.yaml"), "--epochs", "2", "--lr", "0.01", "--out", str(out)]) == 0
    net = sim.load_network(out)
    assert net.accuracy > 0.8
    # In place: the model gets weights: and accuracy: keys, its other lines are kept.
    assert main(["train", str(tmp_path / "mini.yaml"), "--epochs", "1", "--lr", "0.01"]) == 0
    text = (tmp_path / "mini.yaml").read_text()
    assert "weights: mini.npz" in text and "accuracy:" in text and sim.load_network(tmp_path / "mini.yaml").accuracy
    assert main(["train", str(tmp_path / "mini.yaml"), "--epochs", "0"]) == 2
    assert main(["compress", str(tmp_path / "missing.yaml")]) == 2
    assert main(["train", str(tmp_path / "mini.yaml"), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--epochs: must be >= 1" in err and "file not found" in err and "MNIST" in err


def test_shipped_compressed_models(root):
    sonic = sim.load_network(root / "models" / "lenet300-sonic.yaml")
    for lay in sonic.weighted_layers:
        q, kept = lay.quant, lay.weight != 0
        assert q.kind == "kmeans" and q.bits == 6 and q.codebook.shape == (64,)
        np.testing.assert_array_equal(lay.weight[kept], q.codebook[q.codes[kept]])
    x, y = inputs_for(sonic)
    acc = float((execute_reference(sonic, x)[0].argmax(axis=1) == y).mean())
    assert acc == pytest.approx(sonic.accuracy, abs=1e-6) and acc >= 0.95
    dc = sim.load_network(root / "models" / "lenet300-dc.yaml")
    assert dc.weight_nnz / dc.weight_count <= 0.10
