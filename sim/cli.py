"""Command line: python -m sim {run, check, train, compress, ...}.

User mistakes raise ConfigError, printed here as one clear message with exit status 2; internal
bugs keep their traceback. Library code never calls sys.exit.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from .errors import ConfigError, SimulationError

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODELS = ("models/lenet300-sonic.yaml", "models/lenet300.yaml")
# Modules that add subcommands with register(subparsers); each sets func=handler(args) -> int.
COMMAND_MODULES = ("sim.compression.commands", "sim.sweep.commands", "sim.report.compare")


def resolve_path(path: str) -> str:
    """A path as given, or relative to the repository when it does not exist from the cwd (so
    `python -m sim run hwconfigs/sonic.yaml` works from anywhere in a checkout)."""
    if os.path.exists(path) or os.path.isabs(path):
        return path
    alt = REPO_ROOT / path
    return str(alt) if alt.exists() else path


def default_model() -> str:
    for rel in DEFAULT_MODELS:
        p = resolve_path(rel)
        if os.path.exists(p):
            return p
    return DEFAULT_MODELS[-1]


def parse_shape(text: str) -> tuple[int, ...]:
    try:
        shape = tuple(int(s) for s in text.replace("x", ",").split(",") if s.strip())
    except ValueError:
        raise ConfigError("--input-shape", f"must be integers like 3,224,224; got {text!r}") from None
    if not shape or any(s < 1 for s in shape):
        raise ConfigError("--input-shape", f"must be positive integers like 3,224,224; got {text!r}")
    return shape


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by commands that run one model (run, compare)."""
    p.add_argument("--model", "-m", help="model file: models/*.yaml, an .onnx graph or a SCALE-Sim topology .csv "
                   f"(default: {DEFAULT_MODELS[0]}, the pruned 64-cluster LeNet-300-100)")
    p.add_argument("--batch", "-b", type=int, default=1, help="samples processed together (default 1)")
    p.add_argument("--seed", type=int, default=0, help="seed of synthetic weights and inputs (default 0)")
    p.add_argument("--density", type=float, help="weight density of synthetic weights for SCALE-Sim topologies "
                   "(0-1, default 1 = dense)")
    p.add_argument("--input-shape", help="per-sample input shape for ONNX graphs with symbolic dims, e.g. 3,224,224")
    p.add_argument("--input", dest="input_file", help="a .npy array of inputs (batch first) instead of the test "
                   "split or synthetic inputs")
    p.add_argument("--data", dest="data_dir", help="folder with MNIST IDX files for models whose dataset is mnist")
    p.add_argument("--executor", choices=("auto", "kernels", "reference"), default="auto",
                   help="numba kernels or the numpy reference executor (default auto: kernels)")
    p.add_argument("--engine", choices=("auto", "event", "analytical"), default="auto",
                   help="SimPy event model or first-fidelity analytical cost (default auto: event model)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Simulate compressed neural networks on dense, sparse and photonic accelerators: execute "
                    "the network for real, turn its work into cycles and energy, write CSV reports.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

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
    p.add_argument("--quiet", "-q", action="store_true", help="do not print the summary table")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check", help="validate hardware configs and models without running",
                       description="Load and validate files; print OK or every problem found.")
    p.add_argument("files", nargs="+", help="hardware YAMLs (hwconfigs/) or models (models/, .onnx, .csv)")
    p.set_defaults(func=cmd_check)

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def load_model_for(args):
    from .workload.load import load_network
    path = resolve_path(args.model) if args.model else default_model()
    shape = parse_shape(args.input_shape) if getattr(args, "input_shape", None) else None
    if args.density is not None and not 0.0 <= args.density <= 1.0:
        raise ConfigError("--density", f"must be in [0, 1]; got {args.density}")
    return load_network(path, seed=args.seed if args.model else None, density=args.density, input_shape=shape)


def load_inputs(args, net):
    if not getattr(args, "input_file", None):
        return None
    import numpy as np
    try:
        x = np.load(args.input_file, allow_pickle=False).astype(np.float32)
    except (OSError, ValueError, TypeError, EOFError) as exc:
        raise ConfigError(args.input_file, f"cannot read as a .npy array ({exc})") from None
    if not np.all(np.isfinite(x)):
        raise ConfigError(args.input_file, f"inputs must be finite; got {int(np.count_nonzero(~np.isfinite(x)))} "
                                           "NaN/inf values")
    if x.shape[1:] != tuple(net.input_shape):
        raise ConfigError(args.input_file, f"inputs must have shape (batch, {', '.join(map(str, net.input_shape))}); "
                                           f"got {x.shape}")
    return x


def cmd_run(args) -> int:
    from .hardware.load import load_hardware
    from .report.files import print_summary, write_run
    from .outdir import check_out_dir, default_out
    from .run import run

    if args.out:
        check_out_dir(args.out)
    hw = load_hardware(resolve_path(args.hwconfig), args.overrides)
    net = load_model_for(args)
    inputs = load_inputs(args, net)
    batch = args.batch if inputs is None else len(inputs)
    out = args.out or check_out_dir(default_out("reports", names=(hw.name, net.name)))
    result = run(hw, net, batch=batch, seed=args.seed, inputs=inputs, data_dir=args.data_dir,
                 executor=args.executor, engine=args.engine)
    write_run(result, out, timeline_layer=args.timeline)
    if not args.quiet:
        print_summary(result, out)
    return 0


def cmd_check(args) -> int:
    from .hardware.load import load_hardware
    from .workload.load import load_network
    from .yamlfile import read_yaml

    bad = 0
    for f in args.files:
        try:
            path = resolve_path(f)
            is_hw = path.endswith((".yaml", ".yml")) and "kind" in read_yaml(path)
            (load_hardware if is_hw else load_network)(path)
            print(f"{f}: OK")
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            bad += 1
    return 2 if bad else 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SimulationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # what sizes are checked up front cannot foresee: a resource limit, not a bug
        print("error: out of memory: the inputs need more memory than this machine has; reduce --batch or the "
              "model's or design's sizes", file=sys.stderr)
        return 2
    except Exception:  # a bug in sim, not in the input: keep the traceback for the report
        return report_internal_error()


def report_internal_error() -> int:
    """Print the current exception's traceback and a request to report it; exit status 3."""
    import traceback
    traceback.print_exc()
    print("internal error: this is a bug in sim, not in your input. Please report it with the command line and "
          "the files it used.", file=sys.stderr)
    return 3
