"""Benchmark design-space sweeps: points per minute with 1 and 2 local workers, per engine.

    python benchmarks/sweep.py [--points 1000] [--workers 1,2] [--engines analytical,event]
                               [--hardware sonic|systolic]

A hardware-only sweep over LeNet-300-100 (the trained digits model): one execution, reused by
every point. Each (engine, workers) case runs in a fresh Python process into an empty folder, so
it pays what a user's ``python -m sim sweep`` pays after start-up: the worker processes, one
execution per worker, every point, and the fsync of every appended chunk. Interpreter start-up
and imports, and the reports (pareto.csv, plots), are left out. Prints CSV (engine, workers,
points, seconds, points_per_minute, cpu_s, cores_busy, points_per_cpu_minute) and the 1 -> N
worker scaling. cpu_s is the CPU time of the case and its workers (reports excluded, approximately):
cores_busy = cpu_s / seconds shows whether the workers got their cores, which they do not when
other jobs load the machine; points_per_cpu_minute is the cost per point independent of that.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

AXES = {  # 10 values each: up to 1,000 points; --points takes the first N of the grid
    "sonic": {
        "photonic.fc_units.count": [1, 2, 4, 6, 8, 10, 12, 16, 20, 32],
        "photonic.fc_units.vector_width": [10, 20, 25, 30, 40, 50, 64, 75, 100, 128],
        "clock_ghz": [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0],
    },
    "systolic": {
        "pe_array.rows": [4, 8, 16, 24, 32, 48, 64, 96, 128, 256],
        "pe_array.cols": [4, 8, 16, 24, 32, 48, 64, 96, 128, 256],
        "clock_ghz": [0.3, 0.5, 0.7, 0.9, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0],
    },
}

CASE = """
import json, resource, sys
sys.path.insert(0, {root!r})
from sim.sweep import load_spec, run_sweep

def cpu_s():
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))

spec = load_spec({spec!r})
cpu0 = cpu_s()
out = run_sweep(spec, {out!r}, workers={workers}, limit={points}, progress=False, plots=False)
print(json.dumps({{"computed": out.computed, "errors": out.errors, "seconds": out.compute_s,
                  "cpu_s": cpu_s() - cpu0}}))
"""


def write_spec(folder: str, hardware: str, engine: str) -> str:
    spec = {"version": 1, "name": f"bench-{hardware}-{engine}",
            "hardware": os.path.join(ROOT, "hwconfigs", f"{hardware}.yaml"),
            "model": os.path.join(ROOT, "models", "lenet300.yaml"),
            "engine": engine, "grid": AXES[hardware]}
    path = os.path.join(folder, f"{hardware}-{engine}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(spec, f, sort_keys=False)
    return path


def run_case(spec: str, out: str, workers: int, points: int) -> dict:
    code = CASE.format(root=ROOT, spec=spec, out=out, workers=workers, points=points)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--points", type=int, default=1000, help="points per case (default 1000, at most 1000)")
    p.add_argument("--workers", default="1,2", help="comma-separated worker counts (default 1,2)")
    p.add_argument("--engines", default="analytical,event", help="engines to time (default analytical,event)")
    p.add_argument("--hardware", choices=sorted(AXES), default="sonic", help="base design (default sonic)")
    args = p.parse_args(argv)
    workers = [int(w) for w in args.workers.split(",")]
    engines = args.engines.split(",")
    print(f"# cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f} (other work on the machine "
          "slows every case)")
    print("engine,workers,points,errors,seconds,points_per_minute,cpu_s,cores_busy,points_per_cpu_minute")
    with tempfile.TemporaryDirectory(prefix="sim-sweep-bench-") as tmp:
        for engine in engines:
            spec = write_spec(tmp, args.hardware, engine)
            run_case(spec, os.path.join(tmp, f"warmup-{engine}"), 1, 5)  # numba's on-disk cache, file caches
            rates = {}
            for w in workers:
                r = run_case(spec, os.path.join(tmp, f"{engine}-{w}"), w, args.points)
                rates[w] = 60.0 * r["computed"] / r["seconds"]
                print(f"{engine},{w},{r['computed']},{r['errors']},{r['seconds']:.2f},{rates[w]:.0f},"
                      f"{r['cpu_s']:.2f},{r['cpu_s'] / r['seconds']:.2f},{60.0 * r['computed'] / r['cpu_s']:.0f}",
                      flush=True)
            if len(workers) > 1:
                lo, hi = min(workers), max(workers)
                print(f"# {engine}: {hi} vs {lo} workers: {rates[hi] / rates[lo]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
