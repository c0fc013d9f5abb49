"""Frozen dataclasses describing one hardware design. Built by ``load.py`` from a validated YAML.

Units are in the field names: ``_ghz``, ``_gbps`` (GB/s, bytes), ``_ns``, ``_kb`` (KiB), ``_bits``,
``_pj_per_bit``, ``_mw``, ``_w``, ``_db``, ``_dbm``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Technology:
    node_nm: float = 45.0
    vdd_v: float = 0.9


@dataclass(frozen=True)
class EnergySpec:
    """Which energy table prices the counted actions, and per-action overrides in pJ.

    ``overrides`` keys are ``"component.action"`` strings, e.g. ``"pe_array.mac": 0.5``.
    """

    table: str = "horowitz45"
    overrides: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class DramSpec:
    bandwidth_gbps: float  # GB/s
    latency_ns: float
    read_pj_per_bit: float
    write_pj_per_bit: float
    channels: int = 1


@dataclass(frozen=True)
class BufferSpec:
    """An on-chip SRAM. ``holds`` lists the data kinds it stores (weights, inputs, outputs).
    ``per_pe``: size_kb is per PE (EIE-style distributed SRAM) and the total is size_kb x PEs.
    pJ per bit of None means: from the energy table by size (Horowitz)."""

    name: str
    size_kb: float
    width_bits: int
    banks: int
    holds: tuple[str, ...]
    ports: int = 1
    per_pe: bool = False
    read_pj_per_bit: float | None = None
    write_pj_per_bit: float | None = None


@dataclass(frozen=True)
class MemorySpec:
    dram: DramSpec
    buffers: tuple[BufferSpec, ...]
    # Weights that fit on chip are loaded once before the run (EIE keeps the whole compressed
    # model in SRAM) and not charged per inference; otherwise they stream from DRAM every run.
    weights_resident: bool = False
    prefetch_tiles: int = 2  # tiles in flight between DRAM and the buffers (2: double buffering)

    def buffer_for(self, data: str) -> BufferSpec | None:
        for b in self.buffers:
            if data in b.holds:
                return b
        return None


@dataclass(frozen=True)
class StructuredSparsitySpec:
    """Sparse-tensor-core mode: layers with at most ``n`` nonzeros per ``m`` weights run compressed."""

    n: int = 2
    m: int = 4


@dataclass(frozen=True)
class PEArraySpec:
    """Electronic PE array. count = rows x cols. dataflow: os | ws | is (systolic) or eie
    (sparse column broadcast, rows interleaved over PEs)."""

    rows: int
    cols: int
    macs_per_pe_per_cycle: int = 1
    weight_bits: int = 8
    act_bits: int = 8
    acc_bits: int = 32
    dataflow: str = "ws"
    skip_zero_weights: bool = False
    skip_zero_acts: bool = False
    act_queue_depth: int = 0
    codebook_bits: int = 0  # 0: weights stored as values; k: k-bit codes decoded by a 2**k-entry codebook
    index_bits: int = 8  # relative-index bits per stored entry of a sparse format (unused when dense)
    pointer_bits: int = 16  # column-pointer width of a sparse format (EIE: 16 bits)
    activation_lanes: int = 0  # elements per cycle of the activation unit; 0: the dataflow kind's rule
    act_regfile_entries: int = 64  # per-PE activation register file (EIE: 64 entries)
    subword_parallelism: int = 1  # narrow MACs per MAC unit per cycle (sim/engine/precision.py)
    structured_sparsity: "StructuredSparsitySpec | None" = None  # sparse tensor cores (N:M)

    @property
    def count(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class UnitGroupSpec:
    """A group of photonic vector dot-product units (VDUs): ``count`` units of ``vector_width``
    elements (wavelengths) each."""

    count: int
    vector_width: int


@dataclass(frozen=True)
class DeviceSpec:
    """A device characterised by latency and power (energy per event = power x latency)."""

    latency_ns: float
    power_mw: float
    bits: int = 0  # for converters

    @property
    def energy_pj(self) -> float:
        return self.power_mw * self.latency_ns  # mW x ns = pJ


@dataclass(frozen=True)
class TuningSpec:
    eo_latency_ns: float
    eo_power_uw_per_nm: float
    eo_shift_nm: float  # mean resonance shift per weight update
    to_latency_ns: float
    to_power_mw_per_fsr: float
    to_hold_fsr_fraction: float  # mean fraction of an FSR each ring is thermally held at
    # Thermo-optic holding model (hardware/ted.py): independent heaters, or TED collective tuning.
    mode: str = "independent"  # independent | ted
    fsr_nm: float = 18.0  # free spectral range (CrossLight §IV.C)
    eo_range_nm: float = 0.0  # hybrid tuning: shift the EO tuner absorbs per ring before TO is needed
    rings_per_bank: int = 15  # rings tuned together by TED (CrossLight: max 15 per bank)
    ring_spacing_um: float = 5.0  # ring pitch in a bank (CrossLight: 5 um with TED)
    crosstalk_decay_um: float = 0.0  # phase crosstalk ratio exp(-d/decay); 0 = no coupling
    to_hold: str = "continuous"  # continuous: heaters draw holding power all run (physics); boot: paper accounting


@dataclass(frozen=True)
class OpticsSpec:
    """Losses for CrossLight's laser-power model (Eq. 7)."""

    propagation_db_per_cm: float
    waveguide_length_cm: float
    splitter_db: float
    combiner_db: float
    mr_through_db: float
    mr_modulation_db: float
    eo_tuning_db_per_cm: float
    to_tuning_db_per_cm: float
    tuning_length_cm: float
    pd_sensitivity_dbm: float
    laser_wall_plug_efficiency: float
    external_laser: bool = False  # SONIC's VCSELs are the light sources: no separate laser


@dataclass(frozen=True)
class SparsitySpec:
    """SONIC's sparsity techniques as switches."""

    fc_compression: bool = True
    conv_compression: bool = True
    vcsel_power_gating: bool = True
    weight_clustering: bool = True


@dataclass(frozen=True)
class PhotonicSpec:
    conv_units: UnitGroupSpec
    fc_units: UnitGroupSpec
    act_dac: DeviceSpec
    weight_dac: DeviceSpec  # resolution used when weight clustering is on
    weight_dac_dense: DeviceSpec  # resolution used when clustering is off
    adc: DeviceSpec
    vcsel: DeviceSpec
    photodetector: DeviceSpec
    tuning: TuningSpec
    optics: OpticsSpec
    sparsity: SparsitySpec
    tia: DeviceSpec | None = None
    broadband_mr_per_unit: int = 1  # batch-norm scaling ring per VDU (SONIC §IV.B)
    # How activations reach the light: "vcsel" = one VCSEL per element, power-gated on zeros
    # (SONIC); "mrr" = an external laser imprinted by one EO-tuned input ring per element, a VCSEL
    # re-emitting each op's partial sum (CrossLight).
    input_modulation: str = "vcsel"
    adcs_per_unit: int = 1  # time-interleaved ADCs behind each PD: the op period is ADC latency / this
    index_bits: int = 8  # relative-index bits per stored entry when compression is on
    pointer_bits: int = 16  # column-pointer width of the compressed format
    activation_lanes: int = 0  # elements per cycle of the electronic activation unit; 0: one per VDU
    electronic_act_bits: int = 16  # width of the electronic activation unit's compare/select
    electronic_acc_bits: int = 32  # width of the electronic partial-sum accumulators


@dataclass(frozen=True)
class OpCostSpec:
    """Vector-unit ops per element of each elementwise / normalization kind (``vector_unit.ops_per_element``);
    a kind without its own field costs ``default``."""

    default: float = 1.0
    div: float = 2.0
    sigmoid: float = 3.0
    tanh: float = 3.0
    silu: float = 4.0
    gelu: float = 5.0
    hardsigmoid: float = 3.0
    hardswish: float = 4.0
    softmax: float = 5.0
    layernorm: float = 7.0
    quantize: float = 4.0
    dequantize: float = 2.0

    def of(self, kind: str) -> float:
        return float(getattr(self, kind, self.default))


@dataclass(frozen=True)
class VectorUnitSpec:
    """The electronic vector / post-processing unit that runs elementwise, normalization, pooling
    and data-movement layers (and, on EIE, encodes a run-time operand)."""

    lanes: int = 0  # ops per cycle; 0: the dataflow's activation-lane rule
    op_pj: float = 0.0  # energy per op; 0: an add at the unit's width from the energy table
    ops_per_element: OpCostSpec = field(default_factory=OpCostSpec)


@dataclass(frozen=True)
class HardwareConfig:
    name: str
    kind: str  # electronic | photonic
    clock_ghz: float
    memory: MemorySpec
    technology: Technology = field(default_factory=Technology)
    energy: EnergySpec = field(default_factory=EnergySpec)
    static_power_w: float = 0.0
    pe_array: PEArraySpec | None = None  # electronic PE array (photonic: the electronic side's accumulators)
    photonic: PhotonicSpec | None = None
    vector_unit: VectorUnitSpec = field(default_factory=VectorUnitSpec)
    source: str = ""
    numerics: "NumericsSpec | None" = None  # sim/hardware/numerics.py; None: float32, no noise
    # Sections a dataflow kind adds to the schema (``hardware.schema.register_kind``), by name.
    options: tuple[tuple[str, object], ...] = ()

    def option(self, name: str):
        """The built section ``name`` of a kind's own fields, or None when the config has none."""
        return dict(self.options).get(name)
