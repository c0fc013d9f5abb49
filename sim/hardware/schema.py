"""The hardware config schema, kept as data, and the one checker that walks it.

Each leaf is a ``Field`` (type, range, unit, default); a ``Record`` maps keys to fields and names
the dataclass it builds; ``ListOf`` / ``MapOf`` hold repeated records. ``check`` collects every
problem into a list of "key.path: what was expected; got what" strings.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import did_you_mean
from . import numerics as N
from . import spec as S

REQUIRED = object()


@dataclass(frozen=True)
class Field:
    type: str  # "number" | "int" | "bool" | "str" | "choice" | "str_list"
    default: Any = REQUIRED
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False  # min is exclusive: value must be > min
    choices: tuple = ()
    unit: str = ""
    doc: str = ""


@dataclass(frozen=True)
class Record:
    cls: type
    fields: dict
    optional: bool = False  # the whole record may be absent (builds None)
    doc: str = ""


@dataclass(frozen=True)
class ListOf:
    item: Record
    min_len: int = 1


@dataclass(frozen=True)
class MapOf:
    """Mapping of user-chosen names to records; the name is passed as the record's ``name``."""

    item: Record
    min_len: int = 1


def pos(unit: str = "", doc: str = "", default=REQUIRED) -> Field:
    return Field("number", default, min=0, exclusive_min=True, unit=unit, doc=doc)


def nonneg(unit: str = "", doc: str = "", default=REQUIRED) -> Field:
    return Field("number", default, min=0, unit=unit, doc=doc)


def posint(doc: str = "", default=REQUIRED, max: int | None = None) -> Field:
    return Field("int", default, min=1, max=max, doc=doc)


def flag(default: bool, doc: str = "") -> Field:
    return Field("bool", default, doc=doc)


DATA_KINDS = ("weights", "inputs", "outputs")  # every design must hold these somewhere
BUFFER_HOLDS = DATA_KINDS + ("pointers",)

DEVICE = Record(S.DeviceSpec, {
    "latency_ns": pos("ns"), "power_mw": nonneg("mW"), "bits": Field("int", 0, min=0, max=32),
})
OPTIONAL_DEVICE = Record(S.DeviceSpec, DEVICE.fields, optional=True)

def _format(default_format: str) -> Record:
    return Record(N.NumberFormat, {
        "format": Field("choice", default_format, choices=N.FORMATS, doc="int | fixed (power-of-two scale) | float"),
        "bits": Field("int", None, min=1, max=64, doc="from the datapath / converter field when omitted"),
        "granularity": Field("choice", "per_tensor", choices=N.GRANULARITIES, doc="one scale per tensor or per output channel"),
        "scheme": Field("choice", "symmetric", choices=N.SCHEMES, doc="symmetric (zero point 0) or affine"),
        "rounding": Field("choice", "nearest_even", choices=N.ROUNDINGS),
        "overflow": Field("choice", "saturate", choices=N.OVERFLOWS),
    }, optional=True)


def _switch(**extra) -> Record:
    cls = extra.pop("cls", N.Switch)
    return Record(cls, {"enabled": flag(True), **extra}, optional=True)


NUMERICS = Record(N.NumericsSpec, {
    "weights": _format("int"), "activations": _format("int"), "accumulator": _format("int"),
    "noise": Record(N.NoiseSpec, {
        "enabled": flag(False, "photonic analog non-idealities (all off when false)"),
        "seed": Field("int", 0, min=0, doc="seed of the noise draws"),
        "detector": Record(N.DetectorNoise, {
            "responsivity_a_per_w": pos("A/W", "photodiode responsivity", 1.0),
            "bandwidth_ghz": pos("GHz", "receiver noise bandwidth", 5.0),
            "laser_margin_db": Field("number", 0.0, min=-60, max=60, unit="dB",
                                     doc="received power above the PD sensitivity the link budget sizes the laser for"),
        }, optional=True),
        "shot_noise": _switch(),
        "thermal_noise": _switch(cls=N.ThermalNoise, temperature_k=pos("K", default=300.0),
                                 load_ohm=pos("ohm", "receiver load / TIA transimpedance", 1000.0)),
        "crosstalk": _switch(cls=N.Crosstalk, q_factor=pos(default=8000.0), fsr_nm=pos("nm", default=18.0),
                             wavelength_nm=pos("nm", default=1550.0),
                             channel_spacing_nm=nonneg("nm", "0: a bank's wavelengths spread evenly over one FSR", 0.0),
                             rings_per_bank=Field("int", 0, min=0, doc="wavelengths per bank; 0: the vector width")),
        "thermal_drift": _switch(cls=N.ThermalDrift, sigma_nm=nonneg("nm", "residual resonance drift (1 sigma)", 0.005)),
        "dac_quantization": _switch(), "adc_quantization": _switch(),
    }, optional=True),
}, optional=True)

SCHEMA = Record(S.HardwareConfig, {
    "version": Field("choice", 1, choices=(1,)),
    "name": Field("str", REQUIRED, doc="design name used in reports"),
    "kind": Field("choice", REQUIRED, choices=("electronic", "photonic")),
    "description": Field("str", ""),
    "clock_ghz": pos("GHz"),
    "static_power_w": nonneg("W", "leakage and always-on power, charged x simulated time", 0.0),
    "technology": Record(S.Technology, {
        "node_nm": Field("number", 45.0, min=1, max=180, unit="nm"),
        "vdd_v": Field("choice", 0.9, choices=(0.8, 0.9, 1.0), unit="V"),
    }, optional=True),
    "energy": Record(S.EnergySpec, {
        "table": Field("choice", "horowitz45", choices=("horowitz45",)),
        "overrides": Field("overrides", {}, doc="'component.action': pJ, replaces the table's value"),
    }, optional=True),
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
    }),
    "pe_array": Record(S.PEArraySpec, {
        "rows": posint(), "cols": posint(default=1), "macs_per_pe_per_cycle": posint(default=1),
        "weight_bits": posint(default=8, max=32), "act_bits": posint(default=8, max=32),
        "acc_bits": posint(default=32, max=64),
        "dataflow": Field("choice", "ws", choices=("os", "ws", "is", "eie")),
        "skip_zero_weights": flag(False), "skip_zero_acts": flag(False),
        "act_queue_depth": Field("int", 0, min=0), "codebook_bits": Field("int", 0, min=0, max=16),
        "index_bits": Field("int", 0, min=0, max=32),
        "subword_parallelism": posint(default=1, max=64,
                                      doc="narrow MACs a unit does per cycle when weights are narrower than weight_bits"),
        "structured_sparsity": Record(S.StructuredSparsitySpec, {
            "n": posint(default=2, max=63), "m": posint(default=4, max=64),
        }, optional=True, doc="sparse tensor cores: N:M layers run on the compressed reduction axis"),
    }, optional=True),
    "photonic": Record(S.PhotonicSpec, {
        "conv_units": Record(S.UnitGroupSpec, {"count": posint(), "vector_width": posint()}),
        "fc_units": Record(S.UnitGroupSpec, {"count": posint(), "vector_width": posint()}),
        "act_dac": DEVICE, "weight_dac": DEVICE, "weight_dac_dense": DEVICE, "adc": DEVICE,
        "vcsel": DEVICE, "photodetector": DEVICE, "tia": OPTIONAL_DEVICE,
        "tuning": Record(S.TuningSpec, {
            "eo_latency_ns": pos("ns"), "eo_power_uw_per_nm": nonneg("uW/nm"), "eo_shift_nm": nonneg("nm"),
            "to_latency_ns": pos("ns"), "to_power_mw_per_fsr": nonneg("mW/FSR"),
            "to_hold_fsr_fraction": Field("number", REQUIRED, min=0, max=1),
        }),
        "optics": Record(S.OpticsSpec, {
            "propagation_db_per_cm": nonneg("dB/cm"), "waveguide_length_cm": nonneg("cm"),
            "splitter_db": nonneg("dB"), "combiner_db": nonneg("dB"), "mr_through_db": nonneg("dB"),
            "mr_modulation_db": nonneg("dB"), "eo_tuning_db_per_cm": nonneg("dB/cm"),
            "to_tuning_db_per_cm": nonneg("dB/cm"), "tuning_length_cm": nonneg("cm"),
            "pd_sensitivity_dbm": Field("number", REQUIRED, min=-60, max=10, unit="dBm"),
            "laser_wall_plug_efficiency": Field("number", REQUIRED, min=0, max=1, exclusive_min=True),
            "external_laser": flag(False),
        }),
        "sparsity": Record(S.SparsitySpec, {
            "fc_compression": flag(True), "conv_compression": flag(True),
            "vcsel_power_gating": flag(True), "weight_clustering": flag(True),
        }, optional=True),
        "broadband_mr_per_unit": Field("int", 1, min=0),
        "input_modulation": Field("choice", "vcsel", choices=("vcsel", "mrr"),
                                  doc="vcsel: per-element VCSELs (SONIC); mrr: laser + EO input rings (CrossLight)"),
        "adcs_per_unit": posint(default=1, doc="time-interleaved ADCs per unit output"),
    }, optional=True),
    "numerics": NUMERICS,
})


def _type_ok(f: Field, value) -> str | None:
    """Problem text for a leaf value, or None when it is fine."""
    t = f.type
    if t == "bool":
        return None if isinstance(value, bool) else f"must be true or false; got {value!r}"
    if t == "str":
        return None if isinstance(value, str) else f"must be a string; got {value!r}"
    if t == "choice":
        return None if value in f.choices else f"must be one of {', '.join(map(str, f.choices))}; got {value!r}"
    if t == "str_list":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or any(v not in f.choices for v in value):
            return f"must be a list drawn from {', '.join(f.choices)}; got {value!r}"
        return None
    if t == "overrides":
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and "." in k and isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
                for k, v in value.items()):
            return f"must map 'component.action' to a number of pJ >= 0; got {value!r}"
        return None
    is_num = isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
        return f"must be an integer{_range_text(f)}; got {value!r}"
    if t == "number" and not is_num:
        return f"must be a number{_range_text(f)}{_unit_text(f)}; got {value!r}"
    what = "an integer " if t == "int" else ""
    if f.min is not None and (value <= f.min if f.exclusive_min else value < f.min):
        return f"must be {what}{'>' if f.exclusive_min else '>='} {f.min:g}{_unit_text(f)}; got {value!r}"
    if f.max is not None and value > f.max:
        return f"must be {what}<= {f.max:g}{_unit_text(f)}; got {value!r}"
    return None


def _range_text(f: Field) -> str:
    parts = []
    if f.min is not None:
        parts.append(f"{'>' if f.exclusive_min else '>='} {f.min:g}")
    if f.max is not None:
        parts.append(f"<= {f.max:g}")
    return (" " + " and ".join(parts)) if parts else ""


def _unit_text(f: Field) -> str:
    return f" ({f.unit})" if f.unit else ""


def check(node, value, path: str, problems: list[str]) -> None:
    """Validate ``value`` against schema ``node``; append problems; never raises."""
    if isinstance(node, Field):
        msg = _type_ok(node, value)
        if msg:
            problems.append(f"{path}: {msg}")
        return
    if isinstance(node, (ListOf, MapOf)):
        if isinstance(node, MapOf):
            if not isinstance(value, dict) or len(value) < node.min_len:
                problems.append(f"{path}: must be a mapping of names to entries; got {value!r}")
                return
            for name, item in value.items():
                check(node.item, item, f"{path}.{name}", problems)
        else:
            if not isinstance(value, list) or len(value) < node.min_len:
                problems.append(f"{path}: must be a list of at least {node.min_len} entries; got {value!r}")
                return
            for i, item in enumerate(value):
                check(node.item, item, f"{path}[{i}]", problems)
        return
    if not isinstance(value, dict):
        problems.append(f"{path or 'top level'}: must be a mapping of keys; got {value!r}")
        return
    prefix = f"{path}." if path else ""
    for key in value:
        if key not in node.fields:
            problems.append(f"{prefix}{key}: unknown key" + did_you_mean(str(key), node.fields))
    for key, sub in node.fields.items():
        if key in value:
            check(sub, value[key], prefix + key, problems)
        elif _required(sub):
            problems.append(f"{prefix}{key}: missing; expected {_describe(sub)}")


def _required(node) -> bool:
    if isinstance(node, Field):
        return node.default is REQUIRED
    if isinstance(node, Record):
        return not node.optional
    return True


def _describe(node) -> str:
    if isinstance(node, Field):
        if node.type == "choice":
            return f"one of {', '.join(map(str, node.choices))}"
        return f"a {node.type}{_range_text(node)}{_unit_text(node)}" + (f" ({node.doc})" if node.doc else "")
    if isinstance(node, Record):
        return f"a section with keys {', '.join(node.fields)}"
    return "a list" if isinstance(node, ListOf) else "a mapping of names to entries"


def build(node, value, name: str | None = None):
    """Construct dataclasses from a value that ``check`` accepted, filling defaults."""
    if isinstance(node, Field):
        if node.type == "str_list":
            return tuple([value] if isinstance(value, str) else value)
        if node.type == "overrides":
            return tuple(sorted((str(k), float(v)) for k, v in value.items()))
        if node.type == "number" and value is not None:
            return float(value)
        return value
    if isinstance(node, MapOf):
        return tuple(build(node.item, v, name=str(k)) for k, v in value.items())
    if isinstance(node, ListOf):
        return tuple(build(node.item, v) for v in value)
    kwargs = {}
    for key, sub in node.fields.items():
        if key in ("version", "description"):
            continue
        if key in value:
            kwargs[key] = build(sub, value[key])
        elif isinstance(sub, Field):
            kwargs[key] = build(sub, sub.default) if sub.default is not REQUIRED else None
        elif isinstance(sub, Record) and sub.optional and (key in ("technology", "energy", "sparsity")
                                                           or (sub.cls.__module__ == N.__name__ and key != "numerics")):
            kwargs[key] = build(sub, {})
        else:
            kwargs[key] = None
    if name is not None:
        kwargs["name"] = name
    return node.cls(**kwargs)


def lookup(node, dotted: str):
    """Schema node at a dotted path (MapOf entries match any name), or None."""
    for part in dotted.split("."):
        if isinstance(node, MapOf):
            node = node.item
            continue
        if not isinstance(node, Record) or part not in node.fields:
            return None
        node = node.fields[part]
    return node
