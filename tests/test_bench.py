"""The compression comparison (sim.sweep.bench, python -m sim bench-compression)."""
import os
import subprocess
import sys

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
