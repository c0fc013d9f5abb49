"""Sparse-weight direct convolution (weight-stationary per output channel).

For each (sample, output channel) task, each stored weight w at (ci, kh, kw) is read once and
multiplied into the whole output plane: ``out[oy, ox] += w * xp[ci, oy*s + kh*d, ox*s + kw*d]``
over the zero-padded input ``xp``. With stride 1 the inner loop is a contiguous AXPY over an
output row, which vectorizes; pruned weights cost nothing. This is the sparse direct
convolution of Park et al. (ICLR 2017, "Faster CNNs with direct sparse convolutions").

Layout (``formats.conv_from_dense``): ``ptr`` (out_c + 1) int64, ``offsets`` int64 (each stored
weight's first element in one padded sample, flattened), ``values`` weight words (see ``arith``).

Counting: the effectual MACs of a stored weight are the nonzero input cells its window of
positions covers. The kernel builds, per (sample, channel), a strided summed-area table of the
input's nonzero indicator (``S[y, x] = nz[y, x] + S[y - s, x] + S[y, x - s] - S[y - s, x - s]``),
so each stored weight's count is four look-ups, exact for any stride and dilation.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .arith import mac, weight_at, zero_like


@njit(cache=True)
def _lattice_sum(table, y1, x1, y0, x0, step):
    """Sum of the indicator over the lattice {y0, y0 + step, .., y1} x {x0, .., x1}."""
    total = table[y1, x1]
    if y0 >= step:
        total -= table[y0 - step, x1]
    if x0 >= step:
        total -= table[y1, x0 - step]
    if y0 >= step and x0 >= step:
        total += table[y0 - step, x0 - step]
    return total


@njit(cache=True)
def _in_bounds(start, n_out, stride, padding, size):
    """Output positions o in [0, n_out) whose input coordinate start + o*stride falls inside
    the unpadded extent [padding, padding + size)."""
    lo = 0
    if start < padding:
        lo = (padding - start + stride - 1) // stride
    hi = n_out - 1
    last = padding + size - 1
    if start + hi * stride > last:
        hi = (last - start) // stride if last >= start else -1
    return max(0, hi - lo + 1)


@njit(cache=True, parallel=True, fastmath={"reassoc", "nsz", "contract"})
def conv_sparse(ptr, offsets, values, codebook, xp, stride, padding, out, work):
    """Grouped, strided, dilated 2-D cross-correlation with CSR weights per output channel.

    Parameters
    ----------
    ptr, offsets, values, codebook : sparse conv weights (see the module docstring).
    xp : (batch, C, H + 2p, W + 2p) zero-padded activations (float32, or int8 for the integer path).
    stride, padding : as the layer's.
    out : (batch, out_c, OH, OW) float32 or int32, overwritten.
    work : (batch, out_c, 2) int64, overwritten: [..., 0] effectual MACs, [..., 1] MACs of stored
        weights on in-bounds positions (zero activations included, padding excluded).

    Returns
    -------
    Effectual MACs, summed over the batch.
    """
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    h, w = hp - 2 * padding, wp - 2 * padding
    nz_table = np.zeros((batch, chans, hp, wp), dtype=np.int32)
    for t in prange(batch * chans):
        b = t // chans
        c = t % chans
        tab = nz_table[b, c]
        plane = xp[b, c]
        for y in range(hp):
            for x in range(wp):
                v = np.int32(plane[y, x] != 0)
                if y >= stride:
                    v += tab[y - stride, x]
                if x >= stride:
                    v += tab[y, x - stride]
                if y >= stride and x >= stride:
                    v -= tab[y - stride, x - stride]
                tab[y, x] = v
    flat = xp.reshape(batch, chans * hp * wp)
    span_y = (oh - 1) * stride
    span_x = (ow - 1) * stride
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        vals = values[ptr[o]:ptr[o + 1]]
        offs = offsets[ptr[o]:ptr[o + 1]]
        xb = flat[b]
        hits = 0
        valid = 0
        # Stride 1: accumulate rows at the padded width, so the whole plane is one contiguous
        # AXPY per stored weight (the wp - ow extra lanes per row are dropped below).
        wide = np.zeros(oh * wp, dtype=out.dtype) if stride == 1 else np.zeros(0, dtype=out.dtype)
        plane = out[b, o]
        plane[:, :] = zero_like(out)
        n_wide = (oh - 1) * wp + ow
        for j in range(vals.shape[0]):
            wv = weight_at(vals, codebook, j)
            off = offs[j]
            ci = off // (hp * wp)
            y0 = (off % (hp * wp)) // wp
            x0 = off % wp
            hits += _lattice_sum(nz_table[b, ci], y0 + span_y, x0 + span_x, y0, x0, stride)
            valid += _in_bounds(y0, oh, stride, padding, h) * _in_bounds(x0, ow, stride, padding, w)
            if stride == 1:
                src = xb[off:off + n_wide]
                acc = wide[:n_wide]
                for i in range(n_wide):
                    acc[i] = mac(acc[i], wv, src[i])
            else:
                for oy in range(oh):
                    row = plane[oy]
                    start = off + oy * stride * wp
                    for ox in range(ow):
                        row[ox] = mac(row[ox], wv, xb[start + ox * stride])
        if stride == 1:
            for oy in range(oh):
                plane[oy, :] = wide[oy * wp:oy * wp + ow]
        work[b, o, 0] = hits
        work[b, o, 1] = valid
    return work[:, :, 0].sum()
