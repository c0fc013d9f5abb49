"""The registry of dataflow kinds: every shipped design finds its kind, every counted action has a
price and a device group, and no module outside sim/engine/dataflows tests a kind by name."""
import re
from pathlib import Path

import pytest

import sim
from sim.engine import dataflows
from sim.engine.dataflows import action_energies
from sim.report.compare import device_of

ROOT = Path(__file__).resolve().parents[1]
DESIGNS = sorted(p.stem for p in (ROOT / "hwconfigs").glob("*.yaml"))
KIND_OF = {"systolic": "Systolic", "eie": "EIE", "sonic": "Photonic", "crosslight": "Photonic",
           "eyeriss": "RowStationary", "sparse_systolic": "SparseSystolic",
           "crosslight-base": "Photonic", "crosslight-base-ted": "Photonic", "crosslight-opt": "Photonic"}


@pytest.mark.parametrize("design", DESIGNS)
def test_each_design_has_its_kind_and_prices_every_count(design, tiny_network):
    hw = sim.load_hardware(ROOT / "hwconfigs" / f"{design}.yaml")
    assert type(dataflows.get(hw)).__name__ == KIND_OF[design]
    r = sim.run(hw, tiny_network)
    prices = action_energies(hw)
    for comp, action in zip(r.energy["component"], r.energy["action"]):
        assert (comp, action) in prices
        assert device_of(comp, hw) in dataflows.device_classes()


def test_systolic_dataflows_share_one_kind(root):
    kinds = {df: type(dataflows.get(sim.load_hardware(root / "hwconfigs" / "systolic.yaml", {"pe_array.dataflow": df})))
             for df in ("os", "ws", "is")}
    assert set(kinds.values()) == {dataflows.systolic.Systolic}


def test_schema_choices_come_from_the_registry():
    from sim.hardware import schema
    assert set(schema.SCHEMA.fields["kind"].choices) == {"electronic", "photonic"}
    assert set(schema.SCHEMA.fields["pe_array"].fields["dataflow"].choices) == {"os", "ws", "is", "eie", "rs",
                                                                                 "sparse_ws"}


def test_a_kind_section_on_another_kind_is_caught_by_sweeps(root):
    from sim.sweep.spec import hardware_path_problem
    from sim.hardware.load import read_hardware_dict
    data = read_hardware_dict(root / "hwconfigs" / "systolic.yaml")
    msg = hardware_path_problem("photonic.conv_units.count", data, "grid")
    assert msg and "belongs to photonic designs" in msg


def test_no_module_outside_the_dataflows_names_a_kind():
    pattern = re.compile(r'"eie"|"photonic"|"rs"|"sparse_ws"|dataflow ==|\.kind == "(electronic|photonic)"')
    offenders = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("sim/engine/dataflows/"):
            continue
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if pattern.search(line) and "fc_dataflow" not in line:  # the executor's csr/csc choice is not a kind
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []
