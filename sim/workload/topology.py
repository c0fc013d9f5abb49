"""SCALE-Sim topology CSV -> Network with synthetic weights at a stated density.

The format is SCALE-Sim v2's convolution topology (scalesim/topology_utils.py): a header line,
then one row per layer::

    Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,
    Conv1,      224,         224,         11,            11,           3,        96,         4,

A ninth column gives a separate column stride (the eighth is then the row stride); blank lines
are skipped and the trailing comma SCALE-Sim writes is optional here. A layer whose name
contains "DP" is depthwise: SCALE-Sim runs it as one single-channel layer per input channel, sim
as one conv2d with groups = channels and channels x num_filter outputs (the same MACs).

There is no padding, and the output size is SCALE-Sim's: ceil((ifmap - filter + stride) / stride).
When the stride does not divide (ifmap - filter), SCALE-Sim's last window runs past the ifmap edge
(those addresses read as -1, i.e. nothing); sim's layer then takes the ifmap that last window
needs, (out - 1) * stride + filter, so its shapes and MACs equal SCALE-Sim's. AlexNet's 224 x 224
Conv1 becomes the 227 x 227 input the network really uses. The file's own sizes stay in
``Network.meta["scalesim_ifmap"]``.

Rows whose shapes chain (each output is the next row's input) form one sequential network;
otherwise every row is an independent layer fed its own input (``Network.independent``).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..limits import MAX_CSV_BYTES, check_file_size, short, size_problem
from .load import _Problems, synthetic_weight
from .network import Layer, Network

COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter",
           "Strides")
STRIDE_COLUMNS = ("Stride height", "Stride width")  # the nine-column form


def load_topology(path: str | os.PathLike, seed: int = 0, density: float = 1.0) -> Network:
    """Read a SCALE-Sim convolution topology as conv2d / fc layers with synthetic weights.

    Parameters
    ----------
    path : the topology .csv.
    seed : seed of the synthetic weights (layer i uses ``default_rng([seed, i])``).
    density : fraction of nonzero weights in every layer, in [0, 1] (magnitude-pruned He-normal).

    A row with a 1 x 1 ifmap and a 1 x 1 filter is a matrix-vector product and becomes an fc layer.
    Layers carry no bias (SCALE-Sim models none).
    """
    path = str(path)
    if not isinstance(density, (int, float)) or isinstance(density, bool) or not 0.0 <= density <= 1.0:
        raise ConfigError(path, f"density: must be a number in [0, 1]; got {density!r}")
    rows = _read_rows(path)
    p = _Problems(path)
    specs = [spec for spec in (_parse_row(p, line_no, fields) for line_no, fields in rows) if spec is not None]
    for spec in specs:  # before any weight is drawn
        for what, shape in (("its weight", spec["weight_shape"]), ("its input", spec["in_shape"])):
            msg = size_problem(what, shape)
            if msg:
                p.add(f"layer {spec['name']!r}", msg)
    p.raise_if_any()
    if not specs:
        raise ConfigError(path, "no layers: expected a header line and at least one row of "
                                f"{', '.join(COLUMNS)}")
    names = [s["name"] for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(path, f"column 'Layer name': duplicate layer names {duplicates}")
    chained = all(_chains(a, b) for a, b in zip(specs, specs[1:]))
    layers = []
    for i, spec in enumerate(specs):
        rng = np.random.default_rng([int(seed), i])
        layers.append(_layer(spec, synthetic_weight(spec["weight_shape"], float(density), rng)))
    if chained:
        for prev, layer in zip(layers, layers[1:]):
            layer.in_shape = prev.out_shape  # an fc after a 1x1 conv reads (C, 1, 1) as C features
    ifmaps = {s["name"]: list(s["file_ifmap"]) for s in specs}
    return Network(name=Path(path).stem, input_shape=layers[0].in_shape, layers=layers, independent=not chained,
                   source=path, meta={"format": "scalesim", "weight_density": float(density), "seed": int(seed),
                                      "scalesim_ifmap": ifmaps})


def _read_rows(path: str) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every data row; the header line is checked, not returned."""
    if not os.path.exists(path):
        raise ConfigError(path, "file not found")
    if os.path.isdir(path):
        raise ConfigError(path, "is a directory; expected a SCALE-Sim topology .csv")
    check_file_size(path, MAX_CSV_BYTES, "a topology .csv")
    try:
        with open(path, encoding="utf-8-sig") as f:  # -sig: spreadsheet exports start with a BOM
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, f"cannot read file ({exc})") from None
    rows = [(n, _fields(line)) for n, line in enumerate(lines, start=1) if line.strip()]
    if not rows:
        raise ConfigError(path, "is empty; expected a header line and one row per layer")
    header_no, header = rows[0]
    lowered = [h.lower() for h in header]
    if len(header) == 4 and lowered[1:] == ["m", "n", "k"]:
        raise ConfigError(path, f"line {header_no}: this is a GEMM (M, N, K) topology; sim reads SCALE-Sim's "
                                f"convolution format ({', '.join(COLUMNS)})")
    if len(header) > 1 and header[1].lstrip("+-").isdigit():
        # SCALE-Sim skips the first line unread; a data row there would silently vanish.
        raise ConfigError(path, f"line {header_no}: expected the header line ({', '.join(COLUMNS)}); got a data "
                                f"row")
    return rows[1:]


def _fields(line: str) -> list[str]:
    fields = [f.strip() for f in line.split(",")]
    if len(fields) > 1 and fields[-1] == "":
        fields.pop()  # SCALE-Sim writes (and needs) a trailing comma
    return fields


def _parse_row(p: _Problems, line_no: int, fields: list[str]) -> dict | None:
    name = fields[0] or f"layer{line_no}"
    where = f"line {line_no} ({name})"
    if len(fields) not in (8, 9):
        p.add(where, f"expected 8 columns ({', '.join(COLUMNS)}) or 9 (with {' and '.join(STRIDE_COLUMNS)}); "
                     f"got {len(fields)}")
        return None
    columns = COLUMNS[:7] + (STRIDE_COLUMNS if len(fields) == 9 else COLUMNS[7:])
    values = {}
    for column, text in zip(columns[1:], fields[1:]):
        try:
            value = int(text) if len(text) <= 18 else None  # 19+ digits size nothing real (and int() is slow)
        except ValueError:
            value = None
        if value is None or value < 1:
            p.add(f"{where}, column '{column}'", f"must be a positive integer; got {short(text)}")
            value = None
        values[column] = value
    if None in values.values():
        return None
    h, w = values["IFMAP Height"], values["IFMAP Width"]
    fh, fw = values["Filter Height"], values["Filter Width"]
    c, n = values["Channels"], values["Num Filter"]
    sh = values.get("Strides", values.get("Stride height"))
    sw = values.get("Strides", values.get("Stride width"))
    count = len(p.items)
    if fh > h:
        p.add(f"{where}, column 'Filter Height'", f"must be <= IFMAP Height ({h}); got {fh}")
    if fw > w:
        p.add(f"{where}, column 'Filter Width'", f"must be <= IFMAP Width ({w}); got {fw}")
    if fh != fw:
        p.add(f"{where}, column 'Filter Width'", f"sim's conv2d has square filters; got {fh} x {fw}")
    if sh != sw:
        p.add(f"{where}, column 'Stride width'", f"sim's conv2d has one stride for rows and columns; got {sh} and {sw}")
    if len(p.items) > count:
        return None
    oh, ow = -(-(h - fh + sh) // sh), -(-(w - fw + sw) // sw)  # SCALE-Sim's ceil
    eff_h, eff_w = (oh - 1) * sh + fh, (ow - 1) * sw + fw
    depthwise = "DP" in name  # SCALE-Sim's own marker for depthwise rows
    groups, out_c = (c, c * n) if depthwise else (1, n)
    spec = dict(name=name, file_ifmap=(h, w), stride=sh, kernel=fh, groups=groups, in_shape=(c, eff_h, eff_w))
    if eff_h == eff_w == 1 and fh == 1 and not depthwise:
        spec.update(kind="fc", weight_shape=(n, c), out_shape=(n,))
    else:
        spec.update(kind="conv2d", weight_shape=(out_c, c // groups, fh, fh), out_shape=(out_c, oh, ow))
    return spec


def _chains(a: dict, b: dict) -> bool:
    """Row b reads exactly what row a writes (an fc reads a (C, 1, 1) map or C features)."""
    if b["kind"] == "fc":
        return a["out_shape"] in (b["in_shape"][:1], b["in_shape"])
    return a["out_shape"] == b["in_shape"]


def _layer(spec: dict, weight: np.ndarray) -> Layer:
    if spec["kind"] == "fc":
        return Layer(name=spec["name"], kind="fc", in_shape=(spec["in_shape"][0],), out_shape=spec["out_shape"],
                     weight=weight)
    return Layer(name=spec["name"], kind="conv2d", in_shape=spec["in_shape"], out_shape=spec["out_shape"],
                 weight=weight, stride=spec["stride"], groups=spec["groups"], kernel_size=spec["kernel"])
