"""What a dataflow kind supplies, in one place (``Dataflow``), with the defaults an electronic PE
array shares. A kind module subclasses it and registers one instance (``dataflows.register``).

Everything the pipeline asks of a kind:

- ``key`` / ``design_kind`` / ``sections``: the hwconfig ``kind`` (and ``pe_array.dataflow``) it
  serves and the top-level sections it needs; ``schema_sections``: its own hwconfig sections
  (field tables with type, range, unit, default and source, added to the hardware schema);
  ``validate``: its cross-field rules, including which buffers it uses (none is ignored).
- ``bits``, ``is_sparse``, ``weight_storage_bits``: what it stores and moves.
- ``floor``: the analytical bound and first-fidelity cost of one layer.
- ``map_layer``: how it maps each layer category (``workload.ops.CATEGORIES``) to tiles:
  ``map_weighted`` for conv / fc / recurrent cells (gate matmuls per time step, the weights
  reused across steps), ``map_act_matmul`` for a matmul of two activations (no weights known
  ahead of time: both operands arrive at run time), and the vector unit for elementwise,
  normalization, pooling and data movement (``tiles.map_elementwise``, shared by every kind).
- ``time_based_counts``: power drawn per cycle regardless of work (static, laser, tuning).
- ``energy_entries``: the pJ of every (component, action) only it counts.
- ``device_classes`` / ``device_of``: the device groups reports and plots show.
"""
from __future__ import annotations

from collections import Counter

from ...kernels.nmformat import nm_storage_bits
from ...hardware.energy import int_mac_pj
from ...hardware.spec import HardwareConfig
from ...workload.network import Layer
from ..precision import nm_mode, stored_weight_bits
from ...execution.profile import LayerWork
from ..result import LayerResult
from ..tiles import LayerIO, LayerSchedule, map_elementwise
from ..traffic import Traffic, electronic_layer, relative_index_storage_bits

# Device classes every design has, in report order after the kinds' own classes.
COMMON_DEVICES = ("sram", "dram", "electronic_mac", "static")
COMMON_DEVICE_OF = {"dram": "dram", "pe_array": "electronic_mac", "accumulator": "electronic_mac",
                    "activation_unit": "electronic_mac", "codebook": "electronic_mac", "static": "static"}


class Dataflow:
    key: str = ""  # pe_array.dataflow value (electronic kinds) or the design kind (photonic)
    design_kind: str = "electronic"  # the hwconfig's top-level ``kind``
    aliases: tuple[str, ...] = ()  # further pe_array.dataflow values served by the same module
    sections: tuple[str, ...] = ("pe_array",)  # top-level sections the kind needs
    schema_sections: dict = {}  # section name -> schema Record (the kind's own fields)
    device_classes: tuple[str, ...] = ()  # the kind's own device groups (before COMMON_DEVICES)
    device_map: dict = {}  # component -> device group, beyond COMMON_DEVICE_OF
    # Data kinds the kind can keep in on-chip buffers, and how many buffers may hold each.
    buffer_data: tuple[str, ...] = ("weights", "inputs", "outputs")
    buffers_per_data: int = 1

    @property
    def dataflows(self) -> tuple[str, ...]:
        return (self.key,) + self.aliases if self.design_kind == "electronic" else ()

    # -- configuration ---------------------------------------------------------------------
    def validate(self, data: dict, problems: list[str]) -> None:
        """Cross-field rules on a schema-checked raw config; append problems. The default rule:
        every buffer holds only data kinds this kind keeps on chip, and at most
        ``buffers_per_data`` buffers hold each one (a second one would be ignored)."""
        buffers = data["memory"]["buffers"]
        what = self.describe(data)
        holders: dict[str, list[str]] = {}
        for name, b in buffers.items():
            held = [b["holds"]] if isinstance(b["holds"], str) else b["holds"]
            for h in held:
                if h not in self.buffer_data:
                    problems.append(f"memory.buffers.{name}.holds: a {what} design keeps no {h} in "
                                    f"a buffer (it keeps {', '.join(self.buffer_data)}); remove {h!r}")
                holders.setdefault(h, []).append(name)
        for h, names in holders.items():
            if len(names) > self.buffers_per_data:
                problems.append(f"memory.buffers: {', '.join(names)} all hold {h}; a {what} design "
                                f"uses {self.buffers_per_data} buffer for {h}, so the others would be ignored")

    def describe(self, data: dict) -> str:
        """How error messages name the design: its dataflow as the config gives it."""
        return f"dataflow {(data.get('pe_array') or {}).get('dataflow', self.key)!r}"

    # -- what the design stores and moves --------------------------------------------------
    def bits(self, hw: HardwareConfig) -> tuple[int, int]:
        """(weight bits, activation bits) the design stores and moves."""
        pe = hw.pe_array
        return pe.codebook_bits or pe.weight_bits, pe.act_bits

    def is_sparse(self, hw: HardwareConfig) -> bool:
        """Does the design store and skip zero weights?"""
        return hw.pe_array.skip_zero_weights

    def weight_storage_bits(self, layer: Layer, hw: HardwareConfig) -> int:
        """Bits the design stores for this layer's weights, in its own format: every weight at
        the weight width when dense; the relative-index format (nonzeros and filler zeros at the
        code width plus an index each, and a column pointer per input column) when sparse."""
        if not layer.is_weighted:
            return 0
        wbits = stored_weight_bits(layer, self.bits(hw)[0])  # packed when the model's integers are narrower
        mode = nm_mode(layer, hw)
        if mode:  # sparse tensor cores: n value slots and their positions per group of m
            return nm_storage_bits(layer.weight, *mode, wbits)
        if not self.is_sparse(hw):
            return layer.weight_count * wbits
        pe = hw.pe_array
        return relative_index_storage_bits(layer, wbits, pe.index_bits, pe.pointer_bits)

    def activation_lanes(self, hw: HardwareConfig) -> int:
        """Elements per cycle of the electronic activation/pooling unit (``pe_array.activation_lanes``;
        0 there means the kind's rule, by default one lane per array column)."""
        return hw.pe_array.activation_lanes or hw.pe_array.cols

    def buffers(self, hw: HardwareConfig):
        """The (weights, inputs, outputs) buffers DRAM traffic lands in: the first holding each."""
        mem = hw.memory
        return mem.buffer_for("weights"), mem.buffer_for("inputs"), mem.buffer_for("outputs")

    # -- cost ------------------------------------------------------------------------------
    def floor(self, layer: Layer, lw: LayerWork, hw: HardwareConfig, t: Traffic, fused: bool) -> LayerResult:
        """Analytical bound and first-fidelity cost of one layer."""
        return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw))

    def tiles_bound(self, layer: Layer, batch: int, hw: HardwareConfig) -> int:
        """An upper bound on the tiles ``map_layer`` makes of ``layer`` beyond the per-sample rows
        every kind's memory estimate already counts (``execution.modes.simulation_bytes``); 0 when
        there are none (the event model's memory check, ``engine.simulate.engine_bytes``)."""
        return 0

    def map_layer(self, layer: Layer, lw: LayerWork, hw: HardwareConfig, io: LayerIO, fused: bool,
                  floor: LayerResult) -> LayerSchedule:
        """Tiles of one layer, by its category (the pipeline's one dispatch point)."""
        if layer.is_weighted:
            return self.map_weighted(layer, lw, hw, io, floor)
        if layer.category == "act_matmul":
            return self.map_act_matmul(layer, lw, hw, io, floor)
        return map_elementwise(layer, lw, hw, io, fused, floor, self.activation_lanes(hw), self.buffers(hw))

    def map_weighted(self, layer: Layer, lw: LayerWork, hw: HardwareConfig, io: LayerIO,
                     floor: LayerResult) -> LayerSchedule:
        raise NotImplementedError(f"{type(self).__name__} maps no weighted layers")

    def map_act_matmul(self, layer: Layer, lw: LayerWork, hw: HardwareConfig, io: LayerIO,
                       floor: LayerResult) -> LayerSchedule:
        raise NotImplementedError(f"{type(self).__name__} maps no matmul of two activations")

    def time_based_counts(self, hw: HardwareConfig, cycles: int) -> Counter:
        """Counts charged per cycle regardless of work: the design's static power."""
        c = Counter()
        if cycles > 0:
            c[("static", "cycles")] += cycles
        return c

    def calibration(self, hw: HardwareConfig):
        """One-time cost at boot (photonic TO calibration), or None."""
        return None

    # -- pricing and reports ---------------------------------------------------------------
    def energy_entries(self, hw: HardwareConfig, table: dict, f: float) -> dict:
        """pJ of the PE array's own actions (``f``: technology-node factor)."""
        pe = hw.pe_array
        return {
            ("pe_array", "mac"): int_mac_pj(pe.weight_bits, pe.act_bits, pe.acc_bits, table) * f,
            ("accumulator", "add"): table["int_add_pj_per_bit"] * pe.acc_bits * f,
            ("activation_unit", "op"): table["int_add_pj_per_bit"] * pe.act_bits * f,  # compare/select ~ an add
            ("codebook", "lookup"): table["register_pj_per_bit"] * pe.weight_bits * f,
            # a run-time operand element written into a PE's stationary register (matmul of activations)
            ("pe_array", "operand_fill"): table["register_pj_per_bit"] * pe.act_bits * f,
        }

    def device_of(self, component: str, hw: HardwareConfig) -> str | None:
        """Device group of a counted component (buffers by their configured names), or None."""
        if component in self.device_map:
            return self.device_map[component]
        if component in COMMON_DEVICE_OF:
            return COMMON_DEVICE_OF[component]
        if any(b.name == component for b in hw.memory.buffers):
            return "sram"
        return None
