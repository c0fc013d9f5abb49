"""``python -m sim compare HWCONFIG...``: one model, executed once, costed on several designs
(``sim.compare``)."""
from __future__ import annotations

from .. import progress
from ..outdir import check_out_dir, default_out
from ..paths import resolve_path
from .common import add_run_options, model_and_inputs


def register(sub) -> None:
    p = sub.add_parser(
        "compare", help="run one model on several hardware configs side by side",
        description="Execute a model once and cost it on every HWCONFIG; write comparison.csv (summary columns, "
                    "energy per inference of each device class, one-time photonic calibration) and "
                    "comparison.png. With --ablation also ablation.csv/.png: for each photonic config, SONIC's "
                    "sparsity techniques all on, each off in turn, all off.")
    p.add_argument("hwconfigs", nargs="+", metavar="HWCONFIG", help="hardware YAMLs, e.g. hwconfigs/sonic.yaml")
    add_run_options(p)
    p.add_argument("--out", "-o", help="report folder (default reports/compare-<model>)")
    p.add_argument("--ablation", action="store_true", help="also switch each sparsity technique off in turn")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-layer progress and no comparison table")
    p.set_defaults(func=cmd_compare)


def cmd_compare(args) -> int:
    from ..api import compare
    from ..engine import dataflows  # noqa: F401  (registers the dataflow kinds load_hardware checks against)
    from ..hardware.load import load_hardware
    if args.out:
        check_out_dir(args.out)
    hws = [load_hardware(resolve_path(p)) for p in args.hwconfigs]
    net, inputs, batch = model_and_inputs(args)
    out = args.out or str(check_out_dir(default_out("reports", names=("compare", net.name))))
    with progress.shown(not args.quiet):  # per-layer bars on stderr, on a terminal only
        result = compare(hws, net, batch=batch, seed=args.seed, inputs=inputs, data_dir=args.data_dir,
                         executor=args.executor, engine=args.engine, ablation=args.ablation,
                         execute=args.execute)
    result.write(out)
    if not args.quiet:
        print_comparison(result.table, result.ablation, out)
    return 0


def print_comparison(table: pd.DataFrame, abl: pd.DataFrame | None, out) -> None:
    import pandas as pd

    from ..api import SUMMARY_VIEW
    cols = SUMMARY_VIEW
    with pd.option_context("display.width", 160, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(table[cols].to_string(index=False))
        if abl is not None and len(abl):
            print()
            print(abl[["hwconfig", "variant"] + cols[1:]].to_string(index=False))
    print(f"\n  reports in {out}/")
