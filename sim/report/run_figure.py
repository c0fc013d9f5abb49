"""The figure of one run (``sim.run(...).plot()``): per layer, cycles beside the roofline bound and
energy split by component."""
from __future__ import annotations

import numpy as np

TOP_COMPONENTS = 7  # the rest of the components are drawn as one "other" segment


def run_figure(result):
    """Two panels over the layers of ``result`` (a ``sim.run.Result``): cycles with the bound
    they cannot beat, and energy (pJ) stacked by component (the largest ``TOP_COMPONENTS``)."""
    from matplotlib.figure import Figure

    layers = result.layers
    names = layers["layer"].astype(str).tolist()
    x = np.arange(len(names))
    s = result.summary.iloc[0]
    fig = Figure(figsize=(max(8.0, 0.5 * len(names) + 6), 4.8))
    ax_c, ax_e = fig.subplots(1, 2)
    ax_c.bar(x, layers["cycles"].to_numpy(float), color="tab:blue", label="simulated")
    ax_c.plot(x, layers["bound_cycles"].to_numpy(float), "_", ms=14, mew=2, color="black",
              label="roofline bound")
    ax_c.set_ylabel("cycles")
    ax_c.set_title("cycles per layer")
    ax_c.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    energy = result.energy.pivot_table(index="layer", columns="component", values="energy_pj", aggfunc="sum",
                                       fill_value=0.0).reindex(names, fill_value=0.0)
    order = energy.sum().sort_values(ascending=False).index.tolist()
    top, rest = order[:TOP_COMPONENTS], order[TOP_COMPONENTS:]
    bottom = np.zeros(len(names))
    for comp in top:
        vals = energy[comp].to_numpy(float)
        ax_e.bar(x, vals, bottom=bottom, label=comp)
        bottom += vals
    if rest:
        ax_e.bar(x, energy[rest].sum(axis=1).to_numpy(float), bottom=bottom, label="other", color="0.7")
    ax_e.set_ylabel("energy (pJ)")
    ax_e.set_title("energy per layer by component")
    ax_e.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    for ax in (ax_c, ax_e):
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=8)
        ax.set_xlabel("layer")
    fig.suptitle(f"{s['model']} on {s['hwconfig']} (batch {int(s['batch'])})")
    fig.tight_layout()
    return fig
