"""Sparse-weight direct convolution (weight-stationary per output channel).

For each (sample, output channel) task, each stored weight w at (ci, kh, kw) is read once and
multiplied into the whole output plane: ``out[oy, ox] += w * xp[ci, oy*s + kh*d, ox*s + kw*d]``
over the zero-padded input ``xp``. With stride 1 the inner loop is a contiguous AXPY over an
output row, which vectorizes; pruned weights cost nothing. This is the sparse direct
convolution of Park et al. (ICLR 2017, "Faster CNNs with direct sparse convolutions").

Layout (``formats.conv_from_dense``): ``ptr`` (n_blocks * out_c + 1) int64 segments per
(input-channel block, output channel), ``offsets`` int64 (each stored weight's first element in
one padded sample, flattened), ``values`` weight words (see ``arith``).

Counting: the effectual MACs of a stored weight are the nonzero input cells its window of
positions covers. The kernel builds, per (sample, channel), a strided summed-area table of the
input's nonzero indicator (``S[y, x] = nz[y, x] + S[y - s, x] + S[y, x - s] - S[y - s, x - s]``),
so a window's count is four look-ups, exact for any stride and dilation; the counts of all
window starts are tabulated once and each stored weight looks its own up.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from .arith import mac, mac4, weight_at, zero_like
from .simd import TILE_LANES, dot_tile


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


FASTMATH = False  # no reassociation or FMA contraction: each output's sum has one order on every CPU


@njit(cache=True, parallel=True)
def window_tables(xp, stride, padding, out_shape):
    """(window_nz, window_valid) of a padded input ``xp`` (batch, C, Hp, Wp) and an output plane
    ``out_shape`` (out_c, OH, OW): ``window_nz[b, c, y0, x0]`` the nonzero cells of channel c on the
    stride lattice of OH x OW positions starting at (y0, x0) (from strided summed-area tables, see
    the module docstring), ``window_valid[y0, x0]`` the lattice's cells inside the unpadded extent.
    A stored weight at tap (kh, kw) of input channel c has effectual MACs ``window_nz[b, c, kh d,
    kw d]`` and in-bounds MACs ``window_valid[kh d, kw d]``; starts no window reaches are 0."""
    batch, chans, hp, wp = xp.shape
    oh, ow = out_shape[1], out_shape[2]
    h, w = hp - 2 * padding, wp - 2 * padding
    span_y = (oh - 1) * stride
    span_x = (ow - 1) * stride
    window_nz = np.empty((batch, chans, hp, wp), dtype=np.int32)
    for t in prange(batch * chans):
        b = t // chans
        c = t % chans
        tab = np.zeros((hp, wp), dtype=np.int32)
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
        win = window_nz[b, c]
        win[:, :] = 0
        for y0 in range(hp - span_y):
            for x0 in range(wp - span_x):
                win[y0, x0] = _lattice_sum(tab, y0 + span_y, x0 + span_x, y0, x0, stride)
    window_valid = np.zeros((hp, wp), dtype=np.int32)
    for y0 in range(hp - span_y):
        for x0 in range(wp - span_x):
            window_valid[y0, x0] = _in_bounds(y0, oh, stride, padding, h) * _in_bounds(x0, ow, stride, padding, w)
    return window_nz, window_valid


@njit(cache=True, parallel=True)
def _lookup_work(ptr, offsets, window_nz, window_valid, out_c, work):
    """``_count_work``'s second half: each stored weight looks its window's counts up."""
    batch, chans, hp, wp = window_nz.shape
    n_blocks = (ptr.shape[0] - 1) // out_c
    plane_cells = hp * wp
    valid_flat = window_valid.reshape(plane_cells)
    nz_flat = window_nz.reshape(batch, chans * plane_cells)
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        nz = nz_flat[b]
        hits = 0
        valid = 0
        for cb in range(n_blocks):
            a = ptr[cb * out_c + o]
            e = ptr[cb * out_c + o + 1]
            if a == e:
                continue
            # A run's offsets ascend (channel, kh, kw): track the channel's first cell instead of
            # dividing every offset by the plane size.
            base = (offsets[a] // plane_cells) * plane_cells
            for j in range(a, e):
                off = offsets[j]
                while off >= base + plane_cells:
                    base += plane_cells
                hits += nz[off]
                valid += valid_flat[off - base]
        work[b, o, 0] = hits
        work[b, o, 1] = valid


@njit(cache=True)
def _count_work(ptr, offsets, xp, stride, padding, out_shape, work):
    """work[b, o] = (effectual MACs, stored-weight MACs on in-bounds cells).

    A stored weight's counts depend only on where its window starts in the padded input, so
    both are tabulated per input position first (``window_tables``) and each stored weight then
    costs one look-up per count, with no integer division.
    """
    window_nz, window_valid = window_tables(xp, stride, padding, out_shape)
    _lookup_work(ptr, offsets, window_nz, window_valid, out_shape[0], work)


def accumulate_window(acc, xs, offs, vals, codebook, n_lanes):
    """``acc[i] += sum_j w_j * xs[offs[j] + i]`` for ``i < n_lanes``: one output channel's stored
    weights of one channel block on one lane tile. Float32 full tiles take the register-tiled
    ``simd.dot_tile``; other encodings and partial tiles, four weights per update (``mac4``)."""
    accumulate_window_lanes(acc, xs, offs, vals, codebook, n_lanes)


def accumulate_window_lanes(acc, xs, offs, vals, codebook, n_lanes):
    """``accumulate_window`` without registers: four stored weights per accumulator update."""
    n = vals.shape[0]
    n4 = n - n % 4
    for j in range(0, n4, 4):
        w0 = weight_at(vals, codebook, j)
        w1 = weight_at(vals, codebook, j + 1)
        w2 = weight_at(vals, codebook, j + 2)
        w3 = weight_at(vals, codebook, j + 3)
        s0 = xs[offs[j]:offs[j] + n_lanes]
        s1 = xs[offs[j + 1]:offs[j + 1] + n_lanes]
        s2 = xs[offs[j + 2]:offs[j + 2] + n_lanes]
        s3 = xs[offs[j + 3]:offs[j + 3] + n_lanes]
        for i in range(n_lanes):
            acc[i] = mac4(acc[i], w0, s0[i], w1, s1[i], w2, s2[i], w3, s3[i])
    for j in range(n4, n):
        w0 = weight_at(vals, codebook, j)
        s0 = xs[offs[j]:offs[j] + n_lanes]
        for i in range(n_lanes):
            acc[i] = mac(acc[i], w0, s0[i])


_accumulate_window_lanes = njit(cache=True, fastmath=FASTMATH)(accumulate_window_lanes)


@overload(accumulate_window, inline="always")
def _accumulate_window(acc, xs, offs, vals, codebook, n_lanes):
    if acc.dtype == xs.dtype == vals.dtype == types.float32:
        def register_tiled(acc, xs, offs, vals, codebook, n_lanes):
            if n_lanes == TILE_LANES:
                dot_tile(acc, xs, offs, vals, 1, 0)
            else:
                _accumulate_window_lanes(acc, xs, offs, vals, codebook, n_lanes)
        return register_tiled
    return lambda acc, xs, offs, vals, codebook, n_lanes: _accumulate_window_lanes(acc, xs, offs, vals, codebook,
                                                                                   n_lanes)


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _conv_stride1(ptr, offsets, values, codebook, xp, out):
    """Stride-1 sparse direct convolution in 64-lane output tiles.

    Output lanes are positions of the plane at the padded width (lane = oy * Wp + ox; the
    ``Wp - OW`` lanes past each row are computed and dropped), so a stored weight at input offset
    ``off`` reads lanes ``off + lane`` of the flattened input: contiguous, no im2col. A task is
    one (sample, 64-lane tile) and holds the tile's accumulators of every output channel
    (out_c x 64). It walks the input-channel blocks (``formats.conv_block_channels``: the block's
    input window under the tile stays in L1) and, per block, every output channel's stored
    weights in that block (``accumulate_window``).
    """
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    n_blocks = (ptr.shape[0] - 1) // out_c
    n_wide = (oh - 1) * wp + ow
    n_tiles = -(-n_wide // TILE_LANES)
    flat = xp.reshape(batch, chans * hp * wp)
    for t in prange(batch * n_tiles):
        b = t // n_tiles
        lane0 = (t % n_tiles) * TILE_LANES
        n_lanes = min(TILE_LANES, n_wide - lane0)
        xs = flat[b][lane0:]
        acc = np.zeros((out_c, TILE_LANES), dtype=out.dtype)
        for cb in range(n_blocks):
            for o in range(out_c):
                a = ptr[cb * out_c + o]
                e = ptr[cb * out_c + o + 1]
                if a < e:
                    accumulate_window(acc[o], xs, offsets[a:e], values[a:e], codebook, n_lanes)
        for o in range(out_c):
            plane = out[b, o]
            for i in range(n_lanes):
                oy = (lane0 + i) // wp
                ox = lane0 + i - oy * wp
                if ox < ow:
                    plane[oy, ox] = acc[o, i]


@njit(cache=True, parallel=True, fastmath=FASTMATH)
def _conv_strided(ptr, offsets, values, codebook, xp, stride, out):
    """Any-stride sparse direct convolution, one task per (sample, output channel): each stored
    weight is multiplied into the whole output plane, reading the input at the stride."""
    batch, chans, hp, wp = xp.shape
    out_c, oh, ow = out.shape[1], out.shape[2], out.shape[3]
    n_blocks = (ptr.shape[0] - 1) // out_c
    flat = xp.reshape(batch, chans * hp * wp)
    for t in prange(batch * out_c):
        b = t // out_c
        o = t % out_c
        xb = flat[b]
        plane = out[b, o]
        plane[:, :] = zero_like(out)
        for cb in range(n_blocks):
            for j in range(ptr[cb * out_c + o], ptr[cb * out_c + o + 1]):
                wv = weight_at(values, codebook, j)
                for oy in range(oh):
                    row = plane[oy]
                    start = offsets[j] + oy * stride * wp
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
