"""``python -m sim run HWCONFIG`` and ``python -m sim check FILE...``."""
from __future__ import annotations

import os
import sys

from .. import progress
from ..errors import ConfigError
from ..outdir import check_out_dir, check_out_file, default_out, safe_name, write_text_atomic
from ..paths import resolve_path
from .common import add_run_options, model_and_inputs


def run(*args, **kwargs):
    """``sim.run.run``, imported on first call: ``--help`` and ``check`` must not import numba or pandas."""
    from ..run import run as run_model
    return run_model(*args, **kwargs)


def register(sub) -> None:
    p = sub.add_parser("run", help="run one model on one hardware config and write reports",
                       description="Run a model on a hardware config; write summary.csv, layers.csv and energy.csv "
                                   "under reports/<hw>-<model>/ (or --out).")
    p.add_argument("hwconfig", help="hardware YAML, e.g. hwconfigs/sonic.yaml")
    add_run_options(p)
    p.add_argument("--out", "-o", help="report folder (default reports/<hwconfig>-<model>)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field by its dotted path, e.g. --set pe_array.rows=32 (repeatable)")
    p.add_argument("--timeline", metavar="LAYER", help="also write timeline.csv and timeline.png (busy intervals "
                   "per component) for this layer")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-layer progress and no summary table")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate hardware configs and models without running",
                       description="Load and validate files; print OK or every problem found.")
    p.add_argument("files", nargs="+", help="hardware YAMLs (hwconfigs/), SCALE-Sim .cfg files or models "
                   "(models/, .onnx, .csv)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("import-config", help="convert a SCALE-Sim .cfg into the equivalent hwconfig YAML",
                       description="Write the hwconfig YAML equivalent to a SCALE-Sim .cfg (array, SRAMs, dataflow, "
                                   "bandwidth, [sparsity]), with sim's assumptions as comments.")
    p.add_argument("cfg", help="SCALE-Sim config, e.g. configs/google.cfg")
    p.add_argument("--out", "-o", help="output YAML (default hwconfigs/<run_name>.yaml)")
    p.set_defaults(func=cmd_import_config)


def cmd_run(args) -> int:
    from ..engine import dataflows  # noqa: F401  (registers the dataflow kinds load_hardware checks against)
    from ..hardware.load import load_hardware
    from ..report.files import print_summary, report_folder, write_run
    if args.out:
        check_out_dir(args.out)
    hw = load_hardware(resolve_path(args.hwconfig), args.overrides)
    net, inputs, batch = model_and_inputs(args)
    out = args.out or report_folder(default_out("reports", names=(hw.name, net.name)), net.source)
    if not args.out:
        check_out_dir(out)
    with progress.shown(not args.quiet):  # per-layer bars on stderr, on a terminal only
        result = run(hw, net, batch=batch, seed=args.seed, inputs=inputs, data_dir=args.data_dir,
                     executor=args.executor, engine=args.engine, execute=args.execute)
    if not args.quiet:
        print(f"execute: {result.mode} ({result.mode_reason})", file=sys.stderr)
        if result.mode == "sampled":
            print("note: accuracy is not reported from a sampled run (layers.csv: sampled, sample_fraction, "
                  "effectual_macs_ci_low/high)", file=sys.stderr)
    write_run(result, out, timeline_layer=args.timeline, source=None if args.out else net.source)
    if not args.quiet:
        print_summary(result, out)
    return 0


def cmd_check(args) -> int:
    from ..engine import dataflows  # noqa: F401  (registers the dataflow kinds load_hardware checks against)
    from ..hardware.load import load_hardware
    from ..workload.load import load_network
    from ..yamlfile import read_yaml
    bad = 0
    for f in args.files:
        try:
            path = resolve_path(f)
            is_hw = path.endswith(".cfg") or (path.endswith((".yaml", ".yml")) and "kind" in read_yaml(path))
            (load_hardware if is_hw else load_network)(path)
            print(f"{f}: OK")
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            bad += 1
    return 2 if bad else 0


def cmd_import_config(args) -> int:
    from ..engine import dataflows  # noqa: F401  (registers the dataflow kinds load_hardware checks against)
    from ..hardware.load import validate
    from ..hardware.scalesim_cfg import hardware_yaml_text, scalesim_hardware_dict

    if args.out:
        check_out_file(args.out)
    data = scalesim_hardware_dict(resolve_path(args.cfg))
    validate(data, args.cfg)
    out = args.out or str(check_out_file(os.path.join("hwconfigs", f"{safe_name(data['name'])}.yaml")))
    write_text_atomic(out, hardware_yaml_text(data, args.cfg))
    print(f"wrote {out}")
    return 0
