"""Run a recipe end to end: dense model -> stages -> compressed model + CSV tables + PNG plots.

Outputs in ``out_dir``:

- Deep Compression: ``compression.csv`` (stage, accuracy, weights_kept_fraction, storage_bytes,
  compression_ratio), ``compression_layers.csv`` (per-layer storage table), ``storage.png``;
- lottery tickets: ``lth.csv`` (one row per round x variant x seed), ``lth_summary.csv`` (mean and
  std over seeds), ``lth.png``.

The compressed model (YAML + .npz, loadable by ``sim.load_network``) goes to the recipe's
``output_model`` or to ``out_dir/<recipe name>-model.yaml``. Same seed, same bytes.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, SimulationError
from ..outdir import staged_outputs
from ..workload.data import Dataset, load_dataset, shape_for
from ..workload.load import load_network
from ..workload.network import Network
from .lottery import run_lottery, summarize
from ..workload.load import save_network
from .models_io import has_weights, load_architecture
from .plots import plot_lottery, plot_storage
from .prune import apply_masks, density, full_masks, layer_rates, magnitude_masks
from .quantize import dequantize, quantize_network
from .recipe import Recipe
from .storage import decode_layer, index_bits_for, layer_storage, network_storage, storage_bytes, storage_table
from .structured import structured_prune
from .train import evaluate, init_weights, train

STAGE_COLUMNS = ("stage", "accuracy", "weights_kept_fraction", "storage_bytes", "compression_ratio")
DEFAULT_INDEX_BITS = {"fc": 5, "conv": 8}  # Deep Compression: 5-bit fc, 8-bit conv index gaps


@dataclass
class RecipeResult:
    out_dir: str
    model_path: str
    files: list[str] = field(default_factory=list)
    stages: pd.DataFrame | None = None
    layers: pd.DataFrame | None = None
    lth: pd.DataFrame | None = None
    lth_summary: pd.DataFrame | None = None


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])


class SplitData:
    """A dataset split shaped for one network's input."""

    def __init__(self, net: Network, ds: Dataset):
        shape = tuple(net.input_shape)
        src = net.source or net.name
        self.train = (shape_for(ds.x_train, shape, src), ds.y_train, shape_for(ds.x_val, shape, src), ds.y_val)
        self.test = (shape_for(ds.x_test, shape, src), ds.y_test)

    def accuracy(self, net: Network) -> float:
        return evaluate(net, *self.test)[1]


def _dataset(recipe: Recipe, net: Network, data_dir) -> Dataset:
    return load_dataset(recipe.dataset or net.dataset or "digits", data_dir)


def _write_csv(df: pd.DataFrame, path: str) -> None:
    df.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")


def run_recipe(recipe: Recipe, out_dir: str, data_dir=None, seed: int | None = None,
               model_out: str | None = None, log=print) -> RecipeResult:
    """Run ``recipe``; ``seed`` overrides the recipe's, ``model_out`` its output_model.

    Everything is written to staging folders first and moved into place only when the whole
    recipe succeeded: a failure leaves neither tables nor a model behind."""
    seed = recipe.seed if seed is None else seed
    model_out = model_out or recipe.output_model or os.path.join(out_dir, f"{recipe.name}-model.yaml")
    runner = _run_lottery if recipe.kind == "lottery_ticket" else _run_deep_compression
    with staged_outputs(out_dir, model_out) as (stage_dir, stage_model, final):
        result = runner(recipe, stage_dir, data_dir, seed, stage_model, log)
    return dataclasses.replace(result, out_dir=str(out_dir), model_path=str(model_out),
                               files=[final(f) for f in result.files])


def _dense_start(recipe: Recipe, data_dir, seed: int, log) -> tuple[Network, SplitData]:
    if has_weights(recipe.model_path):
        net = load_network(recipe.model_path)
        data = SplitData(net, _dataset(recipe, net, data_dir))
        log(f"dense model {recipe.model_path}: test accuracy {data.accuracy(net):.4f}")
        return net, data
    arch = load_architecture(recipe.model_path)
    data = SplitData(arch, _dataset(recipe, arch, data_dir))
    log(f"training {recipe.model_path} from scratch (it has no weights file)")
    net = train(init_weights(arch, seed), data.train, recipe.train, seed=seed, desc="dense").net
    return net, data


def _run_deep_compression(recipe: Recipe, out_dir: str, data_dir, seed: int, model_out: str, log) -> RecipeResult:
    net, data = _dense_start(recipe, data_dir, seed, log)
    dense_weights = net.weight_count
    index_bits = next((s.options.get("index_bits", DEFAULT_INDEX_BITS) for s in recipe.stages if s.kind == "encode"),
                      DEFAULT_INDEX_BITS)
    rows = [_stage_row("dense", data.accuracy(net), net, dense_weights, network_storage(net, index_bits), "dense")]
    dense_bytes = rows[0]["storage_bytes"]
    masks = full_masks(net)
    pruned = False
    quantized = None
    for i, stage in enumerate(recipe.stages):
        opts = stage.options
        if stage.kind == "prune":
            names = opts.get("layers")
            _check_layers(recipe, net, names, f"stages[{i}].prune.layers")
            for rnd in range(int(opts.get("rounds", 1))):
                if opts.get("method", "percentile") == "percentile":
                    rates = layer_rates(net, opts["rate"], float(opts.get("output_rate_factor", 1.0)), names)
                    masks = magnitude_masks(net, "percentile", rates=rates, scope=opts.get("scope", "layer"),
                                            masks=masks)
                else:
                    masks = magnitude_masks(net, "threshold", quality=_qualities(net, opts, names),
                                            scope=opts.get("scope", "layer"), masks=masks)
                net = apply_masks(net, masks)
                if stage.train is not None:
                    net = train(net, data.train, stage.train, seed=_seed(seed, i, rnd), masks=masks,
                                desc=f"retrain {rnd + 1}").net
                log(f"prune round {rnd + 1}: weights kept {density(masks):.2%}, "
                    f"test accuracy {data.accuracy(net):.4f}")
            pruned = True
        elif stage.kind == "structured":
            _check_layers(recipe, net, list(opts["layers"]), f"stages[{i}].structured.layers")
            for name, frac in opts["layers"].items():
                try:
                    net, keep = structured_prune(net, name, float(frac), opts.get("norm", "l1"),
                                                 opts.get("target", "filters"))
                except ValueError as exc:
                    raise ConfigError(recipe.path, f"stages[{i}].structured.layers.{name}: {exc}") from None
            masks = full_masks(net)
            if stage.train is not None:
                net = train(net, data.train, stage.train, seed=_seed(seed, i), masks=masks, desc="retrain").net
            log(f"structured pruning: {net.weight_count} weights left, test accuracy {data.accuracy(net):.4f}")
            pruned = True
        elif stage.kind == "quantize":
            if pruned:
                rows.append(_stage_row("pruned", data.accuracy(net), net, dense_weights,
                                       network_storage(net, index_bits), "pruned", dense_bytes))
            net = _quantize(net, masks, opts, stage, data, _seed(seed, i), log)
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
    stages = pd.DataFrame(rows, columns=list(STAGE_COLUMNS))
    table = storage_table(layers)
    files = [os.path.join(out_dir, n) for n in ("compression.csv", "compression_layers.csv", "storage.png")]
    _write_csv(stages, files[0])
    _write_csv(table, files[1])
    plot_storage(stages, files[2])
    final = stages.iloc[-1]
    out = net.replace(name=Path(model_out).stem, accuracy=round(float(final["accuracy"]), 6),
                      meta={"recipe": os.path.basename(recipe.path),
                            "weights_kept_fraction": float(final["weights_kept_fraction"]),
                            "storage_bytes": int(final["storage_bytes"]),
                            "compression_ratio": float(final["compression_ratio"])})
    save_network(out, model_out)
    return RecipeResult(out_dir, model_out, files + [model_out], stages=stages, layers=table)


def _check_layers(recipe: Recipe, net: Network, names, where: str) -> None:
    if names is None:
        return
    known = [lay.name for lay in net.weighted_layers]
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(recipe.path, f"{where}: unknown weighted layers {bad}; the model has {known}")


def _qualities(net: Network, opts: dict, names) -> dict:
    """{layer: quality} for threshold pruning; the output layer's is scaled like its rate."""
    q = opts["quality"]
    weighted = net.weighted_layers
    out = {}
    for lay in weighted:
        if names is not None and lay.name not in names:
            continue
        v = q.get("conv" if lay.kind == "conv2d" else "fc", 0.0) if isinstance(q, dict) else q
        if lay is weighted[-1]:
            v *= float(opts.get("output_rate_factor", 1.0))
        out[lay.name] = float(v)
    return out


def _quantize(net: Network, masks: dict, opts: dict, stage, data: SplitData, seed: int, log) -> Network:
    method = opts.get("method", "kmeans")
    qnet = quantize_network(net, method, opts.get("bits", 1), opts.get("init", "linear"),
                            bool(opts.get("per_channel", False)), seed)
    log(f"quantized ({method}): test accuracy {data.accuracy(qnet):.4f}")
    if stage.train is None:
        return qnet
    shared = {lay.name: (lay.quant.codebook, lay.quant.codes.astype(np.int64))
              for lay in qnet.weighted_layers if lay.quant is not None}
    res = train(qnet, data.train, stage.train, seed=seed, masks=masks,
                shared=shared, desc="centroid fine-tuning")
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


def _run_lottery(recipe: Recipe, out_dir: str, data_dir, seed: int, model_out: str, log) -> RecipeResult:
    arch = load_architecture(recipe.model_path)
    data = SplitData(arch, _dataset(recipe, arch, data_dir))
    lcfg = recipe.lottery
    if seed != recipe.seed:  # --seed shifts every seed of the experiment
        lcfg = type(lcfg)(**{**lcfg.__dict__, "seeds": tuple(s + seed - recipe.seed for s in lcfg.seeds)})
    rows, tickets = run_lottery(arch, data.train, data.test, recipe.train, lcfg, log=log, source=recipe.path)
    summary = summarize(rows)
    files = [os.path.join(out_dir, n) for n in ("lth.csv", "lth_summary.csv", "lth.png")]
    _write_csv(rows, files[0])
    _write_csv(summary, files[1])
    plot_lottery(summary, files[2])
    first = lcfg.seeds[0]
    mine = rows[(rows["seed"] == first) & (rows["variant"] == "ticket")]
    small = mine[mine["weights_remaining_fraction"] <= recipe.ship_fraction]
    pick = small.iloc[0] if len(small) else mine.iloc[-1]
    ticket = tickets[first][int(pick["round"])]
    out = ticket.replace(name=Path(model_out).stem, accuracy=float(pick["accuracy"]),
                         meta={"recipe": os.path.basename(recipe.path), "seed": int(first),
                               "round": int(pick["round"]),
                               "weights_remaining_fraction": float(pick["weights_remaining_fraction"])})
    save_network(out, model_out)
    return RecipeResult(out_dir, model_out, files + [model_out], lth=rows, lth_summary=summary)
