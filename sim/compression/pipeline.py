"""Run a recipe: dense model -> stages -> compressed model, in memory; writing is separate.

``compress(net, recipe, data)`` applies a Deep Compression recipe's stages to a network and
returns the compressed network. ``run_compression(recipe)`` does the whole recipe (dense start,
stages or the lottery-ticket experiment) and returns a ``Compressed`` with its tables;
``Compressed.write(out_dir)`` then writes:

- Deep Compression: ``compression.csv`` (stage, accuracy, weights_kept_fraction, storage_bytes,
  compression_ratio), ``compression_layers.csv`` (per-layer storage table), ``storage.png``;
- lottery tickets: ``lth.csv`` (one row per round x variant x seed), ``lth_summary.csv`` (mean and
  std over seeds), ``lth.png``;

and the compressed model (YAML + .npz, loadable by ``sim.load_network``) to the recipe's
``output_model`` or to ``out_dir/<recipe name>-model.yaml``. Same seed, same bytes.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, SimulationError
from ..outdir import staged_outputs
from ..workload.data import Dataset, load_dataset, shape_for
from ..workload.load import load_network, save_network
from ..workload.network import Network
from .lottery import run_lottery, summarize
from .models_io import has_weights, load_architecture
from .nm import nm_masks
from .prune import apply_masks, density, full_masks, layer_rates, magnitude_masks
from .quantize import dequantize, linear_quantize, quantize_network
from .methods import SNIP_BATCH, cubic_sparsity, distillation_loss, random_prune_masks, snip_scores, \
    teacher_logits, top_fraction_masks
from .prune import _drop_smallest
from .lowrank import factorize
from .earlybird import EarlyBird
from .supermask import Supermask
from .recipe import Distill, LowRank, Prune, Quantize, Recipe, Slimming, Structured
from .storage import decode_layer, index_bits_for, layer_storage, network_storage, storage_bytes, storage_table
from .structured import structured_prune
from .train import evaluate, init_weights, train

STAGE_COLUMNS = ("stage", "accuracy", "weights_kept_fraction", "storage_bytes", "compression_ratio")


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


def _quiet(*_args) -> None:
    pass


class SplitData:
    """A dataset split shaped for one network's input."""

    def __init__(self, net: Network, ds: Dataset):
        shape = tuple(net.input_shape)
        src = net.source or net.name
        self.train = (shape_for(ds.x_train, shape, src), ds.y_train, shape_for(ds.x_val, shape, src), ds.y_val)
        self.test = (shape_for(ds.x_test, shape, src), ds.y_test)

    def accuracy(self, net: Network) -> float:
        try:
            return evaluate(net, *self.test)[1]
        except ConfigError:  # a graph the numpy trainer cannot run: no accuracy here (sim run measures it)
            return float("nan")


class NoData:
    """Stands in for SplitData when no dataset matches the model: data-free stages (magnitude,
    random, N:M, structured, low-rank, quantization without fine-tuning) run; a stage that trains
    raises a ConfigError saying why."""

    def __init__(self, recipe_path: str, why: str):
        self.recipe_path, self.why = recipe_path, why

    @property
    def train(self):
        raise ConfigError(self.recipe_path, "a stage of this recipe trains (retrain, finetune, snip or distill) and "
                          f"needs a dataset the model's input matches; {self.why}. Name one with 'dataset:' "
                          "(digits, mnist5k, mnist with --data) or use data-free stages only")

    def accuracy(self, net: Network) -> float:
        return float("nan")


@dataclass
class Compressed:
    """A recipe's result in memory: the compressed ``network`` and its tables (``stages`` and
    ``layers`` for Deep Compression, ``lth`` and ``lth_summary`` for lottery tickets)."""

    recipe: Recipe
    network: Network
    stages: pd.DataFrame | None = None
    layers: pd.DataFrame | None = None
    lth: pd.DataFrame | None = None
    lth_summary: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        if self.recipe.kind == "lottery_ticket":
            return {"lth.csv": self.lth, "lth_summary.csv": self.lth_summary}
        return {"compression.csv": self.stages, "compression_layers.csv": self.layers}

    def figures(self) -> dict:
        """{PNG file name: matplotlib Figure}, as ``write`` saves them."""
        from .plots import lottery_figure, storage_figure  # matplotlib only when plotting

        model, recipe = Path(self.recipe.model_path).stem, self.recipe.name
        if self.recipe.kind == "lottery_ticket":
            return {"lth.png": lottery_figure(self.lth_summary, model, recipe)}
        return {"storage.png": storage_figure(self.stages, model, recipe)}

    def _write_figures(self, out_dir: str) -> list[str]:
        from .plots import plot_lottery, plot_storage

        model, recipe = Path(self.recipe.model_path).stem, self.recipe.name
        if self.recipe.kind == "lottery_ticket":
            path = os.path.join(out_dir, "lth.png")
            plot_lottery(self.lth_summary, path, model, recipe)
        else:
            path = os.path.join(out_dir, "storage.png")
            plot_storage(self.stages, path, model, recipe)
        return [path]

    def write(self, out_dir: str | os.PathLike, model_out: str | os.PathLike | None = None) -> list[str]:
        """Write the tables, the PNG and the compressed model; the paths written, in order.

        model_out: the model YAML (default: the recipe's output_model, else
        ``out_dir/<recipe name>-model.yaml``); the model is named after its file.
        Everything goes to staging folders first and moves into place only when all of it is
        written: a failure leaves neither tables nor a model behind."""
        out_dir = str(out_dir)
        model_out = str(model_out or self.recipe.output_model or os.path.join(out_dir, f"{self.recipe.name}-model.yaml"))
        with staged_outputs(out_dir, model_out) as (stage_dir, stage_model, final):
            files = []
            for name, df in self.tables().items():
                files.append(os.path.join(stage_dir, name))
                df.to_csv(files[-1], index=False, float_format="%.6g", lineterminator="\n")
            files += self._write_figures(stage_dir)
            save_network(self.network.replace(name=Path(model_out).stem), stage_model)
            files = [final(f) for f in files]
        return files + [model_out]


def default_model_name(recipe: Recipe) -> str:
    """The compressed network's name before it is written: the stem of its default model file."""
    return Path(recipe.output_model).stem if recipe.output_model else f"{recipe.name}-model"


def dataset_for(recipe: Recipe, net: Network, data_dir=None) -> SplitData | NoData:
    """The recipe's (or model's) dataset shaped for ``net``; ``NoData`` when none is named and
    digits does not fit, or the named one does not fit (then only data-free stages can run)."""
    name = recipe.dataset or net.dataset or ("mnist" if data_dir else "digits")
    try:
        return SplitData(net, load_dataset(name, data_dir))
    except ConfigError as exc:
        return NoData(recipe.path, f"dataset {name}: {'; '.join(exc.problems)}")


def run_compression(recipe: Recipe, data_dir=None, seed: int | None = None, log=_quiet) -> Compressed:
    """Run ``recipe`` in memory (nothing is written); ``seed`` overrides the recipe's."""
    seed = recipe.seed if seed is None else seed
    if recipe.kind == "lottery_ticket":
        return _run_lottery(recipe, data_dir, seed, log)
    net, data = _dense_start(recipe, data_dir, seed, log)
    out, stages, layers = _deep_compression(net, recipe, data, seed, log)
    final = stages.iloc[-1]
    out = out.replace(name=default_model_name(recipe), accuracy=round(float(final["accuracy"]), 6),
                      meta={"recipe": os.path.basename(recipe.path),
                            "weights_kept_fraction": float(final["weights_kept_fraction"]),
                            "storage_bytes": int(final["storage_bytes"]),
                            "compression_ratio": float(final["compression_ratio"])})
    return Compressed(recipe, out, stages=stages, layers=layers)


def run_recipe(recipe: Recipe, out_dir: str, data_dir=None, seed: int | None = None,
               model_out: str | None = None, log=_quiet) -> list[str]:
    """``run_compression`` then ``write``: the files written."""
    return run_compression(recipe, data_dir, seed, log).write(out_dir, model_out)


def compress(net: Network, recipe: Recipe, data: SplitData, seed: int | None = None, log=_quiet) -> Network:
    """Apply a Deep Compression recipe's stages to ``net`` (trained on ``data`` where a stage retrains)."""
    if recipe.kind != "deep_compression":
        raise ConfigError(recipe.path, f"recipe: compress applies deep_compression stages; got {recipe.kind}")
    return _deep_compression(net, recipe, data, recipe.seed if seed is None else seed, log)[0]


def _dense_start(recipe: Recipe, data_dir, seed: int, log) -> tuple[Network, SplitData]:
    if not recipe.model_path.endswith((".yaml", ".yml")) or has_weights(recipe.model_path):  # ONNX carries weights
        net = load_network(recipe.model_path)
        data = dataset_for(recipe, net, data_dir)
        log(f"dense model {recipe.model_path}: test accuracy {data.accuracy(net):.4f}")
        return net, data
    arch = load_architecture(recipe.model_path)
    data = dataset_for(recipe, arch, data_dir)
    log(f"training {recipe.model_path} from scratch (it has no weights file)")
    net = train(init_weights(arch, seed), data.train, recipe.train, seed=seed, desc="dense").net
    return net, data


def _deep_compression(net: Network, recipe: Recipe, data: SplitData, seed: int, log):
    """(compressed network, stage table, per-layer storage table)."""
    dense_weights = net.weight_count
    index_bits = recipe.index_bits
    rows = [_stage_row("dense", data.accuracy(net), net, dense_weights, network_storage(net, index_bits), "dense")]
    dense_bytes = rows[0]["storage_bytes"]
    masks = full_masks(net)
    pruned = False
    quantized = None
    for i, stage in enumerate(recipe.stages):
        if isinstance(stage, Prune):
            _check_layers(recipe, net, stage.layers, f"stages[{i}].prune.layers")
            if stage.method == "snip":
                net, masks = _snip(net, stage, data, _seed(seed, i))
                log(f"snip at initialization: weights kept {density(masks):.2%}")
            for rnd in range(stage.rounds):
                if stage.method == "snip":
                    pass
                elif stage.method == "n_of_m":
                    masks = nm_masks(net, stage.n, stage.m, stage.layers, masks)
                elif stage.method == "random":
                    rates = layer_rates(net, stage.rate, stage.output_rate_factor, stage.layers)
                    masks = random_prune_masks(masks, rates, np.random.default_rng(_seed(seed, i, rnd)))
                elif stage.method == "gradual":
                    masks = _gradual_masks(net, masks, stage, rnd + 1)
                elif stage.method == "percentile":
                    rates = layer_rates(net, stage.rate, stage.output_rate_factor, stage.layers)
                    masks = magnitude_masks(net, "percentile", rates=rates, scope=stage.scope, masks=masks)
                else:
                    masks = magnitude_masks(net, "threshold", quality=_qualities(net, stage), scope=stage.scope,
                                            masks=masks)
                net = apply_masks(net, masks)
                tcfg = stage.retrain or (recipe.train if stage.method == "snip" else None)  # SNIP trains from init
                if tcfg is not None:
                    net = train(net, data.train, tcfg, seed=_seed(seed, i, rnd), masks=masks,
                                desc=f"retrain {rnd + 1}").net
                log(f"prune round {rnd + 1}: weights kept {density(masks):.2%}, "
                    f"test accuracy {data.accuracy(net):.4f}")
            pruned = True
        elif isinstance(stage, LowRank):
            _check_layers(recipe, net, list(stage.layers), f"stages[{i}].lowrank.layers")
            for name, frac in stage.layers.items():
                try:
                    net = factorize(net, name, float(frac), _seed(seed, i))
                except ValueError as exc:
                    raise ConfigError(recipe.path, f"stages[{i}].lowrank.layers.{name}: {exc}") from None
            masks = full_masks(net)
            if stage.retrain is not None:
                net = train(net, data.train, stage.retrain, seed=_seed(seed, i), masks=masks, desc="fine-tune").net
            log(f"low-rank: {net.weight_count} weights, test accuracy {data.accuracy(net):.4f}")
            pruned = True
        elif isinstance(stage, Slimming):
            net = _slimming(net, stage, data, _seed(seed, i), recipe.train, log)
            masks = full_masks(net)
            pruned = True
        elif isinstance(stage, Distill):
            net = _distill(net, stage, data, _seed(seed, i), recipe.train)
            masks = full_masks(net)
            dense_weights = net.weight_count
            log(f"distilled student {stage.student}: test accuracy {data.accuracy(net):.4f}")
        elif isinstance(stage, Structured):
            _check_layers(recipe, net, list(stage.layers), f"stages[{i}].structured.layers")
            for name, frac in stage.layers.items():
                try:
                    net, keep = structured_prune(net, name, float(frac), stage.norm, stage.target)
                except ValueError as exc:
                    raise ConfigError(recipe.path, f"stages[{i}].structured.layers.{name}: {exc}") from None
            masks = full_masks(net)
            if stage.retrain is not None:
                net = train(net, data.train, stage.retrain, seed=_seed(seed, i), masks=masks, desc="retrain").net
            log(f"structured pruning: {net.weight_count} weights left, test accuracy {data.accuracy(net):.4f}")
            pruned = True
        elif isinstance(stage, (Supermask, EarlyBird)):
            net, masks, name = _mask_stage(recipe, net, stage, i, data, seed, log)
            rows.append(_stage_row(name, data.accuracy(net), net, dense_weights, network_storage(net, index_bits),
                                   "pruned", dense_bytes))
        elif isinstance(stage, Quantize):
            if pruned:
                rows.append(_stage_row("pruned", data.accuracy(net), net, dense_weights,
                                       network_storage(net, index_bits), "pruned", dense_bytes))
            net = _quantize(net, masks, stage, data, _seed(seed, i), log)
            quantized = net
    if pruned and quantized is None:
        rows.append(_stage_row("pruned", data.accuracy(net), net, dense_weights,
                               network_storage(net, index_bits), "pruned", dense_bytes))
    layers = network_storage(net, index_bits)
    if quantized is not None:
        acc = data.accuracy(net)
        rows.append(_stage_row("quantized", acc, net, dense_weights, layers, "quantized", dense_bytes))
        decoded = _decode_network(net, index_bits)
        rows.append(_stage_row("huffman", data.accuracy(decoded), decoded, dense_weights, layers, "huffman",
                               dense_bytes))
    return net, pd.DataFrame(rows, columns=list(STAGE_COLUMNS)), storage_table(layers)


def _mask_stage(recipe: Recipe, net: Network, stage, i: int, data: SplitData, seed: int, log):
    """Supermask or early-bird stage: (network, masks, stage-table row name)."""
    from .earlybird import early_bird
    from .supermask import train_supermask

    where = f"stages[{i}].{stage.kind}.layers"
    _check_layers(recipe, net, stage.layers, where)
    if isinstance(stage, Supermask):
        res = train_supermask(net, data.train, stage.train or recipe.train, stage.keep, stage.init, stage.layers,
                              seed=_seed(seed, i))
        log(f"supermask over frozen random weights: weights kept {density(res.masks):.2%}, "
            f"test accuracy {data.accuracy(res.net):.4f}")
        return res.net, {**full_masks(res.net), **res.masks}, "supermask"
    res = early_bird(net, stage, data.train, recipe.train, _seed(seed, i), _seed(seed, i, 1), log)
    log(f"early-bird ticket retrained: weights kept {density(res.masks):.2%}, "
        f"test accuracy {data.accuracy(res.net):.4f}")
    return res.net, res.masks, f"early_bird_epoch_{res.epoch}" + ("" if res.drawn else "_undrawn")


def _slimming(net: Network, stage: Slimming, data: SplitData, seed: int, base, log) -> Network:
    """Liu et al.'s network slimming: batch norm + L1 on its scales, global channel cut, fold, fine-tune."""
    from .slimming import l1_on_scales, prune_channels, with_batchnorm

    bn = with_batchnorm(net)
    bn = train(bn, data.train, stage.train or base, seed=seed, desc="slimming (L1 on BN scales)",
               regularize=l1_on_scales(stage.sparsity)).net
    net, kept = prune_channels(bn, stage.keep, stage.weights)
    log(f"slimming: kept {sum(len(k) for k in kept.values())} channels/neurons, test accuracy {data.accuracy(net):.4f}")
    if stage.retrain is not None:
        net = train(net, data.train, stage.retrain, seed=_seed(seed, 1), desc="fine-tune").net
    return net


def _gradual_masks(net: Network, masks: dict, stage: Prune, step: int) -> dict:
    """Masks at Zhu & Gupta's cubic sparsity for pruning step ``step`` of ``stage.rounds``: each
    layer keeps its largest-magnitude weights, reaching ``rate`` (x output_rate_factor) at the end."""
    finals = layer_rates(net, stage.rate, stage.output_rate_factor, stage.layers)
    out = dict(masks)
    for lay in net.weighted_layers:
        if lay.name not in finals:
            continue
        alive = masks[lay.name].astype(bool)
        target_pruned = int(round(cubic_sparsity(step, stage.rounds, finals[lay.name]) * alive.size))
        out[lay.name] = _drop_smallest(lay.weight, alive, target_pruned - (alive.size - int(alive.sum())))
    return out


def _snip(net: Network, stage: Prune, data: SplitData, seed: int) -> tuple[Network, dict]:
    """SNIP: a fresh seeded initialization, scores on one random mini-batch, one global cut."""
    init = init_weights(net, seed)
    x, y = data.train[0], data.train[1]
    batch = np.random.default_rng(seed).choice(len(y), size=min(SNIP_BATCH, len(y)), replace=False)
    scores = snip_scores(init, x[batch], y[batch])
    if stage.layers is not None:
        scores = {k: v for k, v in scores.items() if k in stage.layers}
    masks = {**full_masks(init), **top_fraction_masks(scores, 1.0 - float(stage.rate))}
    return apply_masks(init, masks), masks


def _distill(teacher: Network, stage: Distill, data: SplitData, seed: int, base) -> Network:
    student = load_architecture(stage.student)
    if tuple(student.input_shape) != tuple(teacher.input_shape):
        raise ConfigError(stage.student, f"input_shape: the student takes {list(student.input_shape)}, the "
                          f"teacher {list(teacher.input_shape)}; distillation needs the same inputs")
    x_train = data.train[0]
    soft = teacher_logits(teacher, x_train)

    def loss(logits, y, idx):
        return distillation_loss(logits, soft[idx], y, stage.temperature, stage.weight)

    return train(init_weights(student, seed), data.train, stage.train or base, seed=seed, desc="distill",
                 loss=loss).net


def _check_layers(recipe: Recipe, net: Network, names, where: str) -> None:
    if names is None:
        return
    known = [lay.name for lay in net.weighted_layers]
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(recipe.path, f"{where}: unknown weighted layers {bad}; the model has {known}")


def _qualities(net: Network, stage: Prune) -> dict:
    """{layer: quality} for threshold pruning; the output layer's is scaled like its rate."""
    q = stage.quality
    weighted = net.weighted_layers
    out = {}
    for lay in weighted:
        if stage.layers is not None and lay.name not in stage.layers:
            continue
        v = q.get("conv" if lay.kind == "conv2d" else "fc", 0.0) if isinstance(q, dict) else q
        if lay is weighted[-1]:
            v *= stage.output_rate_factor
        out[lay.name] = float(v)
    return out


def _quantize(net: Network, masks: dict, stage: Quantize, data: SplitData, seed: int, log) -> Network:
    qnet = quantize_network(net, stage.method, 1 if stage.bits is None else stage.bits, stage.init,
                            stage.per_channel, seed)
    log(f"quantized ({stage.method}): test accuracy {data.accuracy(qnet):.4f}")
    if stage.finetune is None:
        return qnet
    if stage.method == "linear":
        return _linear_finetune(qnet, masks, stage, data, seed, log)
    shared = {lay.name: (lay.quant.codebook, lay.quant.codes.astype(np.int64))
              for lay in qnet.weighted_layers if lay.quant is not None}
    res = train(qnet, data.train, stage.finetune, seed=seed, masks=masks, shared=shared, desc="centroid fine-tuning")
    out = qnet.copy()
    for lay in out.weighted_layers:
        if lay.name in shared:
            lay.quant.codebook = res.codebooks[lay.name].astype(np.float32)
            lay.weight = dequantize(lay.quant, lay.weight != 0)
            lay.bias = res.net.layer(lay.name).bias.copy() if lay.bias is not None else None
        else:
            src = res.net.layer(lay.name)
            lay.weight, lay.bias = src.weight.copy(), None if src.bias is None else src.bias.copy()
    log(f"centroids fine-tuned: test accuracy {data.accuracy(out):.4f}")
    return out


def _linear_finetune(qnet: Network, masks: dict, stage: Quantize, data: SplitData, seed: int, log) -> Network:
    """Quantization-aware fine-tuning (Jacob et al. 2018): forward passes on the linear-quantized
    weights, gradients straight through to float shadow weights; then quantized again."""
    bits = {lay.name: lay.quant.bits for lay in qnet.weighted_layers if lay.quant is not None}

    def project(params: dict) -> dict:
        out = dict(params)
        for name, b in bits.items():
            q, scale = linear_quantize(params[(name, "weight")], b, stage.per_channel)
            s = scale.reshape((-1,) + (1,) * (q.ndim - 1)) if stage.per_channel else scale
            out[(name, "weight")] = (q.astype(np.float32) * s).astype(np.float32)
        return out

    res = train(qnet, data.train, stage.finetune, seed=seed, masks=masks, project=project, desc="QAT fine-tuning")
    out = quantize_network(res.net, "linear", stage.bits, stage.init, stage.per_channel, seed)
    log(f"quantization-aware fine-tuning: test accuracy {data.accuracy(out):.4f}")
    return out


def _decode_network(net: Network, index_bits) -> Network:
    """Rebuild every layer from its Huffman-coded streams; they must equal the stored weights."""
    out = net.copy()
    for lay in out.weighted_layers:
        _, streams = layer_storage(lay, index_bits_for(lay, index_bits))
        w = decode_layer(lay, streams)
        if not np.array_equal(w, lay.weight):
            raise SimulationError(f"layer {lay.name!r}: Huffman/relative-index decoding does not give back the weights")
        lay.weight = w
    return out


def _stage_row(stage: str, acc: float, net: Network, dense_weights: int, layers, storage_stage: str,
               dense_bytes: int | None = None) -> dict:
    nbytes = storage_bytes(layers, storage_stage)
    return {"stage": stage, "accuracy": round(acc, 6),
            "weights_kept_fraction": round(net.weight_nnz / dense_weights, 6), "storage_bytes": nbytes,
            "compression_ratio": round((dense_bytes or nbytes) / nbytes, 3)}


def _run_lottery(recipe: Recipe, data_dir, seed: int, log) -> Compressed:
    arch = load_architecture(recipe.model_path)
    data = dataset_for(recipe, arch, data_dir)
    lcfg = recipe.lottery
    if seed != recipe.seed:  # a seed override shifts every seed of the experiment
        lcfg = type(lcfg)(**{**lcfg.__dict__, "seeds": tuple(s + seed - recipe.seed for s in lcfg.seeds)})
    rows, tickets = run_lottery(arch, data.train, data.test, recipe.train, lcfg, log=log, source=recipe.path)
    summary = summarize(rows)
    first = lcfg.seeds[0]
    mine = rows[(rows["seed"] == first) & (rows["variant"] == "ticket")]
    small = mine[mine["weights_remaining_fraction"] <= recipe.ship_fraction]
    pick = small.iloc[0] if len(small) else mine.iloc[-1]
    ticket = tickets[first][int(pick["round"])]
    out = ticket.replace(name=default_model_name(recipe), accuracy=float(pick["accuracy"]),
                         meta={"recipe": os.path.basename(recipe.path), "seed": int(first),
                               "round": int(pick["round"]),
                               "weights_remaining_fraction": float(pick["weights_remaining_fraction"])})
    return Compressed(recipe, out, lth=rows, lth_summary=summary)
