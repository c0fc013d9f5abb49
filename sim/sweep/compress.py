"""Compression as sweep axes: the spec's ``compression`` section, its axes, and applying it to a model.

Two forms, both built on sim.compression's public functions:

- one-shot (fast, no retraining): magnitude pruning to a target weight density, then quantization::

      compression:
        prune: {density: 0.1}                 # keep 10% of each layer's weights (largest magnitudes)
        quantize: {method: kmeans, bits: 5}   # bits: a number or {fc: 4, conv: 8}

  axes: ``compression.prune.density``, ``compression.quantize.bits`` (or ``.bits.fc``), ...
- a full recipe (``python -m sim compress`` semantics: retraining, fine-tuning)::

      compression: {recipe: recipes/lenet300-dc.yaml}

  axes are dotted paths into the recipe file, list items by index:
  ``compression.stages.0.prune.rate``, ``compression.stages.1.quantize.bits.fc``.
"""
from __future__ import annotations

import copy
import os
import tempfile

import yaml

from ..errors import ConfigError, did_you_mean
from ..workload.network import Network

ONE_SHOT_KEYS = {
    "prune": {"density": "number in (0, 1]: fraction of each layer's weights kept",
              "scope": "layer | global", "layers": "list of layer names (default: all weighted layers)"},
    "quantize": {"method": "kmeans | linear", "bits": "integer, or {fc: n, conv: n}",
                 "init": "linear | density | random", "per_channel": "true | false"},
}
QUANT_BITS = {"kmeans": (1, 16), "linear": (2, 8)}


def load_recipe_for_sweep(problems: list, raw, spec_file: str) -> tuple[dict | None, str | None]:
    """Check the spec's ``compression`` section; return (compression mapping, recipe file or None).

    The mapping is ``{"prune": {...}, "quantize": {...}}`` (one-shot) or ``{"recipe": data}``."""
    from .spec import resolve

    if isinstance(raw, str):
        raw = {"recipe": raw}
    if not isinstance(raw, dict) or not raw:
        problems.append(f"compression: must be {{prune: ..., quantize: ...}} or {{recipe: FILE}}; got {raw!r}")
        return None, None
    if "recipe" in raw:
        if len(raw) > 1:
            problems.append("compression: give either recipe or prune/quantize, not both")
        path = raw["recipe"]
        if not isinstance(path, str) or not os.path.isfile(resolve(path, spec_file)):
            problems.append(f"compression.recipe: file not found: {path!r}")
            return None, None
        from ..compression.recipe import load_recipe
        path = resolve(path, spec_file)
        load_recipe(path)  # a broken base recipe is reported against its own file
        from ..yamlfile import read_yaml
        return {"recipe": read_yaml(path)}, path
    for key, opts in raw.items():
        if key not in ONE_SHOT_KEYS:
            problems.append(f"compression.{key}: unknown key"
                            + did_you_mean(str(key), list(ONE_SHOT_KEYS) + ["recipe"]))
        elif not isinstance(opts, dict):
            problems.append(f"compression.{key}: must be a mapping of options; got {opts!r}")
        else:
            for opt in opts:
                if opt not in ONE_SHOT_KEYS[key]:
                    problems.append(f"compression.{key}.{opt}: unknown key"
                                    + did_you_mean(str(opt), ONE_SHOT_KEYS[key]))
    if "prune" in raw and isinstance(raw["prune"], dict) and "density" not in raw["prune"]:
        problems.append("compression.prune.density: missing; expected the fraction of weights kept, in (0, 1]")
    if "quantize" in raw and isinstance(raw["quantize"], dict) and "bits" not in raw["quantize"]:
        problems.append("compression.quantize.bits: missing; expected an integer or {fc: n, conv: n}")
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
    if len(rest) > 1 and not (rest[0] == "bits" and len(rest) == 2 and rest[1] in ("fc", "conv")):
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
    return _one_shot(net, compression, spec_file, seed)


def _one_shot(net: Network, compression: dict, spec_file: str, seed: int) -> Network:
    from ..compression.prune import apply_masks, full_masks, magnitude_masks
    from ..compression.quantize import quantize_network

    problems = []
    prune, quant = compression.get("prune"), compression.get("quantize")
    if prune is not None:
        density = prune.get("density")
        scope = prune.get("scope", "layer")
        names = prune.get("layers")
        weighted = [lay.name for lay in net.weighted_layers]
        if not isinstance(density, (int, float)) or isinstance(density, bool) or not 0 < density <= 1:
            problems.append(f"compression.prune.density: must be a number in (0, 1]; got {density!r}")
        if scope not in ("layer", "global"):
            problems.append(f"compression.prune.scope: must be layer or global; got {scope!r}")
        if names is not None and (not isinstance(names, list) or any(n not in weighted for n in names)):
            problems.append(f"compression.prune.layers: must list weighted layers of {net.name} "
                            f"({', '.join(weighted)}); got {names!r}")
        if not problems:
            masks = full_masks(net)
            # Rates count the weights still alive (sim.compression.prune), so a model that is
            # already sparse is pruned only by what is left to reach the target density.
            rates = {}
            for lay in net.weighted_layers:
                if names is None or lay.name in names:
                    alive = lay.weight_density
                    rates[lay.name] = max(0.0, 1.0 - density / alive) if alive > 0 else 0.0
            net = apply_masks(net, magnitude_masks(net, "percentile", rates=rates, scope=scope, masks=masks))
    if quant is not None and not problems:
        method, bits = quant.get("method", "kmeans"), quant.get("bits")
        init, per_channel = quant.get("init", "linear"), quant.get("per_channel", False)
        if method not in QUANT_BITS:
            problems.append(f"compression.quantize.method: must be kmeans or linear; got {method!r}")
        else:
            lo, hi = QUANT_BITS[method]
            for where, b in (bits.items() if isinstance(bits, dict) else [("", bits)]):
                key = f"compression.quantize.bits{'.' + where if where else ''}"
                if where not in ("", "fc", "conv"):
                    problems.append(f"{key}: unknown layer type; expected fc or conv")
                elif not isinstance(b, int) or isinstance(b, bool) or not lo <= b <= hi:
                    problems.append(f"{key}: must be an integer in [{lo}, {hi}] for {method}; got {b!r}")
        if init not in ("linear", "density", "random"):
            problems.append(f"compression.quantize.init: must be linear, density or random; got {init!r}")
        if not isinstance(per_channel, bool):
            problems.append(f"compression.quantize.per_channel: must be true or false; got {per_channel!r}")
        if not problems:
            net = quantize_network(net, method, bits, init, per_channel, seed)
    if problems:
        raise ConfigError(spec_file, problems)
    return net


def _run_recipe(data: dict, recipe_file: str, data_dir) -> Network:
    """Run a full recipe (with this point's values) in a scratch folder and load its model. The
    recipe's own seed applies (sweep it as ``compression.seed``)."""
    from ..compression.pipeline import run_recipe
    from ..compression.recipe import load_recipe
    from ..workload.load import load_network

    data = copy.deepcopy(data)
    # The scratch copy lives elsewhere, so the model path must not stay relative to the recipe.
    data["model"] = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(recipe_file)), str(data["model"])))
    data.pop("output_model", None)
    with tempfile.TemporaryDirectory(prefix="sim-sweep-recipe-") as tmp:
        path = os.path.join(tmp, os.path.basename(recipe_file))
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump(data, f, sort_keys=False)
        try:
            recipe = load_recipe(path)
        except ConfigError as exc:
            raise ConfigError(f"{recipe_file} (with this point's values)", exc.problems) from None
        result = run_recipe(recipe, os.path.join(tmp, "out"), data_dir=data_dir, log=lambda *_: None)
        return load_network(result.model_path)
