"""`python -m sim sensitivity`: one-at-a-time sensitivity to a config's ASSUMPTION values."""
from __future__ import annotations

import os


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sensitivity", help="how FPS/W and energy move with each ASSUMPTION of a hwconfig",
        description="Vary every value the hwconfig marks ASSUMPTION over its plausible range, one at a time; "
                    "write sensitivity.csv (one row per assumption and end of its range), tornado.png and "
                    "note.txt (which assumptions flip the comparison with --against) under --out.")
    p.add_argument("hwconfig", help="hardware YAML, e.g. hwconfigs/sonic.yaml")
    p.add_argument("--model", "-m", help="model file (default: the run command's default model)")
    p.add_argument("--vary", action="append", default=[], metavar="KEY=LOW:HIGH",
                   help="range of one field (repeatable); overrides the default range or adds a field")
    p.add_argument("--against", metavar="OTHER.yaml", help="second design: say which assumptions flip the comparison")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a field of every design first, e.g. --set photonic.tuning.to_hold=boot (paper mode)")
    p.add_argument("--out", "-o", help="report folder (default reports/sensitivity-<hw>-<model>)")
    p.add_argument("--batch", "-b", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_sensitivity)


def cmd_sensitivity(args) -> int:
    from ..hardware.load import parse_assignments
    from ..outdir import check_out_dir, default_out
    from ..paths import resolve_path
    from ..sensitivity import parse_vary, sensitivity
    from .common import at_least, default_model

    if args.out:  # --out, --vary, --set, --batch and --seed fail before anything runs
        check_out_dir(args.out)
    at_least("--batch", args.batch)
    at_least("--seed", args.seed, 0)
    vary = parse_vary(args.vary)
    overrides = parse_assignments(args.overrides, "--set")
    hw = resolve_path(args.hwconfig)
    model = resolve_path(args.model) if args.model else default_model()
    against = resolve_path(args.against) if args.against else None
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
    out = args.out or str(check_out_dir(default_out("reports", names=("sensitivity", stem(hw), stem(model)))))
    res = sensitivity(hw, model, vary=vary, against=against, batch=args.batch, seed=args.seed, overrides=overrides)
    res.write(out)
    print(res.note)
    print(f"wrote {os.path.join(out, 'sensitivity.csv')} and tornado.png")
    return 0
