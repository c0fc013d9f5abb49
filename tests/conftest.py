import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# On CI (CI=true) every property test draws the same examples on every run: a red CI is then a
# real regression, never a lucky draw. Locally, hypothesis explores new examples each run.
settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def root():
    return ROOT


@pytest.fixture
def tiny_network():
    """A small conv + fc network with synthetic sparse weights (built through the real loader)."""
    from sim.workload.load import network_from_dict
    spec = {
        "version": 1, "name": "tiny", "input_shape": [2, 8, 8], "input_density": 0.6, "seed": 3,
        "layers": [
            {"name": "conv1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "weight_density": 0.5},
            {"name": "relu1", "type": "relu"},
            {"name": "pool1", "type": "maxpool", "kernel_size": 2},
            {"name": "flatten", "type": "flatten"},
            {"name": "fc1", "type": "fc", "out_features": 10, "weight_density": 0.3},
        ],
    }
    return network_from_dict(spec, "tiny.yaml")


@pytest.fixture(params=["sonic", "crosslight", "eie", "systolic"])
def hw(request):
    from sim.hardware import load_hardware
    return load_hardware(ROOT / "hwconfigs" / f"{request.param}.yaml")


def pytest_terminal_summary(terminalreporter):
    """Cases the fuzz suite (test_fuzz.py) tried, per input kind and outcome (issue 14's closing note)."""
    mod = sys.modules.get("test_fuzz")
    counts = getattr(mod, "COUNTS", None)
    if not counts:
        return
    terminalreporter.section("fuzz cases per input kind")
    for kind, c in sorted(counts.items()):
        terminalreporter.write_line(f"{kind:<14} {sum(c.values()):>5} cases: {c['error']} clear errors, "
                                    f"{c['ok']} finite results, {c['fail']} other")
