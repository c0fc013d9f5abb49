"""Convolution and pooling with any window: kernel height x width, stride and dilation per axis,
asymmetric padding, groups; pooling with ceil mode and count_include_pad.

The square, symmetric layers of older models keep the faster ``conv`` / ``pool`` kernels; these
take what those cannot. Geometry travels as one int64 array (``geom``) so the signatures stay short.

Convolution layout: ``ptr`` (out_c + 1) int64 CSR over output channels, ``offsets`` int64 (each
stored weight's first input element in one padded sample, flattened: channel, tap row, tap
column), ``taps`` (nnz, 2) int64 (the tap's row and column offset in the padded input, dilation
applied) and ``values`` (float32, or float64 for exact integer arithmetic).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def window_conv(ptr, offsets, taps, values, xp, geom, out, work):
    """Sparse direct convolution of padded ``xp`` (batch, C, Hp, Wp) into ``out`` (batch, O, OH, OW).

    geom: [stride_h, stride_w, pad_top, pad_left, height, width] (height / width unpadded).
    work: (batch, O, 2) int64, overwritten: effectual MACs (nonzero weight x nonzero input) and
    MACs of stored weights on real (non-padding) cells.

    Returns
    -------
    Effectual MACs summed over the batch.
    """
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    sh, sw, pt, pl, h, w = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5]
    flat = xp.reshape(batch, chans * hp * wp)
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        xb = flat[b]
        plane = out[b, o]
        plane[:, :] = 0
        hits = 0
        valid = 0
        for j in range(ptr[o], ptr[o + 1]):
            wv = values[j]
            ty = taps[j, 0]
            tx = taps[j, 1]
            # Output rows / columns whose tap lands on a real cell: padding is never multiplied.
            for oy in range(oh):
                y = oy * sh + ty
                if y < pt or y >= pt + h:
                    continue
                row = plane[oy]
                start = offsets[j] + oy * sh * wp
                for ox in range(ow):
                    xx = ox * sw + tx
                    if xx < pl or xx >= pl + w:
                        continue
                    v = xb[start + ox * sw]
                    valid += 1
                    if v != 0:
                        hits += 1
                        row[ox] += wv * v
        work[b, o, 0] = hits
        work[b, o, 1] = valid
    return work[:, :, 0].sum()


@njit(cache=True, parallel=True, error_model="numpy")
def window_pool(x, geom, is_max, include_pad, out):
    """Max / average pooling of x (batch, C, H, W) into ``out`` (batch, C, OH, OW).

    geom: [kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right].
    Average divides by the real cells of the window, or (``include_pad``) by its cells inside the
    padded extent. Windows past the padded extent (ceil mode) are clipped.

    Returns
    -------
    Activation reads: real window cells summed over every output.
    """
    batch, chans, h, w = x.shape
    oh, ow = out.shape[2], out.shape[3]
    kh, kw, sh, sw, pt, pl, pb, pr = geom[0], geom[1], geom[2], geom[3], geom[4], geom[5], geom[6], geom[7]
    reads = np.zeros(batch * chans, dtype=np.int64)
    for t in prange(batch * chans):
        b = t // chans
        c = t % chans
        plane = x[b, c]
        n_read = 0
        for oy in range(oh):
            ys = oy * sh - pt
            ye = min(ys + kh, h + pb)
            y0 = max(ys, 0)
            y1 = min(ye, h)
            for ox in range(ow):
                xs = ox * sw - pl
                xe = min(xs + kw, w + pr)
                x0 = max(xs, 0)
                x1 = min(xe, w)
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
                    cells = (ye - ys) * (xe - xs) if include_pad else (y1 - y0) * (x1 - x0)
                    acc /= cells
                out[b, c, oy, ox] = acc
                n_read += max(0, y1 - y0) * max(0, x1 - x0)
        reads[t] = n_read
    return reads.sum()
