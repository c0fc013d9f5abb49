"""The notebook API beside ``sim.run``: ``compare`` (one model on several designs) and ``compress``
(a recipe). Each takes paths or loaded objects, computes in memory and returns a result with
``.write(folder)`` (the files of the matching ``python -m sim`` command, byte for byte),
``.plot()`` (matplotlib figures) and a compact HTML table in Jupyter.

    import sim
    cmp = sim.compare(["hwconfigs/sonic.yaml", "hwconfigs/eie.yaml"], "models/lenet300.yaml")
    cmp.table                 # one row per design (comparison.csv)
    cmp.plot()                # the comparison chart
    cmp.write("reports/compare-lenet300")
    cr = sim.compress("models/lenet300-deepcomp.yaml")
    cr.network, cr.table      # the compressed Network and its stage table
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .compression.pipeline import Compressed, run_compression
from .compression.recipe import Recipe, load_recipe
from .errors import ConfigError
from .paths import resolve_path
from .report.compare import ABLATION_COLUMNS, COMPARISON_COLUMNS, SWITCHES, ablation_variants, comparison_row
from .report.html import html_table
from .report.write import write_report_dir
from .run import ENGINES, EXECUTORS, Execution, as_hardware, check_choice, cost, prepare

SUMMARY_VIEW = ["hwconfig", "latency_s", "energy_per_inference_pj", "power_w", "fps", "fps_per_w",
                "energy_per_bit_pj"]


def comparison_table(hws: list, ex: Execution, engine: str = "auto") -> pd.DataFrame:
    """Cost one execution (``sim.prepare``) on each design: one row per design (comparison.csv)."""
    return pd.DataFrame([comparison_row(cost(hw, ex, engine)) for hw in hws], columns=COMPARISON_COLUMNS)


def ablation_table(hws: list, ex: Execution, engine: str = "auto") -> pd.DataFrame:
    """One row per (photonic design, variant of its sparsity switches) (ablation.csv)."""
    rows = []
    for hw in hws:
        if hw.photonic is None:
            continue
        for variant, hv in ablation_variants(hw):
            row = comparison_row(cost(hv, ex, engine))
            row.update(variant=variant, **{s: getattr(hv.photonic.sparsity, s) for s in SWITCHES})
            rows.append(row)
    return pd.DataFrame(rows, columns=ABLATION_COLUMNS)


@dataclass
class Comparison:
    """One model executed once and costed on several designs: ``table`` (comparison.csv) and, with
    ``ablation=True``, ``ablation`` (ablation.csv: each photonic design's sparsity switches)."""

    table: pd.DataFrame
    ablation: pd.DataFrame | None
    model: str  # the network's name
    execution: Execution

    @property
    def _title(self) -> str:
        from .report.style import model_name
        return model_name(self.model, self.execution.net.source)

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {"comparison.csv": self.table}
        if self.ablation is not None:
            tables["ablation.csv"] = self.ablation
        return tables

    def figures(self) -> dict:
        """{PNG file name: matplotlib Figure}, as ``write`` saves them."""
        from .report.plots import ablation_figure, comparison_figure  # matplotlib only when plotting

        figs = {"comparison.png": comparison_figure(self.table, self._title)}
        if self.ablation is not None and len(self.ablation):
            figs["ablation.png"] = ablation_figure(self.ablation, self._title)
        return figs

    def plot(self, name: str = "comparison.png"):
        """The comparison chart (or ``"ablation.png"``) as a matplotlib Figure."""
        return self.figures()[name]

    def write(self, folder: str | os.PathLike) -> Path:
        """Write comparison.csv and comparison.png (+ ablation.csv/.png) into ``folder``, all or nothing."""
        from .report.plots import ablation_chart, comparison_chart

        charts = {"comparison.png": lambda path: comparison_chart(self.table, path, self._title)}
        if self.ablation is not None and len(self.ablation):
            charts["ablation.png"] = lambda path: ablation_chart(self.ablation, path, self._title)
        return write_report_dir(folder, self.tables(), charts)

    def _repr_html_(self) -> str:
        return html_table(self.table, f"{self.model} on {len(self.table)} designs", SUMMARY_VIEW)


def compare(hardware, model, batch: int = 1, seed: int = 0, inputs=None, data_dir=None, executor: str = "auto",
            engine: str = "auto", ablation: bool = False) -> Comparison:
    """Execute ``model`` once and cost it on every design of ``hardware``.

    hardware: a list of HardwareConfigs or hardware YAML paths; model: a Network or a model file
    (``seed`` seeds synthetic weights and inputs). ablation: also switch each photonic design's
    sparsity techniques off in turn (SONIC's ablation)."""
    check_choice("compare", "engine", engine, ENGINES)
    check_choice("compare", "executor", executor, EXECUTORS)
    if isinstance(hardware, (str, os.PathLike)) or not hasattr(hardware, "__iter__"):
        hardware = [hardware]
    hws = [as_hardware(h) for h in hardware]
    ex = prepare(model, batch=batch, seed=seed, inputs=inputs, data_dir=data_dir, executor=executor)
    table = comparison_table(hws, ex, engine)
    abl = ablation_table(hws, ex, engine) if ablation else None
    return Comparison(table, abl, ex.net.name, ex)


@dataclass
class CompressionResult:
    """A recipe run in memory: ``network`` (the compressed Network) and ``table`` (the stage table
    compression.csv, or lth_summary.csv for a lottery-ticket recipe)."""

    compressed: Compressed

    @property
    def network(self):
        return self.compressed.network

    @property
    def recipe(self) -> Recipe:
        return self.compressed.recipe

    @property
    def table(self) -> pd.DataFrame:
        c = self.compressed
        return c.lth_summary if self.recipe.kind == "lottery_ticket" else c.stages

    @property
    def layers(self) -> pd.DataFrame | None:
        """Per-layer storage (compression_layers.csv; None for lottery tickets)."""
        return self.compressed.layers

    def tables(self) -> dict[str, pd.DataFrame]:
        return self.compressed.tables()

    def figures(self) -> dict:
        return self.compressed.figures()

    def plot(self):
        """storage.png (or lth.png) as a matplotlib Figure."""
        return next(iter(self.figures().values()))

    def write(self, folder: str | os.PathLike, model_out: str | os.PathLike | None = None) -> list[str]:
        """Write the tables, the PNG and the compressed model (YAML + .npz; default: the recipe's
        output_model, else ``folder/<recipe name>-model.yaml``); the paths written."""
        return self.compressed.write(folder, model_out)

    def _repr_html_(self) -> str:
        return html_table(self.table, f"{self.recipe.name}: {self.network.name}")


def compress(recipe, data_dir=None, seed: int | None = None, log=None) -> CompressionResult:
    """Run a compression recipe (a Recipe or a recipe YAML) in memory; nothing is written.

    seed: overrides the recipe's (lottery recipes shift all their seeds by the difference).
    log: called with one line per step (e.g. ``print``); default silent."""
    if not isinstance(recipe, Recipe):
        if not isinstance(recipe, (str, os.PathLike)):
            raise TypeError(f"recipe must be a Recipe or the path of a recipe YAML; got {type(recipe).__name__}")
        recipe = load_recipe(resolve_path(recipe))
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError("sim.compress", f"seed: must be an integer >= 0; got {seed!r}")
    return CompressionResult(run_compression(recipe, data_dir=data_dir, seed=seed, log=log or (lambda *_: None)))
