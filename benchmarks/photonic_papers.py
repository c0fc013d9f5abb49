"""CrossLight's Table III and SONIC's comparison with CrossLight, reproduced by sim.

    PYTHONPATH=. python benchmarks/photonic_papers.py [--out reports/examples/photonic] [--quick]

1. CrossLight's four variants (hwconfigs/crosslight-base, -base-ted, -opt, crosslight = Cross_opt_TED)
   on CrossLight's Table I models (models/crosslight-*.yaml): average EPB and kFPS/W beside Table III,
   and the ratios between consecutive variants.
2. SONIC vs CrossLight (Cross_opt_TED) on SONIC's four models (models/sonic-*.yaml) in both
   accountings of thermo-optic (TO) tuning: physics (``photonic.tuning.to_hold: continuous``, the
   heaters draw holding power for the whole run) and paper text (``to_hold: boot``, TO charged once
   at boot as CrossLight §IV.B and SONIC §IV.A describe it).
Each model executes once (real kernels, seeded synthetic weights at the stated densities) and is
costed on every design with the SimPy event model. --quick drops the two largest models.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import pandas as pd

import sim
from sim.run import cost, prepare

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = [("Cross_base", "crosslight-base"), ("Cross_base_TED", "crosslight-base-ted"),
            ("Cross_opt", "crosslight-opt"), ("Cross_opt_TED", "crosslight")]
TABLE3 = {"Cross_base": (142.35, 10.78), "Cross_base_TED": (92.64, 16.54), "Cross_opt": (75.58, 20.25),
          "Cross_opt_TED": (28.78, 52.59)}  # CrossLight Table III: avg EPB (pJ/bit), avg kFPS/W
CL_MODELS = ["crosslight-lenet5", "crosslight-cifar10", "crosslight-stl10", "crosslight-omniglot"]
SONIC_MODELS = ["sonic-mnist", "sonic-cifar10", "sonic-svhn", "sonic-stl10"]
SONIC_PAPER = (2.94, 18.4)  # SONIC §V.B: 2.94x better FPS/W, 18.4x lower EPB than CrossLight (averages)


def path(rel):
    return os.path.join(ROOT, rel)


def executions(models):
    for m in models:
        t = time.time()
        ex = prepare(sim.load_network(path(f"models/{m}.yaml")), batch=1, seed=0)
        print(f"  executed {m} in {time.time() - t:.1f} s", file=sys.stderr)
        yield m, ex


def table3(models) -> tuple[pd.DataFrame, pd.DataFrame]:
    hws = {v: sim.load_hardware(path(f"hwconfigs/{f}.yaml")) for v, f in VARIANTS}
    rows = []
    for m, ex in executions(models):
        for v, hw in hws.items():
            s = cost(hw, ex).summary.iloc[0]
            rows.append({"variant": v, "model": m, "energy_per_bit_pj": s.energy_per_bit_pj,
                         "kfps_per_w": s.fps_per_w / 1e3, "power_w": s.power_w,
                         "energy_per_inference_uj": s.energy_per_inference_pj * 1e-6})
    per_model = pd.DataFrame(rows)
    avg = per_model.groupby("variant", sort=False)[["energy_per_bit_pj", "kfps_per_w", "power_w"]].mean()
    avg["paper_epb_pj"] = [TABLE3[v][0] for v in avg.index]
    avg["paper_kfps_per_w"] = [TABLE3[v][1] for v in avg.index]
    ratios = []
    names = list(avg.index)
    for a, b in zip(names, names[1:]):
        sim_r = avg.loc[a, "energy_per_bit_pj"] / avg.loc[b, "energy_per_bit_pj"]
        pap_r = TABLE3[a][0] / TABLE3[b][0]
        ratios.append({"pair": f"{a}/{b}", "sim_epb_ratio": sim_r, "paper_epb_ratio": pap_r,
                       "sim_over_paper": sim_r / pap_r,
                       "sim_kfpsw_ratio": avg.loc[b, "kfps_per_w"] / avg.loc[a, "kfps_per_w"],
                       "paper_kfpsw_ratio": TABLE3[b][1] / TABLE3[a][1]})
    return per_model, avg.reset_index(), pd.DataFrame(ratios)


def sonic_vs_crosslight(models) -> pd.DataFrame:
    rows = []
    exs = list(executions(models))
    for mode in ("continuous", "boot"):
        hw = {n: sim.load_hardware(path(f"hwconfigs/{n}.yaml"), {"photonic.tuning.to_hold": mode})
              for n in ("sonic", "crosslight")}
        for m, ex in exs:
            s = {n: cost(h, ex).summary.iloc[0] for n, h in hw.items()}
            rows.append({"to_hold": mode, "model": m,
                         "fpsw_ratio_sonic_over_crosslight": s["sonic"].fps_per_w / s["crosslight"].fps_per_w,
                         "epb_ratio_crosslight_over_sonic": s["crosslight"].energy_per_bit_pj
                         / s["sonic"].energy_per_bit_pj,
                         # bits processed per frame, SONIC / CrossLight = EPB ratio / FPS/W ratio (sim's EPB:
                         # energy / (element slots x (weight + activation bits))); < 1 caps the EPB ratio.
                         "bits_ratio_sonic_over_crosslight": (s["crosslight"].energy_per_bit_pj
                                                              / s["sonic"].energy_per_bit_pj)
                         / (s["sonic"].fps_per_w / s["crosslight"].fps_per_w),
                         "sonic_kfps_per_w": s["sonic"].fps_per_w / 1e3,
                         "crosslight_kfps_per_w": s["crosslight"].fps_per_w / 1e3,
                         "sonic_power_w": s["sonic"].power_w, "crosslight_power_w": s["crosslight"].power_w})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="folder for the CSVs (default: print only)")
    ap.add_argument("--quick", action="store_true", help="skip the two largest models")
    args = ap.parse_args(argv)
    cl_models = CL_MODELS[:3] if args.quick else CL_MODELS
    s_models = SONIC_MODELS[:3] if args.quick else SONIC_MODELS
    pd.set_option("display.width", 160)
    pd.set_option("display.float_format", lambda x: f"{x:.3f}")
    per_model, avg, ratios = table3(cl_models)
    print("CrossLight Table III (averages over " + ", ".join(cl_models) + ")")
    print(avg.to_string(index=False))
    print("\nRatios between consecutive variants (EPB: previous / next; kFPS/W: next / previous)")
    print(ratios.to_string(index=False))
    print("\nPer model")
    print(per_model.to_string(index=False))
    svc = sonic_vs_crosslight(s_models)
    print("\nSONIC vs CrossLight (Cross_opt_TED) on SONIC's models; paper: %.2fx FPS/W, %.1fx EPB" % SONIC_PAPER)
    print(svc.to_string(index=False))
    means = svc.groupby("to_hold", sort=False)[["fpsw_ratio_sonic_over_crosslight",
                                                  "epb_ratio_crosslight_over_sonic"]].mean()
    print("\nAverages (paper: FPS/W 2.94x, EPB 18.4x)")
    print(means.to_string())
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        avg.to_csv(os.path.join(args.out, "table3.csv"), index=False)
        ratios.to_csv(os.path.join(args.out, "table3_ratios.csv"), index=False)
        per_model.to_csv(os.path.join(args.out, "table3_per_model.csv"), index=False)
        svc.to_csv(os.path.join(args.out, "sonic_vs_crosslight.csv"), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
