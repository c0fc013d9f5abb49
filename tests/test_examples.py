"""Golden totals: every shipped design on the two trained digits models (ZigZag's style).

A change to the execution, the mapper, the event model or the energy tables shows up here first.
When such a change is intended, rerun the run below and update the numbers in the same commit,
saying why in its message.
"""
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[1]

GOLDEN = {  # (model, design): (cycles, energy_pj, model_accuracy, accuracy on the design's numerics), batch 2, seed 0;
    # models regenerated for issue 19, crosslight = Cross_opt_TED (issue 17)
    ("lenet300-sonic", "sonic"): (4512, 16574753.897365656, 0.9944289693593314, 0.9916434540389972),
    ("lenet300-sonic", "crosslight"): (4577, 156975446.974779, 0.9944289693593314, 0.9944289693593314),
    ("lenet300-sonic", "eie"): (997, 647078.4634295375, 0.9944289693593314, 0.9944289693593314),
    ("lenet300-sonic", "systolic"): (5011, 42735073.636964805, 0.9944289693593314, 0.9944289693593314),
    ("lenet5-digits", "sonic"): (5538, 24568706.66706216, 0.9693593314763231, 0.9052924791086351),
    ("lenet5-digits", "crosslight"): (2778, 95803454.39790845, 0.9693593314763231, 0.9526462395543176),
    ("lenet5-digits", "eie"): (2493, 855744.5971755675, 0.9693593314763231, 0.9637883008356546),
    ("lenet5-digits", "systolic"): (4830, 24981884.642127037, 0.9693593314763231, 0.9693593314763231),
    # the two kinds added through the dataflow registry (issue 11)
    ("lenet300-sonic", "eyeriss"): (28189, 16780120.997030005, 0.9944289693593314, 0.9944289693593314),
    ("lenet300-sonic", "sparse_systolic"): (4425, 6657260.178970766, 0.9944289693593314, 0.9944289693593314),
    ("lenet5-digits", "eyeriss"): (11266, 6775949.08206, 0.9693593314763231, 0.9665738161559888),
    ("lenet5-digits", "sparse_systolic"): (3648, 3609478.2338741673, 0.9693593314763231, 0.9693593314763231),
}


@pytest.fixture(scope="module")
def networks():
    return {m: sim.load_network(ROOT / "models" / f"{m}.yaml") for m in ("lenet300-sonic", "lenet5-digits")}


@pytest.mark.parametrize("model,design", sorted(GOLDEN))
def test_golden_totals(networks, model, design):
    r = sim.run(sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml"), networks[model], batch=2, seed=0)
    s = r.summary.iloc[0]
    cycles, energy_pj, model_accuracy, accuracy = GOLDEN[(model, design)]
    assert int(s["cycles"]) == cycles
    assert s["energy_pj"] == pytest.approx(energy_pj, rel=1e-9)
    assert s["model_accuracy"] == pytest.approx(model_accuracy, abs=1e-12)
    assert s["accuracy"] == pytest.approx(accuracy, abs=1e-12)
