"""Max and average pooling over (batch, C, H, W) with square windows and symmetric zero padding.

Average pooling divides by the in-bounds cells only (ONNX count_include_pad=0), as the
reference does; max pooling ignores padded cells (they act as -inf). The arithmetic is
``window.window_pool``'s (the general kernel), given the square, symmetric geometry.
"""
from __future__ import annotations

import numpy as np

from .window import window_pool


def pool2d(x, k, stride, padding, is_max, out):
    """Pool every (b, c) plane into ``out`` (batch, C, OH, OW) float32 (floor mode).

    Returns
    -------
    Activation reads: in-bounds window cells summed over every output (padding is not read).
    """
    geom = np.array([k, k, stride, stride, padding, padding, padding, padding], dtype=np.int64)
    return window_pool(x, geom, bool(is_max), False, out)
