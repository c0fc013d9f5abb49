"""``python -m sim bench-compression SPEC``: compare compression methods on one model (sim.sweep.bench)."""
from __future__ import annotations

import os

from ..paths import resolve_path
from .common import at_least


def register(sub) -> None:
    p = sub.add_parser(
        "bench-compression", help="ShrinkBench-style comparison of compression methods with hardware cost",
        description="Run every (method, target fraction of weights kept, seed) of SPEC on its model, execute each "
                    "compressed model once and cost it on every design. Writes comparison.csv (one row per method, "
                    "target, seed and design), comparison_summary.csv and PNG plots. Rerunning with the same --out "
                    "resumes: finished jobs are kept.")
    p.add_argument("spec", metavar="SPEC.yaml", help="comparison spec, e.g. benchmarks/compression/lenet300-mnist.yaml")
    p.add_argument("--out", "-o", metavar="DIR", help="output folder (default: reports/bench/<spec name>)")
    p.add_argument("--workers", "-j", type=int, metavar="N", help="local worker processes (default: every core)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    from ..sweep.bench import load_bench, run_bench, summary_table
    from ..sweep.runner import default_workers
    at_least("--workers", args.workers)
    spec = load_bench(resolve_path(args.spec))
    out = args.out or os.path.join("reports", "bench", spec.name)
    table = run_bench(spec, out, workers=args.workers or default_workers(), progress=not args.quiet)
    summary = summary_table(table)
    summary.to_csv(os.path.join(out, "comparison_summary.csv"), index=False, lineterminator="\n")
    if not args.quiet:
        print(summary.to_string(index=False))
        print(f"wrote {out}/comparison.csv ({len(table)} rows)")
    return 0
