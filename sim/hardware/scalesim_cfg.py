"""SCALE-Sim .cfg (INI) -> the equivalent hwconfig dict, which the hardware loader validates.

SCALE-Sim (v2 / v3, scalesim/scale_config.py) describes a systolic array in ``[architecture_presets]``:
``ArrayHeight`` x ``ArrayWidth`` PEs, ``IfmapSramSzkB`` / ``FilterSramSzkB`` / ``OfmapSramSzkB`` (kB of
SCALE-Sim words), ``Dataflow`` (os / ws / is) and ``Bandwidth`` (words per cycle between DRAM and the
SRAMs; a comma list gives one per operand, the first is used), plus v3's ``[sparsity]``
(``SparsitySupport``, ``SparseRep``, ``BlockSize``). SCALE-Sim has no clock, word width or energy, so
the dict states sim's assumptions for them (1 GHz, one-byte words, int8 operands with int32
accumulators, Horowitz 45 nm scaled to 28 nm) in ``ASSUMPTIONS``; ``python -m sim import-config``
writes them as comments beside the YAML it writes.
"""
from __future__ import annotations

import configparser
import math
import os
import re

from ..errors import ConfigError
from ..limits import MAX_CFG_BYTES, check_file_size, short

MAX_CFG_INT = 2**31  # array sides, banks and block sizes: far beyond any real array

WORD_BYTES = 1  # ASSUMPTION: SCALE-Sim words are one byte (int8 operands)
CLOCK_GHZ = 1.0  # ASSUMPTION: SCALE-Sim counts cycles only; 1 GHz makes a cycle 1 ns
ASSUMPTIONS = [
    "clock_ghz 1.0: SCALE-Sim counts cycles only; at 1 GHz a cycle is 1 ns",
    "one-byte words (int8 weights and activations, 32-bit accumulators): SCALE-Sim sizes SRAMs in words",
    "dram.bandwidth_gbps = Bandwidth words/cycle x 1 B x 1 GHz; latency 0 (SCALE-Sim's stall-free model)",
    "DRAM 8 pJ/bit (LPDDR4, Accelergy CACTI table), SRAM energy from the Horowitz table by size",
    "static_power_w 0: SCALE-Sim models no power",
]


SPELLING = {"arrayheight": "ArrayHeight", "arraywidth": "ArrayWidth", "ifmapsramszkb": "IfmapSramSzkB",
            "filtersramszkb": "FilterSramSzkB", "ofmapsramszkb": "OfmapSramSzkB", "bandwidth": "Bandwidth",
            "memorybanks": "MemoryBanks", "blocksize": "BlockSize"}


def _number(cfg, path, section, key, problems, kind=int, default=None):
    name = SPELLING.get(key, key)
    if not cfg.has_option(section, key):
        if default is None:
            problems.append(f"[{section}] {name}: missing")
        return default
    text = cfg.get(section, key).strip()
    first = text.split(",")[0].strip()
    what = "an integer" if kind is int else "a finite number"
    try:
        value = kind(first) if len(first) <= 40 else None  # 40+ characters size nothing real
    except ValueError:
        value = None
    if value is None or (kind is float and not math.isfinite(value)):
        problems.append(f"[{section}] {name}: must be > 0 ({what}); got {short(text)}")
        return None
    if value <= 0 or (kind is int and value > MAX_CFG_INT):
        rng = f" and <= {MAX_CFG_INT:,}" if kind is int else ""
        problems.append(f"[{section}] {name}: must be > 0{rng} ({what}); got {short(text)}")
        return None
    return value


def scalesim_hardware_dict(path: str | os.PathLike) -> dict:
    """The hwconfig dict (as a hwconfigs/*.yaml would hold) equivalent to a SCALE-Sim .cfg file.

    Raises
    ------
    ConfigError : unreadable file, not an INI, missing or bad ``[architecture_presets]`` keys.
    """
    path = str(path)
    if not os.path.isfile(path):
        raise ConfigError(path, "file not found" if not os.path.exists(path) else "is not a file; expected a "
                                "SCALE-Sim .cfg")
    check_file_size(path, MAX_CFG_BYTES, "a SCALE-Sim .cfg")
    cfg = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    cfg.optionxform = str.lower  # SCALE-Sim's keys are case-insensitive (IfmapSramSzkB / ifmapsramszkB)
    try:
        with open(path, encoding="utf-8") as f:
            cfg.read_file(f)
    except (configparser.Error, UnicodeDecodeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(path, f"not a SCALE-Sim .cfg (INI) file ({short(first)[1:-1]})") from None
    except OSError as exc:
        raise ConfigError(path, f"cannot read file ({exc.strerror or exc})") from None
    arch = "architecture_presets"
    if not cfg.has_section(arch):
        raise ConfigError(path, f"[{arch}]: missing; a SCALE-Sim .cfg describes its array there")
    problems: list[str] = []
    rows = _number(cfg, path, arch, "arrayheight", problems)
    cols = _number(cfg, path, arch, "arraywidth", problems)
    sizes = {k: _number(cfg, path, arch, f"{k}sramszkb", problems, float) for k in ("ifmap", "filter", "ofmap")}
    bandwidth = _number(cfg, path, arch, "bandwidth", problems, float, default=10.0)
    banks = _number(cfg, path, arch, "memorybanks", problems, default=1)
    dataflow = cfg.get(arch, "dataflow", fallback="").strip().lower()
    if dataflow not in ("os", "ws", "is"):
        problems.append(f"[{arch}] Dataflow: must be os, ws or is; got {short(dataflow)}")
    support = cfg.get("sparsity", "sparsitysupport", fallback="false").strip().lower()
    if support not in ("true", "false"):
        problems.append(f"[sparsity] SparsitySupport: must be true or false; got {short(support)}")
    sparse = support == "true"
    block = _number(cfg, path, "sparsity", "blocksize", problems, default=4) if sparse else 4
    if problems:
        raise ConfigError(path, problems)
    name = cfg.get("general", "run_name", fallback=os.path.splitext(os.path.basename(path))[0]).strip()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:80] or "scalesim"
    kb = WORD_BYTES  # kB of words -> KiB of bytes
    data = {
        "version": 1,
        "name": name,
        "kind": "electronic",
        "description": f"SCALE-Sim {os.path.basename(path)}: {rows}x{cols} {dataflow} systolic array"
                       + (" with N:M sparsity" if sparse else ""),
        "clock_ghz": CLOCK_GHZ,
        "static_power_w": 0.0,
        "technology": {"node_nm": 28, "vdd_v": 0.9},
        "energy": {"table": "horowitz45"},
        "pe_array": {"rows": rows, "cols": cols, "macs_per_pe_per_cycle": 1, "weight_bits": 8, "act_bits": 8,
                     "acc_bits": 32, "dataflow": dataflow, "skip_zero_weights": False, "skip_zero_acts": False},
        "memory": {
            "dram": {"bandwidth_gbps": float(bandwidth) * WORD_BYTES * CLOCK_GHZ, "latency_ns": 0.0,
                     "read_pj_per_bit": 8.0, "write_pj_per_bit": 8.0},
            "buffers": {
                "ifmap_sram": {"size_kb": sizes["ifmap"] * kb, "width_bits": 8 * cols, "banks": banks,
                               "holds": ["inputs"]},
                "filter_sram": {"size_kb": sizes["filter"] * kb, "width_bits": 8 * cols, "banks": banks,
                                "holds": ["weights"]},
                "ofmap_sram": {"size_kb": sizes["ofmap"] * kb, "width_bits": 32 * cols, "banks": banks,
                               "holds": ["outputs"]},
            },
            "weights_resident": False,
        },
    }
    if sparse:
        # v3's sparse systolic array (hwconfigs/sparse_systolic.yaml): N:M per layer from the topology.
        data["pe_array"].update(dataflow=f"sparse_{dataflow}", skip_zero_weights=True)
        data["sparsity"] = {
            "representation": cfg.get("sparsity", "sparserep", fallback="ellpack_block").strip(),
            "block_size": block,
            "metadata_bits": 0, "metadata_word_bits": 32,
        }
        data["memory"]["buffers"]["metadata_sram"] = {"size_kb": max(1.0, sizes["filter"] * kb / 16),
                                                      "width_bits": 256, "banks": 1, "holds": ["pointers"]}
    return data


def is_scalesim_cfg(path: str | os.PathLike) -> bool:
    return str(path).lower().endswith(".cfg")


def hardware_yaml_text(data: dict, source: str) -> str:
    """The hwconfig YAML of ``data`` with the conversion's assumptions as comments."""
    import yaml
    lines = [f"# Converted from the SCALE-Sim config {os.path.basename(source)} by python -m sim import-config.",
             "# SCALE-Sim gives array, SRAM sizes, dataflow and bandwidth; the rest are sim's assumptions:"]
    lines += [f"#   ASSUMPTION: {a}" for a in ASSUMPTIONS]
    return "\n".join(lines) + "\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
