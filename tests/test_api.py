"""The notebook API (sim.run, sim.compare, sim.compress, sim.sweep) on the shipped models: paths or
loaded objects, nothing written before .write(), the CLI's files byte for byte, figures, HTML."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from matplotlib.figure import Figure

import sim
from sim.cli import main
from sim.errors import ConfigError, SimulationError

ROOT = Path(__file__).resolve().parents[1]
HW = ["hwconfigs/sonic.yaml", "hwconfigs/eie.yaml"]
MODEL = "models/lenet300.yaml"
FAST = {"engine": "analytical", "executor": "reference"}


def files_of(folder: Path) -> dict[str, bytes]:
    """The files of a report folder (not the hidden lock a resumable sweep keeps)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def cli(*args, cwd=ROOT):
    p = subprocess.run([sys.executable, "-m", "sim", *map(str, args)], cwd=cwd, capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    return p


def assert_figures(figures):
    assert figures
    for fig in figures:
        assert isinstance(fig, Figure)
        assert fig.get_suptitle() or any(ax.get_title() for ax in fig.axes)
        for ax in fig.axes:
            if ax.get_visible() and ax.has_data():
                assert ax.get_xlabel() or ax.get_xticklabels(), ax
                assert ax.get_ylabel(), ax


@pytest.fixture
def empty_cwd(tmp_path, monkeypatch):
    """A working directory that must stay empty until .write() is called."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_run_takes_paths_or_objects_and_writes_the_cli_files(tmp_path, empty_cwd):
    by_path = sim.run(ROOT / HW[1], ROOT / MODEL)
    by_object = sim.run(sim.load_hardware(ROOT / HW[1]), sim.load_network(ROOT / MODEL))
    assert by_path.summary.equals(by_object.summary) and by_path.energy.equals(by_object.energy)
    assert not any(empty_cwd.iterdir())
    by_path.write(tmp_path / "api")
    cli("run", HW[1], "--model", MODEL, "--out", tmp_path / "cli", "-q")
    assert files_of(tmp_path / "api") == files_of(tmp_path / "cli")
    assert_figures([by_path.plot()])
    assert "<table" in by_path._repr_html_() and "lenet300" in by_path._repr_html_()


@pytest.mark.parametrize("call", [
    lambda: sim.run(HW[1], MODEL, engine="analytic"),
    lambda: sim.run(HW[1], MODEL, executor="numba"),
    lambda: sim.prepare(MODEL, executor="fast"),
    lambda: sim.cost(HW[1], None, engine="simpy"),
    lambda: sim.compare(HW, MODEL, engine="analytic"),
])
def test_unknown_engine_or_executor_is_rejected_before_any_work(call):
    with pytest.raises(ConfigError, match=r"sim\.\w+: (engine|executor): must be one of .*; got"):
        call()


def test_bad_arguments_are_clear():
    with pytest.raises(ConfigError, match=r"sim\.prepare: batch: must be an integer >= 1; got 0"):
        sim.prepare(MODEL, batch=0)
    with pytest.raises(TypeError, match="hardware must be a HardwareConfig or the path"):
        sim.run(42, MODEL)
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        sim.run("hwconfigs/nope.yaml", MODEL)


def test_compare_matches_the_cli_byte_for_byte(tmp_path, empty_cwd):
    cmp = sim.compare(HW, MODEL, batch=2, ablation=True, **FAST)
    assert not any(empty_cwd.iterdir())
    assert cmp.table["hwconfig"].tolist() == ["sonic", "eie"] and len(cmp.ablation) == 6
    cmp.write(tmp_path / "api")
    cli("compare", *HW, "--model", MODEL, "--batch", 2, "--ablation", "--engine", "analytical", "--executor",
        "reference", "--out", tmp_path / "cli", "-q")
    api, ref = files_of(tmp_path / "api"), files_of(tmp_path / "cli")
    assert sorted(api) == ["ablation.csv", "ablation.png", "comparison.csv", "comparison.png"]
    assert api == ref
    assert_figures(cmp.figures().values())
    assert "<table" in cmp._repr_html_() and "fps_per_w" in cmp._repr_html_()


def test_compress_matches_the_cli_byte_for_byte(tmp_path, empty_cwd):
    recipe = tmp_path / "recipe" / "lenet300-oneshot.yaml"
    recipe.parent.mkdir()
    recipe.write_text(yaml.safe_dump({
        "version": 1, "recipe": "deep_compression", "model": str(ROOT / MODEL), "seed": 3,
        "stages": [{"prune": {"rate": 0.5, "rounds": 2}}, {"quantize": {"method": "kmeans", "bits": 4}},
                   {"encode": {"index_bits": 5}}]}))
    res = sim.compress(recipe)
    assert not any(empty_cwd.iterdir()) and sorted(p.name for p in recipe.parent.iterdir()) == [recipe.name]
    assert list(res.table["stage"]) == ["dense", "pruned", "quantized", "huffman"]
    assert res.network.name == "lenet300-oneshot-model" and res.network.weight_nnz < res.network.weight_count / 3
    res.write(tmp_path / "api")
    cli("compress", recipe, "--out", tmp_path / "cli", "-q")
    api, ref = files_of(tmp_path / "api"), files_of(tmp_path / "cli")
    assert sorted(api) == ["compression.csv", "compression_layers.csv", "lenet300-oneshot-model.npz",
                           "lenet300-oneshot-model.yaml", "storage.png"]
    assert api == ref
    # the typed recipe in memory gives the same network as the one written and reloaded
    again = sim.run(HW[1], tmp_path / "api" / "lenet300-oneshot-model.yaml", **FAST)
    assert sim.run(HW[1], res.network, **FAST).summary.drop(columns="model").equals(
        again.summary.drop(columns="model"))
    assert_figures([res.plot()])
    assert "<table" in res._repr_html_()


def test_sweep_in_memory_matches_the_cli_byte_for_byte(tmp_path, empty_cwd):
    spec = tmp_path / "spec" / "tiny.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({
        "version": 1, "name": "tiny", "model": str(ROOT / MODEL), **FAST,
        "compression": {"prune": {"density": 0.5}, "quantize": {"bits": 6}},
        "grid": {"hardware": [str(ROOT / h) for h in HW], "compression.prune.density": [0.3, 0.1]},
        "objectives": {"energy_per_inference_pj": "minimize", "accuracy": "maximize"}}))
    res = sim.sweep(spec, workers=1, progress=False)
    assert not any(empty_cwd.iterdir()) and sorted(p.name for p in spec.parent.iterdir()) == [spec.name]
    assert len(res.points) == 4 and (res.points["status"] == "ok").all()
    assert 1 <= len(res.pareto) <= 4 and res.outcome.computed == 4
    res.write(tmp_path / "api")
    cli("sweep", spec, "--workers", 1, "--out", tmp_path / "cli", "-q")
    api, ref = files_of(tmp_path / "api"), files_of(tmp_path / "cli")
    assert {"sweep.csv", "pareto.csv", "pareto.png"} <= set(api)
    assert api == ref
    assert_figures(res.figures().values())
    assert "<table" in res._repr_html_()


def test_internal_errors_exit_3_with_traceback_user_errors_exit_2(monkeypatch, capsys):
    import sim.commands.run as run_command

    def broken(*args, **kwargs):
        raise SimulationError("a layer fits no buffer")

    monkeypatch.setattr(run_command, "run", broken)
    assert main(["run", "hwconfigs/eie.yaml", "--model", MODEL, "-q"]) == 3
    err = capsys.readouterr().err
    assert "internal error: SimulationError: a layer fits no buffer" in err and "Traceback" in err
    assert "report" in err  # asks for a bug report
    monkeypatch.setattr(run_command, "run", lambda *a, **k: 1 / 0)
    assert main(["run", "hwconfigs/eie.yaml", "--model", MODEL, "-q"]) == 3
    assert "ZeroDivisionError" in capsys.readouterr().err
    assert main(["run", "hwconfigs/nope.yaml", "-q"]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml: file not found" in err and "Traceback" not in err


def test_sensitivity_api_writes_the_cli_files(tmp_path):
    """sim.sensitivity mirrors `python -m sim sensitivity`: same files, byte for byte."""
    import subprocess
    import sys
    vary = {"memory.dram.bandwidth_gbps": (5.0, 20.0)}
    res = sim.sensitivity("hwconfigs/sonic.yaml", "models/lenet300-sonic.yaml", vary=vary)
    assert "<table" in res._repr_html_() and not (tmp_path / "api").exists()
    res.write(tmp_path / "api")
    cli = tmp_path / "cli"
    subprocess.run([sys.executable, "-m", "sim", "sensitivity", "hwconfigs/sonic.yaml", "--model",
                    "models/lenet300-sonic.yaml", "--vary", "memory.dram.bandwidth_gbps=5:20", "--out", str(cli)],
                   check=True, capture_output=True)
    for name in ("sensitivity.csv", "tornado.png", "note.txt"):
        assert (tmp_path / "api" / name).read_bytes() == (cli / name).read_bytes(), name
    fig = res.plot()
    assert fig._suptitle is not None and fig.axes[0].get_xlabel()
