"""Malformed inputs of every kind, and the one rule they must all obey (issue 14).

Each case feeds sim one input: a hwconfig YAML, a model YAML, an .npz of weights, an ONNX graph
(built with onnx.helper), a SCALE-Sim topology CSV, a compression recipe, a sweep spec, CLI
options or a ``--set``. The outcome must be either

- ``error``: a ConfigError (in-process) or exit status 2 (CLI) whose message names the file (or
  the option) and carries no traceback, with nothing left in the output folder; or
- ``ok``: success with finite results (every loaded number finite, every report number finite).

Anything else is ``fail``. ``python tests/fuzz_cases.py`` runs every case and prints the counts per
input kind and outcome; tests/test_fuzz.py runs the same cases under pytest.
"""
from __future__ import annotations

import contextlib
import copy
import io
import math
import os
import sys
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
HW_NAMES = ("eie", "sonic", "systolic", "crosslight", "eyeriss", "sparse_systolic")

# Values a careless or hostile user writes where a number, a name or a section belongs.
HOSTILE = [float("nan"), float("inf"), float("-inf"), -1, 0, "abc", 10**20, 1e308, -3.5, [], {}, None, True,
           "x" * 5000, list(range(300))]
HOSTILE_TEXT = ["0", "-1", "abc", "", "nan", "1e3", "99999999999999999999", "3.5", "inf", "\x00"]


@dataclass
class Case:
    kind: str
    name: str
    run: Callable[[Path], tuple[str, str]]  # tmp folder -> (outcome, detail)


# ---------------------------------------------------------------- outcome rules


def _finite_numbers(obj, where="") -> str | None:
    """Where a loaded object holds a non-finite number (dataclasses, tuples, dicts, arrays), or None."""
    import dataclasses
    stack = [(where, obj)]
    while stack:
        w, v = stack.pop()
        if isinstance(v, bool) or v is None or isinstance(v, str):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            return f"{w} = {v}"
        if isinstance(v, np.ndarray):
            if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
                return f"{w}: non-finite array"
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            stack.extend((f"{w}.{f.name}", getattr(v, f.name)) for f in dataclasses.fields(v))
        elif isinstance(v, dict):
            stack.extend((f"{w}.{k}", x) for k, x in v.items())
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{w}[{i}]", x) for i, x in enumerate(v))
    return None


def expect_load(fn: Callable, file_mark: str, post: Callable | None = None) -> tuple[str, str]:
    """Call a loader: a ConfigError naming ``file_mark`` is an error outcome; success must pass ``post``."""
    from sim.errors import ConfigError
    try:
        value = fn()
    except ConfigError as exc:
        text = str(exc)
        if file_mark not in text:
            return "fail", f"ConfigError without {file_mark!r}: {text[:300]}"
        if len(text) > 30000:
            return "fail", f"message of {len(text)} chars"
        return "error", text.splitlines()[0][:200]
    except Exception as exc:  # noqa: BLE001 - any other exception is what the suite hunts
        return "fail", f"{type(exc).__name__}: {str(exc)[:300]}"
    bad = _finite_numbers(value, "result")
    if bad:
        return "fail", f"accepted a non-finite value: {bad}"
    if post is not None:
        msg = post(value)
        if msg:
            return "fail", msg
    return "ok", ""


NOT_APPLICABLE = {"accuracy", "model_accuracy", "weight_density", "calibration_latency_s", "calibration_energy_pj",
                  "error", "accuracy_change_pct", "status"}
# columns left empty where they do not apply (no labels, no weights, not photonic, no comparison)


def _report_problem(out: Path) -> str | None:
    """Non-finite numbers in a run's CSVs (accuracy may be empty: no labels)."""
    import pandas as pd
    for csv in sorted(out.glob("*.csv")):
        df = pd.read_csv(csv)
        num = df.select_dtypes("number")
        if num.size and np.isinf(num.to_numpy(dtype=float)).any():
            return f"{csv.name} has infinite numbers"
        empty = [c for c in num if num[c].isna().any() and c not in NOT_APPLICABLE]
        if empty:
            return f"{csv.name} has NaN in {empty[:4]}"
    return None


def cli(argv: list[str], marks: tuple[str, ...], out: Path | None = None, cwd: Path | None = None) -> tuple[str, str]:
    """Run ``python -m sim ARGV`` in this process. Exit 2 must name one of ``marks`` without a
    traceback and leave ``out`` absent or as it was; exit 0 must leave finite reports."""
    from sim.cli import main
    before = sorted(p.name for p in out.iterdir()) if out is not None and out.is_dir() else None
    err, std = io.StringIO(), io.StringIO()
    old = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
            try:
                rc = main(argv)
            except SystemExit as exc:  # argparse's own usage errors
                rc = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(old)
    text = err.getvalue()
    if rc == 2:
        if "Traceback" in text:
            return "fail", "exit 2 with a traceback"
        if not any(m in text for m in marks):
            return "fail", f"exit 2 without naming {marks}: {text[:300]}"
        if out is not None:
            after = sorted(p.name for p in out.iterdir()) if out.is_dir() else None
            if after != before:
                return "fail", f"exit 2 left files in {out}: {after}"
        return "error", text.strip().splitlines()[-1][:200] if text.strip() else ""
    if rc == 0:
        if out is not None and out.is_dir():
            bad = _report_problem(out)
            if bad:
                return "fail", bad
        return "ok", ""
    return "fail", f"exit {rc}: {text[-500:]}"


# ---------------------------------------------------------------- base inputs


def tiny_model(folder: Path, name: str = "tiny", quant: bool = True, n_in: int = 16) -> tuple[Path, dict, dict]:
    """A 16 -> 12 -> 4 MLP with k-means (4-bit) fc1 and float fc2, as YAML + .npz. Returns (yaml, doc, arrays)."""
    rng = np.random.default_rng(7)
    codebook = np.linspace(-1, 1, 16).astype(np.float32)
    codes = rng.integers(0, 16, size=(12, n_in)).astype(np.uint8)
    w1 = codebook[codes] * (rng.random((12, n_in)) < 0.5)
    arrays = {"fc1/weight": w1.astype(np.float32), "fc1/bias": np.zeros(12, np.float32),
              "fc1/codebook": codebook, "fc1/codes": codes,
              "fc2/weight": rng.standard_normal((4, 12)).astype(np.float32), "fc2/bias": np.ones(4, np.float32)}
    doc = {"version": 1, "name": name, "input_shape": [n_in], "input_density": 0.5, "weights": f"{name}.npz",
           "layers": [{"name": "fc1", "type": "fc", "out_features": 12,
                       **({"quant": {"kind": "kmeans", "bits": 4}} if quant else {})},
                      {"name": "relu1", "type": "relu"},
                      {"name": "fc2", "type": "fc", "out_features": 4}]}
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{name}.npz", **arrays)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path, doc, arrays


def _leaves(data, prefix=()):
    """Every (path tuple) of a scalar leaf (and of each section) of a loaded YAML mapping."""
    out = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        if isinstance(v, (dict, list)):
            out.extend(_leaves(v, prefix + (k,)))
    return out


def _set_path(data, path, value):
    data = copy.deepcopy(data)
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return data


def _write_yaml(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False, width=10**9))
    return path


def _pick(seq, n, seed):
    """A deterministic spread of ``n`` items of ``seq`` (all when n >= len)."""
    if n >= len(seq):
        return list(seq)
    idx = np.random.default_rng(seed).choice(len(seq), size=n, replace=False)
    return [seq[i] for i in sorted(idx)]


STRUCTURAL = {  # hostile text that breaks any YAML input the same way
    "empty": "",
    "not a mapping": "- a\n- b\n",
    "scalar": "42\n",
    "binary": "\x00\x01\x02garbage\xff",
    "bad syntax": "a: [1, 2\nb: {",
    "tabs": "a:\n\tb: 1\n",
    "alias bomb": "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8)),
    "recursive alias": "a: &a [*a]\n",
    "deep nesting": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n",
    "huge file": "a: '" + "x" * (2**20 + 10) + "'\n",
    "many keys": "".join(f"k{i}: {i}\n" for i in range(20000)),
    "huge key": "'" + "k" * 100000 + "': 1\n",
}


def _structural_cases(kind: str, loader, suffix=".yaml") -> list[Case]:
    cases = []
    for label, text in STRUCTURAL.items():
        def run(tmp, text=text, label=label):
            path = tmp / f"{label.replace(' ', '_')}{suffix}"
            path.write_bytes(text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
            return expect_load(lambda: loader(path), path.name)
        cases.append(Case(kind, f"structural: {label}", run))
    return cases


def _duplicate_key_case(kind: str, base_path: Path, loader) -> Case:
    def run(tmp):
        text = base_path.read_text()
        first = next(line for line in text.splitlines() if line and not line.startswith((" ", "#", "-")))
        path = tmp / "dup.yaml"
        path.write_text(text + "\n" + first + "\n")
        return expect_load(lambda: loader(path), "dup.yaml")
    return Case(kind, "duplicate top-level key", run)


# ---------------------------------------------------------------- hwconfig


def hw_cases(per_design: int = 120) -> list[Case]:
    from sim.engine.dataflows import action_energies
    from sim.hardware.load import load_hardware

    def post(hw):
        e = action_energies(hw)
        bad = [k for k, v in e.items() if not math.isfinite(v)]
        return f"energy table not finite: {bad[:3]}" if bad else None

    cases = []
    for i, design in enumerate(HW_NAMES):
        src = ROOT / "hwconfigs" / f"{design}.yaml"
        base = yaml.safe_load(src.read_text())
        muts = [(p, v) for p in _leaves(base) for v in HOSTILE]
        for path, value in _pick(muts, per_design, seed=i):
            def run(tmp, path=path, value=value, base=base, design=design):
                f = _write_yaml(tmp / f"{design}-mut.yaml", _set_path(base, path, value))
                return expect_load(lambda: load_hardware(f), f.name, post)
            cases.append(Case("hwconfig", f"{design}: {'.'.join(map(str, path))} = {str(value)[:20]}", run))
        for key in list(base)[:6]:  # a typo of each section name
            def run(tmp, key=key, base=base, design=design):
                data = {(k + "x" if k == key else k): v for k, v in base.items()}
                f = _write_yaml(tmp / f"{design}-typo.yaml", data)
                return expect_load(lambda: load_hardware(f), f.name, post)
            cases.append(Case("hwconfig", f"{design}: typo {key}", run))
        cases.append(_duplicate_key_case("hwconfig", src, load_hardware))
    named = {
        "clock_ghz .nan on photonic": ("sonic", ("clock_ghz",), float("nan")),
        "static_power_w .nan": ("eie", ("static_power_w",), float("nan")),
        "dram write .inf": ("eie", ("memory", "dram", "write_pj_per_bit"), float("inf")),
        "energy override typo": ("eie", ("energy", "overrides"), {"pe_aray.mac": 0.5}),
        "energy override nan": ("eie", ("energy", "overrides"), {"pe_array.mac": float("nan")}),
        "energy override good": ("eie", ("energy", "overrides"), {"pe_array.mac": 0.5}),
        "name ../../x": ("eie", ("name",), "../../x"),
        "rows 10**20": ("eie", ("pe_array", "rows"), 10**20),
        "clock 1e-300": ("eie", ("clock_ghz",), 1e-300),
    }
    for label, (design, path, value) in named.items():
        def run(tmp, design=design, path=path, value=value):
            base = yaml.safe_load((ROOT / "hwconfigs" / f"{design}.yaml").read_text())
            f = _write_yaml(tmp / f"{design}-named.yaml", _set_path(base, path, value))
            return expect_load(lambda: load_hardware(f), f.name, post)
        cases.append(Case("hwconfig", label, run))
    cases += _structural_cases("hwconfig", load_hardware)
    return cases


# ---------------------------------------------------------------- model YAML and .npz


def model_cases(n_mutations: int = 120) -> list[Case]:
    from sim.workload.load import load_network

    cases = []

    def mutate(path, value):
        def run(tmp):
            f, doc, _ = tiny_model(tmp)
            _write_yaml(f, _set_path(doc, path, value))
            return expect_load(lambda: load_network(f), f.name)
        return run

    probe = {"version": 1, "name": "tiny", "input_shape": [16], "input_density": 0.5, "weights": "tiny.npz",
             "layers": [{"name": "fc1", "type": "fc", "out_features": 12, "quant": {"kind": "kmeans", "bits": 4}},
                        {"name": "relu1", "type": "relu"}, {"name": "fc2", "type": "fc", "out_features": 4}]}
    muts = [(p, v) for p in _leaves(probe) for v in HOSTILE]
    for path, value in _pick(muts, n_mutations, seed=11):
        cases.append(Case("model", f"{'.'.join(map(str, path))} = {str(value)[:20]}", mutate(path, value)))
    conv = {"version": 1, "name": "convy", "input_shape": [2, 8, 8], "seed": 1,
            "layers": [{"name": "c1", "type": "conv2d", "out_channels": 4, "kernel_size": 3}]}
    named = {
        "in_features contradicts": (probe, ("layers", 0, "in_features"), 99),
        "in_features agrees": (probe, ("layers", 0, "in_features"), 16),
        "name with slash": (probe, ("name",), "a/b/../../c"),
        "huge out_features": (probe, ("layers", 2, "out_features"), 10**12),
        "huge input": (probe, ("input_shape",), [10**7, 10**7, 10**7]),
        "kernel larger than input": (conv, ("layers", 0, "kernel_size"), 9),
        "stride 0": (conv, ("layers", 0, "stride"), 0),
        "negative padding": (conv, ("layers", 0, "padding"), -1),
        "dilation 0": (conv, ("layers", 0, "dilation"), 0),
        "huge out_channels": (conv, ("layers", 0, "out_channels"), 10**9),
        "seed -1": (conv, ("seed",), -1),
        "unknown layer type": (conv, ("layers", 0, "type"), "conv3d"),
    }
    for label, (base, path, value) in named.items():
        def run(tmp, base=base, path=path, value=value):
            if base is probe:
                f, _, _ = tiny_model(tmp)
            else:
                f = tmp / "convy.yaml"
            _write_yaml(f, _set_path(base, path, value))
            return expect_load(lambda: load_network(f), f.name)
        cases.append(Case("model", label, run))

    def dup(tmp):
        f, _, _ = tiny_model(tmp)
        f.write_text(f.read_text() + "name: again\n")
        return expect_load(lambda: load_network(f), f.name)
    cases.append(Case("model", "duplicate key", dup))
    cases += _structural_cases("model", load_network)
    return cases


def npz_cases() -> list[Case]:
    from sim.workload.load import load_network

    def with_arrays(edit: Callable[[dict], dict], label: str) -> Case:
        def run(tmp):
            f, _, arrays = tiny_model(tmp)
            np.savez(tmp / "tiny.npz", **edit(dict(arrays)))
            return expect_load(lambda: load_network(f), "tiny.npz")
        return Case("npz", label, run)

    def poke(key, fn):
        def edit(a):
            a[key] = fn(a[key].copy())
            return a
        return edit

    def nan_at(x):
        x.reshape(-1)[0] = np.nan
        return x

    def inf_at(x):
        x.reshape(-1)[-1] = np.inf
        return x

    cases = []
    for key in ("fc1/weight", "fc1/bias", "fc1/codebook", "fc2/weight", "fc2/bias"):
        cases.append(with_arrays(poke(key, nan_at), f"{key} NaN"))
        cases.append(with_arrays(poke(key, inf_at), f"{key} inf"))
        cases.append(with_arrays(poke(key, lambda x: x.reshape(-1)[:-1]), f"{key} wrong shape"))
        cases.append(with_arrays(poke(key, lambda x: x.astype(str)), f"{key} strings"))
        cases.append(with_arrays(poke(key, lambda x: x.astype(np.complex64)), f"{key} complex"))
        cases.append(with_arrays(poke(key, lambda x: x.astype(np.float16)), f"{key} float16 (fine)"))
        cases.append(with_arrays(lambda a, key=key: {k: v for k, v in a.items() if k != key}, f"{key} missing"))
    cases += [
        with_arrays(poke("fc1/codes", lambda x: x + 200), "codes 200 into 16 centroids"),
        with_arrays(poke("fc1/codes", lambda x: x.astype(np.int16) - 1), "negative codes"),
        with_arrays(poke("fc1/codes", lambda x: x.astype(np.float32)), "float codes"),
        with_arrays(poke("fc1/codes", lambda x: x[:, :3]), "codes wrong shape"),
        with_arrays(lambda a: {k: v for k, v in a.items() if k != "fc1/codes"}, "codebook without codes"),
        with_arrays(poke("fc1/codebook", lambda x: np.concatenate([x, x])), "codebook longer than 2**bits"),
        with_arrays(poke("fc1/codebook", lambda x: x[:, None]), "2-D codebook"),
        with_arrays(poke("fc1/weight", lambda x: x[None]), "3-D weight"),
        with_arrays(poke("fc1/weight", lambda x: x.astype(np.int64)), "int weight (fine)"),
    ]

    def raw_bytes(make: Callable[[bytes], bytes], label: str) -> Case:
        def run(tmp):
            f, _, _ = tiny_model(tmp)
            (tmp / "tiny.npz").write_bytes(make((tmp / "tiny.npz").read_bytes()))
            return expect_load(lambda: load_network(f), "tiny.npz")
        return Case("npz", label, run)

    for frac in (0.0, 0.1, 0.5, 0.9, 0.99):
        cases.append(raw_bytes(lambda b, frac=frac: b[: int(len(b) * frac)], f"truncated at {frac:.0%}"))
    cases.append(raw_bytes(lambda b: b"not a zip at all" * 10, "garbage bytes"))
    cases.append(raw_bytes(lambda b: b[:200] + bytes(200) + b[400:], "corrupt middle"))

    def npy_instead(b):
        buf = io.BytesIO()
        np.save(buf, np.zeros(3))
        return buf.getvalue()
    cases.append(raw_bytes(npy_instead, "a .npy, not .npz"))

    def pickled(b):
        buf = io.BytesIO()
        np.savez(buf, **{"fc1/weight": np.array([{"a": 1}], dtype=object)})
        return buf.getvalue()
    cases.append(raw_bytes(pickled, "pickled object array"))

    def zip_of_text(b):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("fc1/weight.npy", "hello")
        return buf.getvalue()
    cases.append(raw_bytes(zip_of_text, "zip of non-npy members"))

    def linear_case(edit, label):
        def run(tmp):
            f, doc, arrays = tiny_model(tmp, quant=False)
            doc["layers"][2]["quant"] = {"kind": "linear", "bits": 8}
            _write_yaml(f, doc)
            q = np.clip(np.round(arrays["fc2/weight"] * 50), -127, 127).astype(np.int8)
            arrays.update({"fc2/qvalues": q, "fc2/scale": np.array([0.02], np.float32),
                           "fc2/weight": (q * 0.02).astype(np.float32)})
            np.savez(tmp / "tiny.npz", **edit(arrays))
            return expect_load(lambda: load_network(f), "tiny.npz")
        return Case("npz", label, run)
    cases += [
        linear_case(lambda a: a, "linear int8 (fine)"),
        linear_case(poke("fc2/scale", lambda x: x * np.nan), "linear scale NaN"),
        linear_case(poke("fc2/scale", lambda x: x * 0), "linear scale 0"),
        linear_case(poke("fc2/scale", lambda x: np.ones(7, np.float32)), "linear scale wrong length"),
        linear_case(poke("fc2/qvalues", lambda x: x.astype(np.int32) * 1000), "qvalues out of int8 range"),
        linear_case(poke("fc2/qvalues", lambda x: x[:2]), "qvalues wrong shape"),
    ]
    return cases


# ---------------------------------------------------------------- ONNX


def onnx_cases() -> list[Case]:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from sim.workload.load import load_network

    def conv_model(k=3, hw=8, strides=(1, 1), pads=(0, 0, 0, 0), w_fill=None, b_fill=None, dil=(1, 1)):
        rng = np.random.default_rng(0)
        w = rng.standard_normal((4, 2, k, k)).astype(np.float32)
        b = np.zeros(4, np.float32)
        if w_fill is not None:
            w.reshape(-1)[0] = w_fill
        if b_fill is not None:
            b[0] = b_fill
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv0", strides=list(strides),
                                pads=list(pads), dilations=list(dil))
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, hw, hw])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, "H", "W"])],
                                  initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        return m

    def gemm_model(n_in=16, w_in=16, w_fill=None):
        w = np.ones((4, w_in), np.float32)
        if w_fill is not None:
            w[0, 0] = w_fill
        node = helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", transB=1)
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n_in])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                                  initializer=[numpy_helper.from_array(w, "w"),
                                               numpy_helper.from_array(np.zeros(4, np.float32), "b")])
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        return m

    def case(label, make_bytes):
        def run(tmp):
            f = tmp / "m.onnx"
            f.write_bytes(make_bytes())
            return expect_load(lambda: load_network(f), "m.onnx")
        return Case("onnx", label, run)

    ser = onnx.ModelProto.SerializeToString
    good = ser(conv_model())
    cases = [
        case("conv fine", lambda: good),
        case("9x9 kernel on 8x8 input", lambda: ser(conv_model(k=9))),
        case("9x9 kernel on 8x8 input padded 1 (fits)", lambda: ser(conv_model(k=9, pads=(1, 1, 1, 1)))),
        case("stride 0", lambda: ser(conv_model(strides=(0, 0)))),
        case("negative stride", lambda: ser(conv_model(strides=(-2, -2)))),
        case("negative pads", lambda: ser(conv_model(pads=(-1, -1, -1, -1)))),
        case("very negative pads", lambda: ser(conv_model(pads=(-5, -5, -5, -5)))),
        case("dilation 0", lambda: ser(conv_model(dil=(0, 0)))),
        case("huge dilation", lambda: ser(conv_model(dil=(100, 100)))),
        case("NaN conv weight", lambda: ser(conv_model(w_fill=np.nan))),
        case("inf conv bias", lambda: ser(conv_model(b_fill=np.inf))),
        case("NaN gemm weight", lambda: ser(gemm_model(w_fill=np.nan))),
        case("gemm shape mismatch", lambda: ser(gemm_model(n_in=16, w_in=10))),
        case("empty file", lambda: b""),
        case("garbage", lambda: b"\x08\x01garbage" * 20),
    ]
    for frac in (0.1, 0.5, 0.9):
        cases.append(case(f"truncated at {frac:.0%}", lambda frac=frac: good[: int(len(good) * frac)]))
    return cases


# ---------------------------------------------------------------- topology CSV

TOPOLOGY = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
            "Conv1, 16, 16, 3, 3, 2, 4, 1,\nConv2, 14, 14, 3, 3, 4, 8, 1,\nFC1, 1, 1, 1, 1, 8, 10, 1,\n")


def topology_cases() -> list[Case]:
    from sim.workload.load import load_network

    def case(label, text):
        def run(tmp):
            f = tmp / "topo.csv"
            f.write_text(text)
            return expect_load(lambda: load_network(f), "topo.csv")
        return Case("topology", label, run)

    lines = TOPOLOGY.splitlines()
    cases = [case("fine", TOPOLOGY)]
    for row in (1, 2):
        cells = lines[row].split(",")
        for col in range(1, 8):
            for bad in HOSTILE_TEXT:
                mutated = list(cells)
                mutated[col] = " " + bad
                text = "\n".join(lines[:row] + [",".join(mutated)] + lines[row + 1:]) + "\n"
                cases.append(case(f"row {row} column {col} = {bad!r}", text))
    cases += [
        case("stride 0", lines[0] + "\nc, 8, 8, 3, 3, 2, 4, 0,\n"),
        case("filter larger than ifmap", lines[0] + "\nc, 8, 8, 9, 9, 2, 4, 1,\n"),
        case("huge dims", lines[0] + "\nc, 100000, 100000, 3, 3, 4096, 4096, 1,\n"),
        case("too few columns", lines[0] + "\nc, 8, 8, 3\n"),
        case("too many columns", lines[0] + "\nc, 8, 8, 3, 3, 2, 4, 1, 1, 1, 1\n"),
        case("header only", lines[0] + "\n"),
        case("empty", ""),
        case("no header", "\n".join(lines[1:]) + "\n"),
        case("GEMM header", "Layer, M, N, K\nl1, 4, 4, 4\n"),
        case("duplicate names", lines[0] + "\n" + lines[1] + "\n" + lines[1] + "\n"),
        case("binary", "\x00\x01\x02\x03"),
        case("huge file", lines[0] + "\n" + "c, 8, 8, 3, 3, 2, 4, 1,\n" * 400000),
    ]
    return cases


# ---------------------------------------------------------------- GEMM topology rows

GEMM = "Layer, M, N, K, Sparsity,\nqkv, 16, 48, 32, 2:4,\nproj, 16, 32, 48, 1:4,\n"


def gemm_cases() -> list[Case]:
    """SCALE-Sim GEMM topologies (Layer, M, N, K[, Sparsity]): every cell of every row mutated."""
    from sim.workload.load import load_network

    def case(label, text):
        def run(tmp):
            f = tmp / "gemm.csv"
            f.write_text(text)
            return expect_load(lambda: load_network(f), "gemm.csv")
        return Case("gemm", label, run)

    lines = GEMM.splitlines()
    cases = [case("fine", GEMM)]
    for row in (1, 2):
        cells = lines[row].split(",")
        for col in range(1, 5):
            for bad in HOSTILE_TEXT + (["3:2", "0:4", "2:0", "a:b", "2:4:8", ":", "99999999999999999999:4"]
                                       if col == 4 else []):
                mutated = list(cells)
                mutated[col] = " " + bad
                text = "\n".join(lines[:row] + [",".join(mutated)] + lines[row + 1:]) + "\n"
                cases.append(case(f"row {row} column {col} = {bad!r}", text))
    cases += [
        case("too few columns", "Layer, M, N, K\nl1, 4, 4\n"),
        case("huge M x K", "Layer, M, N, K\nl1, 1000000000, 4, 1000000000\n"),
        case("huge N x K weight", "Layer, M, N, K\nl1, 4, 2000000000, 2000000000\n"),
        case("header only", "Layer, M, N, K\n"),
        case("no sparsity column (fine)", "Layer, M, N, K\nl1, 4, 8, 16\n"),
    ]
    return cases


# ---------------------------------------------------------------- SCALE-Sim .cfg

CFG_KEYS = {"architecture_presets": ("ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "FilterSramSzkB",
                                     "OfmapSramSzkB", "Dataflow", "Bandwidth", "MemoryBanks"),
            "sparsity": ("SparsitySupport", "SparseRep", "BlockSize")}
CFG_TEXT = ["0", "-1", "abc", "", "nan", "inf", "-inf", "1e308", "99999999999999999999", "3.5", "%(x)s", "x" * 5000,
            "os", "true"]


def _cfg_text(sections: dict) -> str:
    return "".join(f"[{sec}]\n" + "".join(f"{k} : {v}\n" for k, v in kv.items()) + "\n" for sec, kv in sections.items())


def _cfg_base(sparse: bool = False) -> dict:
    return {"general": {"run_name": "fuzz_cfg"},
            "architecture_presets": {"ArrayHeight": 8, "ArrayWidth": 8, "IfmapSramSzkB": 64, "FilterSramSzkB": 64,
                                     "OfmapSramSzkB": 32, "Dataflow": "ws", "Bandwidth": 10, "MemoryBanks": 1},
            "sparsity": {"SparsitySupport": "true" if sparse else "false", "SparseRep": "ellpack_block",
                         "BlockSize": 4}}


def cfg_cases() -> list[Case]:
    """SCALE-Sim .cfg hardware files (INI): every key of [architecture_presets] and [sparsity] mutated,
    plus broken INI structure. Loaded as a hwconfig (``load_hardware``)."""
    from sim.hardware.load import load_hardware

    def case(label, text):
        def run(tmp):
            f = tmp / "arch.cfg"
            f.write_text(text) if isinstance(text, str) else f.write_bytes(text)
            return expect_load(lambda: load_hardware(f), "arch.cfg")
        return Case("cfg", label, run)

    cases = [case("fine", _cfg_text(_cfg_base())), case("fine, sparse", _cfg_text(_cfg_base(True))),
             case("google.cfg (fine)", (ROOT / "tests" / "data" / "scalesim" / "google.cfg").read_text())]
    for section, keys in CFG_KEYS.items():
        for key in keys:
            for bad in CFG_TEXT:
                data = _cfg_base(sparse=section == "sparsity")
                data[section][key] = bad
                cases.append(case(f"{section}.{key} = {bad[:20]!r}", _cfg_text(data)))
            data = _cfg_base(sparse=section == "sparsity")
            del data[section][key]
            cases.append(case(f"{section}.{key} missing", _cfg_text(data)))
    base = _cfg_text(_cfg_base())
    cases += [
        case("no [architecture_presets]", _cfg_text({"general": {"run_name": "x"}})),
        case("duplicate key", base.replace("ArrayWidth : 8\n", "ArrayWidth : 8\nArrayWidth : 16\n")),
        case("duplicate section", base + "[general]\nrun_name : again\n"),
        case("key outside a section", "ArrayHeight : 8\n" + base),
        case("binary", b"\x00\xff\xfe" * 100),
        case("empty", ""),
        case("huge file", base + "# padding\n" * 200000),
        case("run_name ../../x (fine, sanitized)", base.replace("run_name : fuzz_cfg", "run_name : ../../x")),
        case("huge array", base.replace("ArrayHeight : 8", "ArrayHeight : 1000000").replace(
            "ArrayWidth : 8", "ArrayWidth : 1000000")),
    ]
    return cases


def import_config_cases() -> list[Case]:
    """``python -m sim import-config``: --out problems before any work, bad .cfg files, nothing left behind."""
    def case(label, text, out_rel="o/hw.yaml", setup=None, cwd_mode=False):
        def run(tmp):
            cfg = tmp / "arch.cfg"
            cfg.write_text(text)
            if setup:
                setup(tmp)
            out = tmp / out_rel
            argv = ["import-config", str(cfg)] + ([] if cwd_mode else ["--out", str(out)])
            res = cli(argv, ("arch.cfg", "--out"), out.parent if not cwd_mode else tmp / "hwconfigs", cwd=tmp)
            if res[0] == "ok":
                from sim.hardware.load import load_hardware
                written = out if not cwd_mode else next((tmp / "hwconfigs").glob("*.yaml"))
                if tmp not in written.resolve().parents:
                    return "fail", f"wrote outside the working folder: {written}"
                return expect_load(lambda: load_hardware(written), written.name)
            return res
        return Case("import-config", label, run)

    good = _cfg_text(_cfg_base())
    bad = _cfg_text({**_cfg_base(), "architecture_presets": {**_cfg_base()["architecture_presets"],
                                                              "ArrayHeight": "nan"}})

    def a_file(tmp):
        (tmp / "afile").write_text("keep me")
    return [
        case("fine", good), case("fine, sparse", _cfg_text(_cfg_base(True))),
        case("fine, default out with run_name ../../x", good.replace("fuzz_cfg", "../../x"), cwd_mode=True),
        case("bad cfg", bad), case("--out is a folder", good, out_rel="o", setup=lambda t: (t / "o").mkdir()),
        case("--out under a file", good, out_rel="afile/hw.yaml", setup=a_file),
        case("--out unwritable", good, out_rel="/proc/sim-fuzz/hw.yaml"),
        case("missing cfg", "", setup=lambda t: (t / "arch.cfg").unlink() if (t / "arch.cfg").exists() else None),
    ]


def sensitivity_cases() -> list[Case]:
    """``python -m sim sensitivity``: --out, --vary, --set, --batch and --seed problems are one clear error
    before any work; a small fine run writes finite tables."""
    hw = str(ROOT / "hwconfigs" / "systolic.yaml")

    def case(label, opts, marks=("--", "systolic.yaml", "batch", "seed", "vary"), setup=None):
        def run(tmp):
            model, _, _ = tiny_model(tmp)
            if setup:
                setup(tmp)
            out = tmp / "sens"
            argv = ["sensitivity", hw, "--model", str(model), "--vary", "clock_ghz=0.5:2"] + \
                [o.replace("{tmp}", str(tmp)) for o in opts]
            if "--out" not in opts:
                argv += ["--out", str(out)]
            return cli(argv, marks, out)
        return Case("sensitivity", label, run)

    def a_file(tmp):
        (tmp / "afile").write_text("keep me")
    cases = [case("fine", [])]
    for v in ("x", "clock_ghz=nan:1", "clock_ghz=1:inf", "clock_ghz=2:1", "clock_ghz=a:b", "=1:2",
              "clock_ghz=1:" + "9" * 5000, "no_such.key=1:2", "clock_ghz=-1:2"):
        cases.append(case(f"--vary {v[:30]}", ["--vary", v]))
    for v in ("clock_ghz=.nan", "pe_array.rows=-1", "nope=1", "x"):
        cases.append(case(f"--set {v}", ["--set", v]))
    cases += [case("--batch 0", ["--batch", "0"]), case("--seed -1", ["--seed", "-1"]),
              case("--batch huge", ["--batch", "10000000000"]),
              case("--out is a file", ["--out", "{tmp}/afile"], setup=a_file),
              case("--out under a file", ["--out", "{tmp}/afile/sub"], setup=a_file),
              case("--out unwritable", ["--out", "/proc/sim-fuzz/sens"])]
    return cases


# ---------------------------------------------------------------- recipe


def _recipe_base(folder: Path) -> dict:
    model, doc, _ = tiny_model(folder, "base", quant=False, n_in=64)
    doc["layers"][2]["out_features"] = 10  # digits: 64 features, 10 classes
    doc["dataset"] = "digits"
    del doc["weights"]  # trained from scratch by the recipe
    _write_yaml(model, doc)
    return {"version": 1, "recipe": "deep_compression", "name": "r", "model": model.name, "dataset": "digits",
            "seed": 0, "train": {"epochs": 1, "lr": 0.001},
            "stages": [{"prune": {"method": "percentile", "rate": 0.5, "rounds": 1}},
                       {"quantize": {"method": "kmeans", "bits": 4}}, {"encode": {"index_bits": {"fc": 5}}}]}


def recipe_cases(n_mutations: int = 100) -> list[Case]:
    from sim.compression.recipe import load_recipe

    probe = _recipe_base(Path("/tmp/sim-fuzz-probe"))
    lottery = {"version": 1, "recipe": "lottery_ticket", "model": "base.yaml", "train": {"epochs": 1},
               "lottery": {"rounds": 2, "rate": 0.2, "seeds": [0], "controls": ["reinit"]}}
    cases = []
    for base, tag, seed in ((probe, "dc", 3), (lottery, "lth", 4)):
        muts = [(p, v) for p in _leaves(base) for v in HOSTILE]
        for path, value in _pick(muts, n_mutations // 2, seed=seed):
            def run(tmp, path=path, value=value, base=base):
                _recipe_base(tmp)
                f = _write_yaml(tmp / "recipe.yaml", _set_path(base, path, value))
                return expect_load(lambda: load_recipe(f), "recipe.yaml")
            cases.append(Case("recipe", f"{tag}: {'.'.join(map(str, path))} = {str(value)[:20]}", run))
    named = {
        "lr .nan": (("train", "lr"), float("nan")),
        "lr -1": (("train", "lr"), -1),
        "rate 1.5": (("stages", 0, "prune", "rate"), 1.5),
        "bits 99": (("stages", 1, "quantize", "bits"), 99),
        "output_model not yaml": (("output_model",), "x.txt"),
        "unknown stage": (("stages", 0), {"prunee": {}}),
    }
    for label, (path, value) in named.items():
        def run(tmp, path=path, value=value):
            base = _recipe_base(tmp)
            f = _write_yaml(tmp / "recipe.yaml", _set_path(base, path, value))
            return expect_load(lambda: load_recipe(f), "recipe.yaml")
        cases.append(Case("recipe", label, run))

    def dup(tmp):
        _recipe_base(tmp)
        f = _write_yaml(tmp / "recipe.yaml", probe)
        f.write_text(f.read_text() + "seed: 3\n")
        return expect_load(lambda: load_recipe(f), "recipe.yaml")
    cases.append(Case("recipe", "duplicate key", dup))
    cases += _structural_cases("recipe", load_recipe)
    return cases


def compress_cli_cases() -> list[Case]:
    """`sim compress` end to end on the tiny model (one epoch): atomic outputs."""
    def run_with(edit, label, expect_model: str | None = None):
        def run(tmp):
            base = _recipe_base(tmp)
            f = _write_yaml(tmp / "recipe.yaml", edit(base))
            out = tmp / "out"
            res = cli(["compress", str(f), "--out", str(out), "-q"], ("recipe.yaml", "--out", "output_model"), out)
            if res[0] == "ok" and expect_model and not (tmp / expect_model).exists():
                return "fail", f"no model at {expect_model}"
            if res[0] == "error" and (tmp / "missing").exists():
                return "fail", "left the output_model folder behind"
            return res
        return Case("recipe", f"compress: {label}", run)

    def unknown_layer(b):
        b["stages"][0]["prune"]["layers"] = ["nope"]  # found only when the stage runs (after training)
        return b
    return [
        run_with(lambda b: b, "fine"),
        run_with(lambda b: {**b, "output_model": "missing/deeper/m.yaml"}, "output_model in a missing folder",
                 "missing/deeper/m.yaml"),
        run_with(unknown_layer, "prune layer unknown at run time"),
    ]


# ---------------------------------------------------------------- sweep spec


def _spec_base(tmp: Path) -> dict:
    model, _, _ = tiny_model(tmp, "sw")
    return {"version": 1, "name": "fz", "hardware": str(ROOT / "hwconfigs" / "systolic.yaml"), "model": str(model),
            "engine": "analytical", "executor": "reference",
            "grid": {"pe_array.rows": [8, 16], "clock_ghz": [0.5, 1.0]},
            "random": {"samples": 2, "seed": 0, "axes": {"memory.dram.bandwidth_gbps": {"min": 5, "max": 50}}},
            "constraints": {"power_w": {"max": 10}}}


def sweep_cases(n_mutations: int = 100) -> list[Case]:
    from sim.sweep.spec import load_spec

    probe = _spec_base(Path("/tmp/sim-fuzz-probe"))
    cases = []
    muts = [(p, v) for p in _leaves(probe) if p[0] not in ("hardware", "model") for v in HOSTILE]
    for path, value in _pick(muts, n_mutations, seed=5):
        def run(tmp, path=path, value=value):
            f = _write_yaml(tmp / "spec.yaml", _set_path(_spec_base(tmp), path, value))
            return expect_load(lambda: load_spec(f), "spec.yaml")
        cases.append(Case("sweep", f"{'.'.join(map(str, path))} = {str(value)[:20]}", run))
    big_grid = {f"pe_array.{k}": list(range(1, 11)) for k in ("rows", "cols", "macs_per_pe_per_cycle")}
    big_grid.update({k: [0.1 * i for i in range(1, 11)] for k in (
        "clock_ghz", "static_power_w", "memory.dram.bandwidth_gbps", "memory.dram.latency_ns",
        "memory.dram.read_pj_per_bit", "memory.dram.write_pj_per_bit")})
    big_grid.update({"pe_array.weight_bits": list(range(1, 11)), "pe_array.act_bits": list(range(1, 11)),
                     "memory.dram.channels": list(range(1, 11))})
    named = {
        "axis value -1": ("grid", {"pe_array.rows": [8, -1]}),
        "axis value abc": ("grid", {"pe_array.rows": ["abc"]}),
        "axis value NaN": ("grid", {"clock_ghz": [float("nan")]}),
        "axis value inf": ("grid", {"clock_ghz": [float("inf")]}),
        "10^12-point grid": ("grid", big_grid),
        "random low > high": ("random", {"samples": 2, "axes": {"clock_ghz": {"min": 2.0, "max": 1.0}}}),
        "random NaN bound": ("random", {"samples": 2, "axes": {"clock_ghz": {"min": float("nan"), "max": 1.0}}}),
        "random min out of range": ("random", {"samples": 2, "axes": {"pe_array.rows": {"min": -4, "max": 8}}}),
        "random samples 10^12": ("random", {"samples": 10**12, "axes": {"clock_ghz": {"min": 0.5, "max": 1.0}}}),
        "constraint min > max": ("constraints", {"power_w": {"min": 10, "max": 1}}),
        "constraint NaN": ("constraints", {"power_w": {"max": float("nan")}}),
        "unknown axis": ("grid", {"pe_array.rowz": [1]}),
        "batch axis 0": ("grid", {"batch": [0, 1]}),
        "seed axis -1": ("grid", {"seed": [-1]}),
    }
    for label, (key, value) in named.items():
        def run(tmp, key=key, value=value):
            f = _write_yaml(tmp / "spec.yaml", {**_spec_base(tmp), key: value})
            return expect_load(lambda: load_spec(f), "spec.yaml")
        cases.append(Case("sweep", label, run))

    comp = {"prune": {"density": 0.5}, "quantize": {"method": "kmeans", "bits": 4}}
    for axis, values in (("compression.prune.density", [0.5, 1.5]), ("compression.prune.density", [float("nan")]),
                         ("compression.prune.density", ["abc"]), ("compression.quantize.bits", [4, 99]),
                         ("compression.quantize.bits", [0]), ("compression.quantize.method", ["huffman"]),
                         ("compression.prune.scope", ["galaxy"]), ("compression.prune.density", [0.2, 0.4])):
        def run(tmp, axis=axis, values=values):
            f = _write_yaml(tmp / "spec.yaml", {**_spec_base(tmp), "compression": comp, "grid": {axis: values}})
            return expect_load(lambda: load_spec(f), "spec.yaml")
        cases.append(Case("sweep", f"{axis} = {values}", run))

    def dup(tmp):
        f = _write_yaml(tmp / "spec.yaml", _spec_base(tmp))
        f.write_text(f.read_text() + "name: again\n")
        return expect_load(lambda: load_spec(f), "spec.yaml")
    cases.append(Case("sweep", "duplicate key", dup))
    cases += _structural_cases("sweep", load_spec)

    def cli_sweep(edit, label, extra=()):
        def run(tmp):
            f = _write_yaml(tmp / "spec.yaml", edit(_spec_base(tmp)))
            out = tmp / "sweep-out"
            return cli(["sweep", str(f), "--out", str(out), "-j", "1", "-q", "--no-plots", *extra],
                       ("spec.yaml", "--workers", "--limit", "--out", "sw.yaml"), out)
        return Case("sweep", f"cli: {label}", run)

    def broken_model(b):
        Path(b["model"]).write_text("version: 1\nname: sw\ninput_shape: [16]\nlayers: []\n")
        return b
    cases += [
        cli_sweep(lambda b: b, "fine"),
        cli_sweep(lambda b: {**b, "grid": {"pe_array.rows": [8, -1]}}, "bad axis value"),
        cli_sweep(broken_model, "broken model"),
        cli_sweep(lambda b: b, "--workers 0", ("--workers", "0")),
        cli_sweep(lambda b: b, "--limit -1", ("--limit", "-1")),
    ]
    return cases


# ---------------------------------------------------------------- CLI options and --set


def cli_option_cases() -> list[Case]:
    hw = str(ROOT / "hwconfigs" / "eie.yaml")

    def run_case(label, opts, marks=("--", "seed", "batch", "error"), setup=None):
        def run(tmp):
            model, _, _ = tiny_model(tmp)
            out = tmp / "out"
            extra = setup(tmp) if setup else []
            argv = ["run", hw, "--model", str(model), "-q"] + [o.replace("{tmp}", str(tmp)) for o in opts] + extra
            if "--out" not in opts:
                argv += ["--out", str(out)]
            return cli(argv, marks, out)
        return Case("cli", label, run)

    def bad_input_array(arr):
        def setup(tmp):
            np.save(tmp / "x.npy", arr)
            return ["--input", str(tmp / "x.npy")]
        return setup

    def existing_file(tmp):
        (tmp / "afile").write_text("keep me")
        return []

    cases = [run_case("fine", [])]
    for opt, values in (("--batch", ["0", "-1", "1000000000", "abc", "1e3", "99999999999999999999"]),
                        ("--seed", ["-1", "abc", str(2**70), "1.5"]),
                        ("--density", ["nan", "2", "-1", "inf"]),
                        ("--input-shape", ["0", "a,b", "-1,3", "99999999,99999999,99999999"]),
                        ("--engine", ["analytic"]), ("--executor", ["fast"]),
                        ("--timeline", ["no_such_layer"])):
        for v in values:
            cases.append(run_case(f"{opt} {v}", [opt, v]))
    cases += [
        run_case("--input with NaN", [], setup=bad_input_array(np.full((2, 16), np.nan, np.float32))),
        run_case("--input wrong shape", [], setup=bad_input_array(np.zeros((2, 5), np.float32))),
        run_case("--input strings", [], setup=bad_input_array(np.array([["a"] * 16]))),
        run_case("--input fine", [], setup=bad_input_array(np.ones((3, 16), np.float32))),
        run_case("--out is a file", ["--out", "{tmp}/afile"], setup=existing_file),
        run_case("--out under a file", ["--out", "{tmp}/afile/sub"], setup=existing_file),
        run_case("--out unwritable", ["--out", "/proc/sim-fuzz/out"]),
        run_case("--out missing parents (created)", ["--out", "{tmp}/a/b/c"]),
    ]

    def compare_case(label, opts):
        def run(tmp):
            model, _, _ = tiny_model(tmp)
            out = tmp / "cmp"
            return cli(["compare", hw, str(ROOT / "hwconfigs" / "systolic.yaml"), "--model", str(model), "-q",
                        "--out", str(out), *opts], ("--", "seed", "batch"), out)
        return Case("cli", f"compare {label}", run)
    cases += [compare_case("fine", []), compare_case("--batch 0", ["--batch", "0"]),
              compare_case("--seed -1", ["--seed", "-1"]), compare_case("--batch huge", ["--batch", "10000000000"])]

    def train_case(label, opts):
        def run(tmp):
            model, doc, _ = tiny_model(tmp, quant=False)
            doc = {k: v for k, v in doc.items() if k != "weights"}
            doc["input_shape"] = [64]
            doc["dataset"] = "digits"
            doc["layers"][2]["out_features"] = 10
            _write_yaml(model, doc)
            return cli(["train", str(model), "--epochs", "1", "--out", str(tmp / "t" / "m.yaml"), *opts],
                       ("--",), tmp / "t")
        return Case("cli", f"train {label}", run)
    def idx_case(label, images, labels):
        def run(tmp):
            import struct
            d = tmp / "idx"
            d.mkdir()
            for split in ("train", "t10k"):
                (d / f"{split}-images-idx3-ubyte").write_bytes(images(struct))
                (d / f"{split}-labels-idx1-ubyte").write_bytes(labels(struct))
            model = _write_yaml(tmp / "mn.yaml", {"version": 1, "name": "mn", "input_shape": [784],
                                                   "dataset": "mnist", "layers": [
                                                       {"name": "fc1", "type": "fc", "out_features": 10}]})
            return cli(["run", hw, "--model", str(model), "--data", str(d), "-q", "--out", str(tmp / "o")],
                       ("idx",), tmp / "o")
        return Case("cli", f"--data MNIST {label}", run)
    cases += [
        idx_case("garbage", lambda st: b"garbage" * 10, lambda st: b"x"),
        idx_case("header claims 10^9 images", lambda st: st.pack(">IIII", 0x803, 10**9, 28, 28) + bytes(100),
                 lambda st: st.pack(">II", 0x801, 10**9) + bytes(10)),
        idx_case("labels out of range", lambda st: st.pack(">IIII", 0x803, 3, 28, 28) + bytes([7] * 3 * 784),
                 lambda st: st.pack(">II", 0x801, 3) + bytes([200, 1, 2])),
        idx_case("no images", lambda st: st.pack(">IIII", 0x803, 0, 28, 28), lambda st: st.pack(">II", 0x801, 0)),
        idx_case("three valid images (fine)", lambda st: st.pack(">IIII", 0x803, 3, 28, 28) + bytes([7] * 3 * 784),
                 lambda st: st.pack(">II", 0x801, 3) + bytes([3, 1, 2])),
    ]
    cases += [train_case(f"--lr {v}", ["--lr", v]) for v in ("nan", "inf", "-1", "0")]
    cases += [train_case("--epochs 0", ["--epochs", "0"]), train_case("--seed -1", ["--seed", "-1"]),
              train_case("fine, --out in a missing folder", [])]
    return cases


SET_KEYS = ("pe_array.rows", "pe_array.cols", "clock_ghz", "static_power_w", "memory.dram.bandwidth_gbps",
            "memory.buffers.spmat_sram.size_kb", "pe_array.act_queue_depth", "technology.node_nm", "name",
            "energy.overrides")
SET_VALUES = (".nan", ".inf", "-.inf", "-1", "0", "abc", "99999999999999999999", "1e308", "[1, 2]", "{a: 1}", "",
              "'../../x'", "{pe_array.mac: .nan}", "{pe_aray.mac: 1}", "&a [*a]")


def set_cases(n: int = 80) -> list[Case]:
    from sim.hardware.load import load_hardware
    hw = ROOT / "hwconfigs" / "eie.yaml"
    cases = []
    combos = [(k, v) for k in SET_KEYS for v in SET_VALUES]
    for key, value in _pick(combos, n, seed=9):
        cases.append(Case("set", f"{key}={value}", lambda tmp, key=key, value=value: expect_load(
            lambda: load_hardware(hw, [f"{key}={value}"]), "eie.yaml")))
    for item in ("pe_array.rowz=3", "=3", "pe_array.rows", "pe_array..rows=3", "x" * 10000 + "=1",
                 "memory.buffers.nope.size_kb=3"):
        cases.append(Case("set", f"malformed {item[:30]}", lambda tmp, item=item: expect_load(
            lambda: load_hardware(hw, [item]), "eie.yaml")))

    def named_run(tmp):
        model, _, _ = tiny_model(tmp)
        res = cli(["run", str(hw), "--model", str(model), "-q", "--set", "name=../../escape"], ("eie",), cwd=tmp)
        escaped = [p for p in tmp.parent.rglob("*escape*") if tmp not in p.parents]
        if escaped:
            return "fail", f"reports escaped to {escaped}"
        inside = list((tmp / "reports").glob("*escape*"))
        if res[0] == "ok" and not inside:
            return "fail", "no report folder under reports/"
        return res
    cases.append(Case("set", "name=../../escape stays under reports/", named_run))

    def slash_model(tmp):
        model, doc, _ = tiny_model(tmp)
        _write_yaml(model, {**doc, "name": "../../../m/x"})
        res = cli(["run", str(hw), "--model", str(model), "-q"], ("tiny",), cwd=tmp)
        if [p for p in tmp.parent.rglob("m") if tmp not in p.parents and p.is_dir()]:
            return "fail", "model name escaped reports/"
        return res
    cases.append(Case("model", "model name with / stays under reports/", slash_model))
    cases.append(Case("set", "rows 10**20 via CLI", lambda tmp: cli(
        ["run", str(hw), "--model", str(tiny_model(tmp)[0]), "-q", "--out", str(tmp / "o"),
         "--set", "pe_array.rows=99999999999999999999"], ("eie.yaml",), tmp / "o")))
    return cases


# ---------------------------------------------------------------- runs of mutated designs


def hw_run_cases(per_design: int = 6) -> list[Case]:
    """Mutated designs that load must also run to finite reports (or fail cleanly)."""
    cases = []
    for i, design in enumerate(HW_NAMES):
        src = ROOT / "hwconfigs" / f"{design}.yaml"
        base = yaml.safe_load(src.read_text())
        numeric = [p for p in _leaves(base) if isinstance(_get(base, p), (int, float))
                   and not isinstance(_get(base, p), bool)]
        for path in _pick(numeric, per_design, seed=100 + i):
            for factor in (1e-9, 1e9):
                def run(tmp, path=path, factor=factor, base=base, design=design):
                    v = _get(base, path)
                    new = type(v)(max(1, v * factor)) if isinstance(v, int) else v * factor
                    f = _write_yaml(tmp / f"{design}.yaml", _set_path(base, path, new))
                    model, _, _ = tiny_model(tmp)
                    return cli(["run", str(f), "--model", str(model), "-q", "--out", str(tmp / "o")],
                               (f.name,), tmp / "o")
                cases.append(Case("hwconfig-run", f"{design}: {'.'.join(map(str, path))} x {factor:g}", run))
    return cases


def _get(data, path):
    for k in path:
        data = data[k]
    return data


# ---------------------------------------------------------------- all of them


def all_cases(scale: float = 1.0) -> list[Case]:
    s = lambda n: max(4, int(n * scale))  # noqa: E731
    return (hw_cases(s(120)) + hw_run_cases(max(1, int(6 * scale))) + model_cases(s(120)) + npz_cases()
            + onnx_cases() + topology_cases() + gemm_cases() + cfg_cases() + import_config_cases()
            + sensitivity_cases() + recipe_cases(s(100)) + compress_cli_cases() + sweep_cases(s(100))
            + cli_option_cases() + set_cases(s(80)))


def run_case(case: Case, tmp: Path) -> tuple[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    return case.run(tmp)


def main() -> int:
    import tempfile
    import time
    counts: dict[str, Counter] = {}
    failures = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        for i, case in enumerate(all_cases()):
            outcome, detail = run_case(case, Path(d) / f"c{i}")
            counts.setdefault(case.kind, Counter())[outcome] += 1
            if outcome == "fail":
                failures.append((case.kind, case.name, detail))
    print(f"{'input kind':<14} {'cases':>6} {'error (exit 2)':>15} {'ok (finite)':>12} {'fail':>6}")
    for kind, c in counts.items():
        print(f"{kind:<14} {sum(c.values()):>6} {c['error']:>15} {c['ok']:>12} {c['fail']:>6}")
    total = sum(counts.values(), Counter())
    print(f"{'total':<14} {sum(total.values()):>6} {total['error']:>15} {total['ok']:>12} {total['fail']:>6}"
          f"   ({time.perf_counter() - t0:.0f} s)")
    for kind, name, detail in failures:
        print(f"FAIL {kind}: {name}: {detail}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
