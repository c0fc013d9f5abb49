"""How much of a VGG-16 run the SimPy event model takes, and how fast it simulates.

    python benchmarks/engine.py [--hw hwconfigs/systolic.yaml ...] [--model models/vgg16.yaml] [--batch 1]

Times each stage of one run (load, execute, map + simulate, price) and prints the event model's
share of the wall time, the SimPy events it processed and events per second.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    from sim.engine.simulate import simulate
    from sim.hardware import load_hardware
    from sim.report.price import energy_table, layer_table
    from sim.run import prepare
    from sim.workload.load import load_network

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", nargs="+", default=[str(ROOT / "hwconfigs" / f"{n}.yaml")
                                                for n in ("systolic", "eie", "sonic", "crosslight")])
    ap.add_argument("--model", default=str(ROOT / "models" / "vgg16.yaml"))
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    net = load_network(args.model)
    t1 = time.perf_counter()
    ex = prepare(net, batch=args.batch, seed=0)
    t2 = time.perf_counter()
    print(f"{net.name}: load {t1 - t0:.2f} s, execute {t2 - t1:.2f} s (batch {args.batch})")
    for path in args.hw:
        hw = load_hardware(path)
        s0 = time.perf_counter()
        run = simulate(net, ex.profile, hw)
        s1 = time.perf_counter()
        energy = energy_table(run, hw)
        layer_table(run, ex.profile, energy)
        s2 = time.perf_counter()
        wall = (t2 - t0) + (s2 - s0)
        events = sum(lr.events for lr in run.layers)
        print(f"  {hw.name:11s} simulate {s1 - s0:6.2f} s = {100 * (s1 - s0) / wall:4.1f}% of the run's "
              f"{wall:.2f} s; {events} events, {events / max(s1 - s0, 1e-9):,.0f} events/s; "
              f"{run.cycles} cycles = {run.latency_s * 1e3:.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
