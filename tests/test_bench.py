"""The compression comparison (sim.sweep.bench, python -m sim bench-compression)."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from sim.errors import ConfigError
from sim.sweep.bench import COLUMNS, finish, load_bench, recipe_stages, unit_fraction_for
from sim.workload.load import load_network

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _spec(tmp_path, text):
    path = tmp_path / "b.yaml"
    path.write_text(text)
    return str(path)


def test_spec_problems_are_collected(tmp_path):
    path = _spec(tmp_path, f"version: 1\nmodel: {ROOT}/models/nope.yaml\ndesigns: [{ROOT}/hwconfigs/eie.yaml]\n"
                           "targets: [0.5, 1.5]\nmethods: [magnitude, magic]\n")
    with pytest.raises(ConfigError) as err:
        load_bench(path)
    text = str(err.value)
    assert "model: file not found" in text and "targets" in text and "methods.magic: unknown method" in text


def test_shipped_spec_loads():
    spec = load_bench(os.path.join(ROOT, "benchmarks/compression/lenet300-mnist.yaml"))
    assert len(spec.targets) == 4 and len(spec.seeds) == 3 and len(spec.designs) == 4
    assert set(spec.methods) >= {"magnitude", "random", "gradual", "snip", "l1_neurons", "lowrank"}


def test_structured_unit_fraction_reaches_the_weight_target():
    net = load_network(os.path.join(ROOT, "models/lenet300-mnist.yaml"))
    for target in (0.5, 0.1):
        k = unit_fraction_for(net, target)
        w = [lay.weight.size for lay in net.weighted_layers]
        kept = (w[0] * k + w[1] * k * k + w[2] * k) / sum(w)
        assert kept == pytest.approx(target, rel=1e-3)
    stage = recipe_stages("l1_neurons", 0.1, net, None)[0]["structured"]
    assert set(stage["layers"]) == {"fc1", "fc2"}
    assert recipe_stages("magnitude", 0.1, net, {"epochs": 1})[0]["prune"]["rate"] == 0.9


def test_speedups_are_against_dense_on_the_same_design():
    rows = []
    for method, target, cycles, eff in (("dense", 1.0, 100, 1000), ("magnitude", 0.1, 50, 100)):
        for hw, scale in (("a", 1), ("b", 2)):
            rows.append({"method": method, "target_weights_kept": target, "weights_kept_fraction": target, "seed": 0,
                         "accuracy": 0.9, "storage_bytes": 1, "macs": 1000, "effectual_macs": eff, "hwconfig": hw,
                         "cycles": cycles * scale, "latency_s": 1.0, "energy_per_inference_pj": 10.0 * target})
    spec = type("S", (), {"methods": {"magnitude": None}})()
    df = finish(pd.DataFrame(rows), spec)
    assert list(df.columns) == COLUMNS
    mag = df[df["method"] == "magnitude"]
    assert mag["measured_speedup"].tolist() == [2.0, 2.0]
    assert mag["theoretical_speedup"].tolist() == [10.0, 10.0]
    assert mag["energy_reduction"].tolist() == [10.0, 10.0]


@pytest.mark.slow
def test_bench_command_end_to_end_and_resumes(tmp_path):
    path = _spec(tmp_path, f"version: 1\nname: t\nmodel: {ROOT}/models/lenet300.yaml\n"
                           f"designs: [{ROOT}/hwconfigs/eie.yaml]\ntargets: [0.2]\nseeds: [0]\n"
                           "retrain: {epochs: 1}\ntrain: {epochs: 1}\nmethods: [magnitude, random]\n")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sim", "bench-compression", path, "--out", str(out), "-j", "1", "-q"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    df = pd.read_csv(out / "comparison.csv")
    assert list(df.columns) == COLUMNS and len(df) == 3
    assert (out / "accuracy_vs_compression.png").exists()
    first = (out / "comparison.csv").read_bytes()
    subprocess.run(cmd, check=True, cwd=ROOT)  # nothing left to do: same bytes
    assert (out / "comparison.csv").read_bytes() == first


def test_nm_pattern_is_the_target_where_one_exists():
    from sim.sweep.bench import nm_for

    assert [nm_for(t) for t in (0.5, 0.2, 0.1, 0.05, 0.25, 0.3)] == [(2, 4), (1, 5), (1, 10), (1, 20), (1, 4), (3, 10)]
    for t in (0.013, 0.37, 0.97, 0.999):
        n, m = nm_for(t)
        assert 1 <= n < m <= 32
        best = min(abs(min(max(1, round(t * mm)), mm - 1) / mm - t) for mm in range(4, 33))
        assert abs(n / m - t) == pytest.approx(best)


def test_student_has_l1_neurons_shape_and_about_the_target_weights():
    from sim.compression.structured import structured_prune
    from sim.sweep.bench import student_network

    net = load_network(os.path.join(ROOT, "models/lenet300-mnist.yaml"))
    for target in (0.5, 0.1):
        student = student_network(net, target)
        assert student.weight_count / net.weight_count == pytest.approx(target, rel=0.03)
        pruned = net
        for name, frac in recipe_stages("l1_neurons", target, net, None)[0]["structured"]["layers"].items():
            pruned, _ = structured_prune(pruned, name, frac, "l1", "filters")
        assert [lay.weight.shape for lay in student.weighted_layers] == [lay.weight.shape for lay in pruned.weighted_layers]
        assert student.weighted_layers[-1].weight.shape[0] == 10 and student.input_shape == net.input_shape


def _bench_compress(tmp_path, method, teacher, target=0.2, epochs=1):
    from sim.compression.pipeline import run_compression
    from sim.compression.recipe import recipe_from_dict
    from sim.sweep.bench import student_file, student_network
    from sim.workload.load import save_network

    base = load_network(teacher)
    student = student_file(str(tmp_path), target)
    if not os.path.exists(student):
        os.makedirs(os.path.dirname(student), exist_ok=True)
        save_network(student_network(base, target), student, weights=False)
    retrain = {"epochs": epochs}
    data = {"version": 1, "recipe": "deep_compression", "model": teacher, "seed": 3,
            "train": {"epochs": epochs}, "stages": recipe_stages(method, target, base, retrain, student)}
    return run_compression(recipe_from_dict(data, str(tmp_path / "r.yaml"))).network


def test_student_alone_ignores_the_teacher_and_distillation_does_not(tmp_path):
    from sim.compression.train import init_weights
    from sim.workload.load import save_network

    trained = os.path.join(ROOT, "models/lenet300.yaml")
    untrained = str(tmp_path / "untrained.yaml")
    save_network(init_weights(load_network(trained), 11), untrained)
    alone = [_bench_compress(tmp_path, "student", t) for t in (trained, untrained)]
    taught = [_bench_compress(tmp_path, "distill", t) for t in (trained, untrained)]
    weights = lambda net: [lay.weight for lay in net.weighted_layers]  # noqa: E731
    assert all(np.array_equal(a, b) for a, b in zip(weights(alone[0]), weights(alone[1])))
    assert not all(np.array_equal(a, b) for a, b in zip(weights(taught[0]), weights(taught[1])))
    assert [w.shape for w in weights(alone[0])] == [w.shape for w in weights(taught[0])]
    assert recipe_stages("distill", 0.2, load_network(trained), None, "s.yaml") == [
        {"distill": {"student": "s.yaml", "weight": 0.9, "temperature": 3.0}}]  # a 64-100-33-10 student


def test_distillation_temperature_follows_hinton_by_student_size():
    from sim.sweep.bench import distill_temperature
    from sim.workload.load import network_from_dict

    def mlp(*hidden):
        layers = [{"name": f"fc{i}", "type": "fc", "out_features": h} for i, h in enumerate(hidden + (10,))]
        return network_from_dict({"version": 1, "name": "m", "input_shape": [784], "layers": layers}, "m.yaml")

    assert distill_temperature(mlp(1200, 1200)) == 8.0 and distill_temperature(mlp(300, 300)) == 8.0
    assert distill_temperature(mlp(800, 30)) == 3.0 and distill_temperature(mlp(30, 30)) == 3.0


def test_qat_keeps_the_target_on_int4_levels(tmp_path):
    net = _bench_compress(tmp_path, "qat", os.path.join(ROOT, "models/lenet300.yaml"))
    dense = load_network(os.path.join(ROOT, "models/lenet300.yaml"))
    assert net.weight_nnz / dense.weight_count == pytest.approx(0.2, abs=0.002)
    for lay in net.weighted_layers:
        assert lay.quant is not None and lay.quant.kind == "linear" and lay.quant.bits == 4
        assert len(np.unique(lay.weight)) <= 2 ** 4  # the int4 levels times one scale (0 among them)


def test_detail_names_the_early_bird_draw():
    from sim.sweep.bench import detail_of

    stages = lambda name: pd.DataFrame({"stage": ["dense", name, "pruned"]})  # noqa: E731
    assert detail_of("early_bird", 0.1, None, stages("early_bird_epoch_3")) == "drawn at epoch 3"
    assert detail_of("early_bird", 0.1, None, stages("early_bird_epoch_12_undrawn")) == "not drawn by epoch 12"
    assert detail_of("nm", 0.5, None, None) == "2:4" and detail_of("magnitude", 0.5, None, None) == ""
