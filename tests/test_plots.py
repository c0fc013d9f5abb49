"""Every plot type, rendered on small real data (committed example tables, a tiny event-model run),
checked for what makes a PNG readable: no text on text, no legend on data, nothing cut off at
the figure's edge, titles and axis labels present, SI units on energy and time axes, log axes
labelled as such, categorical axes drawn as categories."""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Rectangle
from matplotlib.transforms import Bbox

from sim.report import style

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "reports" / "examples"
SI_UNIT = re.compile(r"\((?:[fpnµmkMGT]?)(?:J|s|W|B|J/bit)(?:,|\))")  # "(µJ)", "(J, log scale)", "(ms)"
SI_TICK = re.compile(r"^-?[\d.]+ [fpnµmkMGT]?(?:J|s|W|B|J/bit)$")  # "10 µJ"


# ---------------------------------------------------------------- geometry


def _corners(text, renderer) -> np.ndarray:
    """The rotated rectangle of a text in display pixels (its axis-aligned box would make every
    pair of neighbouring rotated tick labels look like they overlap)."""
    box = text.get_window_extent(renderer)
    angle = math.radians(text.get_rotation())
    if abs(math.sin(angle)) < 1e-6:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    rotation = text.get_rotation()
    text.set_rotation(0)
    flat = text.get_window_extent(renderer)
    text.set_rotation(rotation)
    w, h = flat.width, flat.height
    c, s = math.cos(angle), math.sin(angle)
    center = np.array([(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2])
    half = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return center + half @ np.array([[c, s], [-s, c]])


def _shrink(poly: np.ndarray, px: float = 1.0) -> np.ndarray:
    """Pull the corners 1 px toward the centre: touching is not overlapping."""
    center = poly.mean(axis=0)
    d = poly - center
    n = np.linalg.norm(d, axis=1, keepdims=True)
    return center + d * np.maximum(n - px, 0) / np.where(n > 0, n, 1)


def _polygons_overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test for two convex quadrilaterals."""
    for poly in (a, b):
        for i in range(len(poly)):
            edge = poly[(i + 1) % len(poly)] - poly[i]
            normal = np.array([-edge[1], edge[0]])
            pa, pb = a @ normal, b @ normal
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def _texts(fig):
    """Every text a reader sees: suptitle, axes titles and labels, drawn tick labels, annotations, legends."""
    out = [t for t in fig.texts if t.get_visible() and t.get_text()]  # the suptitle is one of them
    legends = list(fig.legends)
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        out += [t for t in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label,
                            ax.xaxis.get_offset_text(), ax.yaxis.get_offset_text()) if t.get_text()]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                label = tick.label1
                loc = tick.get_loc()
                if label.get_visible() and label.get_text() and lo - 1e-9 * abs(hi) <= loc <= hi + 1e-9 * abs(hi):
                    out.append(label)
        out += [t for t in ax.texts if t.get_visible() and t.get_text()]
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
    for leg in legends:
        out += [t for t in leg.get_texts() if t.get_text()]
        if leg.get_title().get_text():
            out.append(leg.get_title())
    return out, legends


def _data_boxes(ax, renderer):
    """Display-space boxes of the data an axes draws: bars, line vertices, scatter points, bar polygons."""
    boxes = []
    for p in ax.patches:
        if isinstance(p, Rectangle) and p.get_visible():
            b = Bbox.intersection(p.get_window_extent(renderer), ax.bbox)  # drawn clipped to the axes
            if b is not None and np.all(np.isfinite([b.x0, b.x1, b.y0, b.y1])) and b.width > 0 and b.height > 0:
                boxes.append(b)
    for line in ax.lines:
        if line.get_visible() and len(line.get_xdata()):
            xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]).astype(float))
            boxes += [(x, y) for x, y in xy if np.isfinite(x) and np.isfinite(y)]
    boxes = [b for b in boxes if not isinstance(b, tuple) or ax.bbox.contains(*b)]  # unclipped points only
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        offsets = coll.get_offsets()
        if len(offsets) and not np.allclose(offsets, 0):
            xy = coll.get_offset_transform().transform(np.asarray(offsets, float))
            boxes += [(x, y) for x, y in xy if np.isfinite(x) and np.isfinite(y)]
        else:
            for path in coll.get_paths():
                b = path.get_extents(coll.get_transform())
                if np.all(np.isfinite([b.x0, b.x1, b.y0, b.y1])):
                    boxes.append(b)
    return boxes


def check_readable(fig) -> None:
    """The checks every plot passes; fails naming the two artists that collide."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    texts, legends = _texts(fig)
    assert texts, "figure draws no text"
    page = fig.bbox
    polys = [_shrink(_corners(t, renderer)) for t in texts]
    for t, poly in zip(texts, polys):
        assert (poly[:, 0].min() >= page.x0 - 1 and poly[:, 0].max() <= page.x1 + 1
                and poly[:, 1].min() >= page.y0 - 1 and poly[:, 1].max() <= page.y1 + 1), \
            f"text {t.get_text()!r} is cut off at the figure's edge"
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            assert not _polygons_overlap(polys[i], polys[j]), \
                f"text {texts[i].get_text()!r} overlaps {texts[j].get_text()!r}"
    for leg in legends:
        box = leg.get_window_extent(renderer)
        assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, \
            "legend is cut off at the figure's edge"
        inner = box.padded(-1)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            for data in _data_boxes(ax, renderer):
                if isinstance(data, tuple):
                    assert not inner.contains(*data), f"legend covers a data point of {ax.get_title()!r}"
                else:
                    assert not inner.overlaps(data), f"legend covers a bar of {ax.get_title()!r}"
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes {ax.get_title()!r} lacks an axis label"
        for axis, scale, label in (("x", ax.get_xscale(), ax.get_xlabel()), ("y", ax.get_yscale(), ax.get_ylabel())):
            offset = (ax.xaxis if axis == "x" else ax.yaxis).get_offset_text().get_text()
            assert not offset, f"{label!r} axis shows an offset {offset!r} instead of a unit"
            if scale == "log":
                assert "log scale" in label, f"log axis {label!r} does not say so"
            if re.search(r"\b(energy|latency|time|power|storage)\b", label):
                ticks = [t.get_text() for t in (ax.get_xticklabels() if axis == "x" else ax.get_yticklabels())]
                assert SI_UNIT.search(label), f"{label!r} names no SI unit"
                if scale == "log":
                    assert all(SI_TICK.match(t) for t in ticks if t), f"log ticks of {label!r} lack units: {ticks}"
                else:
                    assert max(map(_num, ticks), default=0) <= 1000, \
                        f"{label!r} with ticks {ticks}: expected a larger SI prefix"


def _num(text: str) -> float:
    try:
        return abs(float(text.replace("−", "-")))
    except ValueError:
        return 0.0


def _suptitle(fig) -> str:
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


# ---------------------------------------------------------------- the style module


@pytest.mark.parametrize("magnitude, factor, prefix", [(3.2e-5, 1e-6, "µ"), (1.0, 1.0, ""), (999.0, 1.0, ""),
                                                       (1000.0, 1e3, "k"), (2.5e-12, 1e-12, "p"), (0.0, 1.0, "")])
def test_si_prefix(magnitude, factor, prefix):
    assert style.si_prefix(magnitude) == (factor, prefix)


def test_eng_and_quantities():
    assert style.eng(3.2e-5, "J") == "32 µJ"
    assert style.eng(1e-3, "s") == "1 ms"
    assert style.quantity("energy_per_inference_pj") == style.Quantity("energy per inference", "J", 1e-12)
    assert style.quantity("latency_s").unit == "s"
    assert style.quantity("weight_storage_bytes") == style.Quantity("weight storage", "B", 1.0)
    assert style.quantity("accuracy").unit == "%"


def test_names():
    assert style.model_name("main_graph", "models/resnet18.onnx") == "resnet18"
    assert style.model_name("lenet5", "models/other.yaml") == "lenet5"
    assert style.short_label("../hwconfigs/sonic.yaml") == "sonic"
    assert style.names(["a/x.yaml", "a/y.yaml", "a/x.yaml"]) == "x, y"


def test_linear_energy_axis_takes_its_prefix_from_the_data():
    fig, axes = style.figure()
    ax = axes[0, 0]
    ax.plot([0, 1, 2], [2e6, 4e6, 9e6])  # pJ: 2 to 9 µJ
    style.set_quantity(ax, "y", "energy_per_inference_pj", [2e6, 4e6, 9e6])
    assert ax.get_ylabel() == "energy per inference (µJ)"
    ax.set_xlabel("x")
    fig.canvas.draw()
    assert all(_num(t.get_text()) < 1000 for t in ax.get_yticklabels())
    check_readable(fig)


def test_fit_ticks_rotates_then_thins_crowded_labels():
    fig, axes = style.figure(size=(3, 3))
    ax = axes[0, 0]
    labels = [f"a_long_category_name_{i}" for i in range(40)]
    style.categories(ax, labels)
    ax.bar(range(40), np.arange(1, 41))
    ax.set_xlabel("category")
    ax.set_ylabel("value")
    style.finish(fig)
    check_readable(fig)


def test_the_checker_catches_overlaps():
    """check_readable itself: a legend on the bars, two texts on each other, an offset, a silent log axis."""
    def bars():
        fig, axes = style.figure()
        ax = axes[0, 0]
        ax.bar([0, 1, 2], [5, 5, 5], label="bars")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        return fig, ax

    fig, ax = bars()
    ax.legend(loc="center")
    with pytest.raises(AssertionError, match="legend covers"):
        check_readable(fig)
    fig, ax = bars()
    ax.text(1, 2.5, "one")
    ax.text(1, 2.5, "two")
    with pytest.raises(AssertionError, match="overlaps"):
        check_readable(fig)
    fig, ax = bars()
    ax.plot([0, 2], [1e10, 1e10 + 5])
    with pytest.raises(AssertionError, match="offset"):
        check_readable(fig)
    fig, ax = bars()
    ax.set_yscale("log")
    with pytest.raises(AssertionError, match="log axis"):
        check_readable(fig)
    fig, ax = bars()
    ax.set_ylabel("energy per inference (pJ)")
    ax.set_yticks([0, 2000, 4000])
    with pytest.raises(AssertionError, match="larger SI prefix"):
        check_readable(fig)


# ---------------------------------------------------------------- every plot type


@pytest.fixture(scope="module")
def comparison():
    return pd.read_csv(EXAMPLES / "compare" / "lenet300-sonic" / "comparison.csv")


def test_comparison_figure(comparison):
    from sim.report.plots import comparison_figure
    fig = comparison_figure(comparison)
    check_readable(fig)
    assert _suptitle(fig).startswith("lenet300-sonic on sonic, crosslight, eie, systolic")
    device_axes = fig.axes[2]
    assert device_axes.get_yscale() == "log" and "J, log scale" in device_axes.get_ylabel()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["sonic", "crosslight", "eie", "systolic"]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["sonic", "crosslight", "eie", "systolic"]


def test_comparison_title_uses_the_file_stem_for_a_generic_graph_name(comparison):
    from sim.report.plots import comparison_figure
    table = comparison.assign(model="main_graph")
    fig = comparison_figure(table, model=style.model_name("main_graph", "models/resnet18.onnx"))
    assert _suptitle(fig).startswith("resnet18 on sonic")


def _imports(path: Path) -> list[str]:
    return re.findall(r"^\s*(?:from|import)\s+(\S+)", path.read_text(), re.M)


def test_plots_take_tables_not_compare_objects():
    assert not [m for m in _imports(ROOT / "sim" / "report" / "plots.py") if "compare" in m]


def test_ablation_figure():
    from sim.report.plots import ablation_figure
    fig = ablation_figure(pd.read_csv(EXAMPLES / "compare" / "lenet5" / "ablation.csv"))
    check_readable(fig)
    assert "lenet5 on sonic, crosslight" in _suptitle(fig)


@pytest.fixture(scope="module")
def compression_sweep():
    from sim.sweep.spec import load_spec
    return pd.read_csv(EXAMPLES / "sweeps" / "compression" / "sweep.csv"), load_spec(ROOT / "sweeps" / "compression.yaml")


def test_pareto_figure(compression_sweep):
    from sim.sweep.plots import pareto_figure
    df, spec = compression_sweep
    fig = pareto_figure(df, spec.objectives, spec.constraints, spec.axes)
    check_readable(fig)
    assert _suptitle(fig).startswith("lenet300 on sonic, eie")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "feasible, sonic" in labels and "feasible, eie" in labels  # file stems, not paths


def test_pareto_figure_with_one_objective(compression_sweep):
    from sim.sweep.plots import pareto_figure
    df, spec = compression_sweep
    check_readable(pareto_figure(df, {"latency_s": "minimize"}, {}, spec.axes))


def test_categorical_sweep_axis_is_drawn_as_categories(compression_sweep):
    from sim.sweep.plots import axis_figure, metrics_of
    df, spec = compression_sweep
    fig = axis_figure(df, "hardware", metrics_of(df, spec.objectives, spec.constraints))
    check_readable(fig)
    for ax in fig.axes:
        if ax.get_visible():
            assert [t.get_text() for t in ax.get_xticklabels()] == ["sonic", "eie"]
            assert not ax.lines, "a line across unordered categories"


def test_numeric_sweep_axes(compression_sweep):
    from sim.sweep.plots import axis_figure, metrics_of
    df, spec = compression_sweep
    metrics = metrics_of(df, spec.objectives, spec.constraints)
    for axis in ("compression.prune.density", "compression.quantize.bits"):
        fig = axis_figure(df, axis, metrics)
        check_readable(fig)
        ticks = {float(t.get_text()) for t in fig.axes[0].get_xticklabels()}
        assert ticks == set(df[axis].astype(float))  # a tick at each swept value


def test_numeric_sweep_axis_draws_one_median_per_design(compression_sweep):
    from sim.sweep.plots import axis_figure, sweep_figures
    df, spec = compression_sweep
    fig = axis_figure(df, "compression.prune.density", ["energy_per_inference_pj", "accuracy"], group="hardware")
    check_readable(fig)
    assert all(len(ax.lines) == 2 for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["point, sonic", "median, sonic", "point, eie",
                                                                  "median, eie"]
    figs = sweep_figures(df.iloc[::6], spec.axes, spec.objectives, spec.constraints, "lenet300")
    assert len(figs["vs_compression.quantize.bits.png"].axes[0].lines) == 2  # grouped by the design axis
    assert figs["pareto.png"]._suptitle.get_text().startswith("lenet300 on sonic, eie")


def test_wide_numeric_sweep_axis_is_log_and_says_so():
    from sim.sweep.plots import axis_figure
    df = pd.read_csv(EXAMPLES / "sweeps" / "systolic_buffers" / "sweep.csv")
    axis = "memory.buffers.unified_buffer.size_kb"
    fig = axis_figure(df, axis, ["energy_per_inference_pj", "latency_s", "power_w", "fps_per_w"])
    check_readable(fig)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_xlabel() == f"{axis} (log scale)"


def test_plot_sweep_writes_every_png_and_the_same_bytes_twice(tmp_path, compression_sweep):
    from sim.sweep.plots import plot_pareto, plot_sweep
    df, spec = compression_sweep
    df = df.iloc[::4]  # enough points for every panel, less drawing
    files = plot_sweep(df, spec.axes, spec.objectives, spec.constraints, tmp_path)
    assert [p.name for p in files] == ["pareto.png", "vs_hardware.png", "vs_compression.prune.density.png",
                                       "vs_compression.quantize.bits.png"]
    again = plot_pareto(df, spec.objectives, spec.constraints, tmp_path / "again.png", spec.axes)
    assert again.read_bytes() == (tmp_path / "pareto.png").read_bytes()
    assert not list(tmp_path.glob(".*"))  # no temporary files left


def test_storage_figure():
    from sim.compression.plots import storage_figure
    stages = pd.read_csv(EXAMPLES / "compression" / "lenet300-deepcomp" / "compression.csv")
    fig = storage_figure(stages, "lenet300", "lenet300-deepcomp")
    check_readable(fig)
    assert _suptitle(fig).startswith("lenet300: storage by stage")
    assert "kB" in " ".join(t.get_text() for t in fig.axes[0].get_yticklabels())


def test_lottery_figure():
    from sim.compression.plots import lottery_figure
    summary = pd.read_csv(EXAMPLES / "compression" / "lenet300-lth" / "lth_summary.csv")
    fig = lottery_figure(summary, "lenet300", "lenet300-lth")
    check_readable(fig)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    assert "lenet300" in _suptitle(fig)


@pytest.fixture(scope="module")
def event_run():
    from sim.hardware import load_hardware
    from sim.run import cost, prepare
    from sim.workload.load import network_from_dict
    net = network_from_dict({
        "version": 1, "name": "tiny", "input_shape": [2, 8, 8], "input_density": 0.6, "seed": 3,
        "layers": [{"name": "conv1", "type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1,
                    "weight_density": 0.5},
                   {"name": "relu1", "type": "relu"}, {"name": "flatten", "type": "flatten"},
                   {"name": "fc1", "type": "fc", "out_features": 10, "weight_density": 0.3}]}, "tiny.yaml")
    ex = prepare(net, batch=1, seed=0)
    return {name: cost(load_hardware(ROOT / "hwconfigs" / f"{name}.yaml"), ex, "event") for name in ("sonic", "eie")}


@pytest.mark.parametrize("design, layer", [("sonic", "fc1"), ("eie", "conv1")])
def test_timeline_figure(event_run, design, layer):
    from sim.report.timeline import layer_timeline
    result = event_run[design]
    df, fig = layer_timeline(result, layer)
    check_readable(fig)
    ax = fig.axes[0]
    assert re.fullmatch(r"time \([nµm]?s\)", ax.get_xlabel())
    assert _suptitle(fig) == f"tiny on {design}: layer {layer}"
    assert len(ax.get_yticks()) == df["component"].nunique() > 0


def test_engine_timeline_does_not_import_report():
    assert not [m for m in _imports(ROOT / "sim" / "engine" / "timeline.py") if "report" in m]


@pytest.mark.parametrize("design", ["sonic", "eie"])
def test_run_figure(event_run, design):
    from sim.report.run_figure import run_figure
    fig = run_figure(event_run[design])
    check_readable(fig)
    assert _suptitle(fig) == f"tiny on {design}: batch 1"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list(event_run[design].layers["layer"])
