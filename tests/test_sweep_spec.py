"""Sweep specs: validation messages, and grid / zip / random expansion."""
from __future__ import annotations

import pytest

from sim.errors import ConfigError
from sim.sweep.expand import execution_key, expand, split_values
from sim.sweep.spec import load_spec
from sweep_helpers import ROOT, write_spec


def test_grid_is_the_cartesian_product_first_axis_slowest(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid={"pe_array.rows": [8, 16, 32], "pe_array.dataflow": ["ws", "os"]}))
    points = expand(spec)
    assert [p.values for p in points] == [
        {"pe_array.rows": r, "pe_array.dataflow": d} for r in (8, 16, 32) for d in ("ws", "os")]
    assert [p.index for p in points] == list(range(6))
    assert len({p.point_id for p in points}) == 6


def test_zip_pairs_values_and_combines_with_the_grid(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid={"pe_array.dataflow": ["ws", "os"]},
                                zip={"pe_array.rows": [8, 16, 32], "pe_array.cols": [4, 8, 16]}))
    values = [p.values for p in expand(spec)]
    assert len(values) == 6
    assert values[:3] == [{"pe_array.dataflow": "ws", "pe_array.rows": r, "pe_array.cols": c}
                          for r, c in ((8, 4), (16, 8), (32, 16))]
    assert spec.axes == ["pe_array.dataflow", "pe_array.rows", "pe_array.cols"]


def test_random_samples_are_seeded_in_range_and_typed(tmp_path):
    random = {"samples": 40, "seed": 7, "axes": {
        "pe_array.rows": {"min": 4, "max": 64},
        "clock_ghz": {"min": 0.2, "max": 2.0, "log": True},
        "pe_array.dataflow": ["os", "ws", "is"]}}
    a = expand(load_spec(write_spec(tmp_path, random=random)))
    b = expand(load_spec(write_spec(tmp_path, random=random)))
    assert [p.values for p in a] == [p.values for p in b]
    assert [p.point_id for p in a] == [p.point_id for p in b]
    assert 30 <= len(a) <= 40  # repeated draws are kept once
    rows = [p.values["pe_array.rows"] for p in a]
    clocks = [p.values["clock_ghz"] for p in a]
    assert all(type(r) is int and 4 <= r <= 64 for r in rows)
    assert all(type(c) is float and 0.2 <= c <= 2.0 for c in clocks)
    assert {p.values["pe_array.dataflow"] for p in a} == {"os", "ws", "is"}
    assert len(set(rows)) > 10
    other = expand(load_spec(write_spec(tmp_path, random={**random, "seed": 8})))
    assert [p.values for p in other] != [p.values for p in a]


def test_repeated_values_give_one_point(tmp_path):
    spec = load_spec(write_spec(tmp_path, grid={"pe_array.rows": [8, 8, 16]}))
    assert [p.values["pe_array.rows"] for p in expand(spec)] == [8, 16]


def test_ids_depend_on_the_base_design_not_on_axis_order(tmp_path):
    one = expand(load_spec(write_spec(tmp_path, grid={"pe_array.rows": [8], "pe_array.cols": [4]})))
    swapped = expand(load_spec(write_spec(tmp_path, grid={"pe_array.cols": [4], "pe_array.rows": [8]})))
    changed = expand(load_spec(write_spec(tmp_path, grid={"pe_array.rows": [8], "pe_array.cols": [4]},
                                          set={"static_power_w": 1.0})))
    assert one[0].point_id == swapped[0].point_id
    assert one[0].point_id != changed[0].point_id


def test_axes_split_into_hardware_compression_and_run(tmp_path):
    spec = load_spec(write_spec(tmp_path, compression={"prune": {"density": 0.5}},
                                grid={"pe_array.rows": [8, 16], "compression.prune.density": [0.5, 0.2],
                                      "batch": [1, 2]}))
    points = expand(spec)
    design, hw, comp, run = split_values(spec, points[0].values)
    assert hw == {"pe_array.rows": 8} and comp == {"prune.density": 0.5} and run == {"batch": 1}
    assert design == spec.hardware
    # points differing only in hardware share an execution; others do not
    keys = {execution_key(spec, p.values) for p in points}
    assert len(keys) == 4
    assert execution_key(spec, points[0].values) == execution_key(
        spec, next(p for p in points if p.values["pe_array.rows"] == 16).values)


@pytest.mark.parametrize("sections, message", [
    ({"grid": {"pe_array.rowz": [1]}}, r"grid.pe_array.rowz: unknown hardware key 'rowz'; did you mean 'rows'\?"),
    ({"grid": {"memory.buffers.global_buffer.size_kb": [64]}},
     r"no entry 'global_buffer' under memory.buffers.*unified_buffer"),
    ({"gird": {"pe_array.rows": [1]}}, r"gird: unknown key; did you mean 'grid'\?"),
    ({"zip": {"pe_array.rows": [1, 2], "pe_array.cols": [1]}}, r"zip: lists must have equal lengths"),
    ({"grid": {"pe_array.rows": []}}, r"grid.pe_array.rows: must be a non-empty list"),
    ({"grid": {"pe_array.rows": [1]}, "objectives": {"energy_pj_per_inference": "minimize"}},
     r"objectives.energy_pj_per_inference: not a summary column; did you mean 'energy_per_inference_pj'\?"),
    ({"grid": {"pe_array.rows": [1]}, "objectives": {"latency_s": "smallest"}}, r"must be minimize or maximize"),
    ({"grid": {"pe_array.rows": [1]}, "constraints": {"power_w": {"below": 3}}}, r"constraints.power_w: must be"),
    ({"grid": {"compression.prune.density": [0.5]}}, r"a compression axis needs a 'compression' section"),
    ({"random": {"samples": 3, "axes": {"clock_ghz": {"min": 2, "max": 1}}}}, r"random.axes.clock_ghz: needs numbers"),
    ({"random": {"axes": {"clock_ghz": [1.0]}}}, r"random.samples: missing"),
    ({"grid": {"pe_array.rows": [1]}, "set": {"pe_array.rows": 4}}, r"also fixed under 'set'"),
    ({}, r"a sweep needs at least one of grid, zip or random"),
    ({"grid": {"pe_array.rows": [1]}, "hardware": "hwconfigs/nope.yaml"}, r"hardware: file not found"),
    ({"grid": {"pe_array.rows": [1]}, "compression": {"prune": {"densty": 0.5}}},
     r"compression.prune.densty: unknown key; did you mean 'density'\?"),
])
def test_bad_specs_name_the_file_and_key(tmp_path, sections, message):
    path = write_spec(tmp_path, **sections)
    with pytest.raises(ConfigError, match=message) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_every_problem_is_reported_at_once(tmp_path):
    path = write_spec(tmp_path, grid={"pe_array.rowz": [1], "clock_ghzz": [1]}, batch=0)
    with pytest.raises(ConfigError) as err:
        load_spec(path)
    assert len(err.value.problems) == 3


def test_a_bad_base_design_after_set_is_a_spec_error(tmp_path):
    with pytest.raises(ConfigError, match=r"pe_array.rows: must be an integer >= 1; got -1"):
        load_spec(write_spec(tmp_path, grid={"pe_array.cols": [1]}, set={"pe_array.rows": -1}))


def test_hardware_axis_checks_each_design(tmp_path):
    designs = [str(ROOT / "hwconfigs" / "systolic.yaml"), str(ROOT / "hwconfigs" / "sonic.yaml")]
    with pytest.raises(ConfigError, match=r"grid.pe_array.rows.*sonic.yaml"):
        load_spec(write_spec(tmp_path, hardware=None, grid={"hardware": designs, "pe_array.rows": [8]}))
    spec = load_spec(write_spec(tmp_path, hardware=None, grid={"hardware": designs, "clock_ghz": [0.5, 1.0]}))
    assert len(expand(spec)) == 4 and set(spec.designs) == set(designs)


@pytest.mark.parametrize("name", ["sonic_units", "compression", "systolic_buffers"])
def test_shipped_specs_load(name):
    spec = load_spec(ROOT / "sweeps" / f"{name}.yaml")
    points = expand(spec)
    assert len(points) >= (50 if name == "sonic_units" else 8)
