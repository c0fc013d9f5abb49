"""The figure of one run (``sim.run(...).plot()``): per layer, cycles beside the roofline bound and
energy split by component (report/style.py's look)."""
from __future__ import annotations

import numpy as np

from . import style

TOP_COMPONENTS = 7  # the rest of the components are drawn as one "other" segment


def run_figure(result):
    """Two panels over the layers of ``result`` (a ``sim.run.Result``): cycles with the bound
    they cannot beat, and energy stacked by component (the largest ``TOP_COMPONENTS``)."""
    layers = result.layers
    names = layers["layer"].astype(str).tolist()
    s = result.summary.iloc[0]
    width = max(4.5, 0.28 * len(names) + 2.5)
    fig, axes = style.figure(1, 2, size=(2 * width + 2.0, 4.8))
    ax_c, ax_e = axes[0]
    x = style.categories(ax_c, names)
    cycles = layers["cycles"].to_numpy(float)
    ax_c.bar(x, np.where(cycles > 0, cycles, np.nan), color="tab:blue", label="simulated")
    ax_c.plot(x, layers["bound_cycles"].to_numpy(float), "_", ms=12, mew=2, color="black", linestyle="none",
              label="roofline bound")
    style.set_quantity(ax_c, "y", "cycles", cycles)
    ax_c.set_title("cycles per layer")
    energy = result.energy.pivot_table(index="layer", columns="component", values="energy_pj", aggfunc="sum",
                                       fill_value=0.0).reindex(names, fill_value=0.0)
    order = energy.sum().sort_values(ascending=False).index.tolist()
    top, rest = order[:TOP_COMPONENTS], order[TOP_COMPONENTS:]
    style.categories(ax_e, names)
    bottom = np.zeros(len(names))
    for i, comp in enumerate(top):
        vals = energy[comp].to_numpy(float)
        ax_e.bar(x, vals, bottom=bottom, label=comp, color=style.COLORS[i % 10])
        bottom += vals
    if rest:
        ax_e.bar(x, energy[rest].sum(axis=1).to_numpy(float), bottom=bottom, label="other", color="0.7")
        bottom += energy[rest].sum(axis=1).to_numpy(float)
    style.set_quantity(ax_e, "y", "energy_pj", bottom, log=False)  # stacked: a log axis would distort shares
    ax_e.set_title("energy per layer by component")
    for ax in (ax_c, ax_e):
        ax.set_xlabel("layer")
        ax.grid(True, axis="y", alpha=0.3)
        style.legend_right(ax, fontsize="small")
    style.title(fig, style.model_name(s["model"], result.net.source), [s["hwconfig"]], f"batch {int(s['batch'])}")
    return style.finish(fig)
