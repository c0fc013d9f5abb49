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

from .arith import mac, mac4, weight_at, zero_like


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


FASTMATH = {"reassoc", "nsz", "contract"}  # sums may be reassociated (allclose to numpy); NaN/inf propagate
SLAB_BYTES = 512 * 1024  # input rows a stride-1 task keeps in L2 (1 MB per core here) for all output channels
MIN_ROW_TILES = 4  # stride-1 tasks per sample, at least, so both cores get work


@njit(cache=True, parallel=True)
def _count_work(ptr, offsets, xp, stride, padding, out_shape, work):
    """work[b, o] = (effectual MACs, stored-weight MACs on in-bounds cells) from strided summed-area
    tables of the input's nonzero indicator (see the module docstring)."""
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out_shape
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
    span_y = (oh - 1) * stride
    span_x = (ow - 1) * stride
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        hits = 0
        valid = 0
        for j in range(ptr[o], ptr[o + 1]):
            off = offsets[j]
            ci = off // (hp * wp)
            y0 = (off % (hp * wp)) // wp
            x0 = off % wp
            hits += _lattice_sum(nz_table[b, ci], y0 + span_y, x0 + span_x, y0, x0, stride)
            valid += _in_bounds(y0, oh, stride, padding, h) * _in_bounds(x0, ow, stride, padding, w)
        work[b, o, 0] = hits
        work[b, o, 1] = valid


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _conv_stride1(ptr, offsets, values, codebook, xp, out):
    """Stride-1 sparse direct convolution, tiled for the caches.

    A task is one (sample, band of output rows); it keeps the band's input rows of every channel
    (``SLAB_BYTES``) in L2 and walks all output channels over them. Accumulation is at the padded
    width, so the band is one contiguous run of lanes and each stored weight is one AXPY over it
    (``acc[i] += w * x[off + i]``); four stored weights share one load and store of the band's
    accumulators (``mac4``), which stay in L1. The ``wp - ow`` extra lanes per row are dropped.
    """
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    span = hp - oh + 1  # rows of input one output row needs (dilated kernel extent)
    rows = max(1, min(oh, SLAB_BYTES // max(1, chans * wp * xp.itemsize) - (span - 1)))
    rows = max(1, min(rows, -(-oh // MIN_ROW_TILES)))
    n_bands = -(-oh // rows)
    n_wide = (oh - 1) * wp + ow
    flat = xp.reshape(batch, chans * hp * wp)
    for t in prange(batch * n_bands):
        b = t // n_bands
        y0 = (t % n_bands) * rows
        y1 = min(y0 + rows, oh)
        lane0 = y0 * wp
        n_lanes = min(y1 * wp, n_wide) - lane0
        xb = flat[b, lane0:]
        acc = np.empty(n_lanes, dtype=out.dtype)
        for o in range(out_c):
            acc[:] = zero_like(out)
            vals = values[ptr[o]:ptr[o + 1]]
            offs = offsets[ptr[o]:ptr[o + 1]]
            n = vals.shape[0]
            n4 = n - n % 4
            for j in range(0, n4, 4):
                w0 = weight_at(vals, codebook, j)
                w1 = weight_at(vals, codebook, j + 1)
                w2 = weight_at(vals, codebook, j + 2)
                w3 = weight_at(vals, codebook, j + 3)
                s0 = xb[offs[j]:offs[j] + n_lanes]
                s1 = xb[offs[j + 1]:offs[j + 1] + n_lanes]
                s2 = xb[offs[j + 2]:offs[j + 2] + n_lanes]
                s3 = xb[offs[j + 3]:offs[j + 3] + n_lanes]
                for i in range(n_lanes):
                    acc[i] = mac4(acc[i], w0, s0[i], w1, s1[i], w2, s2[i], w3, s3[i])
            for j in range(n4, n):
                w0 = weight_at(vals, codebook, j)
                s0 = xb[offs[j]:offs[j] + n_lanes]
                for i in range(n_lanes):
                    acc[i] = mac(acc[i], w0, s0[i])
            plane = out[b, o]
            for oy in range(y0, y1):
                plane[oy, :] = acc[(oy - y0) * wp:(oy - y0) * wp + ow]


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _conv_strided(ptr, offsets, values, codebook, xp, stride, out):
    """Any-stride sparse direct convolution, one task per (sample, output channel): each stored
    weight is multiplied into the whole output plane, reading the input at the stride."""
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    flat = xp.reshape(batch, chans * hp * wp)
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        vals = values[ptr[o]:ptr[o + 1]]
        offs = offsets[ptr[o]:ptr[o + 1]]
        xb = flat[b]
        plane = out[b, o]
        plane[:, :] = zero_like(out)
        for j in range(vals.shape[0]):
            wv = weight_at(vals, codebook, j)
            for oy in range(oh):
                row = plane[oy]
                start = offs[j] + oy * stride * wp
                for ox in range(ow):
                    row[ox] = mac(row[ox], wv, xb[start + ox * stride])


@njit(cache=True)
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
    _count_work(ptr, offsets, xp, stride, padding, out.shape[1:], work)
    if stride == 1:
        _conv_stride1(ptr, offsets, values, codebook, xp, out)
    else:
        _conv_strided(ptr, offsets, values, codebook, xp, stride, out)
    return work[:, :, 0].sum()
