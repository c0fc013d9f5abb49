"""Compression as sweep axes: the spec's ``compression`` section, its axes, and applying it to a model.

Two forms, both built on sim.compression's public functions and checked by the one schema mechanism:

- one-shot (fast, no retraining): magnitude pruning to a target weight density, then quantization::

      compression:
        prune: {density: 0.1}                 # keep 10% of each layer's weights (largest magnitudes)
        quantize: {method: kmeans, bits: 5}   # bits: a number or {fc: 4, conv: 8}

  axes: ``compression.prune.density``, ``compression.quantize.bits`` (or ``.bits.fc``), ...
- a full recipe (``python -m sim compress`` semantics: retraining, fine-tuning)::

      compression: {recipe: recipes/lenet300-dc.yaml}

  axes are dotted paths into the recipe file, list items by index:
  ``compression.stages.0.prune.rate``, ``compression.stages.1.quantize.bits.fc``. Each point's
  values are set in the recipe mapping, which is checked and run in memory (no file is written).
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass

from .. import schema as S
from ..compression.pipeline import run_compression
from ..compression.prune import apply_masks, full_masks, magnitude_masks
from ..compression.quantize import quantize_network
from ..compression.recipe import QUANT_BITS, load_recipe, recipe_from_dict
from ..errors import ConfigError, did_you_mean
from ..paths import resolve_beside
from ..workload.network import Network
from ..yamlfile import read_yaml


@dataclass(frozen=True)
class OneShotPrune:
    density: float
    scope: str = "layer"
    layers: tuple | None = None


@dataclass(frozen=True)
class OneShotQuantize:
    bits: int | dict
    method: str = "kmeans"
    init: str = "linear"
    per_channel: bool = False


@dataclass(frozen=True)
class OneShot:
    prune: OneShotPrune | None = None
    quantize: OneShotQuantize | None = None


ONE_SHOT = S.Record(OneShot, {
    "prune": S.Record(OneShotPrune, {
        "density": S.fraction(open_low=True, doc="fraction of each layer's weights kept"),
        "scope": S.choice("layer", "layer", "global"),
        "layers": S.Field("str_list", None, doc="layer names (default: all weighted layers)"),
    }, optional=True),
    "quantize": S.Record(OneShotQuantize, {
        "method": S.choice("kmeans", *QUANT_BITS), "bits": S.ByLayerType(S.Field("int", S.REQUIRED, min=1, max=16)),
        "init": S.choice("linear", "linear", "density", "random"), "per_channel": S.flag(False),
    }, optional=True),
})
ONE_SHOT_KEYS = {k: tuple(v.fields) for k, v in ONE_SHOT.fields.items()}


def load_recipe_for_sweep(problems: list, raw, spec_file: str) -> tuple[dict | None, str | None]:
    """Check the spec's ``compression`` section; return (compression mapping, recipe file or None).

    The mapping is ``{"prune": {...}, "quantize": {...}}`` (one-shot) or ``{"recipe": data}``."""
    if isinstance(raw, str):
        raw = {"recipe": raw}
    if not isinstance(raw, dict) or not raw:
        problems.append(f"compression: must be {{prune: ..., quantize: ...}} or {{recipe: FILE}}; got {raw!r}")
        return None, None
    if "recipe" in raw:
        if len(raw) > 1:
            problems.append("compression: give either recipe or prune/quantize, not both")
        path = raw["recipe"]
        if not isinstance(path, str) or not os.path.isfile(resolve_beside(path, spec_file)):
            problems.append(f"compression.recipe: file not found: {path!r}")
            return None, None
        path = resolve_beside(path, spec_file)
        load_recipe(path)  # a broken base recipe is reported against its own file
        return {"recipe": read_yaml(path)}, path
    S.check(ONE_SHOT, raw, "compression", problems)
    return copy.deepcopy(raw), None


def check_compression_axis(dotted: str, compression: dict, where: str) -> str | None:
    """Why ``compression.<dotted>`` is not a field of the spec's compression, or None."""
    parts = dotted.split(".")
    if "recipe" in compression:
        node = compression["recipe"]
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    return f"{where}: '{'.'.join(parts[:i])}' is a list of {len(node)}; use an index 0..{len(node) - 1}"
                node = node[int(part)]
            elif isinstance(node, dict):
                if part not in node and not last:
                    return f"{where}: the recipe has no key '{part}'" + did_you_mean(part, [str(k) for k in node])
                node = node.get(part)
            else:
                return f"{where}: '{'.'.join(parts[:i])}' is a single value in the recipe; it has no key '{part}'"
        return None  # the recipe's own checker validates each point's values
    section, rest = parts[0], parts[1:]
    if section not in ONE_SHOT_KEYS:
        return f"{where}: unknown compression key '{section}'" + did_you_mean(section, ONE_SHOT_KEYS)
    if section not in compression:
        return f"{where}: the spec's compression has no '{section}' section; add one to sweep its fields"
    if not rest:
        return f"{where}: name a field of compression.{section} ({', '.join(ONE_SHOT_KEYS[section])})"
    if rest[0] not in ONE_SHOT_KEYS[section]:
        return f"{where}: unknown key '{rest[0]}'" + did_you_mean(rest[0], ONE_SHOT_KEYS[section])
    if len(rest) > 1 and not (rest[0] == "bits" and len(rest) == 2 and rest[1] in S.LAYER_TYPES):
        return f"{where}: only bits has sub-keys (bits.fc, bits.conv)"
    return None


def compression_with(compression: dict, values: dict) -> dict:
    """Deep copy of ``compression`` with ``{dotted path: value}`` set (list items by index)."""
    out = copy.deepcopy(compression)
    for dotted, value in values.items():
        parts = dotted.split(".")
        node = out["recipe"] if "recipe" in out else out
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = {}
                node = node[part]
        if isinstance(node, list):
            node[int(parts[-1])] = value
        else:
            node[parts[-1]] = value
    return out


def compress(net: Network, compression: dict, spec_file: str, recipe_file: str | None, seed: int,
             data_dir=None) -> Network:
    """Apply one point's compression. Bad values raise ConfigError (recorded as that point's error)."""
    if "recipe" in compression:
        return _run_recipe(compression["recipe"], recipe_file, data_dir)
    return one_shot(net, S.validate(ONE_SHOT, compression, spec_file, "compression"), spec_file, seed)


def one_shot(net: Network, spec: OneShot, spec_file: str, seed: int) -> Network:
    """Magnitude pruning to ``spec.prune.density`` per layer, then quantization, without retraining."""
    if spec.prune is not None:
        prune = spec.prune
        weighted = [lay.name for lay in net.weighted_layers]
        if prune.layers is not None and any(n not in weighted for n in prune.layers):
            raise ConfigError(spec_file, f"compression.prune.layers: must list weighted layers of {net.name} "
                                         f"({', '.join(weighted)}); got {list(prune.layers)!r}")
        # Rates count the weights still alive (sim.compression.prune), so a model that is
        # already sparse is pruned only by what is left to reach the target density.
        rates = {}
        for lay in net.weighted_layers:
            if prune.layers is None or lay.name in prune.layers:
                alive = lay.weight_density
                rates[lay.name] = max(0.0, 1.0 - prune.density / alive) if alive > 0 else 0.0
        net = apply_masks(net, magnitude_masks(net, "percentile", rates=rates, scope=prune.scope,
                                               masks=full_masks(net)))
    if spec.quantize is not None:
        q = spec.quantize
        lo, hi = QUANT_BITS[q.method]
        for where, b in (q.bits.items() if isinstance(q.bits, dict) else [("", q.bits)]):
            if not lo <= b <= hi:
                raise ConfigError(spec_file, f"compression.quantize.bits{'.' + where if where else ''}: must be an "
                                             f"integer in [{lo}, {hi}] for {q.method}; got {b!r}")
        net = quantize_network(net, q.method, q.bits, q.init, q.per_channel, seed)
    return net


def _run_recipe(data: dict, recipe_file: str, data_dir) -> Network:
    """Run a full recipe with this point's values, in memory. The recipe's own seed applies (sweep
    it as ``compression.seed``); the network is named as ``python -m sim compress`` names it without an
    ``output_model`` (``<recipe name>-model``)."""
    data = {k: v for k, v in data.items() if k != "output_model"}
    try:
        recipe = recipe_from_dict(data, recipe_file)
    except ConfigError as exc:
        raise ConfigError(f"{recipe_file} (with this point's values)", exc.problems) from None
    return run_compression(recipe, data_dir=data_dir).network
