"""Design-space sweeps: a YAML spec -> points -> sweep.csv (resumable), pareto.csv and plots.

    import sim
    result = sim.sweep("sweeps/sonic_units.yaml", workers=2)   # in memory
    result.write("reports/sweeps/sonic_units")
    from sim.sweep import load_spec, run_sweep                 # resumable in a folder, as the CLI
    outcome = run_sweep(load_spec("sweeps/sonic_units.yaml"), "reports/sweeps/sonic_units", workers=2)
"""
from .api import SweepOutcome, SweepResult, read_sweep, run_sweep, sweep
from .expand import Point, expand
from .pareto import non_dominated, pareto_front
from .spec import SweepSpec, load_spec

__all__ = ["Point", "SweepOutcome", "SweepResult", "SweepSpec", "expand", "load_spec", "non_dominated",
           "pareto_front", "read_sweep", "run_sweep", "sweep"]
