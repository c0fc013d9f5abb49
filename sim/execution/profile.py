"""WorkProfile: how much work a real execution did, per layer (and per output unit).

Produced once per (network, compression, inputs) by an executor (numpy reference or the numba
kernels) and reused by every hardware point: the mapper aggregates ``out_work`` into whatever
PE / unit assignment a dataflow needs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Integer counters of LayerWork, in report order. All are totals over the batch.
# macs = effectual_macs + skipped_zero_weight + skipped_zero_act + padding_macs.
COUNTERS = (
    "macs",  # dense MACs: every tap of the dense layer, padding included (SCALE-Sim / fvcore / ptflops)
    "effectual_macs",  # nonzero weight x nonzero activation
    "skipped_zero_weight",  # MACs on real cells whose weight (second operand) is zero
    "skipped_zero_act",  # MACs on real cells whose weight is nonzero but activation is zero
    "padding_macs",  # taps that meet no real data: padding cells, causally masked outputs
    "weight_count",  # weights in the layer (per layer, not per sample)
    "weight_nnz",
    "in_act_count",  # input activation elements, all samples
    "in_act_nnz",
    "out_act_count",
    "out_act_nnz",
    "weight_words_read",  # stored weight words (codes / values) read by the dataflow
    "index_words_read",  # stored index words (column indices / relative gaps / pointers) read
    "act_reads",  # activation element reads
    "psum_writes",  # partial-sum (accumulator) writes
    "codebook_lookups",  # k-means code -> centroid decodes
)


@dataclass
class LayerWork:
    name: str
    kind: str
    batch: int
    macs: int = 0
    effectual_macs: int = 0
    skipped_zero_weight: int = 0
    skipped_zero_act: int = 0
    padding_macs: int = 0
    weight_count: int = 0
    weight_nnz: int = 0
    in_act_count: int = 0
    in_act_nnz: int = 0
    out_act_count: int = 0
    out_act_nnz: int = 0
    weight_words_read: int = 0
    index_words_read: int = 0
    act_reads: int = 0
    psum_writes: int = 0
    codebook_lookups: int = 0
    # Effectual MACs per output unit (fc row / conv output channel), summed over the batch:
    # the block-level work that a mapper interleaves over PEs.
    out_work: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Nonzero input activations per sample (length = batch): the compressed vector length that
    # zero-skipping fc dataflows (EIE, SONIC fc compression) really process.
    in_nnz_per_sample: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # fc layers: the positions of each sample's nonzero input activations (one int64 array per
    # sample), so that column-broadcast dataflows (EIE) see which weight columns really fire.
    in_nz_cols: tuple = ()
    # Per-PE effectual MACs when an executor already assigned work to PEs (else empty).
    pe_work: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Sampled execution (sim.execution.sampled): whether the counters were extrapolated from a
    # sample of output rows, its fraction, and the 95% interval of effectual_macs (None: exact).
    sampled: bool = False
    sample_fraction: float = 1.0
    effectual_ci: tuple | None = None

    @property
    def weight_density(self) -> float:
        return self.weight_nnz / self.weight_count if self.weight_count else 1.0

    @property
    def act_density(self) -> float:
        return self.in_act_nnz / self.in_act_count if self.in_act_count else 1.0

    def counters(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in COUNTERS}


@dataclass
class WorkProfile:
    batch: int
    layers: list[LayerWork]

    def layer(self, name: str) -> LayerWork:
        for lw in self.layers:
            if lw.name == name:
                return lw
        raise KeyError(name)

    def total(self, counter: str) -> int:
        return int(sum(getattr(lw, counter) for lw in self.layers))


def same_counts(a: LayerWork, b: LayerWork, names=COUNTERS[:11]) -> list[str]:
    """Names of the counters where two profiles of one layer disagree (for tests)."""
    return [n for n in names if int(getattr(a, n)) != int(getattr(b, n))]


__all__ = ["COUNTERS", "LayerWork", "WorkProfile", "same_counts"]
