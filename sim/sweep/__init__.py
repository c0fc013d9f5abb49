"""Design-space sweeps: a YAML spec -> points -> sweep.csv (resumable), pareto.csv and plots.

    from sim.sweep import load_spec, run_sweep
    outcome = run_sweep(load_spec("sweeps/sonic_units.yaml"), "reports/sweeps/sonic_units", workers=2)
"""
from .expand import Point, expand
from .pareto import non_dominated, pareto_front
from .runner import SweepOutcome, read_sweep, run_sweep
from .spec import SweepSpec, load_spec

__all__ = ["Point", "SweepOutcome", "SweepSpec", "expand", "load_spec", "non_dominated", "pareto_front",
           "read_sweep", "run_sweep"]
