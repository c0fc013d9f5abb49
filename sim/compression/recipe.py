"""Compression recipes: typed values (``Recipe`` with ``Prune``/``Structured``/``Quantize``/``Encode``
stages, or a lottery-ticket experiment), read from YAML by ``load_recipe`` or from a mapping by
``recipe_from_dict``, and checked by the one schema mechanism (``sim.schema``).

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
ship_fraction}) instead of ``stages``. Retrain and finetune settings start from ``train``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from .. import schema as S
from ..errors import ConfigError, did_you_mean
from ..yamlfile import read_yaml
from .earlybird import EPSILON, FIFO, EarlyBird
from .lottery import VARIANTS, LotteryConfig
from .supermask import INITS, Supermask
from .train import TrainConfig, train_config

KINDS = ("deep_compression", "lottery_ticket")
QUANT_BITS = {"kmeans": (1, 16), "linear": (2, 8)}  # bit widths each method supports
DEFAULT_INDEX_BITS = {"fc": 5, "conv": 8}  # Deep Compression: 5-bit fc, 8-bit conv index gaps


@dataclass(frozen=True)
class Prune:
    """Magnitude pruning: ``rate`` of the remaining weights per round (percentile) or weights below
    ``quality`` x the layer's std (threshold), ``rounds`` times, retraining after each."""

    kind: ClassVar[str] = "prune"
    method: str = "percentile"
    rate: float | dict | None = None
    quality: float | dict | None = None
    output_rate_factor: float = 1.0
    scope: str = "layer"
    rounds: int = 1
    layers: tuple | None = None
    retrain: TrainConfig | None = None
    n: int | None = None  # n_of_m: keep at most n of every m consecutive weights (sim/compression/nm.py)
    m: int | None = None


@dataclass(frozen=True)
class Distill:
    """Knowledge distillation (Hinton, Vinyals & Dean 2015): train ``student`` (a model YAML, from a
    seeded initialization) on the current network's softened outputs. Defaults: T = 8 (Hinton et
    al. Sec. 3: for students of 300+ hidden units all T >= 8 did about equally well on MNIST) and
    weight 0.9 on the soft term ("considerably lower weight on the second objective", Sec. 2)."""

    kind: ClassVar[str] = "distill"
    student: str = ""
    temperature: float = 8.0
    weight: float = 0.9
    train: TrainConfig | None = None


@dataclass(frozen=True)
class LowRank:
    """Low-rank factorization: ``layers`` maps an fc layer to the fraction of its weights its two
    factors may hold (the rank follows); then fine-tuning (``retrain``)."""

    kind: ClassVar[str] = "lowrank"
    layers: dict = field(default_factory=dict)
    retrain: TrainConfig | None = None


@dataclass(frozen=True)
class Slimming:
    """Network slimming (Liu et al. 2017; sim/compression/slimming.py): batch norm after each hidden
    layer, ``train`` with ``sparsity`` x L1 on its scales, keep the ``keep`` fraction of channels
    with the largest |gamma| (one global cut), fold batch norm, fine-tune (``retrain``)."""

    kind: ClassVar[str] = "slimming"
    keep: float = 0.5
    weights: float | None = None  # instead of keep: the cut whose result holds at most this fraction of the weights
    sparsity: float = 1e-4  # Liu et al. Sec. 4.3: 1e-4 for VGGNet on CIFAR, 1e-5 for ResNet / DenseNet
    train: TrainConfig | None = None
    retrain: TrainConfig | None = None


@dataclass(frozen=True)
class Structured:
    """Removing whole filters (or input channels): ``layers`` maps a layer to the fraction removed."""

    kind: ClassVar[str] = "structured"
    layers: dict = field(default_factory=dict)
    norm: str = "l1"
    target: str = "filters"
    retrain: TrainConfig | None = None


@dataclass(frozen=True)
class Quantize:
    """Weight sharing (k-means), linear integers or binary weights; k-means centroids fine-tuned."""

    kind: ClassVar[str] = "quantize"
    method: str = "kmeans"
    bits: int | dict | None = None
    init: str = "linear"
    per_channel: bool = False
    finetune: TrainConfig | None = None


@dataclass(frozen=True)
class Encode:
    """Relative-index gaps of ``index_bits`` (per layer type) plus Huffman coding."""

    kind: ClassVar[str] = "encode"
    index_bits: int | dict = field(default_factory=lambda: dict(DEFAULT_INDEX_BITS))


TRAIN_ANY = S.Field("any", None, doc="training settings (see TrainConfig); start from the recipe's train")
STAGES = {
    "prune": S.Record(Prune, {
        "method": S.choice("percentile", "percentile", "threshold", "n_of_m", "random", "gradual", "snip"),
        "n": S.Field("int", None, min=1, max=63, doc="n_of_m: weights kept per group"),
        "m": S.Field("int", None, min=2, max=64, doc="n_of_m: group size along the reduction axis"),
        "rate": S.ByLayerType(S.fraction(None, open_high=True, doc="fraction of remaining weights pruned")),
        "quality": S.ByLayerType(S.nonneg(default=None, doc="threshold in layer standard deviations")),
        "output_rate_factor": S.nonneg(default=1.0), "scope": S.choice("layer", "layer", "global"),
        "rounds": S.Field("int", 1, min=1, max=100), "layers": S.Field("str_list", None),
        "retrain": TRAIN_ANY,
    }),
    "distill": S.Record(Distill, {
        "student": S.Field("str", S.REQUIRED, doc="student model YAML, relative to the recipe"),
        "temperature": S.pos(default=8.0), "weight": S.fraction(0.9), "train": TRAIN_ANY,
    }),
    "lowrank": S.Record(LowRank, {
        "layers": S.MapOf(S.fraction(open_low=True, open_high=True)), "retrain": TRAIN_ANY,
    }),
    "slimming": S.Record(Slimming, {
        "keep": S.fraction(0.5, open_low=True, doc="fraction of the hidden channels/neurons kept"),
        "weights": S.fraction(None, open_low=True, doc="instead of keep: the largest global cut keeping at most "
                              "this fraction of the weights"),
        "sparsity": S.nonneg(default=1e-4, doc="lambda of the L1 penalty on batch-norm scales"),
        "train": TRAIN_ANY, "retrain": TRAIN_ANY,
    }),
    "structured": S.Record(Structured, {
        "layers": S.MapOf(S.fraction(open_high=True)), "norm": S.choice("l1", "l1", "l2"),
        "target": S.choice("filters", "filters", "channels"), "retrain": TRAIN_ANY,
    }),
    "quantize": S.Record(Quantize, {
        "method": S.choice("kmeans", "kmeans", "linear", "binary"),
        "bits": S.ByLayerType(S.Field("int", None, min=1, max=16)),
        "init": S.choice("linear", "linear", "density", "random"), "per_channel": S.flag(False),
        "finetune": TRAIN_ANY,
    }),
    "encode": S.Record(Encode, {
        "index_bits": S.ByLayerType(S.Field("int", DEFAULT_INDEX_BITS, min=1, max=16)),
    }),
    "supermask": S.Record(Supermask, {  # Ramanujan et al. 2020 (sim/compression/supermask.py)
        "keep": S.fraction(0.5, open_low=True, doc="fraction of each layer's random weights the mask keeps"),
        "init": S.choice("signed_constant", *INITS), "layers": S.Field("str_list", None), "train": TRAIN_ANY,
    }),
    "early_bird": S.Record(EarlyBird, {  # You et al. 2020 (sim/compression/earlybird.py)
        "rate": S.ByLayerType(S.fraction(S.REQUIRED, open_high=True, doc="fraction of the weights pruned")),
        "output_rate_factor": S.nonneg(default=1.0), "epsilon": S.fraction(EPSILON, open_low=True),
        "fifo": S.Field("int", FIFO, min=1, max=100), "layers": S.Field("str_list", None), "retrain": TRAIN_ANY,
    }),
}
AFTER_PRUNING = {"quantize", "encode"}  # every other stage changes which weights exist: it comes first
TRAIN_KEY = {"prune": "retrain", "structured": "retrain", "quantize": "finetune", "distill": "train",
             "lowrank": "retrain", "slimming": ("train", "retrain"), "supermask": "train", "early_bird": "retrain"}
_LC = LotteryConfig()
LOTTERY = S.Record(LotteryConfig, {
    "rounds": S.Field("int", _LC.rounds, min=1, max=100),
    "rate": S.ByLayerType(S.fraction(_LC.rate, open_low=True, open_high=True)),
    "output_rate_factor": S.nonneg(default=_LC.output_rate_factor),
    "scope": S.choice(_LC.scope, "layer", "global"),
    "rewind_iteration": S.Field("int", _LC.rewind_iteration, min=0, max=10 ** 9),
    "seeds": S.Field("int_list", list(_LC.seeds), min=0),
    "controls": S.Field("str_list", list(_LC.controls), min=0, choices=VARIANTS[1:]),
    "ship_fraction": S.fraction(0.1, open_low=True, doc="ship the first ticket with at most this fraction left"),
}, omit=("ship_fraction",))
TOP = S.Record(dict, {
    "version": S.choice(1, 1), "recipe": S.choice(S.REQUIRED, *KINDS), "name": S.Field("str", None),
    "description": S.Field("str", ""), "model": S.Field("str", S.REQUIRED, doc="model YAML, relative to the recipe"),
    "dataset": S.Field("choice", None, choices=("digits", "mnist5k", "mnist")), "output_model": S.Field("str", None),
    "seed": S.Field("int", 0, min=0), "train": S.Field("any", None), "stages": S.Field("any", None),
    "lottery": S.Field("any", None), "notes": S.Field("any", None),
})


@dataclass(frozen=True)
class Recipe:
    """A checked recipe. Paths are resolved (relative to the recipe file they came from)."""

    path: str
    kind: str
    name: str
    model_path: str
    output_model: str | None
    dataset: str | None
    seed: int
    train: TrainConfig
    stages: tuple = ()
    lottery: LotteryConfig | None = None
    ship_fraction: float = 0.1

    @property
    def index_bits(self):
        """The encode stage's index bits (Deep Compression's defaults without one)."""
        return next((s.index_bits for s in self.stages if isinstance(s, Encode)), DEFAULT_INDEX_BITS)


def _rel(recipe_path: str, value: str) -> str:
    return os.path.normpath(os.path.join(os.path.dirname(recipe_path), str(value)))


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read and check a recipe file; every problem in it raises one ConfigError."""
    return recipe_from_dict(read_yaml(str(path), "a recipe YAML"), str(path))


def recipe_from_dict(data: dict, path: str) -> Recipe:
    """A ``Recipe`` from a mapping (as a recipe file holds) whose relative paths are relative to
    ``path``; every problem raises one ConfigError naming ``path``."""
    problems: list[str] = []
    S.check(TOP, data, "", problems)
    kind, model, out_model = data.get("recipe"), data.get("model"), data.get("output_model")
    if isinstance(model, str) and not os.path.exists(_rel(path, model)):
        problems.append(f"model: file not found: {_rel(path, model)}")
    if isinstance(out_model, str) and not out_model.endswith((".yaml", ".yml")):
        problems.append(f"output_model: must be a .yaml path; got {out_model!r}")
    try:
        cfg = train_config(data.get("train"), path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        cfg = TrainConfig()
    stages, lottery, ship = (), None, 0.1
    if kind == "deep_compression":
        stages = _stages(data.get("stages"), path, cfg, problems)
        if "lottery" in data:
            problems.append("lottery: only for recipe lottery_ticket")
    elif kind == "lottery_ticket":
        raw = {} if data.get("lottery") is None else data["lottery"]
        n = len(problems)
        S.check(LOTTERY, raw, "lottery", problems)
        if len(problems) == n:
            lottery, ship = S.build(LOTTERY, raw), float(raw.get("ship_fraction", 0.1))
        if "stages" in data:
            problems.append("stages: only for recipe deep_compression")
    if problems:
        raise ConfigError(path, problems)
    seed = data.get("seed", 0)
    return Recipe(path=path, kind=kind, name=str(data.get("name") or Path(path).stem), model_path=_rel(path, model),
                  output_model=_rel(path, out_model) if out_model else None, dataset=data.get("dataset"),
                  seed=seed, train=cfg, stages=stages, lottery=lottery, ship_fraction=ship)


def _stages(raw, path: str, cfg: TrainConfig, problems: list) -> tuple:
    if not isinstance(raw, list) or not raw:
        problems.append(f"stages: must be a non-empty list of stages ({', '.join(STAGES)}); got {raw!r}")
        return ()
    stages = []
    for i, item in enumerate(raw):
        where = f"stages[{i}]"
        if not isinstance(item, dict) or len(item) != 1:
            problems.append(f"{where}: must be a mapping with one stage name ({', '.join(STAGES)}); got {item!r}")
            continue
        kind, opts = next(iter(item.items()))
        if kind not in STAGES:
            problems.append(f"{where}: unknown stage {kind!r}; expected one of {', '.join(STAGES)}"
                            + did_you_mean(str(kind), STAGES))
            continue
        opts = {} if opts is None else opts
        stage = _stage(kind, opts, f"{where}.{kind}", path, cfg, problems)
        if stage is not None:
            stages.append(stage)
    kinds = [s.kind for s in stages]
    late = [k for k in kinds[kinds.index("quantize"):] if k not in AFTER_PRUNING] if "quantize" in kinds else []
    if late:
        problems.append(f"stages: {', '.join(sorted(set(STAGES) - AFTER_PRUNING))} stages must come before quantize; "
                        f"got {', '.join(dict.fromkeys(late))} after it")
    return tuple(stages)


def _stage(kind: str, opts, where: str, path: str, cfg: TrainConfig, problems: list):
    """One checked stage, or None (its problems appended)."""
    n = len(problems)
    S.check(STAGES[kind], opts, where, problems)
    if len(problems) > n:
        return None
    tkeys = TRAIN_KEY.get(kind) or ()
    tkeys = (tkeys,) if isinstance(tkeys, str) else tkeys
    tcfgs = {}
    for tkey in tkeys:
        tcfgs[tkey] = None
        if tkey in opts:
            try:
                tcfgs[tkey] = train_config(opts[tkey], path, f"{where}.{tkey}", base=cfg)
            except ConfigError as exc:
                problems.extend(exc.problems)
    stage = S.build(STAGES[kind], {k: v for k, v in opts.items() if k not in tkeys})
    if kind == "distill":
        student = _rel(path, stage.student)
        if not os.path.exists(student):
            problems.append(f"{where}.student: file not found: {student}")
        stage = replace(stage, student=student)
    if kind == "prune" and stage.method == "n_of_m":
        for need in ("n", "m"):
            if getattr(stage, need) is None:
                problems.append(f"{where}.{need}: missing; expected {S._describe(STAGES[kind].fields[need])}")
        if stage.n is not None and stage.m is not None and not stage.n < stage.m:
            problems.append(f"{where}.n: must be < m ({stage.m}); got {stage.n}")
    elif kind == "prune":
        need = "quality" if stage.method == "threshold" else "rate"
        if stage.method == "snip" and (isinstance(stage.rate, dict) or stage.rounds != 1):
            problems.append(f"{where}: snip prunes once at initialization with one global rate: "
                            "rate must be one number and rounds 1")
        if getattr(stage, need) is None:
            problems.append(f"{where}.{need}: missing; expected {S._describe(STAGES[kind].fields[need])}")
    elif kind == "quantize":
        if stage.method != "binary":
            lo, hi = QUANT_BITS[stage.method]
            bits = stage.bits if isinstance(stage.bits, dict) else {"": stage.bits}
            for t, b in bits.items():
                if b is None or not lo <= b <= hi:
                    problems.append(f"{where}.bits{'.' + t if t else ''}: must be an integer in [{lo}, {hi}] for "
                                    f"{stage.method}; got {b!r}")
        if "finetune" in opts and stage.method == "binary":
            problems.append(f"{where}.finetune: fine-tuning needs method kmeans (centroids) or linear "
                            f"(straight-through); got {stage.method!r}")
    if len(problems) > n:
        return None
    return replace(stage, **tcfgs)
