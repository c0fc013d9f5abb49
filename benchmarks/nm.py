"""A 2:4 model on a dense systolic array and in sparse-tensor-core mode; accuracy through N:M pruning.

    python benchmarks/nm.py [--out reports/examples/numerics] [--batch 64]

Writes ``nm_cycles.csv``: per model (dense LeNet-300-100, its 2:4 retrained version), array size
(256x256 TPU-like, 32x32) and mode (``dense``; ``sparse_tc``: ``pe_array.structured_sparsity``
2:4), the total and compute cycles of the event model and of the analytical bound, and the
weight storage (the N:M format: 2 value slots + 2-bit positions per group of 4). And
``nm_accuracy.csv``: test accuracy of the dense model, after one-shot 2:4 magnitude pruning, and
after retraining with the mask fixed (models/lenet300-2of4.yaml). And ``packing.csv``: the float
model and its linear int8 / int4 quantizations on a 32x32 int8 array (as is, with sub-word
parallelism 2, and with a 4-bit datapath): weight storage, DRAM bytes, compute cycles, accuracy.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STC = ["pe_array.structured_sparsity.n=2", "pe_array.structured_sparsity.m=4"]


def main(argv=None) -> int:
    from sim.compression.nm import nm_masks
    from sim.compression.prune import apply_masks
    from sim.hardware import load_hardware
    from sim.run import cost, prepare
    from sim.workload.data import inputs_for
    from sim.workload.load import load_network
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "reports" / "examples" / "numerics"))
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for m in ("lenet300", "lenet300-2of4"):
        ex = prepare(load_network(ROOT / "models" / f"{m}.yaml"), batch=args.batch)
        for size in (256, 32):
            for mode, sets in (("dense", []), ("sparse_tc", STC)):
                hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml",
                                   [f"pe_array.rows={size}", f"pe_array.cols={size}"] + sets)
                row = {"model": m, "array": f"{size}x{size}", "mode": mode, "batch": args.batch}
                for engine in ("event", "analytical"):
                    r = cost(hw, ex, engine=engine)
                    row[f"{engine}_cycles"] = int(r.summary["cycles"][0])
                    row[f"{engine}_compute_cycles"] = int(r.layers["compute_cycles"].sum())
                row["weight_storage_bytes"] = int(r.summary["weight_storage_bytes"][0])
                row["accuracy"] = float(r.summary["accuracy"][0])
                rows.append(row)
    cycles = pd.DataFrame(rows)
    cycles.to_csv(out / "nm_cycles.csv", index=False)
    print(cycles.to_string(index=False))

    dense = load_network(ROOT / "models" / "lenet300.yaml")
    x, y = inputs_for(dense, "test")
    one_shot = apply_masks(dense, nm_masks(dense, 2, 4))
    retrained = load_network(ROOT / "models" / "lenet300-2of4.yaml")

    def acc(net):
        return float(np.mean(np.argmax(_logits(net, x), axis=1) == y))

    table = pd.DataFrame([{"stage": "dense", "weights_kept_fraction": 1.0, "accuracy": acc(dense)},
                          {"stage": "2:4 one-shot", "weights_kept_fraction": one_shot.weight_nnz / one_shot.weight_count,
                           "accuracy": acc(one_shot)},
                          {"stage": "2:4 retrained", "weights_kept_fraction":
                           retrained.weight_nnz / retrained.weight_count, "accuracy": acc(retrained)}])
    table.to_csv(out / "nm_accuracy.csv", index=False)
    print(table.to_string(index=False))

    # Packing: the float model and its linear int4 / int8 quantizations on the int8 array.
    from sim.compression.quantize import quantize_network
    rows = []
    for label, net in (("float32", dense), ("linear int8", quantize_network(dense, "linear", 8)),
                       ("linear int4", quantize_network(dense, "linear", 4))):
        ex = prepare(net.replace(name=f"lenet300-{label.replace(' ', '-')}"), batch=args.batch)
        for sets in ([], ["pe_array.subword_parallelism=2"], ["pe_array.weight_bits=4"]):
            hw = load_hardware(ROOT / "hwconfigs" / "systolic.yaml", ["pe_array.rows=32", "pe_array.cols=32"] + sets)
            r = cost(hw, ex, engine="analytical")
            rows.append({"model": label, "design": "systolic 32x32 " + (" ".join(sets) or "int8"),
                         "weight_storage_bytes": int(r.summary["weight_storage_bytes"][0]),
                         "dram_bytes": int(r.layers["dram_bytes"].sum()),
                         "compute_cycles": int(r.layers["compute_cycles"].sum()),
                         "model_accuracy": float(r.summary["model_accuracy"][0]),
                         "accuracy": float(r.summary["accuracy"][0])})
    packing = pd.DataFrame(rows)
    packing.to_csv(out / "packing.csv", index=False)
    print(packing.to_string(index=False))
    return 0


def _logits(net, x):
    from sim.engine.execute import execute
    return execute(net, x)[0]


if __name__ == "__main__":
    raise SystemExit(main())
