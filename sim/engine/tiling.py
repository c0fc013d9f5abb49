"""The mapper: one layer on one design -> a list of tiles the SimPy model moves and computes.

Tiles and the helpers every mapping shares are in ``tiles.py``; how a kind maps conv and fc
layers, matmuls of two activations and everything else is in its module under ``engine/dataflows``
(``Dataflow.map_layer``: systolic folds, EIE column blocks, photonic passes, ...). Elementwise,
normalization, pooling and data movement are one tile on the vector unit for every kind.
"""
from __future__ import annotations

from ..hardware.spec import HardwareConfig
from ..workload.network import Layer
from .dataflows import get
from .profile import LayerWork
from .tiles import MAX_TILES, LayerIO, LayerSchedule, Tile, coalesce, split
from .tiles import layer_io as _layer_io

__all__ = ["MAX_TILES", "LayerIO", "LayerSchedule", "Tile", "coalesce", "layer_io", "map_layer", "split"]


def map_layer(layer: Layer, lw: LayerWork, hw: HardwareConfig, io: LayerIO, fused: bool) -> LayerSchedule:
    """Tiles of one layer for ``hw``'s dataflow kind; the schedule's floor is the kind's bound."""
    kind = get(hw)
    floor = kind.floor(layer, lw, hw, io.traffic, fused)
    return kind.map_layer(layer, lw, hw, io, fused, floor)


def layer_io(layer: Layer, lw: LayerWork, hw: HardwareConfig, first: bool, last: bool, resident: float,
             storage_bits: int | None = None) -> LayerIO:
    """Where a layer's operands live (``tiles.layer_io``), with the storage and activation width
    of ``hw``'s kind. resident: fraction of the layer's weights held on chip."""
    kind = get(hw)
    if storage_bits is None:
        storage_bits = kind.weight_storage_bits(layer, hw)
    return _layer_io(layer, lw, hw, first, last, resident, storage_bits, kind.bits(hw)[1], kind.buffers(hw)[1])
