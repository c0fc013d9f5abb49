"""Forward and backward passes of chain networks in numpy, for training.

Float32 throughout; a conv is im2col + one matmul (the same arithmetic as
``sim.execution.reference.conv2d``, which stays the oracle). Only chain networks train (every layer
reads the one before it); conv layers train with ``groups == 1`` and ``dilation == 1``.

Every sum runs in a fixed order (``numerics``: products, bias gradients, the loss) or as a fixed
sequence of element-wise adds (pooling windows), never through BLAS or numpy's reductions, so a
training step gives the same bits on every CPU, BLAS and thread count.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ConfigError
from ..workload.network import Network
from .numerics import column_sums, matmul, softmax_cross_entropy

TRAINABLE_KINDS = ("fc", "conv2d", "relu", "relu6", "maxpool", "avgpool", "global_avgpool", "flatten", "softmax")


def check_trainable(net: Network) -> None:
    """ConfigError naming the first layer that the numpy trainer cannot differentiate."""
    for i, layer in enumerate(net.layers):
        where = f"layers[{i}] ({layer.name})"
        if layer.inputs:
            raise ConfigError(net.source or net.name, f"{where}.inputs: training supports chain networks "
                              f"(each layer reads the previous one); got inputs {list(layer.inputs)}")
        if layer.kind not in TRAINABLE_KINDS:
            raise ConfigError(net.source or net.name, f"{where}.type: training supports "
                              f"{', '.join(TRAINABLE_KINDS)}; got {layer.kind!r}")
        if layer.kind == "softmax" and i != len(net.layers) - 1:
            raise ConfigError(net.source or net.name, f"{where}: softmax must be the last layer to train")
        if layer.kind == "conv2d" and (layer.groups != 1 or layer.dilation != 1):
            raise ConfigError(net.source or net.name, f"{where}: training supports conv2d with groups 1 and "
                              f"dilation 1; got groups {layer.groups}, dilation {layer.dilation}")


def _pad(x: np.ndarray, p: int, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=value) if p else x


def _windows(x: np.ndarray, k: int, s: int) -> np.ndarray:
    """(B, C, H, W) -> (B, C, OH, OW, k, k) strided views."""
    return sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::s, ::s]


def _scatter_windows(dwin: np.ndarray, shape: tuple, k: int, s: int) -> np.ndarray:
    """Adjoint of ``_windows``: sum (B, C, OH, OW, k, k) gradients back onto a (B, C, H, W) tensor."""
    dx = np.zeros(shape, dtype=dwin.dtype)
    oh, ow = dwin.shape[2], dwin.shape[3]
    for di in range(k):
        for dj in range(k):
            dx[:, :, di:di + s * (oh - 1) + 1:s, dj:dj + s * (ow - 1) + 1:s] += dwin[:, :, :, :, di, dj]
    return dx


def _window_sums(win: np.ndarray) -> np.ndarray:
    """Sum over the last two (window) axes as k*k element-wise adds in row-major window order."""
    k1, k2 = win.shape[-2:]
    total = win[..., 0, 0].copy()
    for di in range(k1):
        for dj in range(k2):
            if di or dj:
                total += win[..., di, dj]
    return total


def _plane_means(x: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, C, 1, 1) means, positions added in row-major order."""
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    total = flat[:, :, 0].copy()
    for t in range(1, flat.shape[2]):
        total += flat[:, :, t]
    return (total / np.float32(flat.shape[2]))[:, :, None, None]


BN_EPS = 1e-5  # PyTorch's BatchNorm default
BN_MOMENTUM = 0.1  # running statistics: r <- (1 - m) r + m * batch statistic (PyTorch's default)


def has_bn(params: dict, name: str) -> bool:
    return (name, "gamma") in params


def _bn_forward(params: dict, name: str, y: np.ndarray, train: bool):
    """Batch norm over the rows of ``y`` (N, units): an fc layer's batch, or a conv's batch x positions
    (per channel). Training uses the batch statistics (biased variance) and moves the running
    statistics (unbiased variance, as PyTorch); evaluation uses the running statistics. Returns
    (output, cache for the backward pass or None)."""
    gamma, beta = params[(name, "gamma")], params[(name, "beta")]
    if not train:
        inv = np.float32(1.0) / np.sqrt(params[(name, "bn_var")] + np.float32(BN_EPS))
        return (y - params[(name, "bn_mean")]) * inv * gamma + beta, None
    n = np.float32(y.shape[0])
    mean = column_sums(y) / n
    xc = y - mean
    var = column_sums(xc * xc) / n
    inv = np.float32(1.0) / np.sqrt(var + np.float32(BN_EPS))
    xhat = xc * inv
    m = np.float32(BN_MOMENTUM)
    unbiased = var * (n / np.float32(max(1.0, y.shape[0] - 1)))
    params[(name, "bn_mean")] = ((np.float32(1) - m) * params[(name, "bn_mean")] + m * mean).astype(np.float32)
    params[(name, "bn_var")] = ((np.float32(1) - m) * params[(name, "bn_var")] + m * unbiased).astype(np.float32)
    return xhat * gamma + beta, (xhat, inv)


def _bn_backward(params: dict, name: str, cache, dy: np.ndarray, grads: dict) -> np.ndarray:
    """Gradients of gamma and beta into ``grads``; returns d loss / d (pre-normalization) input."""
    xhat, inv = cache
    n = np.float32(dy.shape[0])
    grads[(name, "gamma")] = column_sums(dy * xhat)
    grads[(name, "beta")] = column_sums(dy)
    dxhat = dy * params[(name, "gamma")]
    return (inv / n) * (n * dxhat - column_sums(dxhat) - xhat * column_sums(dxhat * xhat))


def forward(net: Network, params: dict, x: np.ndarray, train: bool = False):
    """Logits for inputs ``x`` (batch first). Returns (logits, caches) where caches is a list
    (one entry per layer) when ``train`` is true, else None. ``params`` maps
    ``(layer, "weight"|"bias")`` to float32 arrays; a layer with ``(layer, "gamma")`` (and "beta",
    "bn_mean", "bn_var") is followed by batch normalization (per neuron after fc, per channel after
    conv2d), whose running statistics a training forward pass updates in ``params``."""
    caches = [] if train else None
    for layer in net.layers:
        kind = layer.kind
        cache = None
        if kind == "fc":
            x2 = x.reshape(x.shape[0], -1)
            y = matmul(x2, params[(layer.name, "weight")].T)
            if layer.bias is not None:
                y += params[(layer.name, "bias")]
            bnc = None
            if has_bn(params, layer.name):
                y, bnc = _bn_forward(params, layer.name, y, train)
            cache = (x2, x.shape, bnc)
        elif kind == "conv2d":
            w = params[(layer.name, "weight")]
            o, c, k, _ = w.shape
            xp = _pad(x, layer.padding)
            win = _windows(xp, k, layer.stride)  # (B, C, OH, OW, k, k)
            b, _, oh, ow = win.shape[:4]
            cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(b * oh * ow, c * k * k)
            y = matmul(cols, w.reshape(o, -1).T)
            if layer.bias is not None:
                y += params[(layer.name, "bias")]
            bnc = None
            if has_bn(params, layer.name):
                y, bnc = _bn_forward(params, layer.name, y, train)
            y = y.reshape(b, oh, ow, o).transpose(0, 3, 1, 2)
            cache = (cols, xp.shape, (b, oh, ow), bnc)
        elif kind == "relu":
            y = np.maximum(x, 0)
            cache = x > 0
        elif kind == "relu6":
            y = np.clip(x, 0, 6)
            cache = (x > 0) & (x < 6)
        elif kind == "maxpool":
            xp = _pad(x, layer.padding, -np.inf)
            win = _windows(xp, layer.kernel_size, layer.stride)
            flat = win.reshape(win.shape[:4] + (-1,))
            arg = flat.argmax(axis=-1)
            y = np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]
            cache = (arg, xp.shape)
        elif kind == "avgpool":
            k, s, p = layer.kernel_size, layer.stride, layer.padding
            total = _window_sums(_windows(_pad(x, p), k, s))
            count = _window_sums(_windows(_pad(np.ones((1, 1) + x.shape[2:], x.dtype), p), k, s))
            y = total / count  # padded cells excluded, as the reference executor does
            cache = (count, _pad(x, p).shape)
        elif kind == "global_avgpool":
            y = _plane_means(x)
            cache = x.shape
        elif kind == "flatten":
            y = x.reshape(x.shape[0], -1)
            cache = x.shape
        else:  # softmax as the last layer: the loss applies it, so logits pass through
            y = x
        if train:
            caches.append(cache)
        x = y.astype(np.float32, copy=False)
    return x, caches


def backward(net: Network, params: dict, caches: list, dlogits: np.ndarray) -> dict:
    """Gradients of the loss w.r.t. every parameter, given d loss / d logits."""
    grads: dict = {}
    dy = dlogits
    first = 0
    for layer in net.layers:
        if layer.is_weighted:
            break
        first += 1
    for idx in range(len(net.layers) - 1, first - 1, -1):
        layer, cache = net.layers[idx], caches[idx]
        kind = layer.kind
        need_dx = idx > first  # the input of the first weighted layer needs no gradient
        if kind == "fc":
            x2, in_shape, bnc = cache
            w = params[(layer.name, "weight")]
            if bnc is not None:
                dy = _bn_backward(params, layer.name, bnc, dy, grads).astype(np.float32)
            grads[(layer.name, "weight")] = matmul(dy.T, x2)
            if layer.bias is not None:
                grads[(layer.name, "bias")] = column_sums(dy)
            dy = matmul(dy, w).reshape(in_shape) if need_dx else None
        elif kind == "conv2d":
            cols, xp_shape, (b, oh, ow), bnc = cache
            w = params[(layer.name, "weight")]
            o, c, k, _ = w.shape
            dym = dy.transpose(0, 2, 3, 1).reshape(b * oh * ow, o)
            if bnc is not None:
                dym = _bn_backward(params, layer.name, bnc, np.ascontiguousarray(dym), grads).astype(np.float32)
            grads[(layer.name, "weight")] = matmul(dym.T, cols).reshape(w.shape)
            if layer.bias is not None:
                grads[(layer.name, "bias")] = column_sums(dym)
            if need_dx:
                dwin = matmul(dym, w.reshape(o, -1)).reshape(b, oh, ow, c, k, k).transpose(0, 3, 1, 2, 4, 5)
                dxp = _scatter_windows(dwin, xp_shape, k, layer.stride)
                p = layer.padding
                dy = dxp[:, :, p:xp_shape[2] - p, p:xp_shape[3] - p] if p else dxp
        elif kind in ("relu", "relu6"):
            dy = dy * cache
        elif kind == "maxpool":
            arg, xp_shape = cache
            k = layer.kernel_size
            onehot = (arg[..., None] == np.arange(k * k)).astype(dy.dtype) * dy[..., None]
            dxp = _scatter_windows(onehot.reshape(arg.shape + (k, k)), xp_shape, k, layer.stride)
            p = layer.padding
            dy = dxp[:, :, p:xp_shape[2] - p, p:xp_shape[3] - p] if p else dxp
        elif kind == "avgpool":
            count, xp_shape = cache
            k = layer.kernel_size
            share = np.broadcast_to((dy / count)[..., None, None], dy.shape + (k, k))
            dxp = _scatter_windows(share, xp_shape, k, layer.stride)
            p = layer.padding
            dy = dxp[:, :, p:xp_shape[2] - p, p:xp_shape[3] - p] if p else dxp
        elif kind == "global_avgpool":
            shape = cache
            dy = np.broadcast_to(dy / (shape[2] * shape[3]), shape).astype(np.float32)
        elif kind == "flatten":
            dy = dy.reshape(cache)
        if dy is not None:
            dy = dy.astype(np.float32, copy=False)
    return grads
