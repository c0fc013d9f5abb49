"""Big models in bounded time and memory: one table of wall time, CPU seconds, peak RSS and the
execution mode sim chose, per case; with SCALE-Sim's CPU time on ResNet-18 and GPT-2 as a ratio
when a side venv has ``scalesim`` (``/work/venv-scalesim`` or ``--scalesim-python``).

    python benchmarks/scale.py                  # every case
    python benchmarks/scale.py --only lenet resnet18-csv --timeout 300
    python benchmarks/scale.py --before c14cd26      # the same table for an older commit

Each case is one fresh ``python -m sim run`` process (so start-up, imports and warm numba caches
count, as a user sees them), measured with ``os.wait4``: CPU = user + system seconds of that
process, peak RSS = its ``ru_maxrss``. A case that passes ``--timeout`` is killed and reported as such.
The topologies in benchmarks/topologies/ are SCALE-Sim v3's (scalesim-project/scale-sim-v3, data).
"""
from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOPO = ROOT / "benchmarks" / "topologies"
SYSTOLIC_32 = ["hwconfigs/systolic.yaml", "--set", "pe_array.rows=32", "--set", "pe_array.cols=32",
               "--set", "pe_array.dataflow=os"]

# name -> (sim run arguments, SCALE-Sim topology and input type or None)
CASES = {
    "lenet": (["hwconfigs/sonic.yaml"], None),
    "vgg16-b1": (["hwconfigs/systolic.yaml", "--model", "models/vgg16.yaml"], None),
    "vgg16-b8": (["hwconfigs/systolic.yaml", "--model", "models/vgg16.yaml", "--batch", "8"], None),
    "resnet18-b1": (["hwconfigs/systolic.yaml", "--model", "models/resnet18.yaml"], None),
    "resnet18-b8": (["hwconfigs/systolic.yaml", "--model", "models/resnet18.yaml", "--batch", "8"], None),
    "resnet50-b1": (["hwconfigs/systolic.yaml", "--model", "models/resnet50.yaml"], None),
    "resnet50-b8": (["hwconfigs/systolic.yaml", "--model", "models/resnet50.yaml", "--batch", "8"], None),
    "resnet18-csv": (SYSTOLIC_32 + ["--model", str(TOPO / "Resnet18.csv")], (TOPO / "Resnet18.csv", "conv")),
    "gpt2-csv": (SYSTOLIC_32 + ["--model", str(TOPO / "gpt2.csv")], (TOPO / "gpt2.csv", "gemm")),
    "llama3b-csv": (["hwconfigs/systolic.yaml", "--model", str(TOPO / "llama3b.csv")], None),
    "vit-l-csv": (["hwconfigs/systolic.yaml", "--model", str(TOPO / "vit_l.csv")], None),
}

# SCALE-Sim v3 config matching sim's `hwconfigs/systolic.yaml` at 32x32 os: SRAM sizes are its weight FIFO
# (filter, 256 KiB), unified buffer (ifmap, 24 MiB) and accumulators (ofmap, 4 MiB). Stall-free compute
# cycles do not depend on them. v3 reads [layout] and the request buffers unconditionally.
SCALESIM_CFG = """[general]
run_name = bench_32x32_os

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:   24576
FilterSramSzkB:  256
OfmapSramSzkB:   4096
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : os
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport : false

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""


def measure(cmd: list[str], timeout_s: float, env=None, cwd=ROOT) -> dict:
    """Wall s, CPU s and peak RSS (MB) of one child process; stderr kept for the mode line."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        status, usage = None, None
        while status is None:
            pid, st, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                status, usage = st, ru
                break
            if time.perf_counter() - start > timeout_s:
                proc.kill()
                _, st, ru = os.wait4(proc.pid, 0)
                proc.returncode = -9
                status, usage = "timeout", ru
                break
            time.sleep(0.05)
        err.seek(0)
        text = err.read()
    mode = re.search(r"^execute: (\w+)", text, re.M)
    ok = status != "timeout" and os.waitstatus_to_exitcode(status) == 0
    return {"wall_s": time.perf_counter() - start, "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "mode": mode.group(1) if mode else "-",
            "status": "ok" if ok else ("timeout" if status == "timeout" else f"exit {os.waitstatus_to_exitcode(status)}"),
            "stderr": text}


def scalesim_cpu(python: str, topology: Path, kind: str, timeout_s: float) -> dict:
    """SCALE-Sim's measurement, plus ``cycles``: its per-layer stall-free compute cycles (COMPUTE_REPORT's
    "Total Cycles" is the 0-based index of the last cycle, so + 1)."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.cfg"
        cfg.write_text(SCALESIM_CFG)
        m = measure([python, "-m", "scalesim.scale", "-c", str(cfg), "-t", str(topology), "-p", tmp,
                     "-l", str(topology), "-i", kind], timeout_s)
        reports = list(Path(tmp).rglob("COMPUTE_REPORT.csv"))
        m["cycles"] = []
        if reports:
            with open(reports[0], newline="") as f:
                m["cycles"] = [int(float(r[" Total Cycles" if " Total Cycles" in r else "Total Cycles"])) + 1
                               for r in csv.DictReader(f)]
        return m


def sim_compute_cycles(out_dir: str) -> list[int]:
    """sim's per-layer compute_cycles (layers.csv) of a finished run."""
    path = Path(out_dir) / "layers.csv"
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return [int(float(r["compute_cycles"])) for r in csv.DictReader(f)]


def cycles_match(sim_cycles: list[int], peer_cycles: list[int]) -> str:
    if not peer_cycles or len(sim_cycles) != len(peer_cycles):
        return f"layers {len(sim_cycles)} vs {len(peer_cycles)}"
    same = sum(a == b for a, b in zip(sim_cycles, peer_cycles))
    return f"{same}/{len(peer_cycles)} layers identical" + ("" if same == len(peer_cycles) else
                                                           f", total {sum(sim_cycles)} vs {sum(peer_cycles)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=list(CASES), help="run only these cases")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case (default 600)")
    ap.add_argument("--scalesim-python", default="/work/venv-scalesim/bin/python",
                    help="python of a venv with scalesim installed (skipped if absent)")
    ap.add_argument("--before", metavar="GIT_REF",
                    help="run sim from a temporary `git worktree` of GIT_REF, with that commit's hwconfigs and models "
                         "(those it lacks from this checkout)")
    ap.add_argument("--no-scalesim", action="store_true", help="do not run SCALE-Sim")
    ap.add_argument("--warmup", action="store_true",
                    help="run each case once, untimed, before measuring it (warm numba cache and page cache)")
    args = ap.parse_args(argv)
    code = ROOT
    if args.before:
        code = Path(tempfile.mkdtemp(prefix="scale-before-")) / "wt"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(code), args.before], check=True,
                       stdout=subprocess.DEVNULL)
    env = dict(os.environ, PYTHONPATH=str(code))
    rev = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    print(f"sim {rev}  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  nproc {os.cpu_count()}  "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (start)")
    have_scalesim = not args.no_scalesim and shutil.which(args.scalesim_python) is not None
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for name in args.only or CASES:
            sim_args, peer = CASES[name]
            # -P: the working directory is not put on sys.path, so PYTHONPATH picks the code measured
            # An older commit reads its own hwconfigs and models (their schema may differ); files it lacks come from here.
            sim_args = [a if not a.endswith((".yaml", ".csv")) or (code / a).exists() else str(ROOT / a) for a in sim_args]
            cmd = [sys.executable, "-P", "-m", "sim", "run", *sim_args, "-o", os.path.join(out, name)]
            if args.warmup:
                measure(cmd[:-1] + [os.path.join(out, name + "-warmup")], args.timeout, env, code)
            m = measure(cmd, args.timeout, env, code)
            ratio = cycles = ""
            if peer and have_scalesim:
                s = scalesim_cpu(args.scalesim_python, *peer, args.timeout)
                ratio = f"{s['cpu_s']:.1f} s ({s['cpu_s'] / max(m['cpu_s'], 1e-9):.0f}x)" if s["status"] == "ok" \
                    else s["status"]
                cycles = cycles_match(sim_compute_cycles(os.path.join(out, name)), s["cycles"])
            rows.append((name, m, ratio, cycles))
            print(f"{name}: {m['status']} {m['wall_s']:.1f} s", file=sys.stderr, flush=True)
    if args.before:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(code)], check=False)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (end)")
    print("| case | wall s | CPU s | peak RSS MB | mode | status | SCALE-Sim CPU s (ratio) | stall-free cycles vs SCALE-Sim |")
    print("|---|---:|---:|---:|---|---|---|---|")
    for name, m, ratio, cycles in rows:
        print(f"| {name} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['peak_rss_mb']:.0f} | {m['mode']} | "
              f"{m['status']} | {ratio} | {cycles} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
