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
# Lazy attributes (PEP 562): ``python -m sim --help`` and ``check`` must not import numba or pandas.
_EXPORTS = {
    "Comparison": "api", "CompressionResult": "api", "compare": "api", "compress": "api",
    "Recipe": "compression.recipe", "load_recipe": "compression.recipe",
    "ConfigError": "errors", "SimulationError": "errors",
    "load_hardware": "hardware.load",
    "Execution": "run", "Result": "run", "cost": "run", "execute": "run", "prepare": "run", "run": "run",
    "SweepResult": "sweep.api", "sweep": "sweep.api",
    "SweepSpec": "sweep.spec", "load_spec": "sweep.spec",
    "load_network": "workload.load", "save_network": "workload.load",
    "SensitivityResult": "sensitivity", "sensitivity": "sensitivity",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    if name in _SHADOWED:
        _RESOLVED[name] = value
    else:
        globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


def _shadowed(name):
    """A data descriptor for a function named like a submodule (``run``, ``sweep``, ``sensitivity``):
    importing the submodule sets the package attribute of that name to the module; the descriptor
    on the module's class wins over that assignment, so ``sim.run`` stays the function (as with
    eager imports) while ``sim.run`` the module stays importable by name."""

    def get(self):
        return _RESOLVED[name] if name in _RESOLVED else __getattr__(name)

    def ignore(self, value):  # the import system binding the submodule: keep the function
        pass

    return property(get, ignore)


_SHADOWED = ("run", "sweep", "sensitivity")
_Package = type("_Package", (type(__import__("sys")),), {n: _shadowed(n) for n in _SHADOWED})
_RESOLVED: dict = {}
__import__("sys").modules[__name__].__class__ = _Package


__all__ = ["Comparison", "CompressionResult", "ConfigError", "Execution", "Recipe", "Result", "SensitivityResult", "SimulationError",
           "SweepResult", "SweepSpec", "compare", "compress", "cost", "execute", "load_hardware", "load_network",
           "load_recipe", "load_spec", "prepare", "run", "save_network", "sensitivity", "sweep"]
