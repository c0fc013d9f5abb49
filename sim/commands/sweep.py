"""``python -m sim sweep SPEC.yaml``: a design-space sweep (``sim.sweep``), resumable in its folder."""
from __future__ import annotations

import os
import sys
import time

from ..outdir import check_out_dir, default_out
from ..paths import resolve_path
from .common import at_least


def register(sub) -> None:
    p = sub.add_parser(
        "sweep", help="run a design-space sweep from a YAML spec (resumable; local cores or a Dask cluster)",
        description="Evaluate every point of a sweep spec (a base hardware config, a model or compression, and "
                    "axes by dotted path as grid / zip / random samples). Finished points are appended to "
                    "DIR/sweep.csv as they complete, so an interrupted sweep resumes where it stopped when rerun "
                    "with the same spec and --out. Writes sweep.csv, pareto.csv and PNG plots.")
    p.add_argument("spec", metavar="SPEC.yaml", help="sweep spec, e.g. sweeps/sonic_units.yaml")
    p.add_argument("--out", "-o", metavar="DIR",
                   help="output folder; rerunning with the same folder skips finished points "
                        "(default: reports/sweeps/<spec name>)")
    p.add_argument("--workers", "-j", type=int, metavar="N",
                   help="local worker processes (default: every core this process may use; 1 runs in-process)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on the Dask distributed cluster whose scheduler is at ADDRESS (e.g. tcp://host:8786) "
                        "instead of local processes; --workers is then ignored")
    p.add_argument("--limit", type=int, metavar="N",
                   help="evaluate at most N unfinished points in this run, then write the reports (a later run "
                        "continues)")
    p.add_argument("--no-plots", dest="plots", action="store_false",
                   help="write sweep.csv and pareto.csv only, no PNG plots")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no closing summary")
    p.set_defaults(func=cmd_sweep)


def cmd_sweep(args) -> int:
    from ..sweep.api import sweep
    from ..sweep.checks import check_inputs_load
    from ..sweep.spec import load_spec
    at_least("--workers", args.workers)
    at_least("--limit", args.limit, 0)
    if args.out:
        check_out_dir(args.out)
    t0 = time.perf_counter()
    spec = load_spec(resolve_path(args.spec))
    out = args.out or str(check_out_dir(default_out("reports", "sweeps", names=(spec.name,))))
    check_inputs_load(spec)
    result = sweep(spec, workers=args.workers, scheduler=args.scheduler, limit=args.limit,
                   progress=not args.quiet, resume=out)
    files = result.write(out, plots=args.plots)
    o = result.outcome
    if not args.quiet:
        print(f"{spec.name}: {o.points} points; {o.already_done} already done, {o.computed} "
              f"computed in {o.compute_s:.1f} s ({o.points_per_minute:.0f} points/minute), "
              f"{o.remaining} left; {time.perf_counter() - t0:.1f} s with reports")
        print(f"  {o.errors} failed (status=error in sweep.csv), {o.feasible} meet the constraints, "
              f"{o.pareto} on the Pareto front")
        for f in files:
            print(f"  wrote {f}")
    if o.points and o.errors == o.points:
        print(f"error: every point failed; see the error column of {os.path.join(out, 'sweep.csv')}", file=sys.stderr)
        return 2
    return 0
