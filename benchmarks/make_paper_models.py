"""Writes models/crosslight-*.yaml and models/sonic-*.yaml: the papers' workloads.

The papers give layer counts, parameter totals (and for SONIC the pruned totals), never the
shapes. Each model here is a conventional 3x3/5x5 conv + pool stack whose widths reproduce the
published parameter count (weights + biases) exactly, except SONIC STL10 (see its notes). The
SONIC models are pruned to Table 3's parameter totals: per-layer sparsity is only a figure
(Fig. 7, numbers NOT FOUND), so the pruned layers share one density (ASSUMPTION) and, where
fewer layers are pruned than the model has, the largest layers are the pruned ones (ASSUMPTION).

    python benchmarks/make_paper_models.py      # rewrites the YAMLs (deterministic)
"""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def conv(name, oc, k, pad=0):
    return {"name": name, "type": "conv2d", "out_channels": oc, "kernel_size": k, "padding": pad}


def fc(name, out):
    return {"name": name, "type": "fc", "out_features": out}


def pool(name):
    return {"name": name, "type": "maxpool", "kernel_size": 2}


def relu(name):
    return {"name": name, "type": "relu"}


def shapes(input_shape, layers):
    """(name, weights, biases) of each weighted layer, in order."""
    c, h, w = input_shape
    flat = None
    out = []
    for lay in layers:
        t = lay["type"]
        if t == "conv2d":
            k, p = lay["kernel_size"], lay.get("padding", 0)
            out.append((lay["name"], lay["out_channels"] * c * k * k, lay["out_channels"]))
            c, h, w = lay["out_channels"], h + 2 * p - k + 1, w + 2 * p - k + 1
        elif t == "maxpool":
            h, w = h // 2, w // 2
        elif t == "flatten":
            flat = c * h * w
        elif t == "fc":
            out.append((lay["name"], flat * lay["out_features"], lay["out_features"]))
            flat = lay["out_features"]
    return out


def chain(spec):
    """'c32k5 p c32k3s p f fc1280 fc10' -> layer list with relus after weighted layers."""
    layers, n = [], {"conv": 0, "pool": 0, "fc": 0}
    toks = spec.split()
    for i, tok in enumerate(toks):
        if tok.startswith("c"):
            n["conv"] += 1
            oc, rest = tok[1:].split("k")
            same = rest.endswith("s")
            k = int(rest.rstrip("s"))
            layers.append(conv(f"conv{n['conv']}", int(oc), k, (k - 1) // 2 if same else 0))
            layers.append(relu(f"relu_c{n['conv']}"))
        elif tok == "p":
            n["pool"] += 1
            layers.append(pool(f"pool{n['pool']}"))
        elif tok == "f":
            layers.append({"name": "flatten", "type": "flatten"})
        elif tok.startswith("fc"):
            n["fc"] += 1
            layers.append(fc(f"fc{n['fc']}", int(tok[2:])))
            if i < len(toks) - 1:
                layers.append(relu(f"relu_f{n['fc']}"))
    return layers


MODELS = {
    # CrossLight Table I. Model 1: LeNet-5 [25] on Sign MNIST (28x28 grey, 24 letter classes).
    "crosslight-lenet5": dict(
        input_shape=[1, 28, 28], input_density=0.5, params=60074,
        spec="c9k5 p c16k5 p f fc200 fc24",
        notes="CrossLight Table I model 1: LeNet-5 on Sign MNIST (28x28, 24 classes), 2 conv + 2 fc, 60,074 "
              "parameters. ASSUMPTION: widths 9/16 (5x5, valid, 2x2 pools) and fc 200 are the LeNet-5 shape that "
              "gives exactly 60,074 with 2 fc layers (classic 6/16/120/84 has 3 fc). ASSUMPTION: input density 0.5 "
              "(Sign MNIST hand photos are mostly nonzero grey); CrossLight is dense, so it changes no cost.",
        dense=True),
    "crosslight-cifar10": dict(
        input_shape=[3, 32, 32], input_density=1.0, params=890410,
        spec="c32k3 c32k3 p c64k3 c64k3 p f fc512 fc10",
        notes="CrossLight Table I model 2: custom CNN on CIFAR10, 4 conv + 2 fc, 890,410 parameters. ASSUMPTION: "
              "the classic Keras CIFAR-10 stack (32,32,pool,64,64,pool, 3x3 valid) with fc 512 reproduces 890,410 "
              "exactly.", dense=True),
    "crosslight-stl10": dict(
        input_shape=[3, 96, 96], input_density=1.0, params=3204080,
        spec="c64k3s p c64k3s p c64k3s p c96k3s p c256k3s c256k3s c256k3s p f fc722 fc10",
        notes="CrossLight Table I model 3: custom CNN on STL10 (96x96), 7 conv + 2 fc, 3,204,080 parameters. "
              "ASSUMPTION: a 3x3 'same' stack with five 2x2 pools; widths and fc 722 chosen to give exactly "
              "3,204,080.", dense=True),
    "crosslight-omniglot": dict(
        input_shape=[1, 105, 105], input_density=1.0, params=38951745,
        spec="c64k10 p c128k7 p c128k4 p c256k4 f fc4096 fc1",
        notes="CrossLight Table I model 4: Siamese CNN (one-shot learning) on Omniglot, 8 conv + 4 fc, 38,951,745 "
              "parameters: exactly Koch et al.'s Siamese twin (64@10x10, 128@7x7, 128@4x4, 256@4x4, fc 4096) plus "
              "its 4096->1 similarity head; the 8 conv / 4 fc count both twins. ASSUMPTION: sim runs the shared "
              "twin once per sample (the L1 distance between the two embeddings is not modelled), so a frame here "
              "is one image, half the paper's pair.", dense=True),
    # SONIC Table 1 (baseline) / Table 3 (after sparsification + clustering).
    "sonic-mnist": dict(
        input_shape=[1, 28, 28], input_density=0.19, params=1498730, pruned_params=749365, pruned_layers=4,
        clusters=64, spec="c32k5 p c32k3s p f fc1280 fc10",
        notes="SONIC Table 1/3 MNIST model: 2 conv + 2 fc, 1,498,730 parameters (93.2%), 4 layers pruned to "
              "749,365 (92.89%), 64 weight clusters. ASSUMPTION: 32@5x5 valid, pool, 32@3x3 same, pool, fc 1280, "
              "fc 10 gives exactly 1,498,730; input density 0.19 (MNIST digits)."),
    "sonic-cifar10": dict(
        input_shape=[3, 32, 32], input_density=1.0, params=552874, pruned_params=276437, pruned_layers=7,
        clusters=16, spec="c32k3s c32k3s p c32k3s p c96k3s p c192k3s c192k3s p f fc10",
        notes="SONIC Table 1/3 CIFAR10 model: 6 conv + 1 fc, 552,874 parameters (86.05%), 7 layers pruned to "
              "276,437 (86.86%), 16 clusters. ASSUMPTION: this 3x3 'same' stack with four pools gives exactly "
              "552,874."),
    "sonic-stl10": dict(
        input_shape=[3, 96, 96], input_density=1.0, params=77787738, pruned_params=46672643, pruned_layers=5,
        clusters=64, spec="c64k3s p c128k3s p c256k3s p c512k3s p c1024k3s p c7751k3 f fc10",
        notes="SONIC Table 1/3 STL10 model: 6 conv + 1 fc, 77,787,738 parameters (74.6%), 5 layers pruned to "
              "46,672,643 (75.2%), 64 clusters. ASSUMPTION: with one fc layer nearly all parameters must sit in "
              "the convolutions; a VGG-like 3x3 stack (64..1024, five pools to 3x3) ending in a 3x3 valid conv of "
              "7,751 channels (1x1 output) gives 77,789,079 parameters (+1,341, +0.002%): no stack of round widths "
              "gives the count exactly."),
    "sonic-svhn": dict(
        input_shape=[3, 32, 32], input_density=1.0, params=552362, pruned_params=331417, pruned_layers=5,
        clusters=64, spec="c32k5s p c64k5s p c96k5s p c128k5s p f fc64 fc64 fc10",
        notes="SONIC Table 1/3 SVHN model: 4 conv + 3 fc, 552,362 parameters (94.6%), 5 layers pruned to 331,417 "
              "(95%), 64 clusters. ASSUMPTION: 5x5 'same' convs 32/64/96/128 with a pool after each, fc 64, 64, 10 "
              "gives exactly 552,362."),
}


def build(name, m):
    layers = chain(m["spec"])
    counts = shapes(m["input_shape"], layers)
    total = sum(w + b for _, w, b in counts)
    doc = {"version": 1, "name": name, "description": m["notes"] + f" Parameters here: {total:,}.",
           "input_shape": m["input_shape"], "input_density": m["input_density"], "seed": 0}
    if "pruned_params" in m:
        # Prune the largest layers (ASSUMPTION) with one shared density so the total matches Table 3.
        order = sorted(counts, key=lambda x: -x[1])[: m["pruned_layers"]]
        pruned = {n for n, _, _ in order}
        kept_fixed = sum(w + b for n, w, b in counts if n not in pruned) + sum(b for n, _, b in counts if n in pruned)
        pruned_weights = sum(w for n, w, _ in counts if n in pruned)  # biases stay dense
        density = (m["pruned_params"] - kept_fixed) / pruned_weights
        for lay in layers:
            if lay["name"] in pruned:
                lay["weight_density"] = round(density, 6)
        doc["description"] += (f" Pruned layers ({', '.join(sorted(pruned))}) at density {density:.4f} "
                               f"(ASSUMPTION: one density, largest layers) keep {m['pruned_params']:,} parameters; "
                               f"{m['clusters']} weight clusters are a hardware DAC setting (hwconfigs/sonic.yaml).")
    doc["layers"] = layers
    return doc, total


def main():
    for name, m in MODELS.items():
        doc, total = build(name, m)
        path = ROOT / "models" / f"{name}.yaml"
        text = yaml.safe_dump(doc, sort_keys=False, width=110, default_flow_style=None)
        path.write_text(text)
        print(f"{path.relative_to(ROOT)}: {total:,} parameters (paper {m['params']:,})")


if __name__ == "__main__":
    main()
