"""Seeded numpy training of small networks (LeNet-300-100, LeNet-5) with masks and shared weights.

One loop serves every stage of compression:

- dense training (``python -m sim train``);
- retraining after pruning: ``masks`` keep pruned weights at exactly zero (their gradients are
  masked before the optimizer step, so Adam's moments stay zero too, and the weights are
  re-masked after it);
- centroid fine-tuning after k-means (Deep Compression Eq. 3): for a layer in ``shared`` the
  trainable parameter is its codebook, whose gradient is the sum of the weight gradients of each
  cluster; the dense weight is rebuilt as codebook[codes] at kept positions;
- lottery tickets: ``snapshot_iterations`` keeps copies of the weights for late rewinding.

Early stopping follows Frankle & Carbin: the validation loss is measured every ``eval_every``
iterations, the iteration of the minimum is the early-stop iteration, and (with
``restore_best``) the returned weights are those of that iteration.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from .. import schema as S
from ..errors import ConfigError
from ..workload.network import Network

OPTIMIZERS = ("adam", "sgd")
# A batch norm after a weighted layer (sim/compression/slimming.py): its training parameter key
# (layer, key) -> the Layer.consts entry that holds it between training runs.
BN_CONSTS = {"gamma": "bn_gamma", "beta": "bn_beta", "bn_mean": "bn_mean", "bn_var": "bn_var"}


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters. lr is per iteration (one mini-batch); eval_every 0 means once per epoch."""

    optimizer: str = "adam"
    lr: float = 1.2e-3  # Frankle & Carbin's Adam rate for LeNet-300-100
    momentum: float = 0.9  # sgd only
    weight_decay: float = 0.0  # L2 coefficient added to weight gradients
    batch_size: int = 60
    epochs: int = 50
    eval_every: int = 0
    restore_best: bool = True
    # Learning-speed record: the first evaluated iteration whose validation loss (nats) is at or
    # below this target (0 = not recorded). On digits the validation loss falls monotonically for
    # thousands of iterations, so the minimum (early stop) is the last evaluation and says nothing
    # about speed; the time to a fixed loss does (see sim/compression/lottery.py).
    target_val_loss: float = 0.0


_D = TrainConfig()
TRAIN = S.Record(TrainConfig, {  # the ``train`` / ``retrain`` / ``finetune`` sections of a recipe
    "optimizer": S.Field("choice", _D.optimizer, choices=OPTIMIZERS),
    "lr": S.pos(doc="learning rate per mini-batch step", default=_D.lr), "momentum": S.nonneg(default=_D.momentum),
    "weight_decay": S.nonneg(default=_D.weight_decay), "batch_size": S.posint(default=_D.batch_size),
    "epochs": S.posint(default=_D.epochs), "eval_every": S.Field("int", _D.eval_every, min=0),
    "restore_best": S.flag(_D.restore_best), "target_val_loss": S.nonneg("nats", default=_D.target_val_loss),
})
TRAIN_KEYS = set(TRAIN.fields)


def train_config(data: dict | None, file: str, where: str = "train", base: TrainConfig | None = None) -> TrainConfig:
    """TrainConfig from a recipe mapping, checked against ``TRAIN``: the keys given replace those of
    ``base`` (default: TrainConfig's defaults); every problem raises one ConfigError."""
    base = base or _D
    if data is None:
        return base
    if not isinstance(data, dict):
        raise ConfigError(file, f"{where}: must be a mapping of training settings; got {data!r}")
    problems: list[str] = []
    S.check(TRAIN, data, where, problems)
    if problems:
        raise ConfigError(file, problems)
    return TrainConfig(**{**base.__dict__, **{k: S.build(TRAIN.fields[k], v) for k, v in data.items()}})


@dataclass
class TrainResult:
    """What one training run produced. Iterations count mini-batch steps from 0 (absolute, also
    after a resume at ``start_iteration``); ``iterations`` is the number of steps this run took."""

    net: Network
    iterations: int
    best_iteration: int  # early-stop iteration: minimum validation loss
    val_loss: float
    val_accuracy: float
    target_iteration: int | None = None  # first iteration with val loss <= cfg.target_val_loss (None: never)
    history: list = field(default_factory=list)  # (iteration, val_loss, val_accuracy)
    snapshots: dict = field(default_factory=dict)  # iteration -> {layer: (weight, bias)}
    codebooks: dict = field(default_factory=dict)  # layer -> fine-tuned codebook (shared layers)


def init_weights(net: Network, seed: int) -> Network:
    """He-normal weights (Kaiming normal, as open_lth initialises LeNet) and zero biases.
    The normal draws come from ``numerics.standard_normal`` (no libm): the same on every machine."""
    out = net.copy()
    rng = np.random.default_rng(seed)
    for layer in out.weighted_layers:
        fan_in = int(np.prod(layer.weight.shape[1:]))
        from .numerics import standard_normal  # lazy: numerics imports numba
        layer.weight = (standard_normal(rng, layer.weight.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        if layer.bias is not None:
            layer.bias = np.zeros_like(layer.bias)
        layer.quant = None
    return out


def layer_weights(net: Network) -> dict:
    """{layer: (weight copy, bias copy or None)} of every weighted layer."""
    return {lay.name: (lay.weight.copy(), None if lay.bias is None else lay.bias.copy()) for lay in net.weighted_layers}


def with_weights(net: Network, weights: dict, masks: dict | None = None) -> Network:
    """Copy of ``net`` holding ``weights`` ({layer: (weight, bias)}), multiplied by ``masks``."""
    out = net.copy()
    if weights and isinstance(next(iter(weights)), tuple):
        for lay in out.weighted_layers:  # batch-norm parameters and running statistics of a snapshot
            if (lay.name, "gamma") in weights:
                for key, const in BN_CONSTS.items():
                    lay.consts[const] = weights[(lay.name, key)].copy()
        weights = _by_layer(weights, net)
    for layer in out.weighted_layers:
        w, b = weights[layer.name]
        layer.weight = w.astype(np.float32, copy=True)
        if masks and layer.name in masks:
            layer.weight *= masks[layer.name]
        layer.bias = None if b is None else b.astype(np.float32, copy=True)
        layer.quant = None
    return out


def _params(net: Network) -> dict:
    params = {}
    for layer in net.weighted_layers:
        params[(layer.name, "weight")] = layer.weight.astype(np.float32, copy=True)
        if layer.bias is not None:
            params[(layer.name, "bias")] = layer.bias.astype(np.float32, copy=True)
        if "bn_gamma" in layer.consts:  # a batch norm after the layer (sim/compression/slimming.py)
            for key, const in BN_CONSTS.items():
                params[(layer.name, key)] = np.asarray(layer.consts[const], dtype=np.float32).copy()
    return params


def evaluate(net: Network, x: np.ndarray, y: np.ndarray, params: dict | None = None,
             batch_size: int = 2000) -> tuple[float, float]:
    """(mean cross-entropy in nats, accuracy in [0, 1]) of ``net`` on ``x`` shaped for its input."""
    from .layers_np import forward  # lazy: layers_np and numerics import numba (kernels)
    from .numerics import softmax_cross_entropy
    params = _params(net) if params is None else params
    total_loss, correct = 0.0, 0
    for start in range(0, len(y), batch_size):
        logits, _ = forward(net, params, x[start:start + batch_size])
        loss, _ = softmax_cross_entropy(logits, y[start:start + batch_size])
        total_loss += loss * len(logits)
        correct += int((logits.argmax(axis=1) == y[start:start + batch_size]).sum())
    return total_loss / len(y), correct / len(y)


class _Optimizer:
    """Adam or SGD with momentum over a dict of arrays; state is created lazily per key.

    Element-wise IEEE float32 arithmetic only; Adam's bias corrections use running products of
    beta1 and beta2 rather than ``beta ** t`` (libm's pow differs between C libraries)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg, self.t = cfg, 0
        self.b1_t, self.b2_t = 1.0, 1.0  # beta1 ** t, beta2 ** t
        self.m: dict = {}
        self.v: dict = {}

    def step(self, params: dict, grads: dict) -> None:
        from ..kernels import dense
        cfg = self.cfg
        self.t += 1
        self.b1_t *= 0.9
        self.b2_t *= 0.999
        lr_t = np.float32(cfg.lr * np.sqrt(1 - self.b2_t) / (1 - self.b1_t))
        for key, g in grads.items():
            p = params[key]
            if not p.flags.c_contiguous:  # updated in place through a flat view
                params[key] = p = np.ascontiguousarray(p)
            if key not in self.m:  # lazily: setdefault would allocate zeros on every step
                self.m[key] = np.zeros_like(p)
                if cfg.optimizer == "adam":
                    self.v[key] = np.zeros_like(p)
            g = np.ascontiguousarray(g, dtype=np.float32).reshape(-1)
            if cfg.optimizer == "adam":
                dense.adam_update(p.reshape(-1), g, self.m[key].reshape(-1), self.v[key].reshape(-1),
                                  np.float32(0.9), np.float32(0.999), lr_t, np.float32(1e-8))
            else:
                dense.momentum_update(p.reshape(-1), g, self.m[key].reshape(-1), np.float32(cfg.momentum),
                                      np.float32(cfg.lr))


def _progress(total: int, desc: str):
    from tqdm import tqdm

    quiet = not sys.stderr.isatty() or os.environ.get("CI", "").lower() in ("1", "true", "yes")
    return tqdm(total=total, desc=desc, disable=quiet, leave=False, unit="it")


def train(net: Network, data, cfg: TrainConfig, seed: int = 0, masks: dict | None = None,
          shared: dict | None = None, snapshot_iterations: tuple[int, ...] = (), desc: str = "train",
          start_iteration: int = 0, loss=None, project=None, stop=None, regularize=None) -> TrainResult:
    """Train ``net`` (its current weights are the starting point) on ``data``.

    data: (x_train, y_train, x_val, y_val), x already shaped for the network.
    masks: {layer: 0/1 float32 array like the weight}: pruned weights stay exactly zero.
    shared: {layer: (codebook float32 (k,), codes int array like the weight)}: train the codebook
    (k-means fine-tuning); such a layer needs a mask too when it is pruned.
    seed: mini-batch order. Returns the trained copy with its early-stop record.
    start_iteration: resume at this iteration (late rewinding): train only the remaining
    ``epochs x batches per epoch - start_iteration`` iterations, on the same mini-batches a run
    from 0 with this seed would see there, with fresh optimizer state (Adam moments zero, its
    bias correction restarting). Iterations in the result (early stop, history, snapshots) count
    from 0 on that absolute scale.
    loss: ``loss(logits, y, idx) -> (mean loss, dlogits)`` for the training mini-batches (idx: their
    rows in x_train), e.g. knowledge distillation; default cross-entropy. Validation is always
    cross-entropy.
    project: ``project(params) -> params`` applied before every forward pass, with gradients
    passed straight through to the unprojected weights (the straight-through estimator of
    quantization-aware fine-tuning); the returned weights are projected.
    stop: ``stop(epoch, weights) -> bool`` called after each epoch (0-based) with {layer: (weight,
    bias)} (the live arrays: copy to keep); True ends training there (early-bird tickets).
    regularize: ``regularize(params, grads)`` adds a penalty's (sub)gradient to ``grads`` in place
    before every optimizer step (network slimming's L1 on batch-norm scales).
    """
    from .layers_np import backward, check_trainable, forward
    from .numerics import softmax_cross_entropy
    check_trainable(net)
    x_train, y_train, x_val, y_val = data
    masks = {k: v.astype(np.float32) for k, v in (masks or {}).items()}
    shared = dict(shared or {})
    net = net.copy()
    params = _params(net)
    for name, (codebook, codes) in shared.items():
        params[(name, "codebook")] = codebook.astype(np.float32, copy=True)
    _apply(params, masks, shared)

    n = len(y_train)
    per_epoch = max(1, -(-n // cfg.batch_size))
    total = per_epoch * cfg.epochs
    if not 0 <= start_iteration < total:
        raise ValueError(f"start_iteration must be in [0, {total}) ({cfg.epochs} epochs x {per_epoch} "
                         f"mini-batches); got {start_iteration}")
    eval_every = cfg.eval_every or per_epoch
    rng = np.random.default_rng(seed)
    opt = _Optimizer(cfg)
    history, snapshots = [], {}
    wanted = set(int(i) for i in snapshot_iterations)
    best = (np.inf, start_iteration, 0.0, None)
    reached = None
    it = start_iteration
    # Every sum of a step runs in a fixed order (numerics), on this thread: the weights do not
    # depend on the CPU, BLAS or thread count.
    with _progress(total - start_iteration, desc) as bar:
        def record(iteration, first=False):
            nonlocal best, reached
            if iteration in wanted:
                snapshots[iteration] = _snapshot(params, net)
            if first or iteration % eval_every == 0 or iteration == total:
                loss, acc = evaluate(net, x_val, y_val, params if project is None else project(params))
                history.append((iteration, loss, acc))
                if reached is None and cfg.target_val_loss and loss <= cfg.target_val_loss:
                    reached = iteration
                if loss < best[0]:
                    best = (loss, iteration, acc, _snapshot(params, net) if cfg.restore_best else None)
                bar.set_postfix(val_acc=f"{acc:.3f}", refresh=False)

        record(it, first=True)  # the starting weights are a candidate too (a resumed run's included)
        for epoch in range(cfg.epochs):
            order = rng.permutation(n)  # drawn for skipped epochs too: the order must not shift
            if (epoch + 1) * per_epoch <= start_iteration:
                continue
            for start in range(0, n, cfg.batch_size):
                if epoch * per_epoch + start // cfg.batch_size < start_iteration:
                    continue
                idx = order[start:start + cfg.batch_size]
                fparams = params if project is None else project(params)
                logits, caches = forward(net, fparams, x_train[idx], train=True)
                if loss is None:
                    _, dlogits = softmax_cross_entropy(logits, y_train[idx])
                else:
                    _, dlogits = loss(logits, y_train[idx], idx)
                grads = backward(net, fparams, caches, dlogits)
                _shape_grads(grads, params, masks, shared, cfg.weight_decay)
                if regularize is not None:
                    regularize(params, grads)
                opt.step(params, grads)
                _apply(params, masks, shared)
                it += 1
                bar.update(1)
                record(it)
            if stop is not None and stop(epoch, _by_layer(params, net)):
                break
    final = best[3] if cfg.restore_best else _snapshot(params, net)
    if project is not None:
        final = project(final)
    out = with_weights(net, final)
    codebooks = {name: final[(name, "codebook")] for name in shared}
    snapshots = {i: _by_layer(s, net) for i, s in snapshots.items()}
    return TrainResult(net=out, iterations=it - start_iteration, best_iteration=best[1], val_loss=float(best[0]),
                       val_accuracy=float(best[2]), target_iteration=reached, history=history, snapshots=snapshots, codebooks=codebooks)


def _snapshot(params: dict, net: Network) -> dict:
    return {key: value.copy() for key, value in params.items()}


def _by_layer(snapshot: dict, net: Network) -> dict:
    """{(layer, kind): array} -> {layer: (weight, bias or None)}."""
    return {lay.name: (snapshot[(lay.name, "weight")], snapshot.get((lay.name, "bias")))
            for lay in net.weighted_layers}


def _shape_grads(grads: dict, params: dict, masks: dict, shared: dict, weight_decay: float) -> None:
    """Turn raw weight gradients into the gradients of what is trained: masked weights, or codebooks."""
    for (name, kind) in list(grads):
        if kind != "weight":
            continue
        g = grads[(name, "weight")]
        if weight_decay:
            g = g + weight_decay * params[(name, "weight")]
        if name in masks:
            g = g * masks[name]
        if name in shared:
            codebook, codes = shared[name]
            keep = masks[name].astype(bool) if name in masks else np.ones(g.shape, bool)
            # Deep Compression Eq. 3: a centroid's gradient is the sum of its weights' gradients.
            from .numerics import cluster_sums

            sums, _ = cluster_sums(codes[keep], g[keep], len(codebook))
            grads[(name, "codebook")] = sums.astype(np.float32)
            del grads[(name, "weight")]
        else:
            grads[(name, "weight")] = g.astype(np.float32, copy=False)


def _apply(params: dict, masks: dict, shared: dict) -> None:
    """Rebuild shared weights from their codebooks and zero every pruned weight, in place."""
    for name, (_, codes) in shared.items():
        params[(name, "weight")] = params[(name, "codebook")][codes].astype(np.float32)
    for name, mask in masks.items():
        params[(name, "weight")] *= mask

