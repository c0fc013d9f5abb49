"""Training speed: today's fixed-order numba products vs the BLAS-based trainer they replaced.

    python benchmarks/training.py [--epochs N] [--repeat N] [--baseline REV]

Trains LeNet-300-100 (64-300-100-10) and LeNet-5 (the 8x8-digits variant) on scikit-learn's
digits, seed 0, Adam, batch 60, validation every 10 iterations (the recipes' settings), with
this checkout's ``sim`` and with the ``sim`` of ``--baseline`` (default: the last commit before
issue 19, whose products went to OpenBLAS on one thread via threadpoolctl). Both run in fresh
subprocesses, alternated, in the same run; each time is the best of ``--repeat`` runs of
``train()`` after one warm-up epoch (numba compilation and caches excluded). Prints a table:
model, iterations, ms per iteration before and after, and the ratio after / before.

The baseline's ``sim/`` is taken with ``git archive`` into a temporary folder, so this needs the
repository's history.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BASELINE = "d6d6ed9"  # main before issue 19: BLAS float32 products, numpy reductions, libm exp/log
MODELS = ("models/lenet300.yaml", "models/lenet5-digits.yaml")

WORKER = r"""
import json, sys, time
from sim.compression.models_io import load_architecture
from sim.compression.pipeline import SplitData
from sim.compression.train import TrainConfig, init_weights, train
from sim.workload.data import load_dataset
model, epochs = sys.argv[1], int(sys.argv[2])
arch = load_architecture(model)
data = SplitData(arch, load_dataset("digits"))
net = init_weights(arch, 0)
train(net, data.train, TrainConfig(epochs=1, eval_every=10), seed=0)  # warm-up: compile / load caches
t0 = time.perf_counter()
res = train(net, data.train, TrainConfig(epochs=epochs, eval_every=10), seed=0)
dt = time.perf_counter() - t0
T = sys.modules["sim.compression.train"]
print(json.dumps({"where": T.__file__, "seconds": dt, "iterations": res.iterations, "val_accuracy": res.val_accuracy}))
"""


def _run(sim_root: str, model: str, epochs: int) -> dict:
    env = dict(os.environ, PYTHONPATH=sim_root)
    out = subprocess.run([sys.executable, "-c", WORKER, os.path.join(ROOT, model), str(epochs)],
                         cwd=sim_root, env=env, capture_output=True, text=True)  # python -c puts cwd first on sys.path
    if out.returncode:
        raise SystemExit(f"training run with sim from {sim_root} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["where"].startswith(os.path.realpath(sim_root)):
        raise SystemExit(f"imported sim from {result['where']}, expected {sim_root}")
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="epochs timed per run (default 10: 210 iterations)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per implementation; the best is kept (default 3)")
    ap.add_argument("--baseline", default=BASELINE, help=f"git revision of the BLAS trainer (default {BASELINE})")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(["git", "-C", ROOT, "archive", args.baseline, "sim"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        print(f"# baseline {args.baseline} (BLAS: OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'auto')}, "
              f"1 thread) vs this checkout; best of {args.repeat} x {args.epochs} epochs")
        print(f"{'model':28} {'iterations':>10} {'before ms/it':>13} {'after ms/it':>12} {'ratio':>6}"
              f" {'before val acc':>14} {'after val acc':>13}")
        for model in MODELS:
            before, after = [], []
            for _ in range(args.repeat):
                before.append(_run(tmp, model, args.epochs))
                after.append(_run(os.path.abspath(ROOT), model, args.epochs))
            b = min(before, key=lambda r: r["seconds"])
            a = min(after, key=lambda r: r["seconds"])
            b_ms, a_ms = 1e3 * b["seconds"] / b["iterations"], 1e3 * a["seconds"] / a["iterations"]
            print(f"{model:28} {a['iterations']:>10} {b_ms:>13.3f} {a_ms:>12.3f} {a_ms / b_ms:>6.2f}"
                  f" {b['val_accuracy']:>14.4f} {a['val_accuracy']:>13.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
