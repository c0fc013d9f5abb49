"""Max and average pooling over (batch, C, H, W) with square windows and zero padding.

Average pooling divides by the in-bounds cells only (ONNX count_include_pad=0), as the
reference does; max pooling ignores padded cells (they act as -inf).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, error_model="numpy")  # an all-padding window averages to nan, as numpy
def pool2d(x, k, stride, padding, is_max, out):
    """Pool every (b, c) plane into ``out`` (batch, C, OH, OW) float32.

    Returns
    -------
    Activation reads: in-bounds window cells summed over every output (padding is not read).
    """
    batch, chans, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    reads = np.zeros(batch * chans, dtype=np.int64)
    for t in prange(batch * chans):
        b = t // chans
        c = t % chans
        plane = x[b, c]
        n_read = 0
        for oy in range(oh):
            y0 = max(oy * stride - padding, 0)
            y1 = min(oy * stride - padding + k, h)
            for ox in range(ow):
                x0 = max(ox * stride - padding, 0)
                x1 = min(ox * stride - padding + k, w)
                if is_max:
                    acc = -np.inf
                    for y in range(y0, y1):
                        for xx in range(x0, x1):
                            acc = max(acc, plane[y, xx])
                else:
                    acc = 0.0
                    for y in range(y0, y1):
                        for xx in range(x0, x1):
                            acc += plane[y, xx]
                    acc /= (y1 - y0) * (x1 - x0)
                out[b, c, oy, ox] = acc
                n_read += (y1 - y0) * (x1 - x0)
        reads[t] = n_read
    return reads.sum()
