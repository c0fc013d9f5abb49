"""``python -m sim compare HWCONFIG...``: one model, executed once, costed on several designs.

Writes ``comparison.csv`` (one row per design: the summary columns, the energy per inference of
each device class, and the photonic one-time calibration), ``comparison.png`` (grouped bars),
and with ``--ablation`` ``ablation.csv`` / ``ablation.png``: for every photonic design, SONIC's
sparsity techniques all on, each switched off in turn, and all off.
"""
from __future__ import annotations

from dataclasses import replace

import pandas as pd

from ..engine.photonic import calibration
from ..hardware.energy import action_energies
from ..hardware.spec import HardwareConfig
from .price import SUMMARY_COLUMNS

# Device classes of the energy breakdown, in report order. SRAM is every named on-chip buffer.
DEVICES = ("dac", "adc", "vcsel", "photodetector", "tia", "tuning", "laser", "sram", "dram", "electronic_mac",
           "static")
_DEVICE_OF = {
    "act_dac": "dac", "weight_dac": "dac", "adc": "adc", "vcsel": "vcsel", "photodetector": "photodetector",
    "tia": "tia", "mrr": "tuning", "input_mrr": "tuning", "laser": "laser", "dram": "dram",
    "pe_array": "electronic_mac", "accumulator": "electronic_mac", "activation_unit": "electronic_mac",
    "codebook": "electronic_mac", "static": "static",
}
SWITCHES = ("fc_compression", "conv_compression", "vcsel_power_gating", "weight_clustering")
BREAKDOWN_COLUMNS = [f"energy_{d}_pj" for d in DEVICES]
CALIBRATION_COLUMNS = ["calibration_latency_s", "calibration_energy_pj"]
COMPARISON_COLUMNS = (["hwconfig"] + [c for c in SUMMARY_COLUMNS if c != "hwconfig"] + BREAKDOWN_COLUMNS
                      + CALIBRATION_COLUMNS)
ABLATION_COLUMNS = ["hwconfig", "variant"] + list(SWITCHES) + COMPARISON_COLUMNS[1:]


def device_of(component: str, hw: HardwareConfig) -> str:
    """Device class of a counted component (buffers by their configured names)."""
    if component in _DEVICE_OF:
        return _DEVICE_OF[component]
    if any(b.name == component for b in hw.memory.buffers):
        return "sram"
    raise KeyError(f"component {component!r} of {hw.name} has no device class in sim.report.compare")


def device_breakdown(energy: pd.DataFrame, hw: HardwareConfig, batch: int = 1) -> dict[str, float]:
    """Energy per inference (pJ) of each device class; the classes sum to the run's total / batch."""
    out = dict.fromkeys(DEVICES, 0.0)
    for comp, pj in energy.groupby("component")["energy_pj"].sum().items():
        out[device_of(comp, hw)] += float(pj) / batch
    return out


def calibration_cost(hw: HardwareConfig) -> tuple[float, float]:
    """(latency s, energy pJ) of the one-time TO calibration of a photonic design; NaN otherwise."""
    if hw.photonic is None:
        return float("nan"), float("nan")
    cal = calibration(hw)
    prices = action_energies(hw)
    return cal.cycles / (hw.clock_ghz * 1e9), float(sum(n * prices[k] for k, n in cal.counts.items()))


def comparison_row(result) -> dict:
    """One design's row: summary, breakdown per device class, calibration (a sim.run.Result in)."""
    row = result.summary.iloc[0].to_dict()
    breakdown = device_breakdown(result.energy, result.hw, int(row["batch"]))
    row.update({f"energy_{d}_pj": v for d, v in breakdown.items()})
    row["calibration_latency_s"], row["calibration_energy_pj"] = calibration_cost(result.hw)
    return row


def compare(hws: list[HardwareConfig], ex, engine: str = "auto") -> pd.DataFrame:
    """Cost one execution (``sim.run.prepare``) on each design: one row per design."""
    from ..run import cost
    return pd.DataFrame([comparison_row(cost(hw, ex, engine)) for hw in hws], columns=COMPARISON_COLUMNS)


def ablation_variants(hw: HardwareConfig) -> list[tuple[str, HardwareConfig]]:
    """All techniques on, each switched off in turn, all off (photonic designs only)."""
    sp = hw.photonic.sparsity

    def with_switches(**flags):
        return replace(hw, photonic=replace(hw.photonic, sparsity=replace(sp, **flags)))

    all_on = dict.fromkeys(SWITCHES, True)
    variants = [("all_on", with_switches(**all_on))]
    variants += [(f"no_{s}", with_switches(**{**all_on, s: False})) for s in SWITCHES]
    variants.append(("all_off", with_switches(**dict.fromkeys(SWITCHES, False))))
    return variants


def ablation(hws: list[HardwareConfig], ex, engine: str = "auto") -> pd.DataFrame:
    """One row per (photonic design, variant of its sparsity switches)."""
    from ..run import cost
    rows = []
    for hw in hws:
        if hw.photonic is None:
            continue
        for variant, hv in ablation_variants(hw):
            row = comparison_row(cost(hv, ex, engine))
            row.update(variant=variant, **{s: getattr(hv.photonic.sparsity, s) for s in SWITCHES})
            rows.append(row)
    return pd.DataFrame(rows, columns=ABLATION_COLUMNS)


def register(subparsers) -> None:
    from ..cli import add_run_options
    p = subparsers.add_parser(
        "compare", help="run one model on several hardware configs side by side",
        description="Execute a model once and cost it on every HWCONFIG; write comparison.csv (summary columns, "
                    "energy per inference of each device class, one-time photonic calibration) and "
                    "comparison.png. With --ablation also ablation.csv/.png: for each photonic config, SONIC's "
                    "sparsity techniques all on, each off in turn, all off.")
    p.add_argument("hwconfigs", nargs="+", metavar="HWCONFIG", help="hardware YAMLs, e.g. hwconfigs/sonic.yaml")
    add_run_options(p)
    p.add_argument("--out", "-o", help="report folder (default reports/compare-<model>)")
    p.add_argument("--ablation", action="store_true", help="also switch each sparsity technique off in turn")
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the comparison table")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from ..cli import load_inputs, load_model_for, resolve_path
    from ..errors import ConfigError
    from ..hardware.load import load_hardware
    from ..run import prepare
    from .plots import ablation_chart, comparison_chart
    from .write import write_report_dir

    from ..outdir import check_out_dir, default_out

    if args.out:
        check_out_dir(args.out)
    hws = [load_hardware(resolve_path(p)) for p in args.hwconfigs]
    net = load_model_for(args)
    inputs = load_inputs(args, net)
    if args.batch < 1:
        raise ConfigError("--batch", f"must be an integer >= 1; got {args.batch}")
    batch = args.batch if inputs is None else len(inputs)
    out = args.out or check_out_dir(default_out("reports", names=("compare", net.name)))
    ex = prepare(net, batch=batch, seed=args.seed, inputs=inputs, data_dir=args.data_dir, executor=args.executor)
    table = compare(hws, ex, args.engine)
    tables = {"comparison.csv": table}
    charts = {"comparison.png": lambda path: comparison_chart(table, path)}
    if args.ablation:
        abl = ablation(hws, ex, args.engine)
        tables["ablation.csv"] = abl
        if len(abl):
            charts["ablation.png"] = lambda path: ablation_chart(abl, path)
    write_report_dir(out, tables, charts)
    if not args.quiet:
        print_comparison(table, tables.get("ablation.csv"), out)
    return 0


def print_comparison(table: pd.DataFrame, abl: pd.DataFrame | None, out) -> None:
    cols = ["hwconfig", "latency_s", "energy_per_inference_pj", "power_w", "fps", "fps_per_w", "energy_per_bit_pj"]
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(table[cols].to_string(index=False))
        if abl is not None and len(abl):
            print()
            print(abl[["hwconfig", "variant"] + cols[1:]].to_string(index=False))
    print(f"\n  reports in {out}/")
