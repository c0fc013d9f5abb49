"""The subcommands of ``python -m sim``: each module adds its commands with ``register(subparsers)``
and handles them by calling the Python API (sim.run, sim.api, sim.sweep.api)."""
from . import compare, compression, run, sensitivity, sweep

MODULES = (run, compare, compression, sweep, sensitivity)  # order of ``python -m sim --help``
