"""The registry of dataflow kinds: one module per kind, one ``Dataflow`` instance each.

``get(hw)`` finds the kind of a design by its hwconfig ``kind`` and ``pe_array.dataflow``; the
rest of the pipeline (cost, tiling, simulate, pricing, reports, sweeps) asks that object and never
tests a kind by name. Registering a kind also adds its dataflow names, its sections and its
cross-field rules to the hardware schema (``hardware.schema.register_kind``), so a YAML naming it
loads and is checked like any other.

Adding a kind: a module here with a ``Dataflow`` subclass (see ``base.py`` for what it supplies),
one ``register(...)`` line below, a hwconfig in ``hwconfigs/`` and its tests.
"""
from __future__ import annotations

from ...hardware import schema as hw_schema
from ...hardware.energy import TABLES, base_energies, node_factor
from ...hardware.spec import HardwareConfig
from .base import COMMON_DEVICES, Dataflow
from .eie import EIE
from .photonic import Photonic
from .row_stationary import RowStationary
from .sparse_systolic import SparseSystolic
from .systolic import Systolic

_KINDS: dict[tuple[str, str | None], Dataflow] = {}


def register(kind: Dataflow) -> Dataflow:
    """Add ``kind`` to the registry and its fields and rules to the hardware schema."""
    names = kind.dataflows or (None,)
    for name in names:
        key = (kind.design_kind, name)
        if key in _KINDS:
            raise ValueError(f"dataflow kind {key} registered twice")
        _KINDS[key] = kind
    hw_schema.register_kind(kind.design_kind, kind.dataflows, kind.sections, kind.schema_sections, kind.validate)
    return kind


def get(hw: HardwareConfig) -> Dataflow:
    """The kind of ``hw`` (by its ``kind`` and, for PE arrays, ``pe_array.dataflow``)."""
    dataflow = hw.pe_array.dataflow if hw.pe_array is not None else None
    kind = _KINDS.get((hw.kind, dataflow)) or _KINDS.get((hw.kind, None))
    if kind is None:
        raise ValueError(f"{hw.name}: no dataflow kind registered for kind {hw.kind!r}, dataflow {dataflow!r}")
    return kind


def kinds() -> list[Dataflow]:
    """Every registered kind, once, in registration order."""
    return list(dict.fromkeys(_KINDS.values()))


def kind_sections() -> dict[str, tuple[str, ...]]:
    """Top-level hwconfig section -> the design kinds that have it (e.g. photonic: (photonic,))."""
    out: dict[str, list[str]] = {}
    for k in kinds():
        for s in k.sections + tuple(k.schema_sections):
            out.setdefault(s, [])
            if k.design_kind not in out[s]:
                out[s].append(k.design_kind)
    return {s: tuple(v) for s, v in out.items()}


def device_classes() -> tuple[str, ...]:
    """Device groups of the energy breakdown, in report order: every kind's own, then the common ones."""
    own = [d for k in kinds() for d in k.device_classes]
    return tuple(dict.fromkeys(own)) + COMMON_DEVICES


def action_energies(hw: HardwareConfig) -> dict[tuple[str, str], float]:
    """pJ per (component, action) for every action ``hw`` can be charged for: the energy table's
    memories and static power, the kind's own entries, then the config's overrides."""
    table = TABLES[hw.energy.table]
    f = node_factor(hw.technology.node_nm, hw.technology.vdd_v)
    e = base_energies(hw, table, f)
    e.update(get(hw).energy_entries(hw, table, f))
    if hw.vector_unit.op_pj:
        e[("activation_unit", "op")] = hw.vector_unit.op_pj
    for key, pj in hw.energy.overrides:
        comp, _, action = key.partition(".")
        e[(comp, action)] = pj
    return e


def bits_of(hw: HardwareConfig) -> tuple[int, int]:
    """(weight bits, activation bits) the design stores and moves."""
    return get(hw).bits(hw)


# Registration order is report order of the kinds' device groups.
for _kind in (Photonic(), Systolic(), EIE(), RowStationary(), SparseSystolic()):
    register(_kind)
hw_schema.register_pricer(action_energies)

__all__ = ["Dataflow", "action_energies", "bits_of", "device_classes", "get", "kind_sections", "kinds", "register"]
