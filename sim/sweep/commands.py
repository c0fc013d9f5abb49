"""`python -m sim sweep SPEC.yaml`: the command-line face of sim.sweep."""
from __future__ import annotations

import os
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
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
    from ..cli import resolve_path
    from .runner import run_sweep
    from .spec import load_spec

    from ..outdir import check_out_dir, default_out
    from .checks import check_inputs_load

    if args.out:
        check_out_dir(args.out)
    spec = load_spec(resolve_path(args.spec))
    out = args.out or str(check_out_dir(default_out("reports", "sweeps", names=(spec.name,))))
    check_inputs_load(spec)
    outcome = run_sweep(spec, out, workers=args.workers, scheduler=args.scheduler, limit=args.limit,
                        progress=not args.quiet, plots=args.plots)
    if not args.quiet:
        print(f"{spec.name}: {outcome.points} points; {outcome.already_done} already done, {outcome.computed} "
              f"computed in {outcome.compute_s:.1f} s ({outcome.points_per_minute:.0f} points/minute), "
              f"{outcome.remaining} left; {outcome.elapsed_s:.1f} s with reports")
        print(f"  {outcome.errors} failed (status=error in sweep.csv), {outcome.feasible} meet the constraints, "
              f"{outcome.pareto} on the Pareto front")
        for f in outcome.files:
            print(f"  wrote {f}")
    if outcome.points and outcome.errors == outcome.points:
        print(f"error: every point failed; see the error column of {os.path.join(out, 'sweep.csv')}", file=sys.stderr)
        return 2
    return 0
