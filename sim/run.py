"""sim.run: one network on one design, end to end (DESIGN.md's stages in order).

``run(hardware, model)`` = ``cost(hardware, prepare(model))``. Hardware and model are loaded
objects or file paths; every function takes the hardware first, then the model.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .execution.modes import (MODES, VALUE_MODES, check_fits, choose_mode, estimate_memory, is_placeholder,
                              memory_budget_bytes, shapes_profile)
from .execution.profile import WorkProfile
from .execution.reference import execute_reference
from .engine.result import DesignNumerics, RunResult
from .engine.simulate import simulate as event_simulate
from .errors import ConfigError
from .guard import check_run_size
from .hardware.load import load_hardware
from .hardware.spec import HardwareConfig
from .paths import resolve_path
from .report.files import write_run
from .report.price import energy_table, layer_table, summary_table
from .report.table import Table
from .workload.load import fill_weights, load_network, unpack
from .workload.network import Network

if TYPE_CHECKING:
    from .engine.numerics import FloatReference
    import pandas as pd

ENGINES = ("auto", "event", "analytical")  # auto = event: the SimPy model
EXECUTORS = ("auto", "kernels", "reference")  # auto = kernels: numba


def check_choice(function: str, name: str, value, choices) -> None:
    """ConfigError naming the function and argument when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"sim.{function}", f"{name}: must be one of {', '.join(choices)}; got {value!r}")


def as_hardware(hardware) -> HardwareConfig:
    """A loaded ``HardwareConfig`` as is; a path is loaded (and checked) with ``load_hardware``."""
    if isinstance(hardware, HardwareConfig):
        return hardware
    if isinstance(hardware, (str, os.PathLike)):
        return load_hardware(resolve_path(hardware))
    raise TypeError(f"hardware must be a HardwareConfig or the path of a hardware YAML; got {type(hardware).__name__}")


def as_network(model, seed: int | None = None, execute: str = "full", batch: int = 1) -> Network:
    """A loaded ``Network`` as is; a path (model YAML, .onnx, SCALE-Sim .csv) is loaded, with
    ``seed`` as the seed of any synthetic weights. Synthetic weights are drawn only for the value
    modes ("full", "sampled", "auto"), after a memory check on the shapes: ``execute="shapes"`` (or
    an "auto" run whose sampled estimate does not fit) gets the shapes-only network. Model YAMLs
    keep their large synthesized layers packed (``load_network(packed=True)``); a SCALE-Sim topology
    is drawn dense."""
    if isinstance(model, Network):
        return model
    if isinstance(model, (str, os.PathLike)):
        path = resolve_path(model)
        low = str(path).lower()
        if low.endswith(".onnx"):
            return load_network(path, seed=seed)
        if low.endswith(".csv"):
            from .workload.topology import load_topology
            shapes = load_topology(path, seed=0 if seed is None else seed, shapes_only=True)
            if execute not in VALUE_MODES:
                return shapes
            check_fits(shapes, batch, execute)  # before any weight is drawn
            return load_network(path, seed=seed)
        shapes = load_network(path, seed=seed, shapes_only=True)
        if execute == "shapes" or not is_placeholder(shapes):  # nothing to draw (or weights from a file)
            return shapes
        if execute in VALUE_MODES:
            check_fits(shapes, batch, execute)  # before any weight is drawn
        elif estimate_memory(shapes, batch, "sampled") > memory_budget_bytes():
            return shapes  # auto: not even sampled execution fits; choose_mode says shapes
        return load_network(path, seed=seed, packed=True)
    raise TypeError(f"model must be a Network or the path of a model file; got {type(model).__name__}")


@dataclass
class Result:
    """Everything one run produced. ``summary`` (one row), ``layers`` (one row per layer) and
    ``energy`` (one row per layer x component x action) are the report tables as pandas
    DataFrames, built on first use from the rows in ``tables`` (a run that only writes its
    reports never imports pandas)."""

    tables: dict[str, Table]  # {"summary": ..., "layers": ..., "energy": ...}
    run: RunResult
    profile: WorkProfile
    outputs: object
    hw: HardwareConfig
    net: Network
    mode: str = "full"  # execution mode of the profile (sim.execution.modes)
    mode_reason: str = ""

    @property
    def summary(self) -> pd.DataFrame:
        return self.tables["summary"].frame

    @property
    def layers(self) -> pd.DataFrame:
        return self.tables["layers"].frame

    @property
    def energy(self) -> pd.DataFrame:
        return self.tables["energy"].frame

    def write(self, folder: str | os.PathLike, timeline_layer: str | None = None, source: str | None = None):
        """Write summary.csv, layers.csv and energy.csv (the files of ``python -m sim run``) into
        ``folder``, all or nothing; with ``timeline_layer`` also timeline.csv and timeline.png;
        with ``source``, model_source.txt naming the model file (``report.files.report_folder``)."""
        return write_run(self, folder, timeline_layer=timeline_layer, source=source)

    def plot(self):
        """A matplotlib Figure: cycles (with the roofline bound) and energy by component, per layer."""
        from .report.run_figure import run_figure
        return run_figure(self)

    def _repr_html_(self) -> str:
        from .report.html import html_table
        s = self.summary.iloc[0]
        return html_table(self.summary, f"{s['model']} on {s['hwconfig']}")


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

    vocab = int(net.meta.get("vocab", 0) or 0)
    if vocab and not net.independent:  # the input is token ids of an embedding table
        return rng.integers(0, vocab, (batch,) + tuple(net.input_shape)).astype(np.float32)
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
    check_choice("execute", "executor", executor, EXECUTORS)
    if executor == "reference":
        return execute_reference(net, inputs)
    from .execution.execute import execute as kernel_execute  # numba: not for shapes-only runs
    return kernel_execute(net, inputs)


_execute_values = execute  # ``prepare``'s ``execute`` argument names the mode


def simulate(hw: HardwareConfig, net: Network, profile: WorkProfile, engine: str = "auto") -> RunResult:
    """Turn work into cycles and counts: the SimPy event model ("event", also "auto") or the
    first-fidelity analytical estimate ("analytical")."""
    check_choice("simulate", "engine", engine, ENGINES)
    if engine == "analytical":
        from .engine.cost import estimate
        return estimate(net, profile, hw)
    return event_simulate(net, profile, hw)


@dataclass
class Execution:
    """A network executed once on its inputs: reusable by every hardware point (a sweep over
    hardware re-costs it without re-executing)."""

    net: Network
    outputs: object
    profile: WorkProfile
    accuracy: float | None  # the float model's (the network as given)
    reference: FloatReference | None = None  # per-layer float outputs each design is compared with
    mode: str = "full"  # execution mode (sim.execution.modes): full, sampled or shapes
    mode_reason: str = ""


def prepare(model, batch: int = 1, seed: int = 0, inputs=None, data_dir=None,
            executor: str = "auto", execute: str = "auto") -> Execution:
    """Execute ``model`` (a Network or a model file) on real (or seeded synthetic) inputs.

    batch: samples the hardware processes (the first ``batch`` test samples for networks with a
    dataset). Accuracy, where labels exist, is measured on the whole test split.
    execute: "full" (every output), "sampled" (large fc layers counted on a stratified row sample:
    no accuracy), "shapes" (no values: work from shapes and stated densities, no outputs, no accuracy) or "auto" (see ``sim.execution.modes.choose_mode``); a mode whose
    memory estimate exceeds the budget is a ConfigError naming the mode that would fit.
    """
    check_choice("prepare", "executor", executor, EXECUTORS)
    check_choice("prepare", "execute", execute, MODES)
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
        raise ConfigError("sim.prepare", f"batch: must be an integer >= 1; got {batch!r}")
    net = as_network(model, seed, execute, int(batch))
    check_run_size(net, int(batch), seed)  # batch and seed in range; choose_mode checks the chosen mode fits memory
    mode, reason = choose_mode(net, int(batch), execute)
    if mode == "full" and is_packed(net):  # the float reference and design numerics read dense weights
        unpack(net)
    if mode == "shapes":
        return Execution(net, None, shapes_profile(net, int(batch)), None, mode=mode, mode_reason=reason)
    if mode == "sampled":  # no accuracy, no design numerics: outputs are partly BLAS, counts extrapolated
        from .execution.sampled import execute_sampled
        if inputs is None:
            data = real_inputs(net, data_dir)
            inputs = _first(data[0], batch) if data is not None else synthetic_inputs(net, batch, seed)
        outputs, profile = execute_sampled(net, inputs, seed=seed)
        return Execution(net, outputs, profile, None, None, mode, reason)
    from .engine.numerics import FloatReference, traced  # numba: imported only by runs that execute values
    accuracy = None
    reference = None
    if inputs is None:
        data = real_inputs(net, data_dir)
        if data is not None:
            x_all, y_all = data
            logits, _, layer_outputs = traced(net, x_all, executor)
            accuracy = float(np.mean(np.argmax(logits, axis=1) == y_all))
            reference = FloatReference(net, x_all, y_all, layer_outputs,
                                       _calibration_inputs(net, data_dir), executor)
            inputs = _first(x_all, batch)
        else:
            inputs = synthetic_inputs(net, batch, seed)
    if reference is None:
        outputs, profile, layer_outputs = traced(net, inputs, executor)
        reference = FloatReference(net, inputs, None, layer_outputs, inputs, executor)
    else:
        outputs, profile = _execute_values(net, inputs, executor)
    return Execution(net, outputs, profile, accuracy, reference, mode, reason)


def _first(x: np.ndarray, batch: int) -> np.ndarray:
    """The first ``batch`` samples of ``x``, cycling through it when it holds fewer."""
    return np.concatenate([x] * -(-batch // len(x)))[:batch]


def _calibration_inputs(net: Network, data_dir):
    """Inputs that set the designs' quantization scales: the dataset's train split (never the
    test split accuracy is measured on)."""
    from .workload.data import inputs_for
    return inputs_for(net, "train", data_dir=data_dir)[0]


def is_packed(net: Network) -> bool:
    """Some layer holds its weights packed (``load_network(packed=True)``)."""
    return any("packed" in lay.attrs for lay in net.layers)


def reads_weight_values(hw: HardwareConfig) -> bool:
    """Does costing on ``hw`` read weight values (beyond shapes and the profile's counts)? Only a
    dense systolic array (no zero skipping, no N:M sparse cores) does not."""
    from .engine.dataflows import get
    from .engine.dataflows.systolic import Systolic
    pe = hw.pe_array
    return not (type(get(hw)) is Systolic and pe is not None and not pe.skip_zero_weights
                and getattr(pe, "structured_sparsity", None) is None)


def _for_design(hw: HardwareConfig, ex: Execution) -> None:
    """When the design's cost model reads weight values: packed weights made dense, and a
    shapes-only model YAML given its synthesized weights (once, in place)."""
    if not reads_weight_values(hw):
        return
    if is_packed(ex.net):
        unpack(ex.net)
    if "weight_densities" in ex.net.meta:
        fill_weights(ex.net)


def cost(hardware, ex: Execution, engine: str = "auto") -> Result:
    """Simulate and price one execution on one design (a HardwareConfig or a hardware YAML)."""
    check_choice("cost", "engine", engine, ENGINES)
    hw, result = _simulated(hardware, ex, engine)
    energy = energy_table(result, hw)
    layers = layer_table(result, ex.profile, energy, numerics_of_design(hw, ex).layer_errors)
    tables = {"summary": _summary(result, hw, ex, energy), "layers": layers, "energy": energy}
    return Result(tables, result, ex.profile, ex.outputs, hw, ex.net, ex.mode, ex.mode_reason)


def summarize(hardware, ex: Execution, engine: str = "auto") -> pd.DataFrame:
    """Only the one-row summary of ``cost`` (what a sweep point keeps), without the per-layer table."""
    check_choice("summarize", "engine", engine, ENGINES)
    hw, result = _simulated(hardware, ex, engine)
    return _summary(result, hw, ex, energy_table(result, hw)).frame


def _simulated(hardware, ex: Execution, engine: str) -> tuple[HardwareConfig, RunResult]:
    """(design, its run of ``ex``): weights made ready for the design's cost model, the event
    model's memory checked, then simulated."""
    hw = as_hardware(hardware)
    _for_design(hw, ex)
    check_engine_fits(hw, ex, engine)
    return hw, simulate(hw, ex.net, ex.profile, engine)


def check_engine_fits(hw: HardwareConfig, ex: Execution, engine: str) -> None:
    """ConfigError before the event model maps a network whose tile lists on ``hw`` (with the
    execution's own peak) would not fit in the memory budget (``SIM_MEMORY_LIMIT_MB``)."""
    if engine == "analytical":
        return
    from .engine.simulate import engine_bytes
    batch = ex.profile.batch
    tiles = engine_bytes(ex.net, batch, hw)
    need, budget = estimate_memory(ex.net, batch, ex.mode) + tiles, memory_budget_bytes()
    if tiles and need > budget:
        raise ConfigError("batch", f"the event model of {hw.name!r} would hold about {tiles / 2**20:.0f} MiB of tiles "
                                   f"for {ex.net.name!r} at batch {batch} (about {need / 2**20:.0f} MiB in all); this "
                                   f"machine allows {budget / 2**20:.0f} MiB: use a smaller --batch, a larger array "
                                   "or --engine analytical")


def numerics_of_design(hw: HardwareConfig, ex: Execution):
    """Accuracy and per-layer output error of the network on ``hw``'s arithmetic
    (sim/engine/numerics.py); the float execution in ``ex`` is shared by every design."""
    if ex.reference is None:
        return DesignNumerics(ex.accuracy, ())
    from .engine.numerics import design_numerics
    return design_numerics(hw, ex.reference)


def _summary(result: RunResult, hw: HardwareConfig, ex: Execution, energy: Table) -> Table:
    storage_bytes = -(-result.weight_storage_bits // 8)
    accuracy = numerics_of_design(hw, ex).accuracy if ex.accuracy is not None else None
    return summary_table(result, hw, energy, accuracy, storage_bytes, ex.net.name, hw.name,
                         model_accuracy=ex.accuracy)


def run(hardware, model, batch: int = 1, seed: int = 0, inputs=None, data_dir=None,
        executor: str = "auto", engine: str = "auto", execute: str = "auto") -> Result:
    """Execute ``model`` on real (or seeded synthetic) inputs and cost it on ``hardware``.

    hardware: a HardwareConfig or a hardware YAML path; model: a Network or a model file (model
    YAML, .onnx, SCALE-Sim .csv; ``seed`` seeds its synthetic weights). Returns a Result whose
    ``summary``, ``layers`` and ``energy`` are DataFrames; ``Result.write(folder)`` writes them.
    """
    check_choice("run", "engine", engine, ENGINES)
    check_choice("run", "executor", executor, EXECUTORS)
    hw = as_hardware(hardware)
    return cost(hw, prepare(model, batch, seed, inputs, data_dir, executor, execute), engine)
