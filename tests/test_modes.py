"""Execution modes: shapes mode equals full execution in expectation on synthetic uniform weights,
the memory estimate bounds the measured peak, and a mode that does not fit is a clear error."""
import resource
import subprocess
import sys

import numpy as np
import pytest

from sim.execution.modes import check_fits, choose_mode, estimate_memory, shapes_profile
from sim.errors import ConfigError
from sim.run import prepare
from sim.workload.topology import load_topology

TOPOLOGY = """Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
a,12,12,3,3,8,16,1,
b,9,9,3,3,16,24,2,
c,1,1,1,1,96,40,1,
"""


@pytest.fixture
def topo(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TOPOLOGY)
    return path


@pytest.mark.parametrize("density", [1.0, 0.3])
def test_shapes_equals_full_in_expectation(topo, density):
    full = prepare(load_topology(topo, seed=1, density=density), execute="full").profile
    net = load_topology(topo, shapes_only=True)
    net.meta["weight_density"] = density
    shapes = shapes_profile(net, 1)
    for s, f in zip(shapes.layers, full.layers):
        assert (s.macs, s.padding_macs, s.weight_count) == (f.macs, f.padding_macs, f.weight_count)
        assert s.weight_nnz == f.weight_nnz
        # Effectual work: exact when dense; else within sampling noise of the uniform model.
        assert s.effectual_macs == pytest.approx(f.effectual_macs, rel=0.0 if density == 1.0 else 0.05)


def test_auto_picks_shapes_for_topologies_without_density(topo):
    ex = prepare(str(topo))
    assert ex.mode == "shapes" and "no weight values" in ex.mode_reason
    assert ex.outputs is None and ex.accuracy is None


def test_a_mode_over_budget_is_an_error_naming_the_mode_that_fits(topo):
    net = load_topology(topo, shapes_only=True)
    with pytest.raises(ConfigError, match="--execute shapes would fit"):
        check_fits(net, 1, "full", budget_bytes=estimate_memory(net, 1, "shapes") + 1)
    mode, why = choose_mode(load_topology(topo), 1, "auto", budget_bytes=estimate_memory(net, 1, "shapes") + 1)
    assert mode == "shapes" and "would need" in why


def test_cli_exits_2_when_full_does_not_fit(topo):
    env = {"SIM_MEMORY_LIMIT_MB": "100", "PYTHONPATH": ":".join(sys.path)}
    proc = subprocess.run([sys.executable, "-m", "sim", "run", "hwconfigs/systolic.yaml", "--model", str(topo),
                           "--execute", "full", "-q", "-o", str(topo.parent / "out")], capture_output=True,
                          text=True, env=env)
    assert proc.returncode == 2 and "would fit" not in proc.stdout and "--execute" in proc.stderr
    assert not (topo.parent / "out").exists()


@pytest.mark.parametrize("model", ["models/lenet300.yaml", "models/lenet5.yaml"])
def test_memory_estimate_is_not_below_measured_peak(model):
    # Peak RSS from /proc/self/status VmHWM: getrusage's ru_maxrss survives fork+exec on Linux, so a
    # child of a large pytest process would report the parent's peak.
    code = ("import re, sim; from sim.run import prepare; from sim.execution.modes import estimate_memory;"
            f"ex = prepare({model!r}, batch=4, execute='full');"
            "hwm = int(re.search(r'VmHWM:\\s+(\\d+) kB', open('/proc/self/status').read()).group(1)) * 1024;"
            "print(estimate_memory(ex.net, 4, 'full'), hwm)")
    # The first run may compile numba kernels into the cache (a one-time cost the estimate is not
    # about); measure the second, warm run.
    for _ in range(2):
        est, peak = map(int, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                            check=True).stdout.split())
    assert est >= 0.8 * peak
