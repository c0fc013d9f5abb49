"""Execution modes: how much of a network is really executed, and what that costs in memory.

- ``full``: every output computed by the kernels (``execute.execute``); the default when it fits.
- ``shapes``: no values at all. Each layer's work comes from its shape and the stated densities
  through the statistical model below (as Sparseloop does); outputs and accuracy do not exist.
- ``sampled``: large fc layers on a stratified row sample, large dense conv layers counted exactly
  with outputs by BLAS (``sampled.py``).
- ``auto``: ``shapes`` for SCALE-Sim topologies given without a weight density (dense layers,
  dense synthetic inputs: the model is then exact for the MAC counters), ``sampled`` when full
  would not fit or would take over ``FULL_TIME_LIMIT_S`` without a dataset (and sampled changes
  some layer), else ``full`` when its memory estimate fits the budget, else ``shapes``;
  ``choose_mode`` says which and why.

Statistical model of ``shapes`` (uniform random sparsity)
---------------------------------------------------------
Weights are nonzero independently with the layer's stated density ``d_w`` (N:M layers: ``n/m``
per group; block-structured layers the same per block, so expectations are unchanged), input
activations with ``d_a``. Of a layer's ``macs`` dense taps, ``padding_macs`` (exact, from the
geometry) meet padding; of the ``real`` rest, ``real * d_w`` meet a stored weight and
``real * d_w * d_a`` are effectual. Each output is nonzero unless all of its ``fan_in`` taps are
ineffectual: ``P(y != 0) = 1 - (1 - d_w d_a)^fan_in``; a ReLU keeps half of the nonzeros
(zero-mean pre-activations), other elementwise ops keep the density, max/avg pooling over ``k``
cells gives ``1 - (1 - d)^k``. Effectual work is spread evenly over output units (no imbalance:
that is measured only by executing). Dataflow counters follow the kernels' formats in
expectation: fc CSR reads each stored weight once per call and once per sample vector as
activation reads; conv reads ``nnz`` weights per sample and ``nnz x OH x OW`` activations.

Memory estimate
---------------
``estimate_memory`` bounds a mode's peak resident bytes before anything large is allocated: a
fixed interpreter + library baseline (larger once the numba kernels are loaded); the weights as
held (dense float32, or 12 bytes per nonzero for layers loaded packed, ``load_network(packed=True)``;
full execution makes packed layers dense for its float reference); the layouts the kernels keep per
layer up to ``execute.CACHE_MAX_WEIGHTS`` weights (12 bytes per stored conv weight, 8 per fc weight)
and the largest transient of one layer's conversion (a larger layer's layout included); and the most activations alive at once (the executor frees a tensor after its last
reader; full execution keeps every layer's output for the float reference, and a design with its
own arithmetic keeps its own outputs of every layer beside them). A sampled fc layer
converts only its sample's share; a counted conv layer (``sampled.is_counted_conv``) builds no
layout, only its mask (1 + 8 bytes per weight) and one im2col chunk. Every mode adds the per-sample rows its simulation keeps
(``simulation_bytes``). ``shapes`` needs only the baseline, the profile and those rows.
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError
from ..workload.network import Layer, Network, is_placeholder_weight
from .profile import LayerWork, WorkProfile

MODES = ("auto", "full", "sampled", "shapes")
VALUE_MODES = ("full", "sampled")  # the modes that run the kernels on weight values
FULL_TIME_LIMIT_S = 3.0  # auto prefers sampled above this estimated full execution time (no dataset only)
_S_PER_WEIGHT = 25e-9  # measured: fc weight conversion + walk, VGG-16 fc6 (2.8 s / 102.8M weights)
_S_PER_MAC = 1e-9  # kernels per effectual-ish (stored) MAC
_NUMERICS_PASSES = 2.0  # a design with its own arithmetic re-executes the network: calibration + its integer
#                         pass, measured 2.1x the float pass on ResNet-50 batch 1 (systolic int8)
# Per sample x token of a weighted layer (simulation_bytes), measured at batch 1e5 (shapes, LeNet-300 /
# LeNet-5): EIE ~2.4 KB (its fc tiles are per sample: each sample's nonzero columns differ), SONIC
# ~0.26 KB (its passes are merged with arrays; 1.3-1.5 KB when it built a Tile per pass),
# CrossLight ~0.05 KB, systolic / Eyeriss / sparse systolic ~0. The largest, with margin, since the
# design is not known yet.
ENGINE_BYTES_PER_ROW = 4096
_RELU_KEEPS = 0.5


def memory_budget_bytes() -> int:
    """Bytes a run may use: ``SIM_MEMORY_LIMIT_MB`` if set, else 80% of MemAvailable (Linux), else 8 GiB."""
    env = os.environ.get("SIM_MEMORY_LIMIT_MB")
    if env:
        try:
            return int(float(env) * 2**20)
        except ValueError:
            raise ConfigError("SIM_MEMORY_LIMIT_MB", f"must be a number of MiB; got {env!r}") from None
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(0.8 * int(line.split()[1]) * 1024)
    except OSError:
        pass
    return 8 * 2**30


def _elems(shape) -> int:
    return int(np.prod(shape)) if shape else 1


def stated_weight_density(layer: Layer, net: Network) -> float:
    """The density the model states for ``layer``: when its weights are the shapes-only placeholder,
    the model YAML's ``weight_density`` of the layer (``meta["weight_densities"]``) or the
    topology's density (times n/m for N:M layers), else the real (or packed) weights' density."""
    w = layer.weight
    if w is None:
        return 1.0
    if _is_placeholder_weight(layer):  # a broadcast placeholder: no values exist
        per_layer = net.meta.get("weight_densities") or {}
        if layer.name in per_layer:
            return float(per_layer[layer.name])
        d = float(net.meta.get("weight_density", 1.0))
        nm = layer.sparsity
        return d * min(1.0, nm[0] / nm[1]) if nm else d
    return layer.weight_density


def _is_placeholder_weight(layer: Layer) -> bool:
    """The layer's weight is a placeholder and no packed values stand behind it."""
    return is_placeholder_weight(layer.weight) and "packed" not in layer.attrs


# Peak-memory model (bytes), calibrated on this machine's runs (tests/test_memory_estimate.py checks
# estimate >= 0.8 x measured VmHWM on the benchmark models).
SHAPES_BASELINE_BYTES = 40 * 2**20  # python + numpy + yaml + simpy + the engine (shapes runs load no numba or pandas)
VALUE_BASELINE_BYTES = 260 * 2**20  # ... plus numba and the jitted kernels loaded from its cache
_CACHED_CONV = 12  # bytes per stored weight of the conv layout kept per layer (int64 offset + float32 word)
_CACHED_FC = 8  # ... of the CSR tiles (word + 1-2 byte index + per-(row, block) counts)
_BUILD_PER_NNZ = 80  # transient bytes per stored weight while one layer's layout is built (nonzero, argsort)
_BUILD_PER_WEIGHT = 1  # ... per dense weight (the mask)
_PACKED = 12  # bytes per stored weight of a packed layer (int64 position + float32 value)


def _weight_bytes(layer: Layer, net: Network, mode: str) -> tuple[int, int, int]:
    """(resident, cached layout, transient build) bytes of one weighted layer's weights in ``mode``."""
    count = int(layer.weight.size)
    nnz = int(round(stated_weight_density(layer, net) * count))
    packed = "packed" in layer.attrs
    frac = 1.0
    if mode == "sampled":
        from .sampled import _COLS_ELEMS, is_counted_conv, sample_fraction_for
        frac = sample_fraction_for(layer)
        if is_counted_conv(layer, density=stated_weight_density(layer, net)):
            # counted conv (no layout): the mask, one group's float64 mask, an im2col chunk
            resident = 4 * count if not packed else _PACKED * nnz + 4 * count
            return resident, 0, 9 * count + 4 * _COLS_ELEMS
    if frac < 1.0:  # sampled fc: the packed (or dense) weights, the sample's layout, a sparse or BLAS product
        resident = _PACKED * nnz if packed else 4 * count
        build = (40 * nnz if packed else count) + int(frac * (4 * count + _BUILD_PER_NNZ * nnz))
        return resident, 0, build
    from .execute import CACHE_MAX_WEIGHTS  # imported on use: shapes runs load no kernels

    resident = 4 * count if (not packed or mode == "full") else _PACKED * nnz
    layout = (_CACHED_CONV if layer.kind == "conv2d" else _CACHED_FC) * nnz
    build = _BUILD_PER_NNZ * nnz + _BUILD_PER_WEIGHT * count + (4 * count if packed and mode != "full" else 0)
    if count > CACHE_MAX_WEIGHTS:  # converted per call and freed with the layer
        return resident, 0, build + layout
    return resident, layout, build


def _live_activation_bytes(net: Network, batch: int, keep_all: bool) -> int:
    """Most float32 activation bytes alive at once: the tensors a later layer still reads (the
    executor frees a tensor after its last reader), the layer's output and the kernel's padded /
    contiguous copy of its inputs; ``keep_all``: every output is kept (the float reference of full
    execution)."""
    if net.independent:  # every layer's input is drawn up front
        return 4 * batch * (sum(_elems(l.in_shape) for l in net.layers)
                            + max((2 * _elems(l.out_shape) for l in net.layers), default=0))
    sizes = {"input": 4 * batch * _elems(net.input_shape)}
    sources = [net.sources(i) for i in range(len(net.layers))]
    last_use: dict[str, int] = {}
    for i, names in enumerate(sources):
        for name in names:
            last_use[name] = i
    outputs = set(net.output_names)
    alive = {"input": sizes["input"]}
    kept = 0
    peak = 0
    for i, layer in enumerate(net.layers):
        out = 4 * batch * _elems(layer.out_shape)
        ins = sum(alive.get(n, 0) for n in set(sources[i]))
        peak = max(peak, sum(alive.values()) + kept + out + ins)  # ins: the kernel's padded / contiguous copy
        alive[layer.name] = out
        for name in set(sources[i]):
            if last_use.get(name) == i and name not in outputs and name in alive:
                size = alive.pop(name)
                kept += size if keep_all and name != "input" else 0
    return peak


def estimate_memory(net: Network, batch: int, mode: str) -> int:
    """Estimated peak resident bytes of executing ``net`` at ``batch`` in ``mode`` ("full", "sampled"
    or "shapes"): the baseline of the loaded libraries; for the value modes the weights as held
    (dense float32, or packed), the converted layouts the kernels keep per layer, the largest
    transient of one layer's conversion, and the activations alive at once (full execution also
    keeps every layer's output for the float reference, and once more for a design's numerics).
    ``shapes`` needs only its baseline and the profile. A sampled layer converts only its sample's
    share of the stored weights."""
    if mode == "shapes":
        return SHAPES_BASELINE_BYTES + simulation_bytes(net, batch) + 64 * sum(_elems(l.out_shape[:1]) for l in net.layers)
    resident = cached = build = 0
    for layer in net.layers:
        if layer.weight is not None:
            r, c, b = _weight_bytes(layer, net, mode)
            resident, cached, build = resident + r, cached + c, max(build, b)
    act = _live_activation_bytes(net, batch, keep_all=mode == "full")
    if mode == "full":  # a design with its own arithmetic re-executes the network and keeps its outputs too
        act += sum(4 * batch * _elems(l.out_shape) for l in net.layers)
    profile = 64 * sum(_elems(l.out_shape[:1]) for l in net.layers) + 16 * batch * len(net.layers)
    return VALUE_BASELINE_BYTES + simulation_bytes(net, batch) + resident + cached + build + act + profile


def simulation_bytes(net: Network, batch: int) -> int:
    """What every mode needs after execution, growing with the batch: per-sample work rows of the
    profile and the event model (EIE's mapper builds a tile per sample and weighted layer:
    ``ENGINE_BYTES_PER_ROW`` each, measured). A systolic layer's folds, which grow with batch x
    positions / the array's size, are the design's part: ``engine.simulate.engine_bytes``, checked by
    ``sim.run.cost`` once the design is known."""
    rows = sum(batch * l.tokens for l in net.layers if l.weight is not None)
    return ENGINE_BYTES_PER_ROW * rows


def choose_mode(net: Network, batch: int, requested: str = "auto", budget_bytes: int | None = None
                ) -> tuple[str, str]:
    """(mode, reason). ``requested`` other than auto is checked against the budget: a ConfigError
    names the estimate, the budget and the mode that would fit."""
    if requested not in MODES:
        raise ConfigError("execute", f"must be one of {', '.join(MODES)}; got {requested!r}")
    budget = memory_budget_bytes() if budget_bytes is None else budget_bytes
    mib = _mib
    if requested == "auto":
        if is_placeholder(net):
            check_fits(net, batch, "shapes", budget)
            return "shapes", ("the model has no weight values (loaded from shapes only, e.g. a SCALE-Sim "
                              "topology without --density): work from shapes and stated densities")
        full = estimate_memory(net, batch, "full")
        t = estimate_full_seconds(net, batch)
        if full > budget or (t > FULL_TIME_LIMIT_S and not net.dataset):
            from .sampled import has_sampled_layers, sampled_summary
            sampled = estimate_memory(net, batch, "sampled")
            if has_sampled_layers(net) and sampled <= budget:
                why = (f"full execution would need about {mib(full)} (budget {mib(budget)})" if full > budget else
                       f"full execution would take about {t:.1f} s (> {FULL_TIME_LIMIT_S:g} s; no dataset, so no accuracy is lost)")
                return "sampled", f"{why}: {sampled_summary(net)}"
        if full <= budget:
            return "full", f"full execution fits: estimated {mib(full)} of {mib(budget)}"
        check_fits(net, batch, "shapes", budget)
        return "shapes", f"full execution would need about {mib(full)} (budget {mib(budget)}): work from shapes"
    if requested in VALUE_MODES and is_placeholder(net):
        raise ConfigError("--execute", f"{requested} execution of {net.name!r} needs weight values; it was loaded from "
                                       "shapes only (load it with a density, or use --execute shapes)")
    need = check_fits(net, batch, requested, budget)
    return requested, f"--execute {requested}: estimated {mib(need)} of {mib(budget)}"


def estimate_full_seconds(net: Network, batch: int) -> float:
    """Rough full execution time: ``_S_PER_WEIGHT`` per dense weight (conversion and walk of the
    weights) plus ``_S_PER_MAC`` per stored-weight MAC of the batch, for the float pass and the
    ``_NUMERICS_PASSES`` a design's arithmetic adds (measured on this project's 2-core reference
    machine; a ranking heuristic, not a prediction)."""
    t = 0.0
    for layer in net.layers:
        if layer.weight is not None:
            d = stated_weight_density(layer, net)
            t += _S_PER_WEIGHT * int(layer.weight.size) + _S_PER_MAC * batch * d * float(layer.dense_macs or 0)
    return t * (1.0 + _NUMERICS_PASSES)


def _mib(nbytes: int) -> str:
    return f"{nbytes / 2**20:,.0f} MiB"


def check_fits(net: Network, batch: int, mode: str, budget_bytes: int | None = None) -> int:
    """The estimated peak bytes of ``mode``; a ConfigError (with the mode that would fit) above the budget."""
    budget = memory_budget_bytes() if budget_bytes is None else budget_bytes
    need = estimate_memory(net, batch, mode)
    if need > budget:
        hint = ("; nothing fits: lower --batch" if estimate_memory(net, 1, "shapes") <= budget else
                "; not even --execute shapes fits at batch 1: raise SIM_MEMORY_LIMIT_MB")
        for other in {"full": ("sampled", "shapes"), "sampled": ("shapes",)}.get(mode, ()):
            if other == "sampled":
                from .sampled import has_sampled_layers
                if not has_sampled_layers(net):
                    continue
            other_need = estimate_memory(net, batch, other)
            if other_need <= budget:
                hint = f"; --execute {other} would fit ({_mib(other_need)})"
                break
        raise ConfigError("--execute", f"{mode} execution of {net.name!r} at batch {batch} needs about "
                                       f"{_mib(need)}, more than the budget of {_mib(budget)} "
                                       f"(SIM_MEMORY_LIMIT_MB or 80% of available memory){hint}")
    return need


def _axis_valid_taps(size: int, out: int, k: int, stride: int, dilation: int, pad: int) -> int:
    """Sum over kernel taps of the output positions along one axis whose input cell is real."""
    taps = np.arange(k) * dilation
    o = np.arange(out) * stride - pad
    pos = o[None, :] + taps[:, None]
    return int(((pos >= 0) & (pos < size)).sum())


def _window_positions(layer: Layer) -> int:
    _, h, w = layer.in_shape[-3:]
    _, oh, ow = layer.out_shape[-3:]
    kh, kw = layer.kernel_hw
    sh, sw = layer.strides_hw
    dh, dw = layer.dilations_hw
    top, left, _, _ = layer.pads4
    return _axis_valid_taps(h, oh, kh, sh, dh, top) * _axis_valid_taps(w, ow, kw, sw, dw, left)


def _spread(total: int, units: int) -> np.ndarray:
    """``total`` split over ``units`` as evenly as integers allow."""
    units = max(units, 1)
    out = np.full(units, total // units, dtype=np.int64)
    out[: total % units] += 1
    return out


def _layer_work(layer: Layer, net: Network, batch: int, d_in: list[float]) -> tuple[LayerWork, float]:
    """LayerWork of one layer under the statistical model and its output density."""
    in_count = sum(batch * _elems(s) for s in ([layer.in_shape] if len(d_in) == 1 else [layer.in_shape] * len(d_in)))
    d_a = float(d_in[0])
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=batch, in_act_count=int(in_count),
                   in_act_nnz=int(round(in_count * float(np.mean(d_in)))))
    out_count = batch * _elems(layer.out_shape)
    d_out = d_a
    if layer.kind in ("fc", "lstm", "gru") or (layer.kind == "conv2d" and layer.weight is not None):
        d_w = stated_weight_density(layer, net)
        count = int(layer.weight.size)
        nnz = int(round(d_w * count))
        out_units = int(layer.weight.shape[0])
        fan_in = count // out_units
        if layer.kind == "conv2d":
            macs = batch * layer.dense_macs
            real = batch * out_units * int(layer.weight.shape[1]) * _window_positions(layer)
            positions = batch * _elems(layer.out_shape[-2:])
            lw.weight_words_read = nnz * batch
            lw.index_words_read = nnz * batch
            lw.act_reads = nnz * positions
            lw.psum_writes = nnz * positions
        else:
            rows = batch * layer.tokens
            lw.batch = rows
            macs = rows * count
            real = macs
            lw.weight_words_read = nnz
            lw.index_words_read = nnz + out_units + 1
            lw.act_reads = nnz * rows
            lw.psum_writes = out_units * rows
            per_sample = int(round(d_a * (count // out_units)))
            lw.in_nnz_per_sample = np.full(rows, per_sample, dtype=np.int64)
        stored = int(round(real * d_w))
        eff = int(round(real * d_w * d_a))
        lw.macs, lw.padding_macs, lw.effectual_macs = int(macs), int(macs - real), eff
        lw.skipped_zero_weight, lw.skipped_zero_act = int(real - stored), int(stored - eff)
        lw.weight_count, lw.weight_nnz = count, nnz
        lw.out_work = _spread(eff, out_units)
        lw.codebook_lookups = lw.weight_words_read if (layer.quant is not None and layer.quant.kind == "kmeans") else 0
        d_out = 1.0 - (1.0 - d_w * d_a) ** fan_in if fan_in else 0.0
    elif layer.kind == "matmul":
        macs = batch * layer.dense_macs
        eff = int(round(macs * d_a * (float(d_in[1]) if len(d_in) > 1 else 1.0)))
        lw.macs, lw.effectual_macs, lw.skipped_zero_act = int(macs), eff, int(macs - eff)
        lw.act_reads = int(2 * macs)
        lw.psum_writes = int(out_count)
        d_out = 1.0 - (1.0 - d_a) ** int(layer.attrs.get("k", 1))
    elif layer.kind in ("maxpool", "avgpool"):
        kh, kw = layer.kernel_hw
        lw.act_reads = int(out_count * kh * kw)
        d_out = 1.0 - (1.0 - d_a) ** (kh * kw)
    else:
        lw.act_reads = int(in_count)
        if layer.kind == "relu":
            d_out = d_a * _RELU_KEEPS
    lw.out_act_count = int(out_count)
    lw.out_act_nnz = int(round(out_count * d_out))
    return lw, d_out


def shapes_profile(net: Network, batch: int) -> WorkProfile:
    """The WorkProfile of ``net`` at ``batch`` under the statistical model (no values executed)."""
    works = []
    density: dict[str, float] = {"input": float(net.input_density)}
    for i, layer in enumerate(net.layers):
        if net.independent or layer.act_density is not None:
            d_in = [float(layer.act_density if layer.act_density is not None else net.input_density)]
        else:
            d_in = [density.get(name, 1.0) for name in net.sources(i)] or [1.0]
        lw, d_out = _layer_work(layer, net, batch, d_in)
        density[layer.name] = d_out
        works.append(lw)
    return WorkProfile(batch=batch, layers=works)


def is_placeholder(net: Network) -> bool:
    """True when the network's weights are shapes-only placeholders (no values to execute; packed
    layers have values)."""
    return any(_is_placeholder_weight(l) for l in net.layers)


__all__ = ["MODES", "VALUE_MODES", "estimate_full_seconds", "check_fits", "choose_mode", "estimate_memory", "is_placeholder", "memory_budget_bytes", "shapes_profile",
           "stated_weight_density"]
