"""The hardware config schema, kept as data (the field tables); ``sim.schema`` holds the checker
that walks it."""
from __future__ import annotations

from ..schema import REQUIRED, Field, ListOf, MapOf, Record, build, check, flag, lookup, nonneg, pos, posint
import dataclasses

from . import numerics as N
from . import spec as S

__all__ = ["REQUIRED", "Field", "ListOf", "MapOf", "Record", "build", "check", "flag", "lookup", "nonneg", "pos",
           "posint", "SCHEMA", "DATA_KINDS", "BUFFER_HOLDS"]

DATA_KINDS = ("weights", "inputs", "outputs")  # every design must hold these somewhere
BUFFER_HOLDS = DATA_KINDS + ("pointers",)

def _format(default_format: str) -> Record:
    return Record(N.NumberFormat, {
        "format": Field("choice", default_format, choices=N.FORMATS, doc="int | fixed (power-of-two scale) | float"),
        "bits": Field("int", None, min=1, max=64, doc="from the datapath / converter field when omitted"),
        "granularity": Field("choice", "per_tensor", choices=N.GRANULARITIES,
                             doc="one scale per tensor or per output channel"),
        "scheme": Field("choice", "symmetric", choices=N.SCHEMES, doc="symmetric (zero point 0) or affine"),
        "rounding": Field("choice", "nearest_even", choices=N.ROUNDINGS),
        "overflow": Field("choice", "saturate", choices=N.OVERFLOWS),
    }, optional=True, fill=True)


def _switch(**extra) -> Record:
    cls = extra.pop("cls", N.Switch)
    return Record(cls, {"enabled": flag(True), **extra}, optional=True, fill=True)


NUMERICS = Record(N.NumericsSpec, {  # sim/hardware/numerics.py; absent: float32, no noise
    "weights": _format("int"), "activations": _format("int"), "accumulator": _format("int"),
    "noise": Record(N.NoiseSpec, {
        "enabled": flag(False, "photonic analog non-idealities (all off when false)"),
        "seed": Field("int", 0, min=0, doc="seed of the noise draws"),
        "detector": Record(N.DetectorNoise, {
            "responsivity_a_per_w": pos("A/W", "photodiode responsivity", 1.0),
            "bandwidth_ghz": pos("GHz", "receiver noise bandwidth", 5.0),
            "laser_margin_db": Field("number", 0.0, min=-60, max=60, unit="dB",
                                     doc="received power above the PD sensitivity the link budget sizes the laser for"),
        }, optional=True, fill=True),
        "shot_noise": _switch(),
        "thermal_noise": _switch(cls=N.ThermalNoise, temperature_k=pos("K", default=300.0),
                                 load_ohm=pos("ohm", "receiver load / TIA transimpedance", 1000.0)),
        "crosstalk": _switch(cls=N.Crosstalk, q_factor=pos(default=8000.0), fsr_nm=pos("nm", default=18.0),
                             wavelength_nm=pos("nm", default=1550.0),
                             channel_spacing_nm=nonneg("nm", "0: a bank's wavelengths spread evenly over one FSR", 0.0),
                             rings_per_bank=Field("int", 0, min=0, doc="wavelengths per bank; 0: the vector width")),
        "thermal_drift": _switch(cls=N.ThermalDrift, sigma_nm=nonneg("nm", "residual resonance drift (1 sigma)", 0.005)),
        "dac_quantization": _switch(), "adc_quantization": _switch(),
    }, optional=True, fill=True),
}, optional=True)

SCHEMA = Record(S.HardwareConfig, {
    "version": Field("choice", 1, choices=(1,)),
    "name": Field("str", REQUIRED, doc="design name used in reports"),
    "kind": Field("choice", REQUIRED, choices=(), doc="filled by the registered dataflow kinds"),
    "description": Field("str", ""),
    "clock_ghz": pos("GHz"),
    "static_power_w": nonneg("W", "leakage and always-on power, charged x simulated time", 0.0),
    "technology": Record(S.Technology, {
        "node_nm": Field("number", 45.0, min=1, max=180, unit="nm"),
        "vdd_v": Field("choice", 0.9, choices=(0.8, 0.9, 1.0), unit="V"),
    }, optional=True, fill=True),
    "energy": Record(S.EnergySpec, {
        "table": Field("choice", "horowitz45", choices=("horowitz45",)),
        "overrides": Field("overrides", {}, doc="'component.action': pJ, replaces the table's value"),
    }, optional=True, fill=True),
    "vector_unit": Record(S.VectorUnitSpec, {
        "lanes": Field("int", 0, min=0, unit="ops/cycle",
                       doc="width of the vector / post-processing unit that runs elementwise, normalization, "
                           "pooling and data-movement layers; 0 = the dataflow's activation_lanes rule"),
        "op_pj": Field("number", 0.0, min=0, unit="pJ/op",
                       doc="energy of one vector-unit op; 0 = an integer add at the unit's activation width "
                           "(energy table), as today's activation unit"),
        "ops_per_element": Record(S.OpCostSpec, {
            "default": nonneg("ops/element", "every kind without its own entry (relu, clip, add, sub, mul, max, "
                              "min, pools, reduce_mean, exp / erf / sqrt by table look-up): one ALU op", 1.0),
            "div": nonneg("ops/element", "ASSUMPTION: reciprocal look-up + multiply", 2.0),
            "sigmoid": nonneg("ops/element", "ASSUMPTION: exp look-up, add, reciprocal", 3.0),
            "tanh": nonneg("ops/element", "ASSUMPTION: exp look-up, add, reciprocal (2 sigmoid(2x) - 1 folded)", 3.0),
            "silu": nonneg("ops/element", "ASSUMPTION: sigmoid (3) + multiply", 4.0),
            "gelu": nonneg("ops/element", "ASSUMPTION: x 0.5 (1 + erf(x / sqrt 2)): scale, erf look-up, add, "
                           "two multiplies (tanh form alike)", 5.0),
            "hardsigmoid": nonneg("ops/element", "ASSUMPTION: multiply, add, clip", 3.0),
            "hardswish": nonneg("ops/element", "ASSUMPTION: hardsigmoid (3) + multiply", 4.0),
            "softmax": nonneg("ops/element", "ASSUMPTION: running max (compare), subtract, exp look-up, sum (add), "
                              "multiply by the row's reciprocal", 5.0),
            "layernorm": nonneg("ops/element", "ASSUMPTION: mean (add), subtract, square, variance (add), multiply "
                                "by the row's rsqrt, scale, bias", 7.0),
            "quantize": nonneg("ops/element", "ASSUMPTION: multiply by 1/scale, round, add zero point, clip", 4.0),
            "dequantize": nonneg("ops/element", "ASSUMPTION: subtract zero point, multiply by scale", 2.0),
        }, optional=True, fill=True),
    }, optional=True, fill=True),
    "memory": Record(S.MemorySpec, {
        "dram": Record(S.DramSpec, {
            "bandwidth_gbps": pos("GB/s"), "latency_ns": nonneg("ns"),
            "read_pj_per_bit": nonneg("pJ/bit"), "write_pj_per_bit": nonneg("pJ/bit"),
            "channels": posint(default=1),
        }),
        "buffers": MapOf(Record(S.BufferSpec, {
            "size_kb": pos("KiB"), "width_bits": posint(), "banks": posint(default=1),
            "ports": posint(default=1),
            "holds": Field("str_list", REQUIRED, choices=BUFFER_HOLDS),
            "per_pe": flag(False), "read_pj_per_bit": Field("number", None, min=0, unit="pJ/bit"),
            "write_pj_per_bit": Field("number", None, min=0, unit="pJ/bit"),
        })),
        "weights_resident": flag(False, "weights that fit on chip are preloaded, not fetched per run"),
        "prefetch_tiles": posint(default=2, doc="tiles in flight between DRAM and the buffers; 2 = double "
                                                "buffering (one tile computes while the next loads)"),
    }),
    "pe_array": Record(S.PEArraySpec, {
        "rows": posint(), "cols": posint(default=1), "macs_per_pe_per_cycle": posint(default=1),
        "weight_bits": posint(default=8, max=32), "act_bits": posint(default=8, max=32),
        "acc_bits": posint(default=32, max=64),
        "dataflow": Field("choice", "ws", choices=(), doc="filled by the registered dataflow kinds"),
        "skip_zero_weights": flag(False), "skip_zero_acts": flag(False),
        "act_queue_depth": Field("int", 0, min=0), "codebook_bits": Field("int", 0, min=0, max=16),
        "index_bits": Field("int", 8, min=1, max=32, unit="bits",
                            doc="relative-index bits per stored entry of a sparse format; default 8, Deep "
                                "Compression's conv index (published.md §3.4); unused by dense arrays"),
        "pointer_bits": Field("int", 16, min=1, max=64, unit="bits",
                              doc="column-pointer width of a sparse format; default 16, EIE (published.md §2.1)"),
        "activation_lanes": Field("int", 0, min=0, unit="elements/cycle",
                                  doc="activation/pooling unit width; 0 = the dataflow's rule (ASSUMPTION: one "
                                      "lane per systolic column as in TPU v1's activation pipeline, one per EIE PE)"),
        "act_regfile_entries": posint(default=64, doc="activations per PE register file (EIE: 64, published.md "
                                                      "§2.1); a column block holds PEs x this many"),
        "subword_parallelism": posint(default=1, max=64,
                                      doc="narrow MACs a unit does per cycle when weights are narrower than weight_bits"),
        "structured_sparsity": Record(S.StructuredSparsitySpec, {
            "n": posint(default=2, max=63), "m": posint(default=4, max=64),
        }, optional=True, doc="sparse tensor cores: N:M layers run on the compressed reduction axis"),
    }, optional=True),
    "numerics": NUMERICS,
}, omit=("version", "description"))


# -- dataflow kinds -------------------------------------------------------------------------
# Filled by ``sim.engine.dataflows.register``: each kind adds its dataflow names, the sections it
# needs, its own sections (field tables) and its cross-field rule. The hardware layer never names
# a kind; it checks whatever kinds are registered.
KINDS: dict[tuple[str, str | None], tuple[tuple[str, ...], object]] = {}  # (kind, dataflow) -> (sections, rule)
KIND_OPTION_SECTIONS: dict[str, Record] = {}  # a kind's own top-level sections, built into HardwareConfig.options
PRICER: list = []  # [action_energies] of the registry: validation prices a design once to catch overflow / typos


def register_pricer(action_energies) -> None:
    """The registry's ``action_energies(hw)``, so loading a design checks that its actions price to
    finite energies and that its ``energy.overrides`` name actions it has."""
    PRICER[:] = [action_energies]


def register_kind(kind: str, dataflows: tuple[str, ...], sections: tuple[str, ...], own: dict, rule) -> None:
    """Make ``kind`` (with ``pe_array.dataflow`` values ``dataflows``, if any) known to the schema."""
    global SCHEMA
    for name in dataflows or (None,):
        KINDS[(kind, name)] = (tuple(sections), rule)
    kinds = tuple(dict.fromkeys(k for k, _ in KINDS))
    SCHEMA.fields["kind"] = Field("choice", REQUIRED, choices=kinds)
    names = tuple(dict.fromkeys(d for _, d in KINDS if d is not None))
    pe = SCHEMA.fields["pe_array"]
    pe.fields["dataflow"] = Field("choice", "ws", choices=names,
                                  doc="os | ws | is systolic, eie column broadcast, or any registered kind")
    for section, record in own.items():
        SCHEMA.fields[section] = record
        if section not in {f.name for f in dataclasses.fields(SCHEMA.cls)}:
            KIND_OPTION_SECTIONS[section] = record  # built into HardwareConfig.options
    SCHEMA = Record(SCHEMA.cls, SCHEMA.fields, omit=("version", "description") + tuple(KIND_OPTION_SECTIONS))


def kind_rule(data: dict):
    """(sections, rule) of the kind a raw config names, or None when it names none registered."""
    pe = data.get("pe_array") if isinstance(data.get("pe_array"), dict) else {}
    kind, dataflow = data.get("kind"), pe.get("dataflow", "ws")
    if not isinstance(kind, str) or not isinstance(dataflow, str):  # a list or mapping: the schema reports it
        return None
    return KINDS.get((kind, dataflow)) or KINDS.get((kind, None))
