"""The SimPy event model: tiles move through DRAM and SRAM and compute on PE groups.

Per layer (layers are separated by a barrier: the next layer starts when this one's last
write-back lands), three kinds of process run in one environment whose clock counts core cycles:

- ``load_tiles``: for each tile in order, takes one of ``memory.prefetch_tiles`` slots (double
  buffering: the next tile loads while this one computes), reserves space in its buffers (a
  ``simpy.Container`` of bytes) and moves its bytes over the shared DRAM channels while holding
  a buffer port (``buffers.py``).
- ``compute_tiles``: waits for a tile's data, reserves write-back space, reprograms weights
  (events that cannot overlap compute), then starts one timeout per PE group: the tile ends when
  its slowest group ends. It then frees the tile's buffer space and slot and starts the tile's
  write-back.
- ``write_back``: moves a tile's outputs back to DRAM over the same channels, then frees space.

Stall cycles by cause, measured on the compute process's own timeline (so they never exceed the
layer's cycles): ``dram_bandwidth`` (waiting for a load, and the final write-back tail),
``buffer_full`` (waiting because a buffer had no free space), ``load_imbalance`` (slowest PE
group beyond the tile's balanced time), ``reprogramming`` (weight retuning).
"""
from __future__ import annotations

import types
from collections import Counter

import numpy as np
import simpy

from .. import progress
from ..errors import SimulationError
from ..hardware.spec import HardwareConfig
from ..workload.network import Network
from .buffers import CountingEnvironment, Dram, buffer_capacity_bytes, buffer_copies, make_buffers
from .dataflows import get
from ..execution.profile import WorkProfile
from .result import LayerResult, RunResult
from .tiles import LayerSchedule, Recent, Tile, layer_io
from .tiling import map_layer
from .traffic import fused_flags, weights_on_chip

MAX_PE_ROWS = 64  # PE groups drawn one per timeline row up to this many; more become one "pe_array" row
# Layers with the very same tile list (a mapper's memo hands out one list for identical layers, e.g.
# a transformer's 24 equal FFN layers) on the same memories run identically: the last runs are kept.
MAX_MEMO_RUNS = 4
_RUNS = Recent(MAX_MEMO_RUNS)  # (id(tiles), memory_signature, fast_forward, timeline) -> the run's results


TILE_BYTES = 768  # resident bytes per Tile of a mapped layer (measured 0.7-0.9 KB: llama3b FFN layers, batch 1 and 8)


def engine_bytes(net: Network, batch: int, hw: HardwareConfig) -> int:
    """Bytes the event model's tile lists hold at their peak on ``hw`` beyond the per-sample rows
    of ``execution.modes.simulation_bytes``: the largest layer's tiles (``Dataflow.tiles_bound``,
    folds before coalescing, which often merges them in pairs; a network of several distinct
    layers that large keeps more than one such list in the memo of mapped layers)."""
    kind = get(hw)
    return TILE_BYTES * max((kind.tiles_bound(layer, batch, hw) for layer in net.layers), default=0)


def simulate(net: Network, profile: WorkProfile, hw: HardwareConfig, timeline: str | None = None) -> RunResult:
    """Map and simulate every layer of ``net`` on ``hw``; returns cycles, stalls and counts.
    timeline: the one layer whose busy intervals are kept (``LayerResult.intervals``). No result is
    derived from intervals, so the other layers record none (``layer_intervals`` re-runs a layer)."""
    kind = get(hw)
    mapper = Mapper(net, profile, hw)
    results = []
    for i, (layer, _) in enumerate(progress.layers(zip(net.layers, profile.layers), f"simulate {hw.name}")):
        lr = simulate_layer(mapper.schedule(i), hw, timeline=layer.name == timeline)
        lr.counts.update(kind.time_based_counts(hw, lr.cycles))
        results.append(lr)
    return RunResult(hw.name, net.name, profile.batch, hw.clock_ghz, results,
                     weight_storage_bits=sum(mapper.storage))


class Mapper:
    """What mapping a layer needs from the whole network (weight storage, residency, fusion),
    computed once; ``schedule(i)`` maps layer ``i``."""

    def __init__(self, net: Network, profile: WorkProfile, hw: HardwareConfig):
        self.net, self.profile, self.hw = net, profile, hw
        self.kind = kind = get(hw)
        self.storage = [kind.weight_storage_bits(layer, hw) for layer in net.layers]  # it walks every weight
        self.resident = weights_on_chip(net, hw, self.storage)
        self.abits = kind.bits(hw)[1]
        self.fused = fused_flags(net)

    def schedule(self, i: int) -> LayerSchedule:
        net, hw = self.net, self.hw
        layer, lw = net.layers[i], self.profile.layers[i]
        io = layer_io(layer, lw, hw, net.reads_input(i), net.is_output(i), self.resident[i], self.storage[i],
                      self.abits, self.kind.buffers(hw)[1])
        return map_layer(layer, lw, hw, io, self.fused[i])


def layer_intervals(net: Network, profile: WorkProfile, hw: HardwareConfig, run_layer: LayerResult) -> list:
    """The busy intervals of ``run_layer`` (a layer of ``simulate(net, profile, hw)``), by running
    that layer again with them recorded; the run must give the same cycles and stalls."""
    i = next(i for i, layer in enumerate(net.layers) if layer.name == run_layer.name)
    lr = simulate_layer(Mapper(net, profile, hw).schedule(i), hw, timeline=True)
    if (lr.cycles, lr.stalls) != (run_layer.cycles, run_layer.stalls):
        raise SimulationError(f"layer {run_layer.name}: a second run gave {lr.cycles} cycles, the first "
                              f"{run_layer.cycles}: the network or profile changed after the simulation")
    return lr.intervals


def simulate_layer(sched: LayerSchedule, hw: HardwareConfig, fast_forward: bool = True,
                   timeline: bool = False) -> LayerResult:
    """Run one layer's tiles through SimPy; cycles = when the last tile's write-back lands.
    fast_forward: skip periods of a periodic steady state (exact; ``FastForward``).
    timeline: record every busy interval in ``intervals`` (the other results never need them)."""
    floor = sched.floor
    lr = LayerResult(sched.name, sched.kind, cycles=0, bound_cycles=floor.bound_cycles,
                     compute_cycles=floor.compute_cycles, memory_cycles=floor.memory_cycles,
                     macs_performed=floor.macs_performed, peak_macs_per_cycle=floor.peak_macs_per_cycle,
                     mapping=sched.mapping)
    key = (id(sched.tiles), memory_signature(hw), fast_forward, timeline)
    hit = _RUNS.get(key)
    if hit is not None and hit[0] is sched.tiles:  # the same tiles on the same memories: the same run
        _, cycles, stalls, counts, intervals, events, busy, dram = hit
        lr.stalls, lr.counts, lr.intervals = dict(stalls), Counter(counts), list(intervals)
    else:
        env = CountingEnvironment()
        record = None
        if timeline:
            def record(component, start, end, label):
                if end > start:
                    lr.intervals.append((component, int(start), int(end), label))

        cycles = run_tiles(env, sched.tiles, Dram.for_hardware(env, hw, record), make_buffers(env, hw, record), lr,
                           record, hw.memory.prefetch_tiles, fast_forward)
        events = env.events_processed
        # Cycles the PE groups were busy: for a dense systolic array, SCALE-Sim's compute cycles.
        busy, dram = int(sum(t.compute_cycles for t in sched.tiles)), sched.dram_bytes
        _RUNS.put(key, (sched.tiles, cycles, dict(lr.stalls), Counter(lr.counts), list(lr.intervals), events, busy,
                        dram))
    lr.counts.update(sched.counts)
    lr.cycles = cycles
    lr.compute_cycles = busy
    lr.events = events
    lr.dram_bytes = dram
    lr.sram_bytes = sram_bytes(lr.counts, hw)
    return lr


def memory_signature(hw: HardwareConfig) -> tuple:
    """Everything of ``hw`` a run of tiles depends on: DRAM, buffers, prefetch depth."""
    d, mem = hw.memory.dram, hw.memory
    return (d.bandwidth_gbps, hw.clock_ghz, d.latency_ns, d.channels, mem.prefetch_tiles,
            tuple((b.name, buffer_capacity_bytes(b, hw), buffer_copies(b, hw), b.ports, b.width_bits, b.banks)
                  for b in mem.buffers))


def sram_bytes(counts: Counter, hw: HardwareConfig) -> int:
    names = {b.name for b in hw.memory.buffers}
    bits = sum(n for (comp, action), n in counts.items() if comp in names)
    return -(-int(bits) // 8)


def run_tiles(env: simpy.Environment, tiles: list[Tile], dram: Dram, buffers: dict, lr: LayerResult, record,
              prefetch_tiles: int, fast_forward: bool = True) -> int:
    """Run the load / compute / write-back processes of ``tiles`` to completion (module docstring);
    returns the cycle the last write-back lands. record(component, start, end, label): called per
    busy interval, or None to record none (stalls, counts and cycles are running sums either way).
    prefetch_tiles: tiles in flight (``memory.prefetch_tiles``; 2 = double buffering).
    fast_forward: skip whole periods of a periodic steady state (``FastForward``; exact: the results equal those without it)."""
    n = len(tiles)
    # Per-tile state exists only while a tile is in flight (created on first use, dropped when its
    # compute ends), so the memory of a run does not grow with its tiles.
    loaded = InFlight(env.event)  # j -> event: the tile's loads have landed
    space_wait = InFlight(int)  # j -> cycles the tile's loads waited for buffer space
    slots = simpy.Resource(env, capacity=prefetch_tiles)
    held = InFlight(lambda: None)  # j -> the tile's prefetch slot
    writes = []  # write-backs, pruned of landed ones (the last always kept)
    holds = Holds(tiles, buffers)
    # Processes count tiles on a virtual index j; the tile they work on is tiles[j + ff.off] (ff.off
    # grows by the tiles a fast-forward skipped) and virtual time + ff.shift is the real cycle.
    ff = FastForward(env, tiles, lr, record, prefetch_tiles, enabled=fast_forward)
    rec = ff.record if record is not None else None  # None: no intervals kept (simulate_layer's timeline)
    if dram.recorder is not None:
        dram.recorder = rec
    for buf in buffers.values():
        if buf.recorder is not None:
            buf.recorder = rec

    def move(buf_name, nbytes, label, to_dram):
        buf = buffers[buf_name]
        yield env.all_of([env.process(dram.transfer(nbytes, label)), env.process(buf.access(nbytes, label))])
        if to_dram:
            lr.add(buf_name, "read_bits", 8 * nbytes)
            lr.add("dram", "write_bits", 8 * nbytes)
        else:
            lr.add("dram", "read_bits", 8 * nbytes)
            lr.add(buf_name, "write_bits", 8 * nbytes)

    def load_tiles():
        j = 0
        while j + ff.off < n:
            ff.load_j = j
            tile = tiles[j + ff.off]
            held[j] = slots.request()
            yield held[j]
            start = env.now
            # All the space the tile will need, its outputs included, is taken before it loads:
            # a compute then never waits on space, so no tile can block the one ahead of it.
            for buf_name, nbytes in holds[j + ff.off].items():
                yield buffers[buf_name].reserve(nbytes)
            space_wait[j] = env.now - start
            label = TileLabel("load ", j)
            moves = [env.process(move(b, nb, label, False)) for b, nb in tile.loads]
            if moves:
                yield env.all_of(moves)
                env.process(land(loaded[j]))  # the next request goes out while this one is in flight
            else:
                loaded[j].succeed()
            j += 1

    def land(event):
        yield env.timeout(dram.latency_cycles)
        event.succeed()

    def write_back(j, tile):
        label = TileLabel("store ", j)
        yield env.all_of([env.process(move(b, nb, label, True)) for b, nb in tile.stores])
        yield env.timeout(dram.latency_cycles)
        for buf_name, nbytes in store_holds(tile, holds[j + ff.off]).items():
            yield buffers[buf_name].release(nbytes)

    def compute_tiles():
        j = 0
        while j + ff.off < n:
            ff.at(j)
            tile = tiles[j + ff.off]
            start = env.now
            yield loaded[j]
            waited = env.now - start
            full = min(waited, space_wait[j])
            lr.stalls["buffer_full"] += full
            lr.stalls["dram_bandwidth"] += waited - full
            if tile.reprogram_cycles:
                start = env.now
                yield env.timeout(tile.reprogram_cycles)
                if rec is not None:
                    rec("reprogram", start, env.now, TileLabel("", j))
                lr.stalls["reprogramming"] += tile.reprogram_cycles
            start = env.now
            groups = [env.timeout(int(c)) for c in tile.pe_cycles if c > 0]
            if groups:
                yield env.all_of(groups)  # the tile ends when its slowest PE group ends
            busy = env.now - start
            lr.stalls["load_imbalance"] += max(0, busy - tile.balanced_cycles)
            if rec is not None:
                record_pes(rec, tile, start, TileLabel("", j))
            lr.counts.update(tile.counts)
            for buf_name, nbytes in load_holds(tile, holds[j + ff.off]).items():
                yield buffers[buf_name].release(nbytes)
            slots.release(held[j])
            del loaded[j], held[j], space_wait[j]
            if tile.stores:
                writes.append(env.process(write_back(j, tile)))
                if len(writes) >= 64 and not len(writes) & (len(writes) - 1):  # amortised: at powers of two
                    writes[:-1] = [w for w in writes[:-1] if not w.processed]
            j += 1
        compute_end = env.now
        if writes:
            yield env.all_of(writes)
        lr.stalls["dram_bandwidth"] += env.now - compute_end  # the write-back tail

    loader = env.process(load_tiles())
    done = env.process(compute_tiles())
    if ff.enabled:
        ff.watch(loader, done, slots, buffers, dram, {"loaded": loaded, "held": held, "space_wait": space_wait,
                                                     "writes": writes, "holds": holds})
    try:
        while True:
            if ff.due:
                ff.check(loaded, held, space_wait)
            env.step()
    except simpy.core.EmptySchedule:
        pass
    if not done.processed:  # a process waits forever: a modelling bug, never a silent undercount
        raise SimulationError(f"layer {lr.name}: the event model stalled at cycle {env.now} with tiles left; "
                              "a buffer reservation can never be satisfied")
    env.events_processed += ff.skipped_events
    return int(env.now) + ff.shift


class InFlight(dict):
    """Per-tile state by virtual tile index, made by ``make()`` on first use."""

    def __init__(self, make):
        super().__init__()
        self.make = make

    def __missing__(self, j):
        value = self[j] = self.make()
        return value


class Holds:
    """``tile_holds`` of ``tiles[i]``, computed once per distinct (loads, stores)."""

    def __init__(self, tiles: list[Tile], buffers: dict):
        self.tiles, self.buffers, self.memo = tiles, buffers, {}

    def __getitem__(self, i: int) -> dict[str, int]:
        t = self.tiles[i]
        key = (t.loads, t.stores)
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = tile_holds(t, self.buffers)
        return found


class TileLabel:
    """A timeline label naming a tile by its virtual index: resolved when the interval is recorded
    (after a fast-forward the same process works on a later tile)."""

    __slots__ = ("prefix", "j")

    def __init__(self, prefix: str, j: int):
        self.prefix, self.j = prefix, j


class Opaque(Exception):
    """The state holds something the canonical form does not know: no fast-forward."""


class FastForward:
    """Exact fast-forward over a periodic steady state of ``run_tiles``.

    At the start of each tile's compute (between two SimPy steps) the whole state of the event
    model is put in a canonical form: every pending event, resource and container queue, process
    (its generator's position and locals) and the tiles in flight, with times relative to now and
    tile indices relative to the computing tile (each named with its content). If that form equals
    the one ``p`` tiles earlier, the model is deterministic and shift-invariant, so as long as the
    tiles ahead repeat with period ``p`` every following period is the last one shifted by ``dt``
    cycles and ``p`` tiles: k of them are added at once (stalls, counts, events, timeline
    intervals relabelled) and the processes carry on ``k p`` tiles further (``off``) and ``k dt``
    later (``shift``). A cheap fingerprint (queue delays, levels, lead of the loader) screens the
    tiles before the full form is built."""

    MIN_TILES = 64  # below this a layer is simulated step by step
    CHECKS = 256  # full forms built without a jump before the layer is left to run step by step

    def __init__(self, env, tiles, lr, record, prefetch_tiles, enabled=True):
        self.env, self.tiles, self.lr, self.outer = env, tiles, lr, record
        self.prefetch = prefetch_tiles
        self.enabled = enabled and len(tiles) >= self.MIN_TILES
        self.off = 0
        self.shift = 0
        self.skipped_events = 0
        self.load_j = 0
        self.comp_j = 0
        self.due = False
        self.base = len(lr.intervals)
        self.refs = []  # per interval recorded here: (label prefix, real tile index) or None
        self.cheap = {}
        self.full = {}
        self.mismatch = {}
        self.checks_left = self.CHECKS

    def record(self, component, start, end, label):
        before = len(self.lr.intervals)
        if isinstance(label, TileLabel):
            real = label.j + self.off
            ref, text = (label.prefix, real), label.prefix + self.tiles[real].label
        else:
            ref, text = None, label
        self.outer(component, start + self.shift, end + self.shift, text)
        if len(self.lr.intervals) > before:
            self.refs.append(ref)

    def at(self, j: int) -> None:
        self.comp_j = j
        self.due = self.enabled

    def watch(self, loader, compute, slots, buffers, dram, lists):
        self.loader, self.compute = loader, compute
        self.resources = [slots] + [r for b in buffers.values() for r in (b.space, b.ports)] + list(dram.channels)
        self.consts = {id(self.env): "env", id(dram): "dram", id(buffers): "buffers", id(self.lr): "lr",
                       id(self.tiles): "tiles", id(self): "ff", id(slots): "slots"}
        for name, obj in lists.items():
            self.consts[id(obj)] = name
        for b in buffers.values():
            self.consts[id(b)] = f"buffer:{b.name}"
        sig, ids = {}, {}
        for t in self.tiles:
            key = (t.pe_cycles.tobytes(), t.pe_cycles.dtype.str, t.balanced_cycles, t.loads, t.stores,
                   t.reprogram_cycles, tuple(t.counts.items()), t.groups)
            ids[id(t)] = sig.setdefault(key, len(sig))
        self.tile_sig = ids
        self.sig = np.fromiter((ids[id(t)] for t in self.tiles), dtype=np.int64, count=len(self.tiles))

    # -- the check ----------------------------------------------------------------------------
    def check(self, loaded, held, space_wait) -> None:
        self.due = False
        env, j = self.env, self.comp_j
        now = env.now
        cheap = (tuple(sorted((t - now, prio) for t, prio, _, _ in env._queue)), self.load_j - j,
                 tuple(getattr(r, "_level", None) for r in self.resources),
                 tuple(len(r.put_queue) + 7 * len(r.get_queue) for r in self.resources),
                 int(self.sig[j + self.off]))
        if _remember(self.cheap, cheap, j, 4096) is None:
            return
        self.checks_left -= 1
        if self.checks_left <= 0:
            self.enabled = False
        try:
            form, lowest = self.canonical(loaded, held, space_wait)
        except Opaque:
            self.enabled = False
            return
        lr = self.lr
        snap = (j, now, len(lr.intervals), dict(lr.stalls), Counter(lr.counts), env.events_processed)
        old = _remember(self.full, form, snap, 256)
        if old is None:
            return
        p = j - old[0]
        real = j + self.off
        ahead = (self.load_j - j) + self.prefetch + 2
        lo = real + lowest - p
        if p <= 0 or lo < 0:
            return
        mism = self.mismatch.get(p)
        if mism is None:
            mism = self.mismatch[p] = np.flatnonzero(self.sig[p:] != self.sig[:-p]) + p
        at = int(np.searchsorted(mism, lo))
        first_bad = int(mism[at]) if at < mism.size else len(self.tiles)
        k = (first_bad - 1 - ahead - real) // p
        if k < 1:
            return
        self.jump(k, p, now - old[1], old)

    def jump(self, k, p, dt, old) -> None:
        lr, tiles = self.lr, self.tiles
        _, _, n_old, stalls, counts, events = old
        a, b = n_old - self.base, len(lr.intervals) - self.base
        block = lr.intervals[self.base + a:self.base + b]
        refs = self.refs[a:b]
        for m in range(1, k + 1):
            for (comp, s, e, label), ref in zip(block, refs):
                if ref is not None:
                    prefix, r = ref
                    ref = (prefix, r + m * p)
                    label = prefix + tiles[r + m * p].label
                lr.intervals.append((comp, s + m * dt, e + m * dt, label))
                self.refs.append(ref)
        for cause in lr.stalls:
            lr.stalls[cause] += k * (lr.stalls[cause] - stalls.get(cause, 0))
        for key, val in list(lr.counts.items()):
            d = val - counts.get(key, 0)
            if d:
                lr.counts[key] += k * d
        self.skipped_events += k * (self.env.events_processed - events)
        self.shift += k * dt
        self.off += k * p
        self.cheap.clear()
        self.full.clear()
        self.checks_left = self.CHECKS

    def canonical(self, loaded, held, space_wait):
        """(canonical form of the state, lowest relative tile index it names)."""
        env, j = self.env, self.comp_j
        now = env.now
        table, memo = [], {}
        lowest = [0]
        consts, tile_sig, off = self.consts, self.tile_sig, self.off
        sig = self.sig

        def rel(x):
            r = x - j
            if r < lowest[0]:
                lowest[0] = r
            return r

        def v(x, name=None):
            if x is None or isinstance(x, (bool, str, float)):
                return x
            if isinstance(x, int):
                if name in _TIME_NAMES:
                    return ("t", x - now)
                if name == "j":
                    return ("j", rel(x), int(sig[x + off]) if 0 <= x + off < len(sig) else None)
                return x
            oid = id(x)
            if oid in consts:
                return ("c", consts[oid])
            if x is _PENDING:
                return "PENDING"
            if isinstance(x, TileLabel):
                return ("L", x.prefix, rel(x.j), int(sig[x.j + off]))
            if isinstance(x, Tile):
                return ("T", tile_sig[oid])
            if isinstance(x, (list, tuple)):
                return ("l",) + tuple(v(e) for e in x)
            if isinstance(x, dict):
                return ("d",) + tuple((k, v(e, k)) for k, e in x.items())
            if isinstance(x, types.MethodType):
                return ("m", x.__func__.__qualname__, v(x.__self__))
            if isinstance(x, types.FunctionType):
                return ("f", x.__qualname__)
            if isinstance(x, types.GeneratorType):
                fr = x.gi_frame
                if fr is None:
                    return ("g", x.gi_code.co_qualname, None)
                return ("g", x.gi_code.co_qualname, fr.f_lasti,
                        tuple((k, v(e, k)) for k, e in sorted(fr.f_locals.items())))
            if isinstance(x, _SIMPY_TYPES):
                if oid in memo:
                    return ("#", memo[oid])
                memo[oid] = len(table)
                table.append(None)
                slot = memo[oid]
                table[slot] = (type(x).__name__,) + tuple(
                    (k, v(e, k)) for k, e in sorted(vars(x).items()) if k not in ("env", "_env"))
                return ("#", slot)
            raise Opaque(type(x).__name__)

        queue = tuple((t - now, prio, v(ev)) for t, prio, _, ev in sorted(env._queue, key=lambda e: e[:3]))
        res = tuple(v(r) for r in self.resources)
        procs = (v(self.loader), v(self.compute))
        window = tuple((space_wait[x], v(loaded[x]), v(held[x])) for x in range(j, self.load_j + 1))
        return (queue, res, procs, window, self.load_j - j, tuple(table)), lowest[0]


def _remember(table: dict, key, value, limit: int):
    """What ``table`` held for ``key`` (None the first time), after storing ``value`` there; a table
    grown past ``limit`` entries by a new key starts over (the states seen are a bounded window)."""
    old = table.get(key)
    table[key] = value
    if old is None and len(table) > limit:
        table.clear()
    return old


_TIME_NAMES = frozenset({"start", "compute_end", "usage_since"})
_PENDING = simpy.events.PENDING
_SIMPY_TYPES = (simpy.events.Event, simpy.resources.base.BaseResource, simpy.events.ConditionValue)


def tile_holds(tile: Tile, buffers: dict) -> dict[str, int]:
    """Bytes a tile holds in each buffer from its load until its compute (inputs) or write-back
    (outputs) ends: its loads and stores, at most the buffer's capacity (more streams through)."""
    need: dict[str, int] = {}
    for buf_name, nbytes in tile.loads + tile.stores:
        need[buf_name] = need.get(buf_name, 0) + int(nbytes)
    return {b: min(n, buffers[b].capacity_bytes) for b, n in need.items() if n > 0}


def load_holds(tile: Tile, holds: dict[str, int]) -> dict[str, int]:
    """The part of ``holds`` freed when the tile's compute ends: everything but its outputs
    (loads come first in the buffer; outputs get what is left of the capped hold)."""
    out = {}
    for b, held in holds.items():
        loads = sum(n for name, n in tile.loads if name == b)
        if min(loads, held) > 0:
            out[b] = min(loads, held)
    return out


def store_holds(tile: Tile, holds: dict[str, int]) -> dict[str, int]:
    """The part of ``holds`` freed when the tile's write-back lands."""
    freed = load_holds(tile, holds)
    return {b: held - freed.get(b, 0) for b, held in holds.items() if held - freed.get(b, 0) > 0}


def record_pes(record, tile: Tile, start: int, label=None) -> None:
    cycles = tile.pe_cycles
    label = tile.label if label is None else label
    if 1 < cycles.size <= MAX_PE_ROWS + 1:
        for p, c in enumerate(cycles):
            record(tile.groups[p] if tile.groups else f"pe[{p}]", start, start + int(c), label)
    else:
        record("pe_array", start, start + int(np.max(cycles)) if cycles.size else start, label)
