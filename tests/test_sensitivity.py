"""One-at-a-time sensitivity to a config's ASSUMPTION values (sim.sensitivity, `python -m sim sensitivity`)."""
from pathlib import Path

import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import ConfigError
from sim.run import prepare
from sim.sensitivity import find_assumptions, parse_vary, sensitivity

ROOT = Path(__file__).resolve().parents[1]
SONIC, CL = str(ROOT / "hwconfigs" / "sonic.yaml"), str(ROOT / "hwconfigs" / "crosslight.yaml")
MODEL = str(ROOT / "models" / "crosslight-lenet5.yaml")


@pytest.fixture(scope="module")
def ex():
    return prepare(sim.load_network(MODEL), batch=1, seed=0)


def test_assumptions_are_found_with_documented_ranges():
    keys = {a.key: a for a in find_assumptions(CL)}
    assert "photonic.tuning.crosstalk_decay_um" in keys and "photonic.optics.pd_sensitivity_dbm" in keys
    assert "photonic.tuning.to_power_mw_per_fsr" not in keys  # Table II value, not an assumption
    assert "photonic.vcsel.power_mw" not in keys
    a = keys["photonic.tuning.crosstalk_decay_um"]
    assert (a.low, a.high, a.source) == (2.0, 15.0, "config comment")  # "Plausible 2-15 um" in the YAML
    assert all(a.low <= a.value <= a.high for a in keys.values())


def test_one_row_per_assumption_and_end_and_the_baseline_is_the_config(ex):
    res = sensitivity(SONIC, MODEL, execution=ex)
    t = res.table
    varied = t[t["end"] != "switch"]
    assert len(varied) == 2 * len(find_assumptions(SONIC))
    assert set(varied["end"]) == {"low", "high"}
    base = sim.cost(sim.load_hardware(SONIC), ex).summary.iloc[0]
    assert res.baseline["fps_per_w"] == pytest.approx(base.fps_per_w)
    row = t[(t.key == "photonic.tuning.to_hold_fsr_fraction") & (t.end == "high")].iloc[0]
    assert row.fps_per_w < res.baseline["fps_per_w"]  # more holding power, fewer frames per joule
    assert row.energy_per_inference_pj_change_pct > 0


def test_vary_overrides_a_range_and_against_reports_flips(ex):
    res = sensitivity(SONIC, MODEL, vary={"photonic.adc.power_mw": (10.0, 500.0)}, against=CL, execution=ex)
    t = res.table
    adc = t[(t.key == "photonic.adc.power_mw") & (t.design == SONIC)]
    assert list(adc["value"]) == [10.0, 500.0] and set(adc["range_source"]) == {"--vary"}
    assert {SONIC, CL} <= set(t["design"])
    sw = t[t.end == "switch"].iloc[0]
    assert sw.key == "photonic.tuning.to_hold" and sw.design == f"{SONIC}+{CL}"
    assert sw.flips_fps_per_w == (sw.fps_per_w_ratio < 1 < res.baseline["fps_per_w"] / res.against["fps_per_w"])
    assert any("flips" in n.lower() for n in res.notes)


@pytest.mark.parametrize("bad", ["photonic.adc.power_mw", "photonic.adc.power_mw=1", "photonic.adc.power_mw=a:2",
                                 "photonic.adc.power_mw=5:1", "=1:2"])
def test_parse_vary_rejects_bad_input(bad):
    with pytest.raises(ConfigError, match="vary"):
        parse_vary([bad])


def test_cli_writes_csv_png_and_note(tmp_path):
    out = tmp_path / "sens"
    rc = main(["sensitivity", SONIC, "--model", MODEL, "--against", CL, "--out", str(out),
               "--vary", "photonic.adc.power_mw=31:124"])
    assert rc == 0
    t = pd.read_csv(out / "sensitivity.csv")
    assert {"key", "end", "value", "fps_per_w", "energy_per_inference_pj", "flips_fps_per_w"} <= set(t.columns)
    assert (out / "tornado.png").read_bytes()[:4] == b"\x89PNG"
    assert "Against" in (out / "note.txt").read_text()


def test_set_applies_to_every_design_first(ex):
    res = sensitivity(SONIC, MODEL, against=CL, execution=ex, overrides={"photonic.tuning.to_hold": "boot"})
    boot = sim.cost(sim.load_hardware(CL, {"photonic.tuning.to_hold": "boot"}), ex).summary.iloc[0]
    assert res.against["fps_per_w"] == pytest.approx(boot.fps_per_w)
    assert "switch" not in set(res.table["end"])  # the accounting switch is already applied


def test_cli_bad_set_exits_2(tmp_path):
    out = tmp_path / "sens"
    assert main(["sensitivity", SONIC, "--model", MODEL, "--out", str(out), "--set", "photonic.tuning.to_hold=sometimes"]) == 2
    assert not out.exists()


@pytest.mark.parametrize("vary", ["photonic.adc.power_mw=5:1", "photonic.adc.powr_mw=1:2", "clock_ghz=-1:2",
                                  "photonic.tuning.mode=1:2"])
def test_cli_bad_vary_exits_2_without_output(tmp_path, capsys, vary):
    out = tmp_path / "sens"
    rc = main(["sensitivity", SONIC, "--model", MODEL, "--out", str(out), "--vary", vary])
    assert rc == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err
