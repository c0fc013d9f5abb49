"""Analytical cost: the roofline bound of every layer, and first-fidelity cycles and counts.

The bound (DESIGN.md, "Bounds") is ``max(compute cycles at full utilization, DRAM cycles at full
bandwidth)``, computed from the same counts the event model uses; no simulated result may beat it.
Compute work is dense MACs on hardware that cannot skip zeros and effectual MACs on hardware that
can. The first-fidelity cost below is what runs when no event model is chosen: the bound, plus the
real load imbalance of PE assignments that the WorkProfile already knows. What is particular to a
design's dataflow comes from its kind (``engine/dataflows``); the shared rules from ``traffic.py``.
"""
from __future__ import annotations

from ..hardware.spec import HardwareConfig
from ..workload.network import Layer, Network
from .dataflows import get
from .profile import WorkProfile
from .result import LayerResult, RunResult
from .traffic import fused_flags, layer_traffic, relative_index_entries
from .traffic import weights_on_chip as _weights_on_chip

__all__ = ["estimate", "relative_index_entries", "weight_storage_bits", "weights_on_chip"]


def weight_storage_bits(layer: Layer, hw: HardwareConfig) -> int:
    """Bits the design stores for this layer's weights, in its own format (its kind's rule)."""
    return get(hw).weight_storage_bits(layer, hw)


def weights_on_chip(net: Network, hw: HardwareConfig, storage_bits: list[int] | None = None) -> list[float]:
    """Per layer: the fraction of its weights resident on chip (``traffic.weights_on_chip``)."""
    if storage_bits is None:
        storage_bits = [weight_storage_bits(lay, hw) for lay in net.layers]
    return _weights_on_chip(net, hw, storage_bits)


def estimate(net: Network, profile: WorkProfile, hw: HardwareConfig) -> RunResult:
    """First-fidelity cost of a whole run."""
    kind = get(hw)
    storage = [kind.weight_storage_bits(layer, hw) for layer in net.layers]  # once: it walks every weight
    resident = _weights_on_chip(net, hw, storage)
    _, abits = kind.bits(hw)
    results = []
    fused = fused_flags(net)
    for i, (layer, lw) in enumerate(zip(net.layers, profile.layers)):
        first = net.reads_input(i)
        last = net.is_output(i)
        t = layer_traffic(layer, lw, hw, first, last, resident[i], storage[i], abits, kind.buffers(hw)[1])
        results.append(kind.floor(layer, lw, hw, t, fused[i]))
    add_time_based(results, hw)
    return RunResult(hw.name, net.name, profile.batch, hw.clock_ghz, results, weight_storage_bits=sum(storage))


def add_time_based(results: list[LayerResult], hw: HardwareConfig) -> None:
    """Power drawn regardless of work (static; on photonic designs ring holding, laser, TIAs) x
    each layer's cycles."""
    kind = get(hw)
    for lr in results:
        lr.counts.update(kind.time_based_counts(hw, lr.cycles))
