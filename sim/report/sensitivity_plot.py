"""Tornado chart of a one-at-a-time sensitivity result (on the shared style: no pyplot)."""
from __future__ import annotations

import os

import numpy as np

from . import style

LABELS = {"fps_per_w": "FPS/W", "energy_per_inference_pj": "energy per inference", "accuracy": "accuracy"}


def _stem(path: str) -> str:
    return "+".join(os.path.splitext(os.path.basename(p))[0] for p in str(path).split("+"))


def tornado(res, metric: str = "fps_per_w", top: int = 22):
    """Horizontal bars, largest swing on top: the change (%) of ``metric`` at the low and high end of
    each assumption's range; with an ``against`` design, of the ratio of the two designs' metric, and
    a dashed line where the comparison flips (ratio = 1)."""
    t = res.table[res.table["status"] == ""].copy()
    ratio = res.against is not None and f"{metric}_ratio_change_pct" in t
    col = f"{metric}_ratio_change_pct" if ratio else f"{metric}_change_pct"
    t["label"] = [f"{_stem(d)}: {k}" for d, k in zip(t["design"], t["key"])]
    piv = t.pivot_table(index="label", columns="end", values=col, aggfunc="first")
    for end in ("low", "high", "switch"):
        if end not in piv:
            piv[end] = np.nan
    ranges = {lab: " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in grp["value"])
              for lab, grp in t.groupby("label")}
    order = piv.abs().max(axis=1).sort_values(ascending=True).index[-top:]
    piv = piv.loc[order].fillna(0.0)
    fig, axes = style.figure(size=(10, 0.36 * len(order) + 2.2))
    ax = axes[0, 0]
    y = np.arange(len(order))
    ax.barh(y, piv["low"], color="#4c72b0", label="low end of range")
    ax.barh(y, piv["high"], color="#dd8452", alpha=0.85, label="high end of range")
    if piv["switch"].abs().sum() > 0:
        ax.barh(y, piv["switch"], color="#55a868", label="accounting switch")
    ax.set_yticks(y, [f"{lab}  [{ranges[lab]}]" for lab in order], fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    name = LABELS.get(metric, metric)
    if ratio:
        base = res.baseline[metric] / res.against[metric]
        flip = (1 / base - 1) * 100
        lo, hi = ax.get_xlim()
        if lo <= flip <= hi:
            ax.axvline(flip, color="crimson", ls="--", lw=1, label="comparison flips (ratio = 1)")
        ax.set_xlabel(f"change of the {name} ratio {_stem(res.hwconfig)} / {_stem(res.against_name)} "
                      f"(baseline {base:.3g}x), %")
    else:
        ax.set_xlabel(f"change of {name} vs the config's own values, %")
    style.title(fig, style.model_name(res.model), _stem(res.hwconfig), f"sensitivity of {name} to each ASSUMPTION")
    style.legend_below(fig, axes)
    return style.finish(fig)
