"""sim: a hardware-aware simulator for compressed neural networks.

    import sim
    hw = sim.load_hardware("hwconfigs/sonic.yaml")
    net = sim.load_network("models/lenet300.yaml")
    result = sim.run(hw, net, batch=1, seed=0)
    result.summary, result.layers, result.energy   # pandas DataFrames
"""
from .errors import ConfigError, SimulationError
from .hardware.load import load_hardware
from .run import cost, execute, prepare, run
from .workload.load import load_network, save_network

__all__ = ["ConfigError", "SimulationError", "cost", "execute", "load_hardware", "load_network", "prepare", "run",
           "save_network"]
