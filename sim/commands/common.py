"""Options and checks shared by the commands: the model options of run/compare, the default model,
and the checks of command-line numbers (errors name the flag: this is the CLI)."""
from __future__ import annotations

import argparse
import os

from ..errors import ConfigError
from ..paths import resolve_path

DEFAULT_MODELS = ("models/lenet300-sonic.yaml", "models/lenet300.yaml")


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


def at_least(flag: str, value, minimum: int = 1) -> None:
    """ConfigError naming ``flag`` when an integer option is below ``minimum``."""
    if value is not None and value < minimum:
        raise ConfigError(flag, f"must be an integer >= {minimum}; got {value}")


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
    p.add_argument("--execute", choices=("auto", "full", "sampled", "shapes"), default="auto",
                   help="full: every output executed on real weights; sampled: large fc layers counted on a seeded stratified "
                        "row sample (interval per layer, no accuracy); shapes: no values, work from shapes and "
                        "stated densities (no accuracy); auto (default): shapes for SCALE-Sim topologies without "
                        "--density, else full when its memory estimate fits (SIM_MEMORY_LIMIT_MB or 80%% of "
                        "available memory), else shapes")
    p.add_argument("--engine", choices=("auto", "event", "analytical"), default="auto",
                   help="SimPy event model or first-fidelity analytical cost (default auto: event model)")


def load_model_for(args):
    """The network of ``--model`` (or the default model), with the run options applied."""
    path = resolve_path(args.model) if args.model else default_model()
    shape = parse_shape(args.input_shape) if getattr(args, "input_shape", None) else None
    if args.density is not None and not 0.0 <= args.density <= 1.0:
        raise ConfigError("--density", f"must be in [0, 1]; got {args.density}")
    seed = args.seed if args.model else None
    mode = getattr(args, "execute", "full")
    from ..execution.modes import VALUE_MODES, check_fits  # lazy: check and --help load no execution stage
    if path.lower().endswith(".csv") and (mode in ("shapes",) + VALUE_MODES or args.density is None):
        from ..workload.topology import load_topology
        net = load_topology(path, seed=seed or 0, shapes_only=True)  # shapes only: no weight drawn yet
        net.meta["weight_density"] = 1.0 if args.density is None else float(args.density)
        if mode == "shapes" or (mode == "auto" and args.density is None):
            return net
        if mode in VALUE_MODES:
            check_fits(net, args.batch, mode)  # stop before drawing weights that would not fit
    if path.lower().endswith((".yaml", ".yml")):  # memory checked on the shapes before any weight is drawn
        from ..run import as_network
        return as_network(path, seed, mode, args.batch)
    from ..workload.load import load_network
    return load_network(path, seed=seed, density=args.density, input_shape=shape)


def load_inputs(args, net):
    """The ``--input`` array, checked against the network's input shape, or None."""
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
    if x.ndim < 1 or x.shape[1:] != tuple(net.input_shape):
        raise ConfigError(args.input_file, f"inputs must have shape (batch, {', '.join(map(str, net.input_shape))}); "
                                           f"got {x.shape}")
    return x


def model_and_inputs(args):
    """(network, inputs or None, batch) of a run/compare command line."""
    at_least("--batch", args.batch)
    net = load_model_for(args)
    inputs = load_inputs(args, net)
    return net, inputs, args.batch if inputs is None else len(inputs)
