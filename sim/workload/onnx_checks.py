"""Checks on what the ONNX importer is about to emit: every output dimension >= 1 (a kernel larger
than its padded input gives none), finite weights and biases of a size that fits in memory."""
from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError

from ..limits import MAX_ONNX_BYTES, check_file_size, size_problem


def check_onnx_size(path: str) -> None:
    check_file_size(path, MAX_ONNX_BYTES, "an ONNX model")
    if os.path.getsize(path) == 0:
        raise ConfigError(path, "is empty; expected an ONNX model")


def emitted_problems(out_shape, fields: dict) -> list[str]:
    """Problems of a layer the importer emits: output shape, kernel fit, finite arrays."""
    problems = []
    shape = [int(s) for s in out_shape]
    if any(s < 1 for s in shape):
        k, pad = fields.get("kernel_size"), fields.get("padding", 0)
        what = f"the {k}x{k} kernel (padding {pad}, dilation {fields.get('dilation', 1)}) does not fit its input" \
            if k else "gives an empty output"
        problems.append(f"{what}: output shape would be {shape}")
        return problems
    msg = size_problem("its output", shape)
    if msg:
        problems.append(msg)
    for key in ("weight", "bias"):
        arr = fields.get(key)
        if arr is None:
            continue
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            problems.append(f"{key} initializer: must be finite; got {int(np.count_nonzero(~np.isfinite(arr)))} "
                            f"NaN/inf values")
    quant = fields.get("quant")
    if quant is not None and quant.scale is not None and not np.all(np.isfinite(quant.scale)):
        problems.append("quantization scale: must be finite")
    return problems


def network_array_problems(net) -> list[str]:
    """Non-finite weights or biases, or NaN constants, after folding (BatchNormalization or a bias Add can bring NaN in)."""
    problems = []
    for lay in net.layers:
        for key in ("weight", "bias"):
            arr = getattr(lay, key, None)
            if arr is not None and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                problems.append(f"layer {lay.name!r} {key}: must be finite after folding; got "
                                f"{int(np.count_nonzero(~np.isfinite(arr)))} NaN/inf values")
        for key, value in getattr(lay, "consts", {}).items():  # -inf is a real mask value (causal attention)
            arr = np.asarray(value)
            if arr.dtype.kind == "f" and np.isnan(arr).any():
                problems.append(f"layer {lay.name!r} constant {key!r}: must not hold NaN; got "
                                f"{int(np.count_nonzero(np.isnan(arr)))} NaN values")
    return problems
