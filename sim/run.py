"""sim.run: one network on one design, end to end (DESIGN.md's stages in order)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .engine.cost import estimate
from .engine.execute import execute as kernel_execute
from .engine.reference import execute_reference
from .engine.simulate import simulate as event_simulate
from .engine.profile import WorkProfile
from .engine.result import RunResult
from .errors import ConfigError
from .guard import check_run_size
from .hardware.spec import HardwareConfig
from .report.price import energy_rows, layer_rows, summary_row
from .workload.network import Network


@dataclass
class Result:
    """Everything one run produced. ``summary`` (one row), ``layers`` (one row per layer) and
    ``energy`` (one row per layer x component x action) are the report tables."""

    summary: pd.DataFrame
    layers: pd.DataFrame
    energy: pd.DataFrame
    run: RunResult
    profile: WorkProfile
    outputs: object
    hw: HardwareConfig
    net: Network


def synthetic_inputs(net: Network, batch: int, seed: int):
    """Seeded inputs in [0, 1) at the stated activation density (exact count of nonzeros per sample).

    Independent-layer networks get one input per layer, at that layer's ``act_density``."""
    rng = np.random.default_rng([seed, 7919])

    def draw(shape, density):
        x = rng.random((batch,) + tuple(shape), dtype=np.float32) + np.float32(1e-3)  # never exactly 0
        flat = x.reshape(batch, -1)
        keep = int(round(density * flat.shape[1]))
        for row in flat:
            row[rng.permutation(flat.shape[1])[keep:]] = 0.0
        return x

    if net.independent:
        return [draw(lay.in_shape, lay.act_density if lay.act_density is not None else net.input_density)
                for lay in net.layers]
    return draw(net.input_shape, net.input_density)


def real_inputs(net: Network, data_dir=None):
    """(x, y) of the test split for networks that name a dataset, else None."""
    if not net.dataset:
        return None
    from .workload.data import inputs_for
    return inputs_for(net, "test", data_dir=data_dir)


def execute(net: Network, inputs, executor: str = "auto"):
    """Run the network for real; ``executor`` is "kernels" (numba, also "auto") or "reference" (numpy)."""
    if executor == "reference":
        return execute_reference(net, inputs)
    return kernel_execute(net, inputs)


def simulate(net: Network, profile: WorkProfile, hw: HardwareConfig, engine: str = "auto") -> RunResult:
    """Turn work into cycles and counts: the SimPy event model ("event", also "auto") or the
    first-fidelity analytical estimate ("analytical")."""
    if engine == "analytical":
        return estimate(net, profile, hw)
    return event_simulate(net, profile, hw)


@dataclass
class Execution:
    """A network executed once on its inputs: reusable by every hardware point (a sweep over
    hardware re-costs it without re-executing)."""

    net: Network
    outputs: object
    profile: WorkProfile
    accuracy: float | None


def prepare(net: Network, batch: int = 1, seed: int = 0, inputs=None, data_dir=None,
            executor: str = "auto") -> Execution:
    """Execute ``net`` on real (or seeded synthetic) inputs.

    batch: samples the hardware processes (the first ``batch`` test samples for networks with a
    dataset). Accuracy, where labels exist, is measured on the whole test split.
    """
    if batch < 1:
        raise ConfigError("--batch", f"must be an integer >= 1; got {batch}")
    check_run_size(net, batch, seed)
    accuracy = None
    if inputs is None:
        data = real_inputs(net, data_dir)
        if data is not None:
            x_all, y_all = data
            logits, _ = execute(net, x_all, executor)
            accuracy = float(np.mean(np.argmax(logits, axis=1) == y_all))
            reps = -(-batch // len(x_all))
            inputs = np.concatenate([x_all] * reps)[:batch]
        else:
            inputs = synthetic_inputs(net, batch, seed)
    outputs, profile = execute(net, inputs, executor)
    return Execution(net, outputs, profile, accuracy)


def cost(hw: HardwareConfig, ex: Execution, engine: str = "auto") -> Result:
    """Simulate and price one execution on one design."""
    result = simulate(ex.net, ex.profile, hw, engine)
    energy = energy_rows(result, hw)
    layers = layer_rows(result, ex.profile, energy)
    return Result(_summary(result, hw, ex, energy), layers, energy, result, ex.profile, ex.outputs, hw, ex.net)


def summarize(hw: HardwareConfig, ex: Execution, engine: str = "auto") -> pd.DataFrame:
    """Only the one-row summary of ``cost`` (what a sweep point keeps), without the per-layer table."""
    result = simulate(ex.net, ex.profile, hw, engine)
    return _summary(result, hw, ex, energy_rows(result, hw))


def _summary(result: RunResult, hw: HardwareConfig, ex: Execution, energy: pd.DataFrame) -> pd.DataFrame:
    storage_bytes = -(-result.weight_storage_bits // 8)
    return summary_row(result, hw, energy, ex.accuracy, storage_bytes, ex.net.name, hw.name)


def run(hw: HardwareConfig, net: Network, batch: int = 1, seed: int = 0, inputs=None, data_dir=None,
        executor: str = "auto", engine: str = "auto") -> Result:
    """Execute ``net`` on real (or seeded synthetic) inputs and cost it on ``hw``.

    Returns a Result whose ``summary``, ``layers`` and ``energy`` are DataFrames.
    """
    return cost(hw, prepare(net, batch, seed, inputs, data_dir, executor), engine)
