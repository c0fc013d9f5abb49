"""Per-layer progress of ``run`` and ``compare``: on stderr when it is a terminal, silenced by -q,
absent in pipes; the reports are the same bytes with and without it."""
import sys
from pathlib import Path

import pytest

from sim import progress
from sim.cli import main
from sim.commands.common import default_model
from sim.workload.load import load_network

ROOT = Path(__file__).resolve().parents[1]
SONIC = str(ROOT / "hwconfigs" / "sonic.yaml")
EIE = str(ROOT / "hwconfigs" / "eie.yaml")


@pytest.fixture
def layer_names():
    return [layer.name for layer in load_network(default_model()).layers]


def run_cli(argv, capsys, monkeypatch, tty):
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)  # capsys's stderr: a terminal or a pipe
    assert main(argv) == 0
    return capsys.readouterr().err


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_run_on_a_terminal_shows_every_layer_and_the_same_reports(tmp_path, capsys, monkeypatch, layer_names):
    err = run_cli(["run", SONIC, "--out", str(tmp_path / "tty")], capsys, monkeypatch, tty=True)
    for phase in ("execute", "simulate sonic"):
        assert f"{phase}:" in err
    for name in layer_names:  # each layer named while it runs
        assert f"layer/s, {name}]" in err
    assert f"0/{len(layer_names)} " in err
    plain = run_cli(["run", SONIC, "--out", str(tmp_path / "pipe")], capsys, monkeypatch, tty=False)
    assert "\r" not in plain and "layer/s" not in plain
    assert plain.strip().startswith("execute: full")  # only the mode line: no bar
    reports = files_of(tmp_path / "tty")
    assert set(reports) >= {"summary.csv", "layers.csv", "energy.csv"}
    assert reports == files_of(tmp_path / "pipe")
    assert not progress._shown  # the command turns bars off again for later library calls


def test_quiet_prints_nothing_on_a_terminal(tmp_path, capsys, monkeypatch):
    assert run_cli(["run", SONIC, "-q", "--out", str(tmp_path / "q")], capsys, monkeypatch, tty=True) == ""
    assert run_cli(["compare", SONIC, EIE, "-q", "--out", str(tmp_path / "c")], capsys, monkeypatch, tty=True) == ""


def test_compare_shows_each_design_and_the_same_reports(tmp_path, capsys, monkeypatch, layer_names):
    err = run_cli(["compare", SONIC, EIE, "--out", str(tmp_path / "tty")], capsys, monkeypatch, tty=True)
    for phase in ("execute", "simulate sonic", "simulate eie"):
        assert f"{phase}:" in err
    assert all(f"layer/s, {name}]" in err for name in layer_names)
    assert run_cli(["compare", SONIC, EIE, "--out", str(tmp_path / "pipe")], capsys, monkeypatch, tty=False) == ""
    assert files_of(tmp_path / "tty") == files_of(tmp_path / "pipe")


def test_bars_only_where_a_command_turns_them_on(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert list(progress.layers(iter("abc"), "x")) == ["a", "b", "c"]
    assert capsys.readouterr().err == ""  # a library call (notebook, sweep worker): no bar
    layer = type("L", (), {"name": "fc9"})()
    with progress.shown(True):
        assert list(progress.layers([(layer, 1)], "x")) == [(layer, 1)]
    assert not progress._shown
    err = capsys.readouterr().err
    assert "x:" in err and "fc9]" in err
