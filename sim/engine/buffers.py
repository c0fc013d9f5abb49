"""SimPy memories: DRAM channels (bandwidth + latency) and on-chip SRAM buffers (capacity + ports).

``env.now`` counts core-clock cycles and stays an integer: every hold is a whole number of cycles.
Both memories record what they move as ``(component, action)`` counts on the layer result and
their busy intervals for the timeline.
"""
from __future__ import annotations

import math

import simpy

from ..hardware.spec import BufferSpec, HardwareConfig


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (for the performance report)."""

    def __init__(self):
        super().__init__(initial_time=0)
        self.events_processed = 0

    def step(self):
        self.events_processed += 1
        super().step()


def ceil_cycles(amount: float, per_cycle: float) -> int:
    """Whole cycles to move ``amount`` at ``per_cycle`` per cycle (0 for nothing to move)."""
    if amount <= 0:
        return 0
    return math.ceil(amount / per_cycle - 1e-9)


class Dram:
    """Main memory as ``channels`` shared channels, each a ``simpy.Resource`` of capacity 1 with
    1/channels of the total bandwidth. A transfer is interleaved over all channels (addresses are
    striped) and completes ``latency_cycles`` after its last byte left the channel: the latency is
    pipelined, so it does not hold the channel."""

    def __init__(self, env: simpy.Environment, bytes_per_cycle: float, latency_cycles: int, channels: int = 1,
                 recorder=None):
        self.env = env
        self.channels = [simpy.Resource(env, capacity=1) for _ in range(max(1, channels))]
        self.bytes_per_cycle_per_channel = bytes_per_cycle / len(self.channels)
        self.latency_cycles = int(latency_cycles)
        self.recorder = recorder

    @classmethod
    def for_hardware(cls, env: simpy.Environment, hw: HardwareConfig, recorder=None) -> "Dram":
        d = hw.memory.dram
        return cls(env, d.bandwidth_gbps / hw.clock_ghz, math.ceil(d.latency_ns * hw.clock_ghz - 1e-9),
                   d.channels, recorder)

    def transfer(self, nbytes: int, label: str):
        """Process: move ``nbytes`` over every channel in parallel. It ends when the last byte has
        left the channels; the caller adds ``latency_cycles`` for the data to land, without
        holding anything, so requests pipeline (a DMA engine keeps several in flight)."""
        if nbytes <= 0:
            return
        n = len(self.channels)
        share, extra = divmod(int(nbytes), n)
        parts = [self.env.process(self._hold(k, share + (1 if k < extra else 0), label))
                 for k in range(n) if share + (1 if k < extra else 0) > 0]
        yield self.env.all_of(parts)

    def _hold(self, k: int, nbytes: int, label: str):
        with self.channels[k].request() as grant:
            yield grant
            start = self.env.now
            yield self.env.timeout(ceil_cycles(nbytes, self.bytes_per_cycle_per_channel))
            if self.recorder is not None:
                self.recorder(f"dram[{k}]", start, self.env.now, label)


class Buffer:
    """An on-chip SRAM: free space as a ``simpy.Container`` of bytes, and its ports as a
    ``simpy.Resource``. A port moves ``width_bits x banks`` bits per cycle (an access touches one
    row of every bank). DRAM fills and write-back drains take a port; the PE array's own reads
    are provisioned by the array's operand width (SCALE-Sim's assumption) and take no port."""

    def __init__(self, env: simpy.Environment, spec: BufferSpec, capacity_bytes: int, copies: int = 1,
                 recorder=None):
        self.env = env
        self.name = spec.name
        self.capacity_bytes = max(1, int(capacity_bytes))
        self.space = simpy.Container(env, capacity=self.capacity_bytes, init=self.capacity_bytes)
        self.ports = simpy.Resource(env, capacity=max(1, spec.ports))
        # Per-PE buffers (EIE) are ``copies`` SRAMs side by side, filled in parallel.
        self.bytes_per_cycle = spec.width_bits * spec.banks * copies / 8.0
        self.recorder = recorder

    def reserve(self, nbytes: int):
        """Event: ``nbytes`` of space; callers never ask for more than ``capacity_bytes`` (data
        larger than the buffer streams through all of it)."""
        return self.space.get(int(nbytes))

    def release(self, nbytes: int):
        return self.space.put(int(nbytes))

    def access(self, nbytes: int, label: str):
        """Process: hold one port while ``nbytes`` are written into (or read out of) the SRAM."""
        if nbytes <= 0:
            return
        with self.ports.request() as grant:
            yield grant
            start = self.env.now
            yield self.env.timeout(ceil_cycles(nbytes, self.bytes_per_cycle))
            if self.recorder is not None:
                self.recorder(f"sram:{self.name}", start, self.env.now, label)


def buffer_copies(spec: BufferSpec, hw: HardwareConfig) -> int:
    """How many physical SRAMs a buffer spec stands for (one per PE for per-PE buffers)."""
    return hw.pe_array.count if (spec.per_pe and hw.pe_array is not None) else 1


def buffer_capacity_bytes(spec: BufferSpec, hw: HardwareConfig) -> int:
    """Total bytes of a buffer (per-PE buffers summed over the PEs)."""
    return int(spec.size_kb * 1024 * buffer_copies(spec, hw))


def make_buffers(env: simpy.Environment, hw: HardwareConfig, recorder=None) -> dict[str, Buffer]:
    return {b.name: Buffer(env, b, buffer_capacity_bytes(b, hw), buffer_copies(b, hw), recorder)
            for b in hw.memory.buffers}
