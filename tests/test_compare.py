"""python -m sim compare: device breakdown conservation, ablation variants, CSV/PNG outputs, bad input."""
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.api import ablation_table, comparison_table
from sim.cli import main
from sim.hardware import load_hardware
from sim.report import compare as C
from sim.run import cost, prepare
from sim.workload.load import network_from_dict

ROOT = Path(__file__).resolve().parents[1]
HWCONFIGS = ("sonic", "crosslight", "eie", "systolic")
TINY = {"version": 1, "name": "tinycmp", "input_shape": [2, 6, 6], "input_density": 0.6, "seed": 5,
        "layers": [{"name": "conv", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
                    "weight_density": 0.5},
                   {"name": "relu", "type": "relu"}, {"name": "pool", "type": "maxpool", "kernel_size": 2},
                   {"name": "flat", "type": "flatten"},
                   {"name": "fc", "type": "fc", "out_features": 10, "weight_density": 0.3}]}


@pytest.fixture(scope="module")
def execution():
    return prepare(network_from_dict(TINY, "tinycmp.yaml"), batch=2, seed=1, executor="reference")


@pytest.mark.parametrize("name", HWCONFIGS)
def test_energy_per_device_sums_to_the_total(execution, name):
    hw = load_hardware(ROOT / "hwconfigs" / f"{name}.yaml")
    res = cost(hw, execution, engine="analytical")
    parts = C.device_breakdown(res.energy, hw, batch=2)
    assert set(parts) == set(C.DEVICES)
    assert sum(parts.values()) == pytest.approx(res.summary["energy_per_inference_pj"].iloc[0])
    if hw.photonic is not None:
        for device in ("dac", "adc", "vcsel", "photodetector", "tuning", "sram", "dram"):
            assert parts[device] > 0, device


def test_comparison_rows_and_ablation_variants(execution):
    hws = [load_hardware(ROOT / "hwconfigs" / f"{n}.yaml") for n in HWCONFIGS]
    table = comparison_table(hws, execution, engine="analytical")
    assert list(table.columns) == C.COMPARISON_COLUMNS
    assert table["hwconfig"].tolist() == list(HWCONFIGS)
    assert table["calibration_latency_s"].iloc[0] == pytest.approx(4e-6)  # TO: 4 us, all rings at once
    assert table["calibration_latency_s"].iloc[2:].isna().all()  # electronic designs have no rings
    abl = ablation_table(hws, execution, engine="analytical")
    variants = ["all_on", "no_fc_compression", "no_conv_compression", "no_vcsel_power_gating",
                "no_weight_clustering", "all_off"]
    assert abl["hwconfig"].tolist() == ["sonic"] * 6 + ["crosslight"] * 6
    assert abl["variant"].tolist() == variants * 2
    sonic = abl[abl["hwconfig"] == "sonic"].set_index("variant")
    assert sonic.loc["all_on", list(C.SWITCHES)].all() and not sonic.loc["all_off", list(C.SWITCHES)].any()
    # sonic ships with every technique on, so its all-on row is its comparison row
    assert sonic.loc["all_on", "energy_pj"] == pytest.approx(table["energy_pj"].iloc[0])
    assert (sonic["energy_pj"] >= sonic.loc["all_on", "energy_pj"] * (1 - 1e-12)).all()


def test_cli_compare_writes_csvs_and_charts(tmp_path, capsys):
    model = tmp_path / "tinycmp.yaml"
    model.write_text(yaml.safe_dump(TINY))
    out = tmp_path / "cmp"
    code = main(["compare", str(ROOT / "hwconfigs/sonic.yaml"), str(ROOT / "hwconfigs/eie.yaml"), "--model",
                 str(model), "--batch", "2", "--engine", "analytical", "--executor", "reference", "--ablation",
                 "--out", str(out)])
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["ablation.csv", "ablation.png", "comparison.csv",
                                                    "comparison.png"]
    table = pd.read_csv(out / "comparison.csv")
    assert list(table.columns) == C.COMPARISON_COLUMNS and len(table) == 2
    assert len(pd.read_csv(out / "ablation.csv")) == 6  # eie is electronic: no ablation rows
    assert (out / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert "sonic" in capsys.readouterr().out


def test_cli_compare_bad_config_exits_2_without_a_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(ROOT / "hwconfigs/sonic.yaml"), str(tmp_path / "nope.yaml"), "--out", str(out)])
    assert code == 2
    assert "nope.yaml" in capsys.readouterr().err
    assert not out.exists()


def test_unknown_component_has_no_silent_device_class():
    hw = load_hardware(ROOT / "hwconfigs" / "sonic.yaml")
    with pytest.raises(KeyError, match="no device class"):
        C.device_of("flux_capacitor", hw)
