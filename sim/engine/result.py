"""RunResult: cycles and counted actions, per layer. Counts first, price later (report.price)."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

STALL_CAUSES = ("dram_bandwidth", "buffer_full", "load_imbalance", "reprogramming")


@dataclass
class LayerResult:
    """What one layer cost on one design.

    cycles: simulated (or first-fidelity) core-clock cycles of the layer.
    bound_cycles: analytical roofline floor, max(compute at full utilization, memory at full bandwidth).
    compute_cycles: cycles the compute units were busy, stalls excluded (the dataflow's own compute
    time: SCALE-Sim's compute cycles on a dense systolic array; ideal compute at first fidelity).
    counts: (component, action) -> how many times (bits, conversions, cycles ...).
    """

    name: str
    kind: str
    cycles: int
    bound_cycles: int
    compute_cycles: int
    memory_cycles: int
    counts: Counter = field(default_factory=Counter)
    stalls: dict = field(default_factory=lambda: {c: 0 for c in STALL_CAUSES})
    dram_bytes: int = 0
    sram_bytes: int = 0
    macs_performed: int = 0  # MAC (or optical element) slots the hardware really used
    peak_macs_per_cycle: int = 1
    events: int = 0  # SimPy events simulated for this layer (0 for analytical)
    # Event model only: busy intervals (component, start_cycle, end_cycle, label) for the timeline,
    # and a one-line description of how the mapper tiled the layer.
    intervals: list = field(default_factory=list)
    mapping: str = ""

    def add(self, component: str, action: str, n) -> None:
        if n:
            self.counts[(component, action)] += n

    @property
    def stall_cycles(self) -> int:
        return int(sum(self.stalls.values()))

    @property
    def utilization(self) -> float:
        """Fraction of peak compute used over the layer's cycles (never clamped: a value above 1
        would expose a model that beats its own bound, and tests check it stays <= 1)."""
        if self.cycles <= 0 or self.peak_macs_per_cycle <= 0:
            return 0.0
        return self.macs_performed / (self.cycles * self.peak_macs_per_cycle)


@dataclass
class RunResult:
    hw_name: str
    model_name: str
    batch: int
    clock_ghz: float
    layers: list[LayerResult]
    # Network-level actions not tied to one layer (static power x time, one-time calibration).
    global_counts: Counter = field(default_factory=Counter)
    weight_storage_bits: int = 0  # the weights in the design's own storage format

    @property
    def cycles(self) -> int:
        return int(sum(lr.cycles for lr in self.layers))

    @property
    def latency_s(self) -> float:
        return self.cycles / (self.clock_ghz * 1e9)

    @property
    def counts(self) -> Counter:
        total = Counter(self.global_counts)
        for lr in self.layers:
            total.update(lr.counts)
        return total


@dataclass(frozen=True)
class DesignNumerics:
    """What one design's arithmetic does to the network: accuracy on the evaluation inputs
    (None without labels) and each layer's relative RMS output error against the float run
    (computed by ``sim.engine.numerics.design_numerics``)."""

    accuracy: float | None
    layer_errors: tuple[float, ...]
