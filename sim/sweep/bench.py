"""ShrinkBench-style comparison of compression methods (Blalock et al. 2020), with measured hardware cost.

A spec names one model, methods, target fractions of weights kept, seeds and designs::

    version: 1
    name: lenet300-mnist
    model: ../../models/lenet300-mnist.yaml     # trained dense start (relative to the spec)
    designs: [../../hwconfigs/systolic.yaml, ../../hwconfigs/eie.yaml]
    targets: [0.5, 0.2, 0.1, 0.05]             # target_weights_kept
    seeds: [0, 1, 2]
    retrain: {epochs: 5, lr: 4.0e-4}           # fine-tuning after every method (a method may override)
    methods: [magnitude, random, gradual, snip, l1_neurons, lowrank]   # or {name: {retrain: {...}}}

Every (method, target, seed) becomes a one-stage recipe (``recipe_stages``) run by
``sim.compression.pipeline``; its compressed model is saved under ``models/`` of the output folder
(an interrupted comparison resumes from those files and the rows already in ``comparison.partial.csv``)
and executed once, then costed on every design. Jobs run on a local process pool.
"""
from __future__ import annotations

import concurrent.futures as cf
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import ConfigError
from ..yamlfile import read_yaml

METHODS = {  # name -> what the target (fraction of weights kept) becomes in one recipe stage
    "magnitude": "one-shot layer-wise magnitude pruning (Han et al. 2015), then fine-tuning",
    "random": "random pruning at magnitude's per-layer counts: the control",
    "gradual": "Zhu & Gupta's cubic schedule over 4 pruning steps with training between",
    "snip": "SNIP at initialization (one global cut), then training from that initialization",
    "l1_neurons": "Li et al.'s L1-norm filter/neuron pruning of every hidden layer, then fine-tuning",
    "supermask": "Ramanujan et al.'s edge-popup mask over frozen random weights (untrained), scores trained",
    "early_bird": "You et al.'s early-bird ticket drawn during dense training from init, then fine-tuning",
    "lowrank": "truncated SVD of every hidden fc and conv layer (conv: k x k conv to rank r, then 1x1), then fine-tuning",
    "slimming": "Liu et al.'s network slimming: BN + L1 on its scales (lambda 1e-4), global channel cut, fine-tuning",
    "nm": "N:M magnitude pruning of every layer (Mishra et al. 2021; N/M = the target: 2:4, 1:5, 1:10, 1:20), fine-tuning",
    "distill": "Hinton et al.'s distillation (weight 0.9; T by student size) into a student of l1_neurons' shape, seeded init",
    "student": "the distillation student trained alone on the labels (distill's control: same shape, init, training)",
    "qat": "magnitude pruning and fine-tuning, then linear int4 weights with quantization-aware fine-tuning",
}
QAT_BITS = 4  # qat: linear integer width of every weighted layer
COLUMNS = ["method", "target_weights_kept", "weights_kept_fraction", "seed", "accuracy", "storage_bytes", "macs",
           "effectual_macs", "hwconfig", "cycles", "latency_s", "energy_per_inference_pj", "detail",
           "theoretical_speedup", "measured_speedup", "energy_reduction"]
RECORDED = COLUMNS[:13]  # what a job records (comparison.partial.csv); the rest is derived against dense
KEY = ["method", "target_weights_kept", "seed", "hwconfig"]
SPEC = S.Record(dict, {
    "version": S.choice(1, 1), "name": S.Field("str", None), "description": S.Field("str", ""),
    "model": S.Field("str", S.REQUIRED), "dataset": S.Field("choice", None, choices=("digits", "mnist5k", "mnist")),
    "designs": S.Field("str_list", S.REQUIRED), "targets": S.Field("any", S.REQUIRED),
    "seeds": S.Field("int_list", [0], min=0), "retrain": S.Field("any", None), "train": S.Field("any", None),
    "methods": S.Field("any", S.REQUIRED), "batch": S.Field("int", 1, min=1), "notes": S.Field("any", None),
})


@dataclass(frozen=True)
class BenchSpec:
    file: str
    name: str
    model: str
    dataset: str | None
    designs: tuple
    targets: tuple
    seeds: tuple
    methods: dict  # name -> retrain mapping
    train: dict | None
    batch: int


def load_bench(path: str) -> BenchSpec:
    """Read and check a comparison spec; every problem raises one ConfigError naming the file."""
    data = read_yaml(path, "a compression-benchmark YAML")
    problems: list[str] = []
    S.check(SPEC, data, "", problems)
    rel = lambda p: os.path.normpath(os.path.join(os.path.dirname(path), str(p)))  # noqa: E731
    model = data.get("model")
    if isinstance(model, str) and not os.path.exists(rel(model)):
        problems.append(f"model: file not found: {rel(model)}")
    for i, d in enumerate(data.get("designs") or []):
        if isinstance(d, str) and not os.path.exists(rel(d)):
            problems.append(f"designs[{i}]: file not found: {rel(d)}")
    targets = data.get("targets")
    if not isinstance(targets, list) or not targets or not all(
            isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t < 1 for t in targets):
        problems.append(f"targets: must be a non-empty list of fractions of weights kept in (0, 1); got {targets!r}")
    raw = data.get("methods")
    methods = {}
    if isinstance(raw, list):
        raw = {m: None for m in raw}
    if not isinstance(raw, dict) or not raw:
        problems.append(f"methods: must be a list (or mapping to settings) of {', '.join(METHODS)}; got {raw!r}")
    else:
        for name, opts in raw.items():
            if name not in METHODS:
                problems.append(f"methods.{name}: unknown method; expected one of {', '.join(METHODS)}")
            elif opts is not None and (not isinstance(opts, dict) or set(opts) - {"retrain"}):
                problems.append(f"methods.{name}: only a retrain mapping may be given; got {opts!r}")
            else:
                methods[name] = (opts or {}).get("retrain", data.get("retrain"))
    if problems:
        raise ConfigError(path, problems)
    return BenchSpec(path, str(data.get("name") or Path(path).stem), rel(model), data.get("dataset"),
                     tuple(rel(d) for d in data["designs"]), tuple(float(t) for t in targets),
                     tuple(data.get("seeds", [0])), methods, data.get("train"), int(data.get("batch", 1)))


def unit_fraction_for(net, target: float) -> float:
    """The fraction of every hidden layer's units to keep so that about ``target`` of the weights
    stay (a layer keeps in-units x out-units of its weights), by bisection."""
    weighted = net.weighted_layers

    def kept(k: float) -> float:
        total = 0.0
        for i, lay in enumerate(weighted):
            total += lay.weight.size * (1.0 if i == 0 else k) * (1.0 if i == len(weighted) - 1 else k)
        return total / sum(lay.weight.size for lay in weighted)

    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if kept(mid) < target else (lo, mid)
    return hi


def nm_for(target: float, largest: int = 32) -> tuple[int, int]:
    """(n, m) of the N:M pattern for ``target``: the smallest m >= 4 where n = target x m is whole
    (0.5 -> 2:4, NVIDIA's; 0.2 -> 1:5; 0.1 -> 1:10), else the closest n/m with m <= ``largest``."""
    best = None
    for m in range(4, largest + 1):
        n = min(max(1, round(target * m)), m - 1)
        err = abs(n / m - target)
        if err < 1e-9:
            return n, m
        if best is None or err < best[0] - 1e-12:
            best = (err, n, m)
    return best[1], best[2]


def student_network(net, target: float):
    """Distillation's student for ``target``: ``net`` with every hidden layer's units cut by L1 norm
    to l1_neurons' fraction, so it holds about ``target`` of the weights (only its shape is used)."""
    from ..compression.structured import structured_prune

    frac = round(1.0 - unit_fraction_for(net, target), 6)
    for name in [lay.name for lay in net.weighted_layers[:-1]]:
        net, _ = structured_prune(net, name, frac, "l1", "filters")
    return net.replace(name=f"student-arch-{target:g}", accuracy=None)


def distill_temperature(student) -> float:
    """Hinton et al. 2015, Sec. 3 (MNIST): with 300 or more units in each hidden layer all T >= 8 did
    about equally well; a student radically reduced to 30 units per layer did best at T = 2.5 to 4.
    So T = 8 for a student whose hidden layers all have >= 300 units, else 3."""
    hidden = [lay.weight.shape[0] for lay in student.weighted_layers[:-1]]
    return 8.0 if min(hidden, default=300) >= 300 else 3.0


def student_file(out_dir: str, target: float) -> str:
    return os.path.join(out_dir, "models", f"student-arch-{target:g}.yaml")


def recipe_stages(method: str, target: float, net, retrain, student: str | None = None) -> list:
    """The one recipe stage that takes ``net`` to ``target`` of its weights with ``method``
    (fine-tuned with ``retrain`` where the method fine-tunes; SNIP, supermask and the distillation
    students train with the spec's train settings, early-bird searches with them). ``student`` is
    the student model YAML of distill and student."""
    hidden = [lay.name for lay in net.weighted_layers[:-1]]
    rate = round(1.0 - target, 6)

    def stage(kind: str, **opts) -> list:
        return [{kind: {**opts, "retrain": retrain} if retrain else opts}]

    if method == "magnitude":
        return stage("prune", method="percentile", rate=rate)
    if method == "random":
        return stage("prune", method="random", rate=rate)
    if method == "gradual":
        return stage("prune", method="gradual", rounds=4, rate=rate)
    if method == "snip":  # trains from its pruned initialization with the spec's train settings
        return [{"prune": {"method": "snip", "rate": rate}}]
    if method == "nm":
        n, m = nm_for(target)
        return stage("prune", method="n_of_m", n=n, m=m)
    if method == "l1_neurons":
        frac = round(1.0 - unit_fraction_for(net, target), 6)
        return stage("structured", layers={n: frac for n in hidden}, norm="l1", target="filters")
    if method == "slimming":
        return stage("slimming", weights=target)
    if method == "lowrank":
        fc = [lay.name for lay in net.weighted_layers[:-1] if lay.kind in ("fc", "conv2d")]
        if not fc:
            raise ConfigError(net.source or net.name, "lowrank: the model has no hidden fc or conv layer to factorize")
        return stage("lowrank", layers={n: target for n in fc})
    if method == "supermask":
        return [{"supermask": {"keep": target}}]
    if method == "early_bird":
        return stage("early_bird", rate=rate)
    if method in ("distill", "student"):  # student: the same stage with no weight on the teacher (plain CE)
        if student is None:
            raise ValueError(f"{method} needs the student model YAML")
        if method == "student":
            return [{"distill": {"student": student, "weight": 0.0}}]
        return [{"distill": {"student": student, "weight": 0.9,
                             "temperature": distill_temperature(student_network(net, target))}}]
    if method == "qat":
        quant = {"method": "linear", "bits": QAT_BITS}
        return stage("prune", method="percentile", rate=rate) + [
            {"quantize": {**quant, "finetune": retrain} if retrain else quant}]
    raise ValueError(method)


def detail_of(method: str, target: float, net, stages: pd.DataFrame | None) -> str:
    """What a method chose that the target does not say: the early-bird draw epoch, the N:M
    pattern, the student's layer widths, the integer width."""
    if method == "early_bird" and stages is not None:
        name = next(s for s in stages["stage"] if str(s).startswith("early_bird_epoch_"))
        epoch = name[len("early_bird_epoch_"):]
        return f"not drawn by epoch {epoch[:-len('_undrawn')]}" if epoch.endswith("_undrawn") else f"drawn at epoch {epoch}"
    if method == "nm":
        return "{}:{}".format(*nm_for(target))
    if method in ("distill", "student"):
        return ("T = {:g}, ".format(distill_temperature(net)) if method == "distill" else "") + "student " + "-".join(str(int(np.prod(net.input_shape))) if i == 0 else str(lay.weight.shape[0])
                                     for i, lay in enumerate([None] + net.weighted_layers))
    if method == "qat":
        return f"int{QAT_BITS} linear"
    return ""


def _job(spec: BenchSpec, method: str, target: float, seed: int, out_dir: str) -> list[dict]:
    """Compress (or reload) one (method, target, seed), execute it once, cost it on every design."""
    from ..compression.pipeline import run_compression
    from ..compression.recipe import recipe_from_dict
    from ..run import prepare, summarize
    from ..workload.load import load_network, save_network

    model_file = os.path.join(out_dir, "models", f"{method}-{target:g}-s{seed}.yaml")
    if method == "dense":
        net = load_network(spec.model)
    elif os.path.exists(model_file):
        net = load_network(model_file)
    else:
        base = load_network(spec.model)
        student = student_file(out_dir, target) if method in ("distill", "student") else None
        data = {"version": 1, "recipe": "deep_compression", "model": os.path.abspath(spec.model), "seed": seed,
                "stages": recipe_stages(method, target, base, spec.methods[method], student)}
        if spec.dataset:
            data["dataset"] = spec.dataset
        if spec.train:
            data["train"] = spec.train
        out = run_compression(recipe_from_dict(data, spec.file))
        net = out.network
        net = net.replace(name=Path(model_file).stem,
                          meta={**net.meta, "bench_detail": detail_of(method, target, net, out.stages)})
        save_network(net, model_file)
        net = load_network(model_file)
    ex = prepare(net, batch=spec.batch, seed=seed)
    dense_weights = load_network(spec.model).weight_count
    rows = []
    for hw in spec.designs:
        s = summarize(hw, ex).iloc[0]
        rows.append({"method": method, "target_weights_kept": 1.0 if method == "dense" else target,
                     "weights_kept_fraction": round(net.weight_nnz / dense_weights, 6), "seed": seed,
                     "accuracy": ex.accuracy, "storage_bytes": int(s["weight_storage_bytes"]),
                     "macs": ex.profile.total("macs"), "effectual_macs": ex.profile.total("effectual_macs"),
                     "hwconfig": s["hwconfig"], "cycles": int(s["cycles"]), "latency_s": float(s["latency_s"]),
                     "energy_per_inference_pj": float(s["energy_per_inference_pj"]),
                     "detail": net.meta.get("bench_detail", "")})
    return rows


def write_students(spec: BenchSpec, out_dir: str) -> None:
    """The student model YAML of every target (architecture only), before jobs that need them start."""
    from ..workload.load import load_network, save_network

    if not {"distill", "student"} & set(spec.methods):
        return
    base = load_network(spec.model)
    for target in spec.targets:
        path = student_file(out_dir, target)
        if not os.path.exists(path):
            save_network(student_network(base, target), path, weights=False)


def run_bench(spec: BenchSpec, out_dir: str, workers: int = 1, progress: bool = True) -> pd.DataFrame:
    """Run every job not yet recorded in ``out_dir``; write comparison.csv and the plots; the table."""
    from .runner import progress_bar

    os.makedirs(os.path.join(out_dir, "models"), exist_ok=True)
    write_students(spec, out_dir)
    partial = os.path.join(out_dir, "comparison.partial.csv")
    done = pd.read_csv(partial) if os.path.exists(partial) else pd.DataFrame(columns=RECORDED)
    have = set(zip(done["method"], done["target_weights_kept"].round(6), done["seed"]))
    jobs = [("dense", 1.0, spec.seeds[0])] + [(m, t, s) for m in spec.methods for t in spec.targets for s in spec.seeds]
    todo = [j for j in jobs if (j[0], round(j[1], 6), j[2]) not in have]
    bar = progress_bar(len(jobs), len(jobs) - len(todo), "bench-compression", progress)

    def record(rows):
        frame = pd.DataFrame(rows, columns=RECORDED)
        header = not os.path.exists(partial)
        with open(partial, "a") as f:  # one job's rows at once, flushed: a kill loses at most running jobs
            frame.to_csv(f, header=header, index=False, float_format="%.9g", lineterminator="\n")
            f.flush()
            os.fsync(f.fileno())
        bar.update(1)

    if workers <= 1:
        for job in todo:
            record(_job(spec, *job, out_dir))
    else:
        with cf.ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_job, spec, *job, out_dir) for job in todo]
            for fut in cf.as_completed(futures):
                record(fut.result())
    bar.close()
    table = finish(pd.read_csv(partial), spec)
    table.to_csv(os.path.join(out_dir, "comparison.csv"), index=False, float_format="%.6g", lineterminator="\n")
    from .bench_plots import plot_bench
    plot_bench(table, out_dir, spec.name)
    return table


def finish(df: pd.DataFrame, spec: BenchSpec) -> pd.DataFrame:
    """Sorted rows (spec order of methods, then target, seed, design) with speed-ups against dense."""
    order = {m: i for i, m in enumerate(["dense"] + list(spec.methods))}
    dense = df[df["method"] == "dense"].set_index("hwconfig")
    df = df.copy()
    df["detail"] = df["detail"].fillna("") if "detail" in df else ""  # partial files of older runs have none
    df["theoretical_speedup"] = (dense["macs"].iloc[0] / df["effectual_macs"]).round(4)
    df["measured_speedup"] = (df["hwconfig"].map(dense["cycles"]) / df["cycles"]).round(4)
    df["energy_reduction"] = (df["hwconfig"].map(dense["energy_per_inference_pj"])
                              / df["energy_per_inference_pj"]).round(4)
    df["_o"] = df["method"].map(order)
    df = df.sort_values(["_o", "target_weights_kept", "seed", "hwconfig"], ascending=[True, False, True, True])
    return df.drop(columns="_o")[COLUMNS].reset_index(drop=True)


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """method x target: accuracy mean +- std over seeds, and measured speed-up / energy reduction per design."""
    acc = df.groupby(["method", "target_weights_kept", "seed"], sort=False)["accuracy"].first()
    acc = acc.groupby(["method", "target_weights_kept"], sort=False).agg(["mean", "std"])
    cols = {"accuracy": acc.apply(lambda r: f"{r['mean']:.4f} +- {0 if pd.isna(r['std']) else r['std']:.4f}",
                                  axis=1)}
    kept = df.groupby(["method", "target_weights_kept"], sort=False)["weights_kept_fraction"].mean().round(4)
    cols["weights_kept"] = kept
    for hw, g in df.groupby("hwconfig", sort=False):
        m = g.groupby(["method", "target_weights_kept"], sort=False)
        cols[f"speedup_{hw}"] = m["measured_speedup"].mean().round(2)
        cols[f"energy_x_{hw}"] = m["energy_reduction"].mean().round(2)
    return pd.DataFrame(cols).reset_index()
