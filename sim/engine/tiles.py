"""Tiles: the unit of every SimPy event, and the helpers every dataflow kind's mapper shares.

A ``Tile`` is the bytes DRAM must bring into which buffer before it can start, the cycles each PE
group needs for its work (the tile ends when the slowest group ends), the weight reprogramming
that cannot overlap compute, the bytes written back after it, and the (component, action) counts
of its compute. Reuse across tiles decides DRAM traffic: the first use of a block of weights or
inputs is compulsory (when it lives in DRAM at all); a later use is a refetch unless the layer's
whole tensor fits its buffer and stays. Each kind's mapping lives in ``engine/dataflows``.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..hardware.spec import HardwareConfig
from ..workload.network import Layer
from .buffers import buffer_capacity_bytes
from ..execution.profile import LayerWork
from .result import LayerResult
from .traffic import Traffic, layer_traffic, vector_work

# Tile-level events only: consecutive tiles are merged so that a layer has at most this many
# (VGG-16 on SONIC has ~3000 weight passes per conv layer). With 256 tiles the exposed first
# load is under 0.4% of a layer's transfers. A simulation-fidelity knob, not a hardware fact.
MAX_TILES = 256


@dataclass(slots=True)
class Tile:
    """One unit of work. ``pe_cycles``: cycles each PE group needs, from the tile's start;
    ``balanced_cycles``: what the slowest group would need if the tile's work were spread evenly
    (the gap is load imbalance)."""

    label: str
    pe_cycles: np.ndarray
    balanced_cycles: int
    loads: tuple[tuple[str, int], ...] = ()  # (buffer, bytes) DRAM -> buffer before compute
    stores: tuple[tuple[str, int], ...] = ()  # (buffer, bytes) buffer -> DRAM after compute
    reprogram_cycles: int = 0
    counts: Counter = field(default_factory=Counter)
    groups: tuple[str, ...] = ()  # timeline name of each PE group (default pe[i])

    @property
    def compute_cycles(self) -> int:
        return int(self.pe_cycles.max()) if self.pe_cycles.size else 0


@dataclass
class LayerSchedule:
    """A layer's tiles, the analytical estimate of the same layer (its bound is the floor), and
    counts not tied to one tile (photonic device events)."""

    name: str
    kind: str
    tiles: list[Tile]
    floor: LayerResult
    counts: Counter = field(default_factory=Counter)
    mapping: str = ""

    @property
    def dram_bytes(self) -> int:
        return int(sum(n for t in self.tiles for _, n in t.loads + t.stores))


@dataclass(frozen=True)
class LayerIO:
    """Where a layer's operands live: DRAM or on chip (cost.layer_traffic's rules)."""

    traffic: Traffic
    weights_from_dram: bool
    inputs_from_dram: bool
    outputs_to_dram: bool


def layer_io(layer: Layer, lw: LayerWork, hw: HardwareConfig, first: bool, last: bool, resident: float,
             storage_bits: int, act_bits: int, act_buffer=None) -> LayerIO:
    """resident: fraction of the layer's weights held on chip (traffic.weights_on_chip);
    storage_bits and act_bits come from the design's kind."""
    t = layer_traffic(layer, lw, hw, first, last, resident, storage_bits, act_bits, act_buffer)
    return LayerIO(t, layer.is_weighted and t.weight_dram_bits > 0,
                   (first or t.spill) and t.in_bits > 0, last or t.spill)


def coalesce(tiles: list[Tile], hw: HardwareConfig, max_tiles: int = MAX_TILES) -> list[Tile]:
    """Merge runs of consecutive single-group tiles towards ``max_tiles`` tiles: cycles, bytes
    and counts add up, so totals (and SCALE-Sim parity) are unchanged. A run stops growing
    before its loads exceed half of any buffer, so double buffering still works."""
    if len(tiles) <= max_tiles or any(t.pe_cycles.size != 1 for t in tiles):
        return tiles
    half = {b.name: buffer_capacity_bytes(b, hw) // 2 for b in hw.memory.buffers}
    per_run = -(-len(tiles) // max_tiles)
    runs, run, loads = [], [], Counter()
    for t in tiles:
        nxt = loads + Counter(dict(t.loads))
        if run and (len(run) >= per_run or any(n > half.get(b, 0) for b, n in nxt.items())):
            runs.append(run)
            run, nxt = [], Counter(dict(t.loads))
        run.append(t)
        loads = nxt
    runs.append(run)
    merged = []
    for run in runs:
        if len(run) == 1:
            merged.append(run[0])
            continue
        loads, stores, counts = Counter(), Counter(), Counter()
        for t in run:
            loads.update(dict(t.loads))
            stores.update(dict(t.stores))
            counts.update(t.counts)
        cycles = sum(int(t.pe_cycles[0]) for t in run)
        merged.append(Tile(f"{run[0].label}..{run[-1].label}", np.array([cycles], dtype=np.int64),
                           sum(t.balanced_cycles for t in run), tuple(loads.items()), tuple(stores.items()),
                           sum(t.reprogram_cycles for t in run), counts))
    return merged


def run_starts(n: int, loads: tuple[tuple[str, np.ndarray], tuple[str, np.ndarray]], hw: HardwareConfig,
               max_tiles: int = MAX_TILES) -> np.ndarray:
    """First tile of each run ``coalesce`` would merge, from per-tile load bytes of two distinct
    buffers ((weight buffer, bytes), (input buffer, bytes)); every tile its own run when coalesce
    would not merge: a run ends after ``ceil(n / max_tiles)`` tiles, or before the tile whose loads
    would take a buffer's run total past half of it. One pass over plain ints (runs of big layers
    are often a tile or two long, where per-run numpy calls would cost more)."""
    if n <= max_tiles:
        return np.arange(n)
    half = {b.name: buffer_capacity_bytes(b, hw) // 2 for b in hw.memory.buffers}
    per_run = -(-n // max_tiles)
    (w_name, w_load), (i_name, i_load) = loads
    w_lim, i_lim = half.get(w_name, 0), half.get(i_name, 0)
    starts = [0]
    size, w, x = 0, 0, 0
    for i, (dw, dx) in enumerate(zip(np.asarray(w_load).tolist(), np.asarray(i_load).tolist())):
        nw, nx = w + dw, x + dx
        if size and (size >= per_run or (nw > 0 and nw > w_lim) or (nx > 0 and nx > i_lim)):
            starts.append(i)
            size, nw, nx = 0, dw, dx
        size += 1
        w, x = nw, nx
    return np.asarray(starts, dtype=np.int64)


class Recent(OrderedDict):
    """A memo of the last ``size`` entries: ``get`` marks an entry used, ``put`` drops the least
    recently used beyond ``size`` (a mapper's tile lists, the event model's runs)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key not in self:
            return default
        self.move_to_end(key)
        return self[key]

    def put(self, key, value) -> None:
        self[key] = value
        while len(self) > self.size:
            self.popitem(last=False)


def run_first(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run of ``values`` (runs begin at ``starts``), the index of its first positive element,
    or ``len(values)`` where it has none (the order a merged tile's loads and counts first appear)."""
    n = values.shape[0]
    return np.minimum.reduceat(np.where(values > 0, np.arange(n), n), starts)


def split(total: int, weights) -> np.ndarray:
    """Integers proportional to ``weights`` that sum to exactly ``total``."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        return np.zeros(0, dtype=np.int64)
    s = w.sum()
    if s <= 0:
        out = np.zeros(w.size, dtype=np.int64)
        out[0] = total
        return out
    cum = np.rint(np.cumsum(w) * (int(total) / s)).astype(np.int64)
    cum[-1] = int(total)
    return np.diff(np.r_[0, cum])


def nbytes(bits: int) -> int:
    return -(-int(bits) // 8)



def buffers_of(hw: HardwareConfig):
    mem = hw.memory
    return mem.buffer_for("weights"), mem.buffer_for("inputs"), mem.buffer_for("outputs")


def cap(buf, hw) -> int:
    return buffer_capacity_bytes(buf, hw) if buf is not None else 0


def streamed_weights(t: Traffic, wbuf, hw) -> tuple[int, bool]:
    """(bytes of the layer's weights that come from DRAM, whether they stay in the weight buffer
    once loaded). A partly resident layer has filled the buffer with its resident part, so what
    it streams must come again on every use."""
    w_bytes = nbytes(t.weight_dram_bits)
    return w_bytes, t.weight_dram_bits == t.weight_bits and w_bytes <= cap(wbuf, hw)


def map_elementwise(layer, lw, hw, io: LayerIO, fused: bool, floor: LayerResult, lanes: int,
                    bufs=None) -> LayerSchedule:
    """Elementwise / normalization / pooling / data movement: one tile on the vector unit
    (``traffic.vector_work``; a relu right after a weighted layer runs in that layer's output
    pipeline: no cycles)."""
    _, ibuf, obuf = bufs or buffers_of(hw)
    t = io.traffic
    vw = vector_work(layer, lw, hw, t)
    lanes = hw.vector_unit.lanes or lanes
    cycles = 0 if fused else -(-vw.lane_elements // lanes)
    counts = Counter()
    counts[("activation_unit", "op")] += vw.ops
    counts[(ibuf.name, "read_bits")] += vw.read_bits
    counts[(obuf.name, "write_bits")] += vw.write_bits
    loads = ((ibuf.name, nbytes(t.in_bits)),) if io.inputs_from_dram else ()
    stores = ((obuf.name, nbytes(t.out_bits)),) if io.outputs_to_dram and t.out_bits else ()
    tile = Tile(layer.name, np.array([cycles], dtype=np.int64), cycles, loads, stores, counts=+counts)
    what = "data movement" if layer.category == "data_movement" else "vector unit"
    return LayerSchedule(layer.name, layer.kind, [tile], floor, mapping=f"{what}: {vw.ops} ops, {lanes} lanes")


def act_gemm(layer: Layer, batch: int) -> tuple[int, int, int, int]:
    """(groups, M, K, N) of a matmul of two activations: ``groups`` = samples x heads (the leading
    axes), each an (M x K) @ (K x N) product."""
    lead = int(np.prod(layer.out_shape[:-2])) if len(layer.out_shape) > 2 else 1
    return batch * lead, int(layer.out_shape[-2]), int(layer.attrs["k"]), int(layer.out_shape[-1])


def gemm_shape(layer: Layer, batch: int) -> tuple[int, int, int, int]:
    """(groups, Npix, K, M) of the layer's GEMM per group (SCALE-Sim's view of a convolution)."""
    if layer.map_kind == "fc":
        out_f = layer.weight.shape[0]
        return 1, batch, int(layer.weight.size // out_f), out_f
    oc, icg, kh, kw = layer.weight.shape
    n_pix = int(layer.out_shape[1] * layer.out_shape[2]) * batch
    return layer.groups, n_pix, icg * kh * kw, oc // layer.groups


def step_gemm(layer: Layer, batch: int) -> tuple[int, int, int, int]:
    """``gemm_shape`` with a recurrent cell's time steps as sequential groups: one GEMM of
    (samples) x (inputs + hidden) by (gates x hidden) per step, the same weights every step (each
    step waits for the previous hidden state, so steps cannot share a fold)."""
    groups, n_pix, k, m = gemm_shape(layer, batch)
    if layer.category != "recurrent":
        return groups, n_pix, k, m
    steps = layer.tokens
    return steps, n_pix // steps, k, m


def slices(total: int, size: int) -> list[int]:
    return [min(size, total - s) for s in range(0, total, size)]



def block_shares(total: int, keys: list, sizes: np.ndarray) -> np.ndarray:
    """Bytes of each tile's block when ``total`` bytes are cut into the distinct blocks ``keys``
    name (a block used by several tiles has the same share in each)."""
    first = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    idx = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    per_block = dict(zip(first, split(total, sizes[idx])))
    return np.array([per_block[key] for key in keys], dtype=np.int64)


