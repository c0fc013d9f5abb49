"""SCALE-Sim topology CSV -> Network with synthetic weights at a stated density.

Every topology format of SCALE-Sim v2 / v3 (scalesim/topology_utils.py) reads, one row per layer
after a header line:

- convolution: ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels,
  Num Filter, Strides`` and optional further columns, named by the header: ``Stride width`` (the
  nine-column form SCALE-Sim writes), v3's ``Sparsity`` (``N:M`` structured sparsity, kept on the
  layer as ``attrs["sparsity"] = (N, M)`` and imposed on its synthetic weights) and ``Batch Size``
  (noted and ignored: sim's batch is a run option). Unnamed extra columns are ignored, as SCALE-Sim
  ignores them, unless their value reads as ``N:M``.
- GEMM: ``Layer, M, N, K`` (+ ``Sparsity``): an fc layer applied to M tokens of K features with N
  outputs, ``M x N x K`` MACs (SCALE-Sim runs it as an M x K ifmap and N 1 x K filters).

Blank rows and rows of empty fields are skipped, trailing commas are optional, non-square
filters and separate row / column strides become conv2d layers with a (kh, kw) kernel and
(sh, sw) strides. A repeated layer name gets a suffix (``_2``, ``_3``) and a note in
``Network.meta["notes"]``. A layer whose name contains "DP" is depthwise: SCALE-Sim runs it as one
single-channel layer per input channel, sim as one conv2d with groups = channels and
channels x num_filter outputs (the same MACs).

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
from ..schema import Problems as _Problems
from .synthetic import COMPRESSED_ABOVE_ELEMENTS, compressed_nm_weight, dense_from, synthetic_weight
from .network import Layer, Network, placeholder_weight
from .ops import parse_n_m

COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width", "Channels", "Num Filter",
           "Strides")
GEMM_COLUMNS = ("Layer", "M", "N", "K")
STRIDE_COLUMNS = ("Stride height", "Stride width")  # the nine-column form


def load_topology(path: str | os.PathLike, seed: int = 0, density: float = 1.0, shapes_only: bool = False) -> Network:
    """Read a SCALE-Sim topology (convolution or GEMM format) as conv2d / fc layers with synthetic weights.

    Parameters
    ----------
    path : the topology .csv.
    seed : seed of the synthetic weights (layer i uses ``default_rng([seed, i])``).
    density : fraction of nonzero weights in every layer, in [0, 1] (magnitude-pruned He-normal);
        a layer with an ``N:M`` sparsity keeps at most N of every M weights along its fan-in besides.
    shapes_only : give every layer a read-only all-ones weight view that takes no memory (for
        checking shapes and MAC counts of very large topologies without executing them).

    A conv row with a 1 x 1 ifmap and a 1 x 1 filter is a matrix-vector product and becomes an fc layer.
    Layers carry no bias (SCALE-Sim models none).
    """
    path = str(path)
    if not isinstance(density, (int, float)) or isinstance(density, bool) or not 0.0 <= density <= 1.0:
        raise ConfigError(path, f"density: must be a number in [0, 1]; got {density!r}")
    header, rows = _read_rows(path)
    p = _Problems(path)
    gemm = _is_gemm(header)
    extra = _extra_columns(header, gemm)
    parse = _parse_gemm if gemm else _parse_row
    specs = [spec for spec in (parse(p, line_no, fields, extra) for line_no, fields in rows) if spec is not None]
    for spec in specs:  # before any weight is drawn (activations are checked by the run, per batch)
        msg = size_problem("its weight", spec["weight_shape"])
        if msg:
            p.add(f"layer {spec['name']!r}", msg)
    p.raise_if_any()
    if not specs:
        raise ConfigError(path, "no layers: expected a header line and at least one row of "
                                f"{', '.join(GEMM_COLUMNS if gemm else COLUMNS)}")
    notes = _unique_names(specs)
    chained = all(_chains(a, b) for a, b in zip(specs, specs[1:]))
    layers = []
    for i, spec in enumerate(specs):
        if shapes_only:
            layers.append(_layer(spec, placeholder_weight(spec["weight_shape"])))
            continue
        rng = np.random.default_rng([int(seed), i])
        if spec.get("sparsity") and int(np.prod(spec["weight_shape"])) > COMPRESSED_ABOVE_ELEMENTS:
            n, m = spec["sparsity"]  # large N:M layer: drawn per group in compressed form
            weight = dense_from(spec["weight_shape"], *compressed_nm_weight(spec["weight_shape"], n, m, rng, density))
        else:
            weight = synthetic_weight(spec["weight_shape"], float(density), rng)
            if spec.get("sparsity"):
                weight = nm_prune(weight, *spec["sparsity"])
        layers.append(_layer(spec, weight))
    if chained:
        for prev, layer in zip(layers, layers[1:]):
            if layer.kind == "fc" and not layer.attrs.get("per_token"):
                layer.in_shape = prev.out_shape  # an fc after a 1x1 conv reads (C, 1, 1) as C features
    ifmaps = {s["name"]: list(s["file_ifmap"]) for s in specs}
    meta = {"format": "scalesim-gemm" if gemm else "scalesim", "weight_density": float(density), "seed": int(seed),
            "scalesim_ifmap": ifmaps}
    if notes:
        meta["notes"] = notes
    return Network(name=Path(path).stem, input_shape=layers[0].in_shape, layers=layers, independent=not chained,
                   source=path, meta=meta)


def nm_prune(weight: np.ndarray, n: int, m: int) -> np.ndarray:
    """Keep the ``n`` largest magnitudes of every ``m`` consecutive weights of each output's fan-in."""
    if n >= m:
        return weight
    flat = weight.reshape(weight.shape[0], -1)
    fan = flat.shape[1]
    padded = np.zeros((flat.shape[0], -(-fan // m) * m), dtype=weight.dtype)
    padded[:, :fan] = flat
    blocks = padded.reshape(flat.shape[0], -1, m)
    order = np.argsort(-np.abs(blocks), axis=2, kind="stable")
    drop = np.take_along_axis(np.ones_like(blocks, dtype=bool), order, axis=2)
    drop[:, :, :n] = False  # sorted positions 0..n-1 are kept
    mask = np.empty_like(drop)
    np.put_along_axis(mask, order, drop, axis=2)
    blocks[mask] = 0
    return blocks.reshape(flat.shape[0], -1)[:, :fan].reshape(weight.shape).copy()


def _unique_names(specs: list[dict]) -> list[str]:
    seen: dict[str, int] = {}
    notes = []
    taken = {s["name"] for s in specs}
    for spec in specs:
        name = spec["name"]
        if name in seen:
            k = seen[name] + 1
            while f"{name}_{k}" in taken:
                k += 1
            seen[name] = k
            spec["name"] = f"{name}_{k}"
            taken.add(spec["name"])
            notes.append(f"line {spec['line']}: layer name {name!r} repeats; renamed {spec['name']!r}")
        else:
            seen[name] = 1
    return notes


def _is_gemm(header: list[str]) -> bool:
    return len(header) >= 4 and [h.lower() for h in header[1:4]] == ["m", "n", "k"]


def _extra_columns(header: list[str], gemm: bool) -> dict[int, str]:
    """Meaning of each column past the fixed ones: "stride_w", "sparsity", "batch" or "ignored"."""
    first = 4 if gemm else 8
    meaning = {}
    for i, h in enumerate(header[first:], start=first):
        low = h.lower()
        meaning[i] = ("sparsity" if "sparsity" in low else "batch" if "batch" in low else
                      "stride_w" if "stride" in low and not gemm and i == 8 else "ignored")
    return meaning


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
    # Blank lines and rows of empty fields (",,,,") carry nothing; SCALE-Sim skips them too.
    rows = [(n, _fields(line)) for n, line in enumerate(lines, start=1) if line.replace(",", "").strip()]
    if not rows:
        raise ConfigError(path, "is empty; expected a header line and one row per layer")
    header_no, header = rows[0]
    if len(header) > 1 and header[1].lstrip("+-").isdigit():
        # SCALE-Sim skips the first line unread; a data row there would silently vanish.
        raise ConfigError(path, f"line {header_no}: expected the header line ({', '.join(COLUMNS)} or "
                                f"{', '.join(GEMM_COLUMNS)}); got a data row")
    return header, rows[1:]


def _fields(line: str) -> list[str]:
    fields = [f.strip() for f in line.split(",")]
    while len(fields) > 1 and fields[-1] == "":
        fields.pop()  # SCALE-Sim writes (and needs) a trailing comma; empty extra columns mean nothing
    return fields


def _positive(p: _Problems, where: str, columns, texts) -> dict | None:
    values = {}
    for column, text in zip(columns, texts):
        try:
            value = int(text) if len(text) <= 18 else None  # 19+ digits size nothing real (and int() is slow)
        except ValueError:
            value = None
        if value is None or value < 1:
            p.add(f"{where}, column '{column}'", f"must be a positive integer; got {short(text)}")
            value = None
        values[column] = value
    return None if None in values.values() else values


def _extras(p: _Problems, where: str, fields: list[str], extra: dict[int, str], first: int) -> dict:
    """Values of the optional columns: {"stride_w": int, "sparsity": (n, m), "batch": int}."""
    out = {}
    for i, text in enumerate(fields[first:], start=first):
        meaning = extra.get(i, "ignored")
        if meaning == "ignored" and text.count(":") == 1 and text.replace(":", "").strip().isdigit():
            meaning = "sparsity"  # an unnamed column holding N:M values (v3 writes it after the strides)
        if meaning == "sparsity" and text:
            nm = parse_n_m(text)
            if nm is None:
                p.add(f"{where}, column 'Sparsity'", f"must be N:M with 1 <= N <= M; got {short(text)}")
            else:
                out["sparsity"] = nm
        elif meaning == "stride_w":
            v = _positive(p, where, ["Stride width"], [text])
            if v:
                out["stride_w"] = v["Stride width"]
        elif meaning == "batch" and text:
            out["batch"] = text
    return out


def _parse_gemm(p: _Problems, line_no: int, fields: list[str], extra: dict) -> dict | None:
    name = fields[0] or f"layer{line_no}"
    where = f"line {line_no} ({name})"
    if len(fields) < 4:
        p.add(where, f"expected 4 columns ({', '.join(GEMM_COLUMNS)}) and an optional Sparsity; got {len(fields)}")
        return None
    values = _positive(p, where, GEMM_COLUMNS[1:], fields[1:4])
    opts = _extras(p, where, fields, extra, 4)
    if values is None:
        return None
    m, n, k = values["M"], values["N"], values["K"]
    return dict(name=name, line=line_no, kind="fc", per_token=True, file_ifmap=(m, k), in_shape=(m, k),
                out_shape=(m, n), weight_shape=(n, k), sparsity=opts.get("sparsity"))


def _parse_row(p: _Problems, line_no: int, fields: list[str], extra: dict) -> dict | None:
    name = fields[0] or f"layer{line_no}"
    where = f"line {line_no} ({name})"
    if len(fields) < 8:
        p.add(where, f"expected 8 columns ({', '.join(COLUMNS)}) and optional Stride width / Sparsity; "
                     f"got {len(fields)}")
        return None
    values = _positive(p, where, COLUMNS[1:], fields[1:8])
    opts = _extras(p, where, fields, extra, 8)
    if values is None:
        return None
    h, w = values["IFMAP Height"], values["IFMAP Width"]
    fh, fw = values["Filter Height"], values["Filter Width"]
    c, n = values["Channels"], values["Num Filter"]
    sh = values["Strides"]
    sw = opts.get("stride_w", sh)
    count = len(p.items)
    if fh > h:
        p.add(f"{where}, column 'Filter Height'", f"must be <= IFMAP Height ({h}); got {fh}")
    if fw > w:
        p.add(f"{where}, column 'Filter Width'", f"must be <= IFMAP Width ({w}); got {fw}")
    if len(p.items) > count:
        return None
    oh, ow = -(-(h - fh + sh) // sh), -(-(w - fw + sw) // sw)  # SCALE-Sim's ceil
    eff_h, eff_w = (oh - 1) * sh + fh, (ow - 1) * sw + fw
    depthwise = "DP" in name  # SCALE-Sim's own marker for depthwise rows
    groups, out_c = (c, c * n) if depthwise else (1, n)
    spec = dict(name=name, line=line_no, file_ifmap=(h, w), stride=(sh, sw), kernel=(fh, fw), groups=groups,
                in_shape=(c, eff_h, eff_w), sparsity=opts.get("sparsity"))
    if eff_h == eff_w == 1 and fh == fw == 1 and not depthwise:
        spec.update(kind="fc", weight_shape=(n, c), out_shape=(n,))
    else:
        spec.update(kind="conv2d", weight_shape=(out_c, c // groups, fh, fw), out_shape=(out_c, oh, ow))
    return spec


def _chains(a: dict, b: dict) -> bool:
    """Row b reads exactly what row a writes (an fc reads a (C, 1, 1) map or C features)."""
    if b.get("per_token") or a.get("per_token"):
        return a["out_shape"] == b["in_shape"]
    if b["kind"] == "fc":
        return a["out_shape"] in (b["in_shape"][:1], b["in_shape"])
    return a["out_shape"] == b["in_shape"]


def _layer(spec: dict, weight: np.ndarray) -> Layer:
    attrs = {"sparsity": spec["sparsity"]} if spec.get("sparsity") else {}
    if spec["kind"] == "fc":
        if spec.get("per_token"):
            attrs["per_token"] = True
            return Layer(name=spec["name"], kind="fc", in_shape=spec["in_shape"], out_shape=spec["out_shape"],
                         weight=weight, attrs=attrs)
        return Layer(name=spec["name"], kind="fc", in_shape=(spec["in_shape"][0],), out_shape=spec["out_shape"],
                     weight=weight, attrs=attrs)
    (kh, kw), (sh, sw) = spec["kernel"], spec["stride"]
    if kh != kw or sh != sw:
        attrs.update(kernel=(kh, kw), strides=(sh, sw), dilations=(1, 1), pads=(0, 0, 0, 0))
    return Layer(name=spec["name"], kind="conv2d", in_shape=spec["in_shape"], out_shape=spec["out_shape"],
                 weight=weight, stride=sh, groups=spec["groups"], kernel_size=kh, attrs=attrs)
