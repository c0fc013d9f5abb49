"""sim: a hardware-aware simulator for compressed neural networks.

    import sim
    r = sim.run("hwconfigs/sonic.yaml", "models/lenet300.yaml")   # paths or loaded objects
    r.summary, r.layers, r.energy       # pandas DataFrames; r.plot(); r.write("reports/x")
    cmp = sim.compare(["hwconfigs/sonic.yaml", "hwconfigs/eie.yaml"], "models/lenet300.yaml")
    cr = sim.compress("models/lenet300-deepcomp.yaml")             # cr.network, cr.table
    sw = sim.sweep("sweeps/compression.yaml", workers=2)           # sw.points, sw.pareto
    sn = sim.sensitivity("hwconfigs/sonic.yaml", "models/lenet5.yaml", against="hwconfigs/crosslight.yaml")

Every result has ``.write(folder)`` (the files of the matching ``python -m sim`` command),
``.plot()`` (matplotlib figures) and shows as a table in Jupyter.
"""
from .api import Comparison, CompressionResult, compare, compress
from .compression.recipe import Recipe, load_recipe
from .errors import ConfigError, SimulationError
from .hardware.load import load_hardware
from .run import Execution, Result, cost, execute, prepare, run
from .sensitivity import SensitivityResult, sensitivity  # the function; the module stays importable as sim.sensitivity
from .sweep.api import SweepResult, sweep
from .sweep.spec import SweepSpec, load_spec
from .workload.load import load_network, save_network

__all__ = ["Comparison", "CompressionResult", "ConfigError", "Execution", "Recipe", "Result", "SensitivityResult", "SimulationError",
           "SweepResult", "SweepSpec", "compare", "compress", "cost", "execute", "load_hardware", "load_network",
           "load_recipe", "load_spec", "prepare", "run", "save_network", "sensitivity", "sweep"]
