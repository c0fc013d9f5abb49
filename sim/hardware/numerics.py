"""A design's arithmetic: the ``numerics:`` section of a hwconfig (DESIGN.md, "Numerics belong to
the design").

``numerics.weights``, ``numerics.activations`` and ``numerics.accumulator`` each name a number
format (int, fixed or float), its bits, how its scale is chosen (per tensor or per output
channel, symmetric or affine), how values round and what happens on overflow (saturate or wrap).
``numerics.noise`` switches the analog non-idealities of photonic designs (sim/engine/noise.py).

The bit widths have one source of truth each. On electronic designs they are the datapath
(``pe_array.weight_bits``, ``act_bits``, ``acc_bits``); on photonic designs the converters
(``photonic.weight_dac.bits`` or ``weight_dac_dense.bits`` when weight clustering is off,
``photonic.act_dac.bits``, ``photonic.adc.bits``). A ``numerics`` entry may omit ``bits`` (it is
then taken from that field) or repeat it, in which case the two must agree: ``resolve`` checks
that before the schema builds the config, and ``mirror_overrides`` keeps a ``--set`` of either
side consistent with the other.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

FORMATS = ("int", "fixed", "float")
GRANULARITIES = ("per_tensor", "per_channel")
SCHEMES = ("symmetric", "affine")
ROUNDINGS = ("nearest_even", "nearest_away", "floor")
OVERFLOWS = ("saturate", "wrap")
FLOAT_BITS = (16, 32)  # IEEE half and single: the float formats numpy computes exactly
OPERANDS = ("weights", "activations", "accumulator")


@dataclass(frozen=True)
class NumberFormat:
    """One operand's number format. ``bits`` counts the sign bit for signed formats.

    int: integer codes times a real scale chosen from the data's range (calibrated);
    fixed: the same with the scale rounded up to a power of two (a binary point);
    float: IEEE binary16 / binary32 (scale, scheme and overflow do not apply)."""

    format: str = "float"
    bits: int = 32
    granularity: str = "per_tensor"
    scheme: str = "symmetric"
    rounding: str = "nearest_even"
    overflow: str = "saturate"

    @property
    def is_float32(self) -> bool:
        return self.format == "float" and self.bits == 32


@dataclass(frozen=True)
class DetectorNoise:
    """Photodetector operating point for shot and thermal noise (sim/engine/noise.py)."""

    responsivity_a_per_w: float = 1.0
    bandwidth_ghz: float = 5.0
    laser_margin_db: float = 0.0  # received power above the PD sensitivity the laser is sized for


@dataclass(frozen=True)
class Switch:
    enabled: bool = True


@dataclass(frozen=True)
class ThermalNoise:
    enabled: bool = True
    temperature_k: float = 300.0
    load_ohm: float = 1000.0


@dataclass(frozen=True)
class Crosstalk:
    enabled: bool = True
    q_factor: float = 8000.0
    fsr_nm: float = 18.0
    wavelength_nm: float = 1550.0
    channel_spacing_nm: float = 0.0  # 0: a bank's wavelengths spread evenly over one FSR
    rings_per_bank: int = 0  # wavelengths per ring bank (reused across banks); 0: the unit's vector width


@dataclass(frozen=True)
class ThermalDrift:
    enabled: bool = True
    sigma_nm: float = 0.005


@dataclass(frozen=True)
class NoiseSpec:
    """Analog non-idealities of photonic designs; ``enabled: false`` turns them all off."""

    enabled: bool = False
    seed: int = 0
    detector: DetectorNoise = field(default_factory=DetectorNoise)
    shot_noise: Switch = field(default_factory=Switch)
    thermal_noise: ThermalNoise = field(default_factory=ThermalNoise)
    crosstalk: Crosstalk = field(default_factory=Crosstalk)
    thermal_drift: ThermalDrift = field(default_factory=ThermalDrift)
    dac_quantization: Switch = field(default_factory=Switch)
    adc_quantization: Switch = field(default_factory=Switch)

    def on(self, name: str) -> bool:
        """Is non-ideality ``name`` (an attribute with ``enabled``) active?"""
        return self.enabled and getattr(self, name).enabled


@dataclass(frozen=True)
class NumericsSpec:
    weights: NumberFormat = field(default_factory=NumberFormat)
    activations: NumberFormat = field(default_factory=NumberFormat)
    accumulator: NumberFormat = field(default_factory=NumberFormat)
    noise: NoiseSpec = field(default_factory=NoiseSpec)

    @property
    def is_float32(self) -> bool:
        """Float32 everywhere and no noise: the design computes what the float model computes."""
        return (self.weights.is_float32 and self.activations.is_float32 and self.accumulator.is_float32
                and not self.noise.enabled)


def analog_section(data: dict) -> str | None:
    """The section holding an analog design's converters (its ``act_dac`` and ``adc``), if any:
    designs with converters compute in analog and take their widths from them."""
    return next((k for k, v in data.items() if isinstance(v, dict) and "act_dac" in v and "adc" in v), None)


def is_analog(data: dict) -> bool:
    return analog_section(data) is not None


def bit_sources(data: dict) -> dict[str, str | None]:
    """Operand -> dotted path of the device/datapath field that sets its bits (None: none)."""
    sec = analog_section(data)
    if sec is not None:
        ph = data[sec]
        sp = ph.get("sparsity") if isinstance(ph.get("sparsity"), dict) else {}
        wdac = "weight_dac" if sp.get("weight_clustering", True) else "weight_dac_dense"
        return {"weights": f"{sec}.{wdac}.bits", "activations": f"{sec}.act_dac.bits",
                "accumulator": f"{sec}.adc.bits"}
    return {"weights": "pe_array.weight_bits", "activations": "pe_array.act_bits",
            "accumulator": "pe_array.acc_bits"}


DATAPATH_DEFAULTS = {"pe_array.weight_bits": 8, "pe_array.act_bits": 8, "pe_array.acc_bits": 32}


def _get(data: dict, dotted: str):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(data: dict, dotted: str, value) -> None:
    node = data
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def resolve(data: dict, problems: list[str]) -> dict:
    """Copy of the raw hwconfig mapping with every ``numerics.<operand>.bits`` filled from (and
    checked against) its datapath/converter field. A design without a ``numerics`` section
    computes in float32 with no noise (the float model's arithmetic)."""
    data = copy.deepcopy(data)
    num = data.get("numerics")
    if num is None:
        return data
    if not isinstance(num, dict):
        return data  # the schema checker reports the type
    for operand, source in bit_sources(data).items():
        entry = num.setdefault(operand, {})
        if not isinstance(entry, dict):
            continue
        device_bits = _get(data, source) or None  # a converter without bits (0) sets none
        if device_bits is None and not is_analog(data):
            device_bits = DATAPATH_DEFAULTS.get(source)
        if entry.get("format", "int") == "float":
            # a float format's bits name the float type, not a datapath width
            entry.setdefault("bits", 32)
            if entry["bits"] not in FLOAT_BITS:
                problems.append(f"numerics.{operand}.bits: a float format must be one of "
                                f"{', '.join(map(str, FLOAT_BITS))} bits; got {entry['bits']!r}")
            continue
        if "bits" not in entry:
            if device_bits is not None:
                entry["bits"] = device_bits
            else:
                problems.append(f"numerics.{operand}.bits: missing; {source} gives no width, so state it here")
        elif device_bits is not None and entry["bits"] != device_bits:
            problems.append(f"numerics.{operand}.bits: must equal {source} ({device_bits!r}), the one "
                            f"field that sets this width; got {entry['bits']!r}")
    noise = num.get("noise")
    if not is_analog(data) and isinstance(noise, dict) and noise.get("enabled") is True:
        problems.append("numerics.noise.enabled: the noise models are analog (photonic) non-idealities; "
                        "an electronic design computes exactly, so set it to false")
    formats = {op: num[op].get("format", "int") for op in OPERANDS if isinstance(num.get(op), dict)}
    if (not is_analog(data) and formats.get("accumulator") in ("int", "fixed")
            and "float" in (formats.get("weights"), formats.get("activations"))):
        problems.append("numerics.accumulator.format: an integer accumulator needs integer weights and "
                        f"activations; got weights {formats.get('weights')}, activations {formats.get('activations')}")
    return data


def mirror_overrides(data: dict, overrides: dict) -> dict:
    """After ``--set`` overrides: a changed datapath/converter width carries into
    ``numerics.<operand>.bits`` and vice versa, so one override never makes the file inconsistent."""
    num = data.get("numerics")
    if not isinstance(num, dict):
        return data
    for operand, source in bit_sources(data).items():
        entry = num.get(operand)
        if not isinstance(entry, dict) or entry.get("format", "int") == "float":
            continue
        key = f"numerics.{operand}.bits"
        if source in overrides and key not in overrides:
            entry["bits"] = overrides[source]
        elif key in overrides and source not in overrides and _get(data, source) is not None:
            _set(data, source, overrides[key])
    return data
