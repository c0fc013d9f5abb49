"""Model files: every shipped model loads with the published shapes; bad models give clear errors."""
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.errors import ConfigError
from sim.workload.load import load_network, network_from_dict, save_network, synthetic_weight

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name,weights", [("lenet300", 50_200), ("lenet5", 430_500), ("alexnet", 60_954_656),
                                          ("resnet18", 11_678_912)])
def test_models_have_published_weight_counts(name, weights):
    net = load_network(ROOT / "models" / f"{name}.yaml")
    assert net.weight_count == weights


@pytest.mark.slow
def test_vgg16_weights_and_densities_follow_deep_compression():
    net = load_network(ROOT / "models" / "vgg16.yaml")
    assert net.weight_count == 138_344_128
    assert net.layer("fc6").weight_density == pytest.approx(0.04, abs=1e-6)
    assert net.weight_nnz / net.weight_count == pytest.approx(0.075, abs=0.003)  # DC: 7.5% kept (13x)


def test_synthetic_weight_has_exact_density(rng):
    w = synthetic_weight((30, 40), 0.25, rng)
    assert np.count_nonzero(w) == 300
    # magnitude pruning: every kept weight is at least as large as the largest pruned one (all zero now)
    assert w.dtype == np.float32


def base(**layers_override):
    return {"version": 1, "name": "m", "input_shape": [1, 8, 8],
            "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel_size": 3},
                       {"name": "f", "type": "flatten"}, {"name": "o", "type": "fc", "out_features": 3}]}


def test_unknown_layer_type_suggests():
    d = base()
    d["layers"][0]["type"] = "conv2"
    with pytest.raises(ConfigError, match=r"m\.yaml: layers\[0\] \(c\)\.type: unknown layer type 'conv2'.*did you mean 'conv2d'"):
        network_from_dict(d, "m.yaml")


def test_unknown_layer_key_suggests():
    d = base()
    d["layers"][0]["kernal_size"] = 3
    with pytest.raises(ConfigError, match=r"layers\[0\] \(c\)\.kernal_size: unknown key for a conv2d layer; did you mean 'kernel_size'"):
        network_from_dict(d, "m.yaml")


def test_shape_mismatch_between_layers():
    d = base()
    d["layers"].append({"name": "c2", "type": "conv2d", "out_channels": 2, "kernel_size": 3})
    with pytest.raises(ConfigError, match=r"layers\[3\] \(c2\): conv2d needs a \[channels, height, width\] input; the layer before gives \[3\]"):
        network_from_dict(d, "m.yaml")


def test_kernel_larger_than_input():
    d = base()
    d["layers"][0]["kernel_size"] = 9
    with pytest.raises(ConfigError, match=r"kernel_size: kernel 9 .* does not fit the 8x8 input"):
        network_from_dict(d, "m.yaml")


def test_missing_weights_file(tmp_path):
    d = base()
    d["weights"] = "absent.npz"
    p = tmp_path / "m.yaml"
    p.write_text(yaml.safe_dump(d))
    with pytest.raises(ConfigError, match=r"weights: weights file not found: .*absent\.npz"):
        load_network(p)


def test_bad_values_are_all_reported():
    d = base()
    d["input_shape"] = [0, 8]
    with pytest.raises(ConfigError, match=r"input_shape: must be a list of positive integers"):
        network_from_dict(d, "m.yaml")
    d = base()
    d["layers"][2]["out_features"] = -1
    d["layers"][0]["weight_density"] = 1.5
    with pytest.raises(ConfigError) as info:
        network_from_dict(d, "m.yaml")
    assert len(info.value.problems) == 2


def test_residual_add_needs_equal_shapes():
    d = base()
    d["layers"] = [{"name": "a", "type": "conv2d", "out_channels": 2, "kernel_size": 3},
                   {"name": "b", "type": "conv2d", "out_channels": 2, "kernel_size": 3},
                   {"name": "s", "type": "add", "inputs": ["a", "b"]}]
    with pytest.raises(ConfigError, match=r"do not broadcast"):
        network_from_dict(d, "m.yaml")
    d["layers"][2]["inputs"] = ["a", "zz"]
    with pytest.raises(ConfigError, match=r"inputs: must name earlier layers or 'input'; unknown \['zz'\]"):
        network_from_dict(d, "m.yaml")


def test_save_and_load_round_trip(tmp_path, tiny_network):
    save_network(tiny_network, tmp_path / "t.yaml")
    back = load_network(tmp_path / "t.yaml")
    for a, b in zip(tiny_network.layers, back.layers):
        assert a.name == b.name and a.out_shape == b.out_shape
        if a.is_weighted:
            np.testing.assert_array_equal(a.weight, b.weight)
