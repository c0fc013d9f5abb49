"""Precision and structured sparsity tied to the hardware (what the array stores and spends).

- **Packing.** A layer whose weights are integers narrower than the design's weight width
  (linear / binary quantization, e.g. int4 on an int8 array) is stored packed at its own width:
  half the weight storage, SRAM and DRAM traffic for int4 on int8. Its MACs still run at the
  datapath width, one per MAC unit per cycle, unless the design declares sub-word parallelism
  (``pe_array.subword_parallelism``: up to that many narrow MACs per unit per cycle, as many as
  fit the datapath width). A model wider than the datapath is quantized to it
  (sim/engine/numerics.py shows the accuracy effect) and stored at the datapath width.
- **Sparse tensor cores.** A design with ``pe_array.structured_sparsity: {n, m}`` runs a layer
  whose weights are N:M (sim/compression/nm.py) on the compressed reduction axis: n of every m
  inputs, so 2:4 halves the array's work (doubles its MAC throughput) and stores n value slots
  plus a ceil(log2 m)-bit position per slot, read with every weight. Other layers run dense.
"""
from __future__ import annotations

from ..kernels.nmformat import compressed_k, is_n_of_m, metadata_bits
from ..hardware.spec import HardwareConfig
from ..workload.network import Layer


def model_weight_bits(layer: Layer) -> int | None:
    """Width of the model's own integer weights (linear / binary quantization), else None."""
    q = layer.quant
    if q is not None and q.kind in ("linear", "binary") and q.qvalues is not None:
        return int(q.bits)
    return None


def stored_weight_bits(layer: Layer, wbits: int) -> int:
    """Bits per stored weight value: the design's width ``wbits``, or the model's when narrower (packed)."""
    own = model_weight_bits(layer)
    return min(wbits, own) if own is not None else wbits


def subword_lanes(layer: Layer, hw: HardwareConfig) -> int:
    """Narrow MACs one MAC unit does per cycle on this layer (1 without sub-word parallelism)."""
    pe = hw.pe_array
    if pe is None or getattr(pe, "subword_parallelism", 1) <= 1:
        return 1
    own = model_weight_bits(layer)
    if own is None or own >= pe.weight_bits:
        return 1
    return max(1, min(pe.subword_parallelism, pe.weight_bits // own))


def nm_mode(layer: Layer, hw: HardwareConfig) -> tuple[int, int] | None:
    """(n, m) when the design has sparse tensor cores and the layer's weights are N:M."""
    pe = hw.pe_array
    sp = getattr(pe, "structured_sparsity", None) if pe is not None else None
    if sp is None or not layer.is_weighted or not is_n_of_m(layer.weight, sp.n, sp.m):
        return None
    return sp.n, sp.m


def reduction_length(layer: Layer, hw: HardwareConfig, k: int) -> int:
    """Reduction extent the array walks: compressed under N:M mode, else ``k``."""
    mode = nm_mode(layer, hw)
    return compressed_k(k, *mode) if mode else k


def mac_slots(layer: Layer, hw: HardwareConfig, macs: int) -> int:
    """MAC-unit cycles ``macs`` dense-equivalent MACs take: fewer under N:M mode (the skipped
    slots) and with sub-word parallelism (narrow MACs per unit)."""
    mode = nm_mode(layer, hw)
    if mode:
        k = int(layer.weight.size // layer.weight.shape[0])
        macs = -(-int(macs) * compressed_k(k, *mode) // k)
    lanes = subword_lanes(layer, hw)
    return -(-int(macs) // lanes)


def weight_read_bits(layer: Layer, hw: HardwareConfig, wbits: int) -> int:
    """Bits read per weight slot (design width ``wbits``): the stored value plus its N:M position
    under N:M mode."""
    mode = nm_mode(layer, hw)
    return stored_weight_bits(layer, wbits) + (metadata_bits(mode[1]) if mode else 0)
