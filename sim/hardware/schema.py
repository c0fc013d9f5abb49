"""The hardware config schema, kept as data (the field tables); ``sim.schema`` holds the checker
that walks it."""
from __future__ import annotations

from ..schema import REQUIRED, Field, ListOf, MapOf, Record, build, check, flag, lookup, nonneg, pos, posint
from . import spec as S

__all__ = ["REQUIRED", "Field", "ListOf", "MapOf", "Record", "build", "check", "flag", "lookup", "nonneg", "pos",
           "posint", "SCHEMA", "DATA_KINDS", "BUFFER_HOLDS"]

DATA_KINDS = ("weights", "inputs", "outputs")  # every design must hold these somewhere
BUFFER_HOLDS = DATA_KINDS + ("pointers",)

DEVICE = Record(S.DeviceSpec, {
    "latency_ns": pos("ns"), "power_mw": nonneg("mW"), "bits": Field("int", 0, min=0, max=32),
})
OPTIONAL_DEVICE = Record(S.DeviceSpec, DEVICE.fields, optional=True)

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
    }, optional=True, fill=True),
    "energy": Record(S.EnergySpec, {
        "table": Field("choice", "horowitz45", choices=("horowitz45",)),
        "overrides": Field("overrides", {}, doc="'component.action': pJ, replaces the table's value"),
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
    }),
    "pe_array": Record(S.PEArraySpec, {
        "rows": posint(), "cols": posint(default=1), "macs_per_pe_per_cycle": posint(default=1),
        "weight_bits": posint(default=8, max=32), "act_bits": posint(default=8, max=32),
        "acc_bits": posint(default=32, max=64),
        "dataflow": Field("choice", "ws", choices=("os", "ws", "is", "eie")),
        "skip_zero_weights": flag(False), "skip_zero_acts": flag(False),
        "act_queue_depth": Field("int", 0, min=0), "codebook_bits": Field("int", 0, min=0, max=16),
        "index_bits": Field("int", 0, min=0, max=32),
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
        }, optional=True, fill=True),
        "broadband_mr_per_unit": Field("int", 1, min=0),
        "input_modulation": Field("choice", "vcsel", choices=("vcsel", "mrr"),
                                  doc="vcsel: per-element VCSELs (SONIC); mrr: laser + EO input rings (CrossLight)"),
        "adcs_per_unit": posint(default=1, doc="time-interleaved ADCs per unit output"),
    }, optional=True),
}, omit=("version", "description"))
