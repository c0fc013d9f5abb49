"""Workload: layers, networks and the files they come from."""
from .load import load_network, save_network
from .network import Layer, Network, Quant

__all__ = ["Layer", "Network", "Quant", "load_network", "save_network"]
