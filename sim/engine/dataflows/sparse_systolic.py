"""A weight-stationary systolic array that skips structured N:M weight sparsity, as SCALE-Sim v3
models it (``pe_array.dataflow: sparse_ws`` and a top-level ``sparsity`` section, after SCALE-Sim
v3's ``[sparsity]``: SparseRep ellpack_block, layer-wise ratios, BlockSize).

Each layer states its ratio N:M (a topology's ``Sparsity`` column, ``Layer.sparsity``); a layer
that states none is read from its real weights: the most nonzeros found in any block of
``sparsity.block_size`` consecutive weights of a filter. The filter matrix (K x M filters, K the
unrolled window C x kh x kw) is compressed block by block along K, keeping N rows of every M (a
last partial block of r rows keeps min(N, r)), so the array sees the dense GEMM

    K' = floor(K / M) * N + min(N, K mod M)          (SCALE-Sim v3, operand_matrix.py)

and runs SCALE-Sim's weight-stationary folds on it (``pe.py``): ceil(K'/R) x ceil(filters/C)
folds of 2R + C + T - 2 cycles. Storage (Blocked ELLPACK, compression.py): K' x filters weights
at the weight width, plus ceil(log2 M) bits of metadata per stored weight (the position inside its
block); SCALE-Sim reports both in 32-bit words. The array reads each fold's metadata beside its
weights, from the buffer holding ``pointers`` (a metadata SRAM) or else the weight buffer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...hardware.schema import Field, Record, posint
from ...hardware.spec import HardwareConfig
from ...workload.network import Layer
from ..tiles import gemm_shape, step_gemm
from ..traffic import electronic_layer
from .base import Dataflow
from .systolic import map_act_matmul_systolic, map_systolic


@dataclass(frozen=True)
class NMSparsitySpec:
    representation: str = "ellpack_block"
    block_size: int = 4
    metadata_bits: int = 0  # per stored weight; 0 = ceil(log2 M) of the layer's ratio
    metadata_word_bits: int = 32


SPARSITY = Record(NMSparsitySpec, {
    "representation": Field("choice", "ellpack_block", choices=("ellpack_block",),
                            doc="SCALE-Sim v3 SparseRep; Blocked ELLPACK is the one modelled"),
    "block_size": posint(default=4, doc="M of N:M for layers that state no ratio (SCALE-Sim v3 BlockSize)"),
    "metadata_bits": Field("int", 0, min=0, max=32, unit="bits",
                           doc="metadata per stored weight; 0 = ceil(log2 M), SCALE-Sim v3's ellpack_block"),
    "metadata_word_bits": posint(default=32, doc="word of SCALE-Sim's SPARSE_REPORT (1 word = 32 bits)"),
}, optional=True, fill=True)


class SparseSystolic(Dataflow):
    key = "sparse_ws"
    schema_sections = {"sparsity": SPARSITY}
    buffer_data = ("weights", "inputs", "outputs", "pointers")

    def validate(self, data, problems):
        super().validate(data, problems)
        block = (data.get("sparsity") or {}).get("block_size", 4)
        rows = data["pe_array"]["rows"]
        if block > rows:  # SCALE-Sim v3 asserts the same
            problems.append(f"sparsity.block_size: must be <= pe_array.rows ({rows}); got {block}")

    def is_sparse(self, hw):
        return True

    def spec(self, hw: HardwareConfig) -> NMSparsitySpec:
        return hw.option("sparsity") or NMSparsitySpec()

    def weight_storage_bits(self, layer, hw):
        if not layer.is_weighted:
            return 0
        wbits, _ = self.bits(hw)
        stored, meta_bits = nm_stored(layer, hw, self.spec(hw))
        return stored * (wbits + meta_bits)

    def _gemm(self, layer, lw, hw):
        groups, n_pix, k, m = step_gemm(layer, lw.batch)
        n, blk = nm_ratio(layer, self.spec(hw))
        return groups, n_pix, compressed_rows(k, n, blk), m

    def floor(self, layer, lw, hw, t, fused):
        if layer.category == "act_matmul":  # no N:M structure on activations: dense
            return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw), work=lw.macs - lw.padding_macs)
        if not layer.is_weighted:
            return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw))
        groups, n_pix, k2, m = self._gemm(layer, lw, hw)
        return electronic_layer(layer, lw, hw, t, fused, self.activation_lanes(hw), work=groups * n_pix * k2 * m)

    def map_act_matmul(self, layer, lw, hw, io, floor):
        """Dense weight-stationary folds: activations carry no N:M structure to skip."""
        sched = map_act_matmul_systolic(layer, lw, hw, io, floor, "ws")
        sched.mapping = "dense (no N:M on activations); " + sched.mapping
        return sched

    def map_weighted(self, layer, lw, hw, io, floor):
        gemm = self._gemm(layer, lw, hw)
        groups, n_pix, k2, m = gemm
        _, meta_bits = nm_stored(layer, hw, self.spec(hw))
        meta_buf = hw.memory.buffer_for("pointers") or hw.memory.buffer_for("weights")
        sched = map_systolic(layer, lw, hw, io, floor, self.bits(hw), gemm=gemm, macs=groups * n_pix * k2 * m,
                             dataflow="ws", meta=(meta_buf.name, meta_bits))
        n, blk = nm_ratio(layer, self.spec(hw))
        sched.mapping = f"{n}:{blk} sparse, K {gemm_shape(layer, lw.batch)[2]} -> {k2}; " + sched.mapping
        return sched


def compressed_rows(k: int, n: int, m: int) -> int:
    """Rows of a K-row filter matrix left after keeping n of every m (SCALE-Sim v3)."""
    return (k // m) * n + min(n, k % m)


def nm_ratio(layer: Layer, spec: NMSparsitySpec) -> tuple[int, int]:
    """(N, M) of a layer: as stated, or the most nonzeros in any block of ``block_size`` weights."""
    if layer.sparsity is not None:
        return layer.sparsity
    m = spec.block_size
    flat = layer.weight.reshape(layer.weight.shape[0], -1)
    pad = (-flat.shape[1]) % m
    blocks = np.pad(flat != 0, ((0, 0), (0, pad))).reshape(flat.shape[0], -1, m)
    return max(1, int(blocks.sum(axis=2).max(initial=0))), m


def nm_stored(layer: Layer, hw: HardwareConfig, spec: NMSparsitySpec) -> tuple[int, int]:
    """(stored weights, metadata bits per stored weight) of a layer in Blocked ELLPACK."""
    groups, _, k, filters = gemm_shape(layer, 1)
    n, m = nm_ratio(layer, spec)
    meta_bits = spec.metadata_bits or (math.ceil(math.log2(m)) if m > 1 else 0)  # position inside the block
    return groups * compressed_rows(k, n, m) * filters, meta_bits


def sparse_report(layer: Layer, hw: HardwareConfig) -> dict:
    """SCALE-Sim v3's SPARSE_REPORT columns for one layer, in its 32-bit words."""
    spec = hw.option("sparsity") or NMSparsitySpec()
    groups, _, k, filters = gemm_shape(layer, 1)
    stored, meta_bits = nm_stored(layer, hw, spec)
    meta_words = stored * meta_bits / spec.metadata_word_bits
    return {"original_filter_words": groups * k * filters, "new_storage_words": stored + meta_words,
            "metadata_words": meta_words}
