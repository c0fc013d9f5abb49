"""Compression recipes: a YAML file names the model, the data and the stages; ``run_recipe`` runs it.

Deep Compression recipe (``recipe: deep_compression``)::

    version: 1
    recipe: deep_compression
    model: lenet300.yaml            # relative to this file; its weights are the dense start
    output_model: lenet300-dc.yaml  # the compressed model written (relative to this file)
    seed: 0
    train: {epochs: 50, lr: 1.2e-3}  # dense training, used only when the model has no weights
    stages:
      - prune: {method: percentile, rate: 0.4, output_rate_factor: 0.5, rounds: 5,
                retrain: {epochs: 30, lr: 3.6e-4}}
      - structured: {layers: {fc1: 0.25}, norm: l1, target: filters, retrain: {epochs: 20}}
      - quantize: {method: kmeans, bits: {fc: 4, conv: 8}, init: linear, finetune: {epochs: 10}}
      - encode: {index_bits: {fc: 5, conv: 8}}

Lottery-ticket recipe (``recipe: lottery_ticket``) has ``train`` (every training run) and
``lottery`` ({rounds, rate, output_rate_factor, scope, rewind_iteration, seeds, controls,
ship_fraction}) instead of ``stages``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, did_you_mean
from ..yamlfile import read_yaml, top_level_problems
from .lottery import VARIANTS, LotteryConfig
from .train import TrainConfig, train_config

KINDS = ("deep_compression", "lottery_ticket")
TOP_KEYS = {"version", "recipe", "name", "description", "model", "dataset", "output_model", "seed", "train",
            "stages", "lottery", "notes"}
STAGE_KEYS = {
    "prune": {"method", "rate", "quality", "output_rate_factor", "scope", "rounds", "layers", "retrain", "n", "m"},
    "structured": {"layers", "norm", "target", "retrain"},
    "quantize": {"method", "bits", "init", "per_channel", "finetune"},
    "encode": {"index_bits"},
}
LOTTERY_KEYS = {"rounds", "rate", "output_rate_factor", "scope", "rewind_iteration", "seeds", "controls",
                "ship_fraction"}


@dataclass
class Stage:
    kind: str  # prune | structured | quantize | encode
    options: dict
    train: TrainConfig | None = None  # retrain / finetune settings


@dataclass
class Recipe:
    path: str
    kind: str
    name: str
    model_path: str
    output_model: str | None
    dataset: str | None
    seed: int
    train: TrainConfig
    stages: list[Stage] = field(default_factory=list)
    lottery: LotteryConfig | None = None
    ship_fraction: float = 0.1


def _rel(recipe_path: str, value: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(recipe_path), str(value)))


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a recipe; every problem in the file raises one ConfigError."""
    path = str(path)
    data = read_yaml(path)
    problems: list[str] = top_level_problems(data, TOP_KEYS)
    kind = data.get("recipe")
    if kind not in KINDS:
        problems.append(f"recipe: must be one of {', '.join(KINDS)}; got {kind!r}")
    model = data.get("model")
    if not isinstance(model, str):
        problems.append(f"model: must be the path of a model YAML (relative to the recipe); got {model!r}")
    elif not os.path.exists(_rel(path, model)):
        problems.append(f"model: file not found: {_rel(path, model)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.append(f"seed: must be an integer >= 0; got {seed!r}")
        seed = 0
    dataset = data.get("dataset")
    if dataset is not None and dataset not in ("digits", "mnist"):
        problems.append(f"dataset: must be digits or mnist; got {dataset!r}")
    out_model = data.get("output_model")
    if out_model is not None and (not isinstance(out_model, str) or not out_model.endswith((".yaml", ".yml"))):
        problems.append(f"output_model: must be a .yaml path; got {out_model!r}")
    try:
        cfg = train_config(data.get("train"), path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        cfg = TrainConfig()
    stages, lottery, ship = [], None, 0.1
    if kind == "deep_compression":
        stages = _stages(data.get("stages"), path, cfg, problems)
        if "lottery" in data:
            problems.append("lottery: only for recipe lottery_ticket")
    elif kind == "lottery_ticket":
        lottery, ship = _lottery(data.get("lottery"), problems)
        if "stages" in data:
            problems.append("stages: only for recipe deep_compression")
    if problems:
        raise ConfigError(path, problems)
    return Recipe(path=path, kind=kind, name=str(data.get("name", Path(path).stem)), model_path=_rel(path, model),
                  output_model=_rel(path, out_model) if out_model else None, dataset=dataset, seed=seed,
                  train=cfg, stages=stages, lottery=lottery, ship_fraction=ship)


def _num(problems, where, value, lo=0.0, hi=None, lo_open=False, hi_open=False) -> bool:
    ok = not isinstance(value, bool) and isinstance(value, (int, float))
    if ok:
        ok = (value > lo if lo_open else value >= lo) and (hi is None or (value < hi if hi_open else value <= hi))
    if not ok:
        rng = f"{'(' if lo_open else '['}{lo}, {hi if hi is not None else 'inf'}{')' if hi_open or hi is None else ']'}"
        problems.append(f"{where}: must be a number in {rng}; got {value!r}")
    return ok


def _per_type(problems, where, value, check) -> None:
    """A number, or {fc: n, conv: n}: check each."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ("fc", "conv"):
                problems.append(f"{where}.{k}: unknown layer type; expected fc or conv")
            else:
                check(f"{where}.{k}", v)
    else:
        check(where, value)


def _int_check(problems, lo, hi):
    def check(where, v):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            problems.append(f"{where}: must be an integer in [{lo}, {hi}]; got {v!r}")
    return check


def _stages(raw, path: str, cfg: TrainConfig, problems: list) -> list[Stage]:
    if not isinstance(raw, list) or not raw:
        problems.append(f"stages: must be a non-empty list of stages (prune, structured, quantize, encode); got {raw!r}")
        return []
    stages = []
    for i, item in enumerate(raw):
        where = f"stages[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(f"{where}: must be a mapping with one stage name ({', '.join(STAGE_KEYS)}); got {item!r}")
            continue
        kind, opts = next(iter(item.items()))
        if kind not in STAGE_KEYS:
            problems.append(f"{where}: unknown stage {kind!r}; expected one of {', '.join(STAGE_KEYS)}"
                            + did_you_mean(str(kind), STAGE_KEYS))
            continue
        opts = {} if opts is None else opts
        if not isinstance(opts, dict):
            problems.append(f"{where}.{kind}: must be a mapping of options; got {opts!r}")
            continue
        where = f"{where}.{kind}"
        for key in opts:
            if key not in STAGE_KEYS[kind]:
                problems.append(f"{where}.{key}: unknown key" + did_you_mean(str(key), STAGE_KEYS[kind]))
        n_before = len(problems)
        tcfg = None
        tkey = "finetune" if kind == "quantize" else "retrain"
        if tkey in opts:
            try:
                tcfg = train_config(opts[tkey], path, f"{where}.{tkey}", base=cfg)
            except ConfigError as exc:
                problems.extend(exc.problems)
        if kind == "prune":
            method = opts.get("method", "percentile")
            if method not in ("percentile", "threshold", "n_of_m"):
                problems.append(f"{where}.method: must be percentile, threshold or n_of_m; got {method!r}")
            elif method == "n_of_m":
                n, m = opts.get("n"), opts.get("m")
                _int_check(problems, 2, 64)(f"{where}.m", m)
                _int_check(problems, 1, 63)(f"{where}.n", n)
                if isinstance(n, int) and isinstance(m, int) and not n < m:
                    problems.append(f"{where}.n: must be < m ({m}); got {n}")
            elif method == "percentile":
                _per_type(problems, f"{where}.rate", opts.get("rate"),
                          lambda w, v: _num(problems, w, v, 0.0, 1.0, hi_open=True))
            else:
                _per_type(problems, f"{where}.quality", opts.get("quality"), lambda w, v: _num(problems, w, v, 0.0))
            _num(problems, f"{where}.output_rate_factor", opts.get("output_rate_factor", 1.0), 0.0)
            if opts.get("scope", "layer") not in ("layer", "global"):
                problems.append(f"{where}.scope: must be layer or global; got {opts.get('scope')!r}")
            _int_check(problems, 1, 100)(f"{where}.rounds", opts.get("rounds", 1))
            layers = opts.get("layers")
            if layers is not None and (not isinstance(layers, list) or not all(isinstance(x, str) for x in layers)):
                problems.append(f"{where}.layers: must be a list of layer names; got {layers!r}")
        elif kind == "structured":
            layers = opts.get("layers")
            if not isinstance(layers, dict) or not layers:
                problems.append(f"{where}.layers: must map layer names to the fraction of units removed; got {layers!r}")
            else:
                for name, frac in layers.items():
                    _num(problems, f"{where}.layers.{name}", frac, 0.0, 1.0, hi_open=True)
            if opts.get("norm", "l1") not in ("l1", "l2"):
                problems.append(f"{where}.norm: must be l1 or l2; got {opts.get('norm')!r}")
            if opts.get("target", "filters") not in ("filters", "channels"):
                problems.append(f"{where}.target: must be filters or channels; got {opts.get('target')!r}")
        elif kind == "quantize":
            method = opts.get("method", "kmeans")
            if method not in ("kmeans", "linear", "binary"):
                problems.append(f"{where}.method: must be kmeans, linear or binary; got {method!r}")
            elif method != "binary":
                lo, hi = (1, 16) if method == "kmeans" else (2, 8)
                _per_type(problems, f"{where}.bits", opts.get("bits"), _int_check(problems, lo, hi))
            if opts.get("init", "linear") not in ("linear", "density", "random"):
                problems.append(f"{where}.init: must be linear, density or random; got {opts.get('init')!r}")
            if "finetune" in opts and method != "kmeans":
                problems.append(f"{where}.finetune: centroid fine-tuning needs method kmeans; got {method!r}")
            if not isinstance(opts.get("per_channel", False), bool):
                problems.append(f"{where}.per_channel: must be true or false; got {opts.get('per_channel')!r}")
        else:
            _per_type(problems, f"{where}.index_bits", opts.get("index_bits", {"fc": 5, "conv": 8}),
                      _int_check(problems, 1, 16))
        if len(problems) == n_before:
            stages.append(Stage(kind, dict(opts), tcfg))
    kinds = [s.kind for s in stages]
    if "quantize" in kinds and any(k in ("prune", "structured") for k in kinds[kinds.index("quantize"):]):
        problems.append("stages: prune and structured stages must come before quantize")
    return stages


def _lottery(raw, problems: list) -> tuple[LotteryConfig | None, float]:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        problems.append(f"lottery: must be a mapping; got {raw!r}")
        return None, 0.1
    for key in raw:
        if key not in LOTTERY_KEYS:
            problems.append(f"lottery.{key}: unknown key" + did_you_mean(str(key), LOTTERY_KEYS))
    base = LotteryConfig()
    _int_check(problems, 1, 100)("lottery.rounds", raw.get("rounds", base.rounds))
    _per_type(problems, "lottery.rate", raw.get("rate", base.rate),
              lambda w, v: _num(problems, w, v, 0.0, 1.0, lo_open=True, hi_open=True))
    _num(problems, "lottery.output_rate_factor", raw.get("output_rate_factor", base.output_rate_factor), 0.0)
    if raw.get("scope", "layer") not in ("layer", "global"):
        problems.append(f"lottery.scope: must be layer or global; got {raw.get('scope')!r}")
    _int_check(problems, 0, 10 ** 9)("lottery.rewind_iteration", raw.get("rewind_iteration", 0))
    seeds = raw.get("seeds", list(base.seeds))
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        problems.append(f"lottery.seeds: must be a non-empty list of integers >= 0; got {seeds!r}")
        seeds = list(base.seeds)
    controls = raw.get("controls", list(base.controls))
    if not isinstance(controls, list) or any(c not in VARIANTS[1:] for c in controls):
        problems.append(f"lottery.controls: must be a list drawn from {', '.join(VARIANTS[1:])}; got {controls!r}")
        controls = list(base.controls)
    ship = raw.get("ship_fraction", 0.1)
    _num(problems, "lottery.ship_fraction", ship, 0.0, 1.0, lo_open=True)
    cfg = LotteryConfig(rounds=raw.get("rounds", base.rounds), rate=raw.get("rate", base.rate),
                        output_rate_factor=float(raw.get("output_rate_factor", base.output_rate_factor)),
                        scope=raw.get("scope", "layer"), rewind_iteration=int(raw.get("rewind_iteration", 0)),
                        seeds=tuple(seeds), controls=tuple(controls))
    return cfg, float(ship) if isinstance(ship, (int, float)) else 0.1
