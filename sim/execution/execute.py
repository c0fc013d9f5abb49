"""Execute a network with the numba kernels: outputs and a WorkProfile in one pass per layer.

Same semantics as ``reference.execute_reference`` (same graph walk, same first ten counters);
the kernels in ``sim.kernels`` do the fc, conv and pooling arithmetic and count as they go.
Cheap elementwise layers (relu, softmax, add, ...) stay numpy.

Weight encodings, picked per layer from ``Layer.quant``:

- ``None``: float32 words.
- ``kmeans``: uint8 (uint16 above 8 bits) codes, decoded through the float32 codebook per
  stored weight read (``codebook_lookups``).
- ``linear`` / ``binary``: int8 ``qvalues``. By default activations stay float32: the kernel
  accumulates ``q * x`` in float32 and the output row is multiplied by its scale once, so the
  output is allclose to the reference on the dequantized weights. With ``quantize_acts=True``
  the integer path runs instead: the layer's input is quantized per tensor to int8
  (symmetric, ``x_scale = max|x| / 127``, round to nearest), products accumulate in int32, and
  the output is requantized to float32 as ``acc * (w_scale[row] * x_scale) + bias`` (the next
  layer quantizes its own input again). Small activations may round to zero, so the counts can
  then differ from the reference's.

Dataflow counters (LayerWork's last five), as each kernel really reads its format:

=================  ======================  ===================  ==========================
counter            fc CSR (row-parallel)   fc CSC (EIE)         conv (sparse direct)
=================  ======================  ===================  ==========================
weight_words_read  nnz (batch 1: once;     stored weights of    nnz per sample; stride 1:
                   batched: once per call, nonzero columns,     nnz per 64-lane output
                   used for every sample)  per sample           tile of each sample
index_words_read   nnz column indices +    one row index per    an offset per weight read
                   a count per row and     weight read + 2      + 2 pointers per (channel
                   column block + a        column pointers per  block, output channel) run
                   pointer per row tile    broadcast and part   and pass
                   + 1
act_reads          nnz per sample (zeros   every input, once    nnz x OH x OW per sample
                   are read and            per sample (the
                   multiplied)             zero test)
psum_writes        one per (row, column    one per weight read  nnz x OH x OW per sample;
                   block) run (batch 1,    (scatter into the    stride 1: float32 one per
                   float32 64-lane tiles)  row's accumulator)   (channel block, output
                   or per 4 stored                              channel) run, else one per
                   weights (mac4), per                          4 stored weights (mac4);
                   sample                                       per output position
codebook_lookups   weight_words_read for k-means layers, else 0 (same for all three)
=================  ======================  ===================  ==========================

Pooling counts its in-bounds window reads as ``act_reads``; elementwise layers read each input
element once. Converted weights of layers up to ``CACHE_MAX_WEIGHTS`` weights are cached per layer
object (see ``_cached``), so repeated calls do not rebuild them; a layer whose ``weight`` or
``quant`` object is replaced is re-converted (arrays changed in place are not detected). Larger
layers convert per call and free the copy when the layer is done, so memory holds one at a time.
"""
from __future__ import annotations

import weakref

import numba
import numpy as np

from ..kernels import formats
from ..kernels.conv import conv_sparse
from ..kernels.csc import csc_pe_work, csc_spmv
from ..kernels.csr import csr_matmul, csr_matvec
from ..kernels.pool import pool2d
from ..kernels.simd import TILE_LANES
from ..kernels.threads import threads, threads_for
from ..workload.network import Layer, Network
from .profile import LayerWork, WorkProfile
from .reference import rows_of, run_layers
from .tensor_exec import execute_simple, execute_window, execute_matmul, execute_recurrent

FC_DATAFLOWS = ("csr", "csc")
_EMPTY_CODEBOOK = np.zeros(0, dtype=np.float32)
_CACHE: dict[tuple, tuple] = {}


CACHE_MAX_WEIGHTS = 1 << 20  # layers above this many weights rebuild their layouts per call instead of keeping them
_LAYOUTS = ("csc", "csr-tiles", "conv", "col-pe")  # the forms that hold a copy of the stored weights


def _cached(layer: Layer, form: tuple, build):
    """Converted weights of ``layer`` in layout ``form``, built once per (layer, weights). The
    layouts of layers above ``CACHE_MAX_WEIGHTS`` weights are not kept: a run holds one large
    layer's converted copy at a time (their conversion is a small share of the layer's work)."""
    if form[0] in _LAYOUTS and layer.weight is not None and layer.weight.size > CACHE_MAX_WEIGHTS:
        return build()
    key = (id(layer),) + form
    hit = _CACHE.get(key)
    if hit is not None:
        ref, weight, quant, value = hit
        if ref() is layer and weight is layer.weight and quant is layer.quant:
            return value
    value = build()
    _CACHE[key] = (weakref.ref(layer, lambda _: _CACHE.pop(key, None)), layer.weight, layer.quant, value)
    return value


def _encoding(layer: Layer):
    """(codebook, row_scale or None) of a weighted layer: small arrays, cached per layer."""
    q = layer.quant
    if q is not None and q.kind == "kmeans" and q.codes is not None and q.codebook is not None:
        return np.ascontiguousarray(q.codebook, dtype=np.float32), None
    if q is not None and q.kind in ("linear", "binary") and q.qvalues is not None and q.scale is not None:
        return _EMPTY_CODEBOOK, np.broadcast_to(np.asarray(q.scale, dtype=np.float32).ravel(),
                                                (layer.weight.shape[0],)).copy()
    return _EMPTY_CODEBOOK, None


def _words(layer: Layer):
    """(mask, words, codebook, row_scale or None) of a weighted layer (see the module docstring).
    Built when a layout is converted and not kept: ``words`` aliases the float32 weight (no copy)."""
    w = layer.weight
    mask = w != 0
    q = layer.quant
    codebook, row_scale = _encoding(layer)
    if q is not None and q.kind == "kmeans" and q.codes is not None and q.codebook is not None:
        return mask, q.codes.astype(np.uint8 if q.bits <= 8 else np.uint16, copy=False), codebook, None
    if row_scale is not None:
        return mask, q.qvalues.astype(np.int8, copy=False), codebook, row_scale
    return mask, w.astype(np.float32, copy=False), codebook, None


def _nnz(layer: Layer) -> int:
    """Stored weights of a layer (counted once per layer and weights)."""
    return _cached(layer, ("nnz",), lambda: layer.weight_nnz)


def _csr_tiles(layer: Layer, tile_shape: tuple):
    """The CSR tile layout of an fc layer; a packed layer's is built from its positions (no dense matrix)."""
    packed = layer.attrs.get("packed")
    if packed is not None and layer.quant is None:
        rows, cols = packed.rows_cols()
        return formats.csr_tiles_from_coo(rows, cols, packed.values, layer.weight.shape, *tile_shape)
    mask, words, _, _ = _words(layer)
    return formats.csr_tiles_from_dense(mask, words, *tile_shape)


def _unpacked(layer: Layer) -> Layer:
    """A temporary copy of a packed layer with its dense weight (for the executors that read the
    dense tensor); dropped, and its converted layouts with it, when the caller is done."""
    return layer.replace(weight=layer.attrs["packed"].dense(),
                         attrs={k: v for k, v in layer.attrs.items() if k != "packed"})


def _is_integer(layer: Layer, quantize_acts: bool) -> bool:
    q = layer.quant
    return bool(quantize_acts and q is not None and q.kind in ("linear", "binary") and q.qvalues is not None)


def quantize_per_tensor(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric int8 activations: (round(x / s) clipped to +-127, s = max|x| / 127, or 1 for x == 0)."""
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / 127.0 if amax > 0 else 1.0
    return np.clip(np.rint(x / scale), -127, 127).astype(np.int8), scale


def _fc(layer: Layer, x: np.ndarray, lw: LayerWork, fc_dataflow: str, n_pes: int, quantize_acts: bool):
    samples = x.shape[0]
    x2 = np.ascontiguousarray(rows_of(layer, x), dtype=np.float32)
    batch = x2.shape[0]  # vectors: samples x tokens
    lw.batch = batch
    n_rows, n_in = layer.weight.shape
    integer = _is_integer(layer, quantize_acts)
    codebook, row_scale = _cached(layer, ("encoding",), lambda: _encoding(layer))
    nnz = _nnz(layer)
    x_scale = 1.0
    if integer:
        x2, x_scale = quantize_per_tensor(x2)
    acc_dtype = np.int32 if integer else np.float32
    if fc_dataflow == "csc":
        n_parts = max(1, numba.config.NUMBA_NUM_THREADS)  # fixed, so the layout is cached once
        partptr, rows, values = _cached(layer, ("csc", n_parts),
                                        lambda: formats.csc_from_dense(*_words(layer)[:2], n_parts))
        out = np.empty((batch, n_rows), dtype=acc_dtype)
        work = np.empty(n_rows, dtype=np.int64)
        eff = int(csc_spmv(partptr, rows, values, codebook, x2, out, work))
        broadcasts = int(np.count_nonzero(x2))
        lw.weight_words_read = eff
        lw.index_words_read = eff + 2 * broadcasts * n_parts
        lw.act_reads = x2.size
        lw.psum_writes = eff
        lw.pe_work = eie_pe_work(layer, x2, n_pes).sum(axis=0)
    else:
        tile_shape = formats.csr_tile_shape(n_rows, n_in, nnz, batch)
        tiles = _cached(layer, ("csr-tiles",) + tile_shape, lambda: _csr_tiles(layer, tile_shape))
        work = np.empty(n_rows, dtype=np.int64)
        lw.weight_words_read = nnz
        lw.index_words_read = nnz + tiles[0].size + tiles[1].size
        if batch == 1:
            out1 = np.empty(n_rows, dtype=acc_dtype)
            eff = int(csr_matvec(*tiles[:3], tiles[3], codebook, x2[0], out1, work))
            out = out1[None, :]
            lw.psum_writes = int(np.count_nonzero(tiles[1]))
        else:
            outT = np.empty((n_rows, batch), dtype=acc_dtype)
            eff = int(csr_matmul(*tiles[:3], tiles[3], codebook, np.ascontiguousarray(x2.T), outT, work))
            out = outT.T
            lw.psum_writes = _matmul_writes(tiles[1], batch, tiles[3].dtype == np.float32 and not integer)
        lw.act_reads = nnz * batch
    lw.codebook_lookups = lw.weight_words_read if codebook.size else 0
    y = _finish(out, row_scale, x_scale, integer, layer.bias, (1, -1))
    _mac_counts(lw, layer, batch * n_rows * n_in, nnz * batch, eff, work, nnz)
    return y.reshape((samples,) + tuple(layer.out_shape))


def grouped_writes(counts: np.ndarray) -> int:
    """Accumulator writes of runs of ``counts`` stored weights applied four at a time (``mac4``):
    one write per group of four and one per leftover weight."""
    c = np.asarray(counts, dtype=np.int64)
    return int((c // 4 + c % 4).sum())


def _matmul_writes(counts: np.ndarray, batch: int, register_tiles: bool) -> int:
    """Accumulator writes of ``csr_matmul``: float32 64-lane tiles write once per (row, block)
    run; the other lanes (and other encodings) once per four stored weights (``mac4``)."""
    tiled = batch - batch % TILE_LANES if register_tiles else 0
    return int(np.count_nonzero(counts)) * tiled + grouped_writes(counts) * (batch - tiled)


def _finish(out, row_scale, x_scale, integer, bias, shape):
    """Accumulators -> float32 outputs: per-row weight scale, activation scale, bias."""
    y = out.astype(np.float32, copy=False)  # float32 accumulators are a fresh array: scaled in place
    if row_scale is not None:
        scale = row_scale * np.float32(x_scale) if integer else row_scale
        y *= scale.reshape(shape)
    if bias is not None:
        y += bias.reshape(shape)
    return y


def _mac_counts(lw: LayerWork, layer: Layer, macs: int, stored_macs: int, eff: int, out_work: np.ndarray,
                nnz: int):
    """The reference's MAC counters from the kernel's counts: ``stored_macs`` are MACs of stored
    (nonzero) weights on real (non-padding) activations."""
    lw.macs = int(macs)
    lw.effectual_macs = int(eff)
    lw.skipped_zero_weight = int(macs - stored_macs)
    lw.skipped_zero_act = int(stored_macs - eff)
    lw.weight_count = layer.weight_count
    lw.weight_nnz = int(nnz)
    lw.out_work = np.asarray(out_work, dtype=np.int64)


def _conv(layer: Layer, x: np.ndarray, lw: LayerWork, quantize_acts: bool):
    batch = x.shape[0]
    p, s = layer.padding, layer.stride
    out_c, oh, ow = layer.out_shape
    integer = _is_integer(layer, quantize_acts)
    codebook, row_scale = _cached(layer, ("encoding",), lambda: _encoding(layer))
    ptr, offsets, values = _cached(layer, ("conv",), lambda: formats.conv_from_dense(
        *_words(layer)[:2], layer.in_shape, layer.groups, layer.dilation, p))
    x_scale = 1.0
    xin = np.ascontiguousarray(x, dtype=np.float32)
    if integer:
        xin, x_scale = quantize_per_tensor(xin)
    xp = np.pad(xin, ((0, 0), (0, 0), (p, p), (p, p))) if p else xin
    out = np.empty((batch, out_c, oh, ow), dtype=np.int32 if integer else np.float32)
    work = np.empty((batch, out_c, 2), dtype=np.int64)
    conv_sparse(ptr, offsets, values, codebook, xp, s, p, out, work)
    conv_counters(lw, layer, batch, xp.shape[3], np.diff(ptr), values.dtype == np.float32 and not integer,
                  codebook.size > 0, work[:, :, 0].sum(axis=0), int(work[:, :, 1].sum()))
    return _finish(out, row_scale, x_scale, integer, layer.bias, (1, -1, 1, 1))


def conv_counters(lw: LayerWork, layer: Layer, batch: int, padded_width: int, runs: np.ndarray,
                  register_tiles: bool, codebook: bool, out_work: np.ndarray, stored_macs: int) -> None:
    """Fill ``lw``'s counters of a (non-general-window) conv layer from its layout's run lengths
    ``runs`` (stored weights per (input-channel block, output channel), ``np.diff(ptr)``) and the
    kernel's counts: ``out_work`` effectual MACs per output channel, ``stored_macs`` MACs of stored
    weights on in-bounds cells (both summed over the batch)."""
    _, oh, ow = layer.out_shape
    s = layer.stride
    nnz = int(runs.sum())
    positions = oh * ow * batch
    # Stride 1 walks every run once per 64-lane output tile; other strides once per sample.
    passes = batch * (-(-((oh - 1) * padded_width + ow) // TILE_LANES) if s == 1 else 1)
    lw.weight_words_read = nnz * passes
    lw.index_words_read = (nnz + 2 * runs.size) * passes
    lw.act_reads = nnz * positions
    if s != 1:
        lw.psum_writes = nnz * positions
    elif register_tiles:
        lw.psum_writes = int(np.count_nonzero(runs)) * positions  # register tiles: one write per run
    else:
        lw.psum_writes = grouped_writes(runs) * positions
    lw.codebook_lookups = lw.weight_words_read if codebook else 0
    real = batch * layer.out_shape[0] * (layer.weight.shape[1]) * _window_positions(layer)
    _mac_counts(lw, layer, batch * layer.dense_macs, stored_macs, int(out_work.sum()), out_work, nnz)
    lw.padding_macs = lw.macs - real
    lw.skipped_zero_weight -= lw.padding_macs


def _window_positions(layer: Layer) -> int:
    """Sum over kernel taps (kh, kw) of the output positions whose input cell is not padding."""
    _, h, w = layer.in_shape
    _, oh, ow = layer.out_shape
    s, p, d, k = layer.stride, layer.padding, layer.dilation, layer.kernel_size
    taps = np.arange(k) * d
    oy = np.arange(oh) * s - p
    ox = np.arange(ow) * s - p
    vy = ((oy[None, :] + taps[:, None] >= 0) & (oy[None, :] + taps[:, None] < h)).sum(axis=1)
    vx = ((ox[None, :] + taps[:, None] >= 0) & (ox[None, :] + taps[:, None] < w)).sum(axis=1)
    return int(vy.sum() * vx.sum())


def eie_pe_work(layer: Layer, x: np.ndarray, n_pes: int) -> np.ndarray:
    """Effectual MACs per PE and sample of an fc layer on an EIE-style column broadcast.

    Output rows are interleaved over ``n_pes`` PEs (row r on PE r mod n_pes); each nonzero
    activation x[b, c] gives PE p the stored weights of column c in its rows.

    Parameters
    ----------
    layer : an fc layer.
    x : (batch, n_in) or (n_in,) input activations (any shape that flattens per sample).
    n_pes : number of PEs (>= 1).

    Returns
    -------
    (batch, n_pes) int64 effectual MACs.
    """
    if layer.kind != "fc":
        raise ValueError(f"eie_pe_work needs an fc layer; {layer.name!r} is {layer.kind}")
    if n_pes < 1:
        raise ValueError(f"n_pes must be >= 1; got {n_pes}")
    x2 = np.asarray(x)
    x2 = x2.reshape(1, -1) if x2.ndim == 1 else x2.reshape(x2.shape[0], -1)
    col_pe = _cached(layer, ("col-pe", n_pes), lambda: formats.column_pe_counts(layer.weight != 0, n_pes))
    pe_work = np.empty((x2.shape[0], n_pes), dtype=np.int64)
    csc_pe_work(col_pe, np.ascontiguousarray(x2), pe_work)
    return pe_work


def _pool(layer: Layer, x: np.ndarray, lw: LayerWork) -> np.ndarray:
    out = np.empty((x.shape[0],) + tuple(layer.out_shape), dtype=np.float32)
    lw.act_reads = int(pool2d(np.ascontiguousarray(x, dtype=np.float32), layer.kernel_size, layer.stride,
                              layer.padding, layer.kind == "maxpool", out))
    return out


def execute_layer(layer: Layer, xs: list[np.ndarray], fc_dataflow: str = "csr", n_pes: int = 1,
                  quantize_acts: bool = False) -> tuple[np.ndarray, LayerWork]:
    """Output and LayerWork of one layer for its input tensors (batch first). A packed layer
    (``workload.synthetic.Packed``) runs on its compressed form where the kernel reads one (CSR fc),
    else on a dense copy built for this call only."""
    if "packed" in layer.attrs and not (layer.kind == "fc" and layer.quant is None and fc_dataflow == "csr"):
        return execute_layer(_unpacked(layer), xs, fc_dataflow, n_pes, quantize_acts)
    x = xs[0]
    batch = x.shape[0]
    lw = LayerWork(name=layer.name, kind=layer.kind, batch=batch,
                   in_act_count=int(sum(t.size for t in xs)),
                   in_act_nnz=int(sum(np.count_nonzero(t) for t in xs)))
    lw.in_nnz_per_sample = np.count_nonzero(x.reshape(batch, -1), axis=1).astype(np.int64)
    if layer.kind == "fc":
        with threads(threads_for(_nnz(layer) * batch * layer.tokens)):
            y = _fc(layer, x, lw, fc_dataflow, n_pes, quantize_acts)
    elif layer.kind in ("conv2d", "maxpool", "avgpool") and layer.general_window:
        with threads(threads_for(max(layer.weight_nnz, 1) * batch * int(np.prod(layer.out_shape[1:])))):
            y = execute_window(layer, x, lw)
    elif layer.kind == "conv2d":
        with threads(threads_for(_nnz(layer) * batch * int(np.prod(layer.out_shape[1:])))):
            y = _conv(layer, x, lw, quantize_acts)
    elif layer.kind in ("maxpool", "avgpool"):
        with threads(threads_for(x.size)):
            y = _pool(layer, x, lw)
    elif layer.kind == "matmul":
        with threads(threads_for(layer.dense_macs * batch)):
            y = execute_matmul(layer, xs, lw)
    elif layer.kind in ("lstm", "gru"):
        y = execute_recurrent(layer, x, lw)
    else:
        with threads(threads_for(x.size)):
            y = execute_simple(layer, xs, lw)
    lw.out_act_count = int(y.size)
    lw.out_act_nnz = int(np.count_nonzero(y))
    return y, lw


def execute(net: Network, inputs, fc_dataflow: str = "csr", n_pes: int = 1,
            quantize_acts: bool = False) -> tuple[np.ndarray, WorkProfile]:
    """Run ``net`` on ``inputs`` with the numba kernels; return outputs and the WorkProfile.

    Parameters
    ----------
    net : the network; independent-layer networks take a list of inputs, one per layer.
    inputs : (batch, *net.input_shape) array (float32 preferred).
    fc_dataflow : "csr" (row-parallel, output-stationary) or "csc" (EIE column broadcast; also
        fills ``LayerWork.pe_work`` of fc layers for ``n_pes`` interleaved PEs).
    n_pes : PEs of the EIE-style dataflow (only with ``fc_dataflow="csc"``).
    quantize_acts : run linear / binary layers on int8 activations (see the module docstring).
    """
    if fc_dataflow not in FC_DATAFLOWS:
        raise ValueError(f"fc_dataflow must be one of {FC_DATAFLOWS}; got {fc_dataflow!r}")

    def step(layer, xs):
        return execute_layer(layer, xs, fc_dataflow, n_pes, quantize_acts)

    return run_layers(net, inputs, step)
