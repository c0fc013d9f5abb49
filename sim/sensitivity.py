"""One-at-a-time sensitivity of a design's results to the values its hwconfig marks ASSUMPTION.

    from sim.sensitivity import sensitivity
    res = sensitivity("hwconfigs/sonic.yaml", "models/crosslight-lenet5.yaml", against="hwconfigs/crosslight.yaml")
    res.table          # one row per assumption and end of its range
    res.plot()         # tornado chart (matplotlib Figure)
    res.write("reports/sens")   # sensitivity.csv, tornado.png, note.txt

An assumption is a numeric leaf of the YAML whose line, or the line of a section above it, carries
a ``# ... ASSUMPTION ...`` comment. Its range is, in order: ``vary`` (KEY: (low, high)), a
"Plausible A-B" phrase in its comment, the table ``RANGES`` below (ranges documented with their
reason), else half to twice the value. Each end is applied alone (``load_hardware`` with one
override) and the already executed network is re-costed, so the sweep never re-executes.

With ``against``, the other design is costed once at its own values and each row says whether
the comparison (which design has the higher FPS/W and the lower energy per inference) flips.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import ConfigError
from .hardware import schema
from .hardware.load import load_hardware, read_hardware_dict
from .limits import short
from .run import Execution, cost, prepare
from .workload.load import load_network
from .workload.network import Network

METRICS = ("fps_per_w", "energy_per_inference_pj", "accuracy")
# Plausible ranges of common assumptions (low, high, why), matched on the end of the dotted key; used
# when the config's comment gives no "Plausible A-B".
RANGES = {
    "clock_ghz": (0.5, 2.0, "electronic control clocks of edge accelerators"),
    "optics.pd_sensitivity_dbm": (-26.0, -14.0, "Ge photodetector receivers at 1-25 Gb/s"),
    "optics.laser_wall_plug_efficiency": (0.1, 0.3, "typical laser wall-plug efficiency 10-30%"),
    "dram.bandwidth_gbps": (12.8, 51.2, "LPDDR4 x16 to x64"),
    "dram.read_pj_per_bit": (4.0, 20.0, "HBM2/LPDDR4 to DDR3-class DRAM (published.md §5.2)"),
    "dram.write_pj_per_bit": (4.0, 20.0, "as read_pj_per_bit"),
    "dram.latency_ns": (50.0, 150.0, "DRAM access latency"),
    "technology.node_nm": (22.0, 65.0, "nodes of recent photonic/electronic co-designs"),
    "tuning.eo_range_nm": (0.0, 1.5, "EO tuners shift up to ~1 nm"),
    "tuning.crosstalk_decay_um": (2.0, 15.0, "phase crosstalk decay length of TO heaters"),
}
SKIP_SUFFIXES = (".bits",)  # converter resolutions are design choices; vary them with --vary
@dataclass(frozen=True)
class Assumption:
    key: str  # dotted path in the hwconfig
    value: float
    low: float
    high: float
    source: str  # where the range came from
    comment: str = ""


def find_assumptions(path: str | os.PathLike) -> list[Assumption]:
    """Numeric leaves of the hwconfig at ``path`` whose line or enclosing section says ASSUMPTION."""
    data = read_hardware_dict(path)
    marked = _marked_paths(open(path, encoding="utf-8").read())
    out = []
    for key, value in _numeric_leaves(data):
        hit = next(((p, c) for p, c in marked if key == p or key.startswith(p + ".")), None)
        node = schema.lookup(schema.SCHEMA, key)
        if hit is None or key.endswith(SKIP_SUFFIXES) or not isinstance(node, schema.Field) \
                or node.type not in ("number", "int"):
            continue
        low, high, src = _default_range(key, float(value), hit[1])
        if node.type == "int":
            low, high = max(math.floor(low), node.min or 0), math.ceil(high)
        out.append(Assumption(key, float(value), low, high, src, hit[1]))
    return out


def _numeric_leaves(data, prefix=""):
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            yield from _numeric_leaves(v, key + ".")
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield key, v


_KEY = re.compile(r"^(\s*)([A-Za-z_][\w]*)\s*:(.*)$")


def _marked_paths(text: str) -> list[tuple[str, str]]:
    """(dotted path, comment) of every key whose own line (or comment block right under it) says
    ASSUMPTION. Flow mappings on a marked line mark all their keys (the path is the line's key)."""
    stack: list[tuple[int, str]] = []
    out = []
    last = None  # (path, indent) of the previous key line, for continuation comments
    for line in text.splitlines():
        m = _KEY.match(line)
        if not m:
            stripped = line.strip()
            if stripped.startswith("#") and last is not None and len(line) - len(line.lstrip()) > last[1]:
                text = stripped.lstrip("# ")
                if out and out[-1][0] == last[0]:
                    out[-1] = (last[0], out[-1][1] + " " + text)  # the key's comment continues
                elif "ASSUMPTION" in text:
                    out.append((last[0], text))
            else:
                last = None
            continue
        indent, key, rest = len(m.group(1)), m.group(2), m.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([s for _, s in stack] + [key])
        stack.append((indent, key))
        last = (path, indent)
        comment = rest.split("#", 1)[1] if "#" in rest else ""
        if "ASSUMPTION" in comment:
            out.append((path, comment.strip()))
    return out


_PLAUSIBLE = re.compile(r"[Pp]lausible\s+(-?[\d.]+)\s*(?:-|to|–)\s*(-?[\d.]+)")


def _default_range(key: str, value: float, comment: str) -> tuple[float, float, str]:
    m = _PLAUSIBLE.search(comment)
    if m:
        return float(m.group(1)), float(m.group(2)), "config comment"
    for suffix, (lo, hi, why) in RANGES.items():
        if key == suffix or key.endswith("." + suffix):
            return lo, hi, why
    leaf = key.rsplit(".", 1)[-1]
    if value == 0:
        return 0.0, 1.0, "zero by default: 0 to 1"
    lo, hi = sorted((value * 0.5, value * 2.0))
    if leaf.endswith("fraction") or leaf.endswith("efficiency"):
        hi = min(hi, 1.0)
    return lo, hi, "half to twice the value"


def parse_vary(items) -> dict[str, tuple[float, float]]:
    """["photonic.adc.power_mw=30:120", ...] -> {key: (low, high)}; ConfigError on bad syntax."""
    out, problems = {}, []
    for item in items or ():
        key, sep, rng = str(item).partition("=")
        lo, sep2, hi = rng.partition(":")
        try:
            if len(lo) > 40 or len(hi) > 40:  # 40+ characters size nothing real (and float() of 10^6 digits is slow)
                raise ValueError(rng)
            low, high = float(lo), float(hi)
            ok = bool(sep and sep2 and key.strip()) and math.isfinite(low) and math.isfinite(high)
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"{short(item)}: expected KEY=LOW:HIGH with finite numbers, e.g. "
                            "photonic.adc.power_mw=30:120")
        elif low > high:
            problems.append(f"{short(item)}: LOW must be <= HIGH")
        else:
            out[key.strip()] = (low, high)
    if problems:
        raise ConfigError("sensitivity vary", problems)
    return out


# Accounting switches tried on every photonic design (and on both sides of a comparison): the
# paper's accounting of thermo-optic tuning (TO charged once at boot) against the physics default.
SWITCHES = {"photonic.tuning.to_hold": "boot"}


@dataclass
class SensitivityResult:
    """``table``: one row per (design varied, assumption, end of its range); ``baseline``: the
    design's results at its own values; ``against``: the other design's, when comparing."""

    hwconfig: str
    model: str
    baseline: dict
    table: pd.DataFrame
    against: dict | None = None
    against_name: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "\n".join(self.notes)

    def plot(self, metric: str = "fps_per_w"):
        """Tornado chart (matplotlib Figure): change of ``metric`` (or, with ``against``, of the
        ratio between the designs) at each end of each assumption's range."""
        from .report.sensitivity_plot import tornado
        return tornado(self, metric)

    def write(self, folder) -> None:
        """sensitivity.csv, tornado.png and note.txt under ``folder``, all or nothing (the files of
        ``python -m sim sensitivity``)."""
        from .report.style import save
        from .report.write import write_report_dir

        def tornado_png(path):
            save(self.plot(), path)

        def note_txt(path):
            Path(path).write_text(self.note + "\n", encoding="utf-8")

        write_report_dir(folder, {"sensitivity.csv": self.table}, {"tornado.png": tornado_png, "note.txt": note_txt})

    def _repr_html_(self) -> str:
        from .report.html import html_table
        return html_table(self.table, f"sensitivity of {self.hwconfig} on {self.model}")


def _metrics(res) -> dict:
    s = res.summary.iloc[0]
    return {m: float(s[m]) for m in METRICS}


def _ranges(path: str, vary: dict, only_vary: bool) -> list[Assumption]:
    found = {} if only_vary else {a.key: a for a in find_assumptions(path)}
    data = read_hardware_dict(path)
    for key, (lo, hi) in vary.items():
        value = _get(data, key)
        if value is None:
            load_hardware(path, {key: lo})  # an unknown key raises ConfigError naming it
            raise ConfigError("sensitivity vary", f"{key}: not a number in {path}; only numeric fields can be varied")
        found[key] = Assumption(key, float(value), lo, hi, "--vary", "")
    return list(found.values())


def sensitivity(hwconfig, model, vary=None, against=None, batch: int = 1, seed: int = 0,
                execution: Execution | None = None, only_vary: bool = False,
                switches: dict | None = None, overrides: dict | None = None) -> SensitivityResult:
    """One-at-a-time sensitivity of the design at ``hwconfig`` (a path) running ``model`` (a path
    or a Network; or pass an already executed ``execution``).

    vary: {key: (low, high)}: the range of a field of ``hwconfig`` (overrides its default range or
        adds a field that is not marked ASSUMPTION). Bad keys or values raise ConfigError.
    against: path of a second hwconfig. Its own assumptions are varied too (with ``hwconfig`` at
        its values), and every row gives the ratio of the two designs and whether it flips.
    only_vary: vary only the keys in ``vary``.
    switches: {key: value} tried on every design that has the key (default ``SWITCHES``: TO
        tuning charged at boot only, the papers' accounting), each as one extra row.
    overrides: {key: value} applied to every design before anything is varied (``--set``, e.g.
        ``{"photonic.tuning.to_hold": "boot"}`` for the whole analysis in paper mode).
    """
    hwconfig = str(hwconfig)
    designs = [hwconfig] + ([str(against)] if against else [])
    vary = dict(vary or {})
    ranges = {hwconfig: _ranges(hwconfig, vary, only_vary)}
    if against:
        ranges[str(against)] = [] if only_vary else _ranges(str(against), {}, False)
    overrides = dict(overrides or {})
    fixed = {d: {k: v for k, v in overrides.items() if _has(d, k)} for d in designs}
    hws = {d: load_hardware(d, fixed[d]) for d in designs}
    if execution is None:
        net = model if isinstance(model, Network) else load_network(str(model))
        execution = prepare(net, batch=batch, seed=seed)
    base = {d: _metrics(cost(hw, execution)) for d, hw in hws.items()}
    other = str(against) if against else None
    rows = []
    for design, assumptions in ranges.items():
        data = read_hardware_dict(design)
        for a in assumptions:
            for end, v in (("low", a.low), ("high", a.high)):
                value = int(round(v)) if isinstance(_get(data, a.key), int) and float(v).is_integer() else v
                rows.append(_point(design, {a.key: value}, a, end, fixed, base, execution, hwconfig, other))
    for key, value in (SWITCHES if switches is None else switches).items():
        applies = [d for d in designs if _has(d, key) and fixed[d].get(key) != value]
        if applies:
            a = Assumption(key, float("nan"), float("nan"), float("nan"), "accounting switch", "")
            rows.append(_point("+".join(applies), {key: value}, a, "switch", fixed, base, execution, hwconfig, other,
                               label=value))
    res = SensitivityResult(hwconfig, execution.net.name, base[hwconfig], pd.DataFrame(rows),
                            base[other] if other else None, other)
    res.notes = _notes(res)
    if overrides:
        res.notes[0] += " Every design with " + ", ".join(f"{k}={v}" for k, v in overrides.items()) + "."
    return res


def _has(path, dotted) -> bool:
    node = read_hardware_dict(path)
    for part in dotted.split(".")[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return isinstance(node, dict)


def _point(design, override, a, end, fixed, base, ex, main, other, label=None):
    """One row: ``override`` applied to ``design`` (or to each design of "a+b") on top of its fixed overrides."""
    varied = design.split("+")
    now = {}
    status = ""
    for d in [main] + ([other] if other else []):
        if d not in varied:
            now[d] = base[d]
            continue
        try:
            now[d] = _metrics(cost(load_hardware(d, {**fixed[d], **override}), ex))
        except ConfigError as exc:
            if a.source == "--vary":
                raise
            status, now = f"skipped: {exc.problems[0]}", None
            break
    value = label if label is not None else next(iter(override.values()))
    row = {"design": design, "key": a.key, "end": end, "value": value, "baseline_value": a.value,
           "range_source": a.source}
    mine = varied[0] if main not in varied else main
    for k in METRICS:
        v = now[mine][k] if now else np.nan
        row[k] = v
        b = base[mine][k]
        row[f"{k}_change_pct"] = (v / b - 1) * 100 if now and b and not np.isnan(b) else np.nan
    if other:
        for k, better in (("fps_per_w", 1), ("energy_per_inference_pj", -1)):
            before = np.sign((base[main][k] - base[other][k]) * better)
            r = now[main][k] / now[other][k] if now else np.nan
            row[f"{k}_ratio"] = r
            row[f"{k}_ratio_change_pct"] = (r / (base[main][k] / base[other][k]) - 1) * 100 if now else np.nan
            row[f"flips_{k}"] = bool(now) and np.sign((now[main][k] - now[other][k]) * better) != before
    row["status"] = status
    return row


def _get(data, dotted):
    node = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def _notes(res: SensitivityResult) -> list[str]:
    t, b = res.table, res.baseline
    notes = [f"{res.hwconfig} on {res.model}: FPS/W {b['fps_per_w']:.4g}, energy/inference "
             f"{b['energy_per_inference_pj'] * 1e-6:.4g} uJ at the config's values; "
             f"{t[t['end'] != 'switch'].groupby(['design', 'key']).ngroups} assumptions varied one at a time."]
    ok = t[t["status"] == ""]
    col = "fps_per_w_ratio_change_pct" if res.against else "fps_per_w_change_pct"
    if len(ok):
        swing = ok.groupby(["design", "key"])[col].agg(lambda s: s.abs().max()).sort_values(ascending=False)
        what = f"the FPS/W ratio vs {res.against_name}" if res.against else "FPS/W"
        top = ", ".join(f"{k} of {d} ({v:.0f}%)" for (d, k), v in swing.head(6).items())
        notes.append(f"Largest swings of {what} (largest change at either end): {top}.")
    if res.against:
        o = res.against
        notes.append(f"Against {res.against_name}: FPS/W ratio {b['fps_per_w'] / o['fps_per_w']:.3g}x, energy per "
                     f"inference ratio {b['energy_per_inference_pj'] / o['energy_per_inference_pj']:.3g}x at both "
                     f"configs' own values.")
        for k, what in (("fps_per_w", "FPS/W"), ("energy_per_inference_pj", "energy per inference")):
            flips = ok[ok[f"flips_{k}"]]
            if len(flips):
                items = "; ".join(f"{r.key}={r.value} on {r.design} ({r[f'{k}_ratio']:.3g}x)"
                                  for _, r in flips.iterrows())
                notes.append(f"Flips the {what} comparison: {items}.")
            else:
                notes.append(f"No single assumption at either end of its range flips the {what} comparison.")
    return notes
