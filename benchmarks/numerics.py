"""Accuracy on each design's arithmetic, and SONIC's accuracy against converter resolution and SNR.

    python benchmarks/numerics.py [--out reports/examples/numerics]

On the trained digits models (models/lenet300*.yaml, models/lenet5-digits.yaml) writes:

- ``designs.csv``: per (model, design) ``model_accuracy`` (the float network as given) and
  ``accuracy`` (on the design's numerics and non-idealities), and the mean per-layer relative
  RMS output error;
- ``systolic_bits.csv``: accuracy on the systolic array with its weight or activation width at
  2-8 bits (the other at 8);
- ``sonic_sweeps.csv`` + ``sonic_sweeps.png``: SONIC accuracy vs ADC bits (4-16), weight-DAC
  bits (2-8) and photodetector sensitivity (the received power per wavelength the link budget
  sizes the VCSELs/laser for; its laser power per waveguide is a column). Each sweep runs twice:
  ``isolated`` (only the swept non-ideality on, so high precision must give the float
  accuracy) and ``all`` (every other non-ideality at SONIC's defaults).

Only the numerics pass runs per point (``sim.run.numerics_of_design``): cycles and energy do
not depend on these fields, so the point is not re-simulated.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("lenet300", "lenet300-sonic", "lenet300-ticket", "lenet300-dc", "lenet5-digits")
DESIGNS = ("systolic", "eie", "sonic", "crosslight", "eyeriss", "sparse_systolic")
NOISES = ("shot_noise", "thermal_noise", "crosstalk", "thermal_drift", "dac_quantization", "adc_quantization")


def only(*names: str) -> list[str]:
    """--set assignments that switch on only ``names`` among SONIC's non-idealities."""
    return [f"numerics.noise.{n}.enabled={'true' if n in names else 'false'}" for n in NOISES]


def sweeps():
    """(sweep, value column, values, assignments(value), which noises the isolated run keeps)."""
    return [
        ("adc_bits", range(4, 17), lambda v: [f"photonic.adc.bits={v}"], ("adc_quantization",)),
        ("weight_dac_bits", range(2, 9), lambda v: [f"photonic.weight_dac.bits={v}"], ("dac_quantization",)),
        ("pd_sensitivity_dbm", range(-45, 1, 5), lambda v: [f"photonic.optics.pd_sensitivity_dbm={v}"],
         ("shot_noise", "thermal_noise")),
    ]


def main(argv=None) -> int:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.engine.noise import laser_dbm
    from sim.engine.numerics import numerics_of
    from sim.hardware import load_hardware
    from sim.run import numerics_of_design, prepare
    from sim.workload.load import load_network

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "examples" / "numerics"))
    ap.add_argument("--models", nargs="+", default=list(MODELS))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    execs = {m: prepare(load_network(ROOT / "models" / f"{m}.yaml")) for m in args.models}
    rows = []
    for m, ex in execs.items():
        for d in DESIGNS:
            hw = load_hardware(ROOT / "hwconfigs" / f"{d}.yaml")
            dn = numerics_of_design(hw, ex)
            rows.append({"model": m, "hwconfig": d, "model_accuracy": ex.accuracy, "accuracy": dn.accuracy,
                         "mean_output_error_rms": float(np.mean(dn.layer_errors))})
    designs = pd.DataFrame(rows)
    designs.to_csv(out / "designs.csv", index=False)
    print(designs.to_string(index=False))

    rows = []  # the int8 array at narrower widths: a float model on weight_bits=4 now pays for it
    for m, ex in execs.items():
        for bits in range(2, 9):
            for which in ("weight_bits", "act_bits"):
                hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml", [f"pe_array.{which}={bits}"])
                rows.append({"model": m, "field": f"pe_array.{which}", "bits": bits, "model_accuracy": ex.accuracy,
                             "accuracy": numerics_of_design(hw, ex).accuracy})
    bits_table = pd.DataFrame(rows)
    bits_table.to_csv(out / "systolic_bits.csv", index=False)
    print(bits_table.pivot_table(index="bits", columns=["field", "model"], values="accuracy").round(4).to_string())

    rows = []
    sonic = ROOT / "hwconfigs" / "sonic.yaml"
    for m in ("lenet300-sonic", "lenet5-digits"):
        if m not in execs:
            continue
        ex = execs[m]
        for sweep, values, assign, isolated in sweeps():
            for v in values:
                for mode, sets in (("isolated", only(*isolated)), ("all", [])):
                    hw = load_hardware(sonic, assign(v) + sets)
                    dn = numerics_of_design(hw, ex)
                    rows.append({"model": m, "sweep": sweep, "value": v, "mode": mode,
                                 "model_accuracy": ex.accuracy, "accuracy": dn.accuracy,
                                 "mean_output_error_rms": float(np.mean(dn.layer_errors)),
                                 "fc_laser_dbm_per_waveguide": laser_dbm(hw, numerics_of(hw),
                                                                         hw.photonic.fc_units.vector_width)})
    table = pd.DataFrame(rows)
    table.to_csv(out / "sonic_sweeps.csv", index=False)

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    labels = {"adc_bits": "ADC bits", "weight_dac_bits": "weight DAC bits",
              "pd_sensitivity_dbm": "PD sensitivity = received power per wavelength (dBm)"}
    for ax, (sweep, *_rest) in zip(axes, sweeps()):
        for (m, mode), g in table[table.sweep == sweep].groupby(["model", "mode"]):
            ax.plot(g.value, g.accuracy, marker="o", ls="-" if mode == "isolated" else "--", label=f"{m} ({mode})")
        for m in table.model.unique():
            ax.axhline(execs[m].accuracy, color="grey", lw=0.6)
        ax.set_xlabel(labels[sweep])
        ax.set_ylabel("accuracy on SONIC")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("SONIC: accuracy vs converter resolution and optical SNR (grey: float model)")
    fig.tight_layout()
    fig.savefig(out / "sonic_sweeps.png", dpi=120)
    print(table.pivot_table(index=["sweep", "value"], columns=["model", "mode"], values="accuracy").round(4).to_string())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
