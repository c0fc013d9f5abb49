"""Hardware configs: every shipped file loads, and every validation rule has a clear message."""
from pathlib import Path

import pytest
import yaml

from sim.errors import ConfigError
from sim.hardware import load_hardware
from sim.engine.dataflows import action_energies
from sim.hardware.energy import node_factor, sram_pj_per_bit
from sim.hardware.photonics import laser_dbm_per_waveguide, path_loss_db

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "hwconfigs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_loads(path):
    hw = load_hardware(path)
    assert hw.name == path.stem
    assert all(v >= 0 for v in action_energies(hw).values())


def write(tmp_path, data, name="x.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.fixture
def eie_dict():
    return yaml.safe_load((ROOT / "hwconfigs" / "eie.yaml").read_text())


def test_negative_bandwidth_names_file_path_and_value(tmp_path, eie_dict):
    eie_dict["memory"]["dram"]["bandwidth_gbps"] = -3
    p = write(tmp_path, eie_dict)
    with pytest.raises(ConfigError, match=r"x\.yaml: memory\.dram\.bandwidth_gbps: must be > 0 \(GB/s\); got -3"):
        load_hardware(p)


def test_zero_where_positive_needed(tmp_path, eie_dict):
    eie_dict["clock_ghz"] = 0
    with pytest.raises(ConfigError, match=r"clock_ghz: must be > 0"):
        load_hardware(write(tmp_path, eie_dict))


def test_missing_field(tmp_path, eie_dict):
    del eie_dict["memory"]["dram"]["latency_ns"]
    with pytest.raises(ConfigError, match=r"memory\.dram\.latency_ns: missing; expected a number"):
        load_hardware(write(tmp_path, eie_dict))


def test_wrong_type(tmp_path, eie_dict):
    eie_dict["pe_array"]["rows"] = "sixty-four"
    with pytest.raises(ConfigError, match=r"pe_array\.rows: must be an integer >= 1; got 'sixty-four'"):
        load_hardware(write(tmp_path, eie_dict))


def test_unknown_key_suggests_close_one(tmp_path, eie_dict):
    eie_dict["pe_array"]["dataflw"] = "eie"
    with pytest.raises(ConfigError, match=r"pe_array\.dataflw: unknown key; did you mean 'dataflow'\?"):
        load_hardware(write(tmp_path, eie_dict))


def test_bad_choice(tmp_path, eie_dict):
    eie_dict["pe_array"]["dataflow"] = "xs"
    with pytest.raises(ConfigError, match=r"pe_array\.dataflow: must be one of os, ws, is, eie.*; got 'xs'"):
        load_hardware(write(tmp_path, eie_dict))


def test_all_problems_collected_in_one_error(tmp_path, eie_dict):
    eie_dict["clock_ghz"] = -1
    eie_dict["memory"]["dram"]["read_pj_per_bit"] = -0.5
    with pytest.raises(ConfigError) as info:
        load_hardware(write(tmp_path, eie_dict))
    assert "2 problems" in str(info.value)
    assert len(info.value.problems) == 2


def test_electronic_needs_pe_array(tmp_path, eie_dict):
    del eie_dict["pe_array"]
    with pytest.raises(ConfigError, match=r"pe_array: missing"):
        load_hardware(write(tmp_path, eie_dict))


def test_every_data_kind_needs_a_buffer(tmp_path, eie_dict):
    del eie_dict["memory"]["buffers"]["act_sram"]
    with pytest.raises(ConfigError, match=r"no buffer holds inputs"):
        load_hardware(write(tmp_path, eie_dict))


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_hardware(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: line \d+, column \d+: not valid YAML"):
        load_hardware(bad)
    notmap = tmp_path / "list.yaml"
    notmap.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"top level must be a mapping"):
        load_hardware(notmap)


def test_set_overrides_by_dotted_path():
    hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rows=32", "pe_array.dataflow=os"])
    assert hw.pe_array.rows == 32 and hw.pe_array.dataflow == "os"
    hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml", {"memory.buffers.weight_fifo.size_kb": 64})
    assert hw.memory.buffer_for("weights").size_kb == 64


def test_set_override_is_validated_like_the_file():
    with pytest.raises(ConfigError, match=r"pe_array\.rows: must be an integer >= 1; got -4"):
        load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rows=-4"])
    with pytest.raises(ConfigError, match=r"pe_array\.rowz: unknown key \(an override\); did you mean 'rows'\?"):
        load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rowz=4"])
    with pytest.raises(ConfigError, match=r"expected KEY=VALUE"):
        load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rows"])


def test_node_scaling_matches_stillmaker_baas_table():
    assert node_factor(45) == pytest.approx(1.0)
    assert node_factor(7) == pytest.approx(0.10)
    assert node_factor(32, 1.0) == pytest.approx(0.63)
    assert 0.24 < node_factor(28) < 0.64  # between the 20 and 32 nm factors


def test_sram_energy_goes_through_horowitz_points():
    assert sram_pj_per_bit(8) * 64 == pytest.approx(10.0)
    assert sram_pj_per_bit(32) * 64 == pytest.approx(20.0)
    assert sram_pj_per_bit(1024) * 64 == pytest.approx(100.0)
    assert sram_pj_per_bit(8) < sram_pj_per_bit(128) < sram_pj_per_bit(1024)


def test_energy_overrides_replace_table_values():
    hw = load_hardware(ROOT / "hwconfigs" / "eie.yaml", {"energy.overrides": {"pe_array.mac": 1.5}})
    assert action_energies(hw)[("pe_array", "mac")] == 1.5


def test_sonic_device_energies_from_table2():
    e = action_energies(load_hardware(ROOT / "hwconfigs" / "sonic.yaml"))
    assert e[("adc", "convert")] == pytest.approx(868.0)  # 62 mW x 14 ns
    assert e[("act_dac", "convert")] == pytest.approx(13.2)  # 40 mW x 0.33 ns
    assert e[("weight_dac", "convert")] == pytest.approx(0.75)  # 3 mW x 0.25 ns
    assert e[("vcsel", "symbol")] == pytest.approx(0.091)


def test_link_budget_eq7():
    hw = load_hardware(ROOT / "hwconfigs" / "crosslight.yaml")
    o = hw.photonic.optics
    loss = path_loss_db(o, 150)
    assert loss == pytest.approx(1.0 + 0.13 + 0.9 + 0.02 * 149 + 0.72 + 7.0 * 0.01)
    assert laser_dbm_per_waveguide(o, 150) == pytest.approx(-20 + loss + 10 * __import__("math").log10(150))
