"""Sampled against full execution, on models both can run: total cycles and energy per design, and
each sampled layer's effectual MACs with its 95% interval (issue 13's check: totals within 2%,
per-layer effectual MACs within 5%, the interval covering the full value).

    python benchmarks/sampled.py                          # AlexNet and VGG-16, batch 1, 4 designs
    python benchmarks/sampled.py --models models/alexnet.yaml --batch 4 --seeds 0 1 2

Prints one table per model (Markdown). Set SIM_MEMORY_LIMIT_MB when other work holds memory.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGNS = ["systolic", "eie", "sonic", "crosslight"]


def main(argv=None) -> int:
    from sim.run import prepare, summarize

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["models/alexnet.yaml", "models/vgg16.yaml"])
    ap.add_argument("--designs", nargs="+", default=DESIGNS)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0], help="seeds of the sample (and of the inputs)")
    args = ap.parse_args(argv)
    for model in args.models:

        for seed in args.seeds:
            t0 = time.perf_counter()
            full = prepare(str(ROOT / model), batch=args.batch, seed=seed, execute="full")
            t1 = time.perf_counter()
            samp = prepare(str(ROOT / model), batch=args.batch, seed=seed, execute="sampled")
            t2 = time.perf_counter()
            print(f"\n### {Path(model).stem}, batch {args.batch}, seed {seed} "
                  f"(execution: full {t1 - t0:.1f} s, sampled {t2 - t1:.1f} s)\n")
            print("| layer | fraction | effectual MACs full | sampled | error | 95% interval | covers |")
            print("|---|---:|---:|---:|---:|---|---|")
            for f, s in zip(full.profile.layers, samp.profile.layers):
                if getattr(s, "sampled", False):
                    lo, hi = s.effectual_ci
                    err = (s.effectual_macs - f.effectual_macs) / max(f.effectual_macs, 1)
                    print(f"| {s.name} | {s.sample_fraction:.4f} | {f.effectual_macs:,} | {s.effectual_macs:,} | "
                          f"{err:+.3%} | [{lo:,}, {hi:,}] | {'yes' if lo <= f.effectual_macs <= hi else 'NO'} |")
            print("\n| design | cycles full | sampled | error | energy/inference full (pJ) | sampled | error |")
            print("|---|---:|---:|---:|---:|---:|---:|")
            for d in args.designs:
                hw = str(ROOT / "hwconfigs" / f"{d}.yaml")
                a, b = summarize(hw, full).iloc[0], summarize(hw, samp).iloc[0]
                ec = (b["cycles"] - a["cycles"]) / a["cycles"]
                ee = (b["energy_per_inference_pj"] - a["energy_per_inference_pj"]) / a["energy_per_inference_pj"]
                print(f"| {d} | {int(a['cycles']):,} | {int(b['cycles']):,} | {ec:+.3%} | "
                      f"{a['energy_per_inference_pj']:.4g} | {b['energy_per_inference_pj']:.4g} | {ee:+.3%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
