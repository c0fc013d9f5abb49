"""Command line: ``python -m sim {run, check, compare, train, compress, sweep}``. A thin layer:
parse the arguments, call the Python API (sim.commands.*), print what it returns.

Exit status: 0 ok; 2 bad input (a ConfigError, printed as one message without a traceback);
out of memory is exit 2 too (a resource limit of the input, not a bug);
3 internal error (a SimulationError or any unexpected exception: "internal error", the
traceback and a request for a bug report); 130 interrupted. Library code never calls sys.exit.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback

from .commands import MODULES
from .errors import ConfigError

BUG_REPORT = ("this is a bug in sim, not in your input: please report it with the command line, the files it "
              "names and the traceback above")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Simulate compressed neural networks on dense, sparse and photonic accelerators: execute "
                    "the network for real, turn its work into cycles and energy, write CSV reports.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in MODULES:
        module.register(sub)
    return parser


def main(argv=None) -> int:
    # numba's OpenMP threading layer: idle worker threads sleep at once instead of spinning after
    # each parallel region (OMP_WAIT_POLICY, OpenMP spec 4.8); on a machine shared with other work the
    # spinning costs the main thread its core. Same results; a value the user set is kept.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # what sizes are checked up front cannot foresee: a resource limit, not a bug
        print("error: out of memory: the inputs need more memory than this machine has; reduce --batch or the "
              "model's or design's sizes", file=sys.stderr)
        return 2
    except Exception as exc:  # SimulationError and anything unexpected: an internal error
        traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc}\n{BUG_REPORT}", file=sys.stderr)
        return 3
