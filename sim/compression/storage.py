"""Storage accounting per layer and stage, like Deep Compression's Tables 2-5.

Stages of one layer (biases are stored as float32 in every stage, and counted):

- dense: every weight at 32 bits;
- pruned: relative-index sparse format, each stored slot (kept weight or filler) = 32-bit weight
  + ``index_bits`` gap;
- quantized (P+Q): each slot = ``bits``-bit code + ``index_bits`` gap, plus the codebook
  (2**bits float32 centroids) or the linear scales;
- huffman (P+Q+H): the codes of the kept weights and the gap stream (fillers included) each
  Huffman coded, plus both code tables. Fillers need no weight code here: the decoder knows them
  by their gap value.

Unquantized layers keep 32-bit weights in the quantized and huffman stages. ``decode_layer`` turns
the stored streams back into the dense weights, so the table is checked by a real round trip.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..workload.network import Layer, Network
from .encode import huffman_decode, huffman_encode, relative_index_decode, relative_index_encode

FLOAT_BITS = 32
STAGES = ("dense", "pruned", "quantized", "huffman")
TABLE_COLUMNS = ("layer", "weights", "weights_kept", "weights_kept_fraction", "fillers",
                 "weight_bits_pq", "weight_bits_pqh", "index_bits_pq", "index_bits_pqh",
                 "dense_bytes", "pruned_bytes", "pq_bytes", "pqh_bytes",
                 "compression_ratio_p", "compression_ratio_pq", "compression_ratio_pqh")


def weight_sharing_rate(n_weights: int, n_clusters: int, bits: int = FLOAT_BITS) -> float:
    """Deep Compression Eq. 1: r = n b / (n log2(k) + k b) for n weights shared among k clusters."""
    return n_weights * bits / (n_weights * math.log2(n_clusters) + n_clusters * bits)


@dataclass(frozen=True)
class LayerStorage:
    """Bits of one layer at every stage, plus what the per-layer table reports."""

    name: str
    weights: int
    kept: int
    entries: int  # stored slots: kept weights + fillers
    code_bits: int  # bits per weight code (32 if not quantized)
    index_bits: int
    bias_bits: int
    table_bits: int  # codebook or scales
    huffman_code_bits: int  # Huffman stream of the kept weights' codes
    huffman_index_bits: int  # Huffman stream of the gaps
    huffman_table_bits: int

    def bits(self, stage: str) -> int:
        """Storage of this layer at ``stage`` in bits."""
        if stage == "dense":
            return self.weights * FLOAT_BITS + self.bias_bits
        if stage == "pruned":
            return self.entries * (FLOAT_BITS + self.index_bits) + self.bias_bits
        if stage == "quantized":
            return self.entries * (self.code_bits + self.index_bits) + self.table_bits + self.bias_bits
        if stage == "huffman":
            return (self.huffman_code_bits + self.huffman_index_bits + self.huffman_table_bits
                    + self.table_bits + self.bias_bits)
        raise ValueError(f"stage must be one of {STAGES}; got {stage!r}")


def _codes(layer: Layer) -> tuple[np.ndarray, int, int]:
    """(integer code per weight, code bits, table bits) of a layer's encoding."""
    q = layer.quant
    if q is None:
        # Unquantized: the "code" is the float32 bit pattern, stored at 32 bits, never Huffman coded.
        return layer.weight.view(np.int32).astype(np.int64), FLOAT_BITS, 0
    if q.kind == "kmeans":
        return q.codes.astype(np.int64), int(q.bits), int(q.codebook.size) * FLOAT_BITS
    return q.qvalues.astype(np.int64), int(q.bits), int(np.size(q.scale)) * FLOAT_BITS


def layer_storage(layer: Layer, index_bits: int) -> tuple[LayerStorage, dict]:
    """Encode one weighted layer; returns its storage and the encoded streams (for ``decode_layer``)."""
    kept = layer.weight != 0
    codes, code_bits, table_bits = _codes(layer)
    rel = relative_index_encode(codes, kept, index_bits)
    real = rel.gaps != 2 ** index_bits - 1
    streams = {"relative_index": rel}
    if layer.quant is not None:
        hc, hi = huffman_encode(rel.codes[real]), huffman_encode(rel.gaps)
        streams.update(huffman_codes=hc, huffman_gaps=hi)
        h_code, h_index = hc.n_bits, hi.n_bits
        h_table = hc.table_bits(code_bits) + hi.table_bits(index_bits)
    else:
        h_code, h_index, h_table = int(real.sum()) * FLOAT_BITS, rel.entries * index_bits, 0
    bias_bits = 0 if layer.bias is None else layer.bias.size * FLOAT_BITS
    st = LayerStorage(layer.name, layer.weight_count, int(kept.sum()), rel.entries, code_bits, int(index_bits),
                      bias_bits, table_bits, h_code, h_index, h_table)
    return st, streams


def decode_layer(layer: Layer, streams: dict) -> np.ndarray:
    """Dense float32 weights rebuilt from the Huffman streams (or the relative index if unquantized)."""
    rel = streams["relative_index"]
    if "huffman_codes" in streams:
        gaps = huffman_decode(streams["huffman_gaps"])
        span = 2 ** rel.index_bits - 1
        codes = np.zeros(gaps.size, np.int64)
        codes[gaps != span] = huffman_decode(streams["huffman_codes"])
        rel = type(rel)(gaps, codes, rel.index_bits, rel.length)
    positions, codes = relative_index_decode(rel)
    flat = np.zeros(rel.length, np.float32)
    q = layer.quant
    if q is None:
        flat[positions] = codes.astype(np.int32).view(np.float32)
    elif q.kind == "kmeans":
        flat[positions] = q.codebook[codes]
    else:
        scale = np.broadcast_to(q.scale.reshape((-1,) + (1,) * (layer.weight.ndim - 1)) if q.per_channel
                                else q.scale, layer.weight.shape).ravel()
        flat[positions] = codes.astype(np.float32) * scale[positions]
    return flat.reshape(layer.weight.shape)


def index_bits_for(layer: Layer, index_bits: int | dict) -> int:
    """Index bits of a layer from one number or {"conv": b, "fc": b} (Deep Compression: conv 8, fc 5)."""
    if isinstance(index_bits, dict):
        return int(index_bits["conv" if layer.kind == "conv2d" else "fc"])
    return int(index_bits)


def network_storage(net: Network, index_bits: int | dict) -> list[LayerStorage]:
    return [layer_storage(lay, index_bits_for(lay, index_bits))[0] for lay in net.weighted_layers]


def storage_bytes(layers: list[LayerStorage], stage: str) -> int:
    """Whole-byte storage of a network at ``stage`` (each layer rounded up to a byte)."""
    return sum(math.ceil(st.bits(stage) / 8) for st in layers)


def storage_table(layers: list[LayerStorage]) -> pd.DataFrame:
    """Per-layer table (Deep Compression Table 2 columns) with a ``total`` row last.

    Bits per weight are averaged over kept weights: ``index_bits_pqh`` includes the filler gaps.
    """
    rows = [_row(st.name, [st]) for st in layers] + [_row("total", layers)]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _row(name: str, group: list[LayerStorage]) -> dict:
    kept = sum(st.kept for st in group)
    weights = sum(st.weights for st in group)
    by = {s: storage_bytes(group, s) for s in STAGES}
    per_kept = (lambda bits: round(bits / kept, 3)) if kept else (lambda bits: 0.0)
    return {
        "layer": name, "weights": weights, "weights_kept": kept,
        "weights_kept_fraction": round(kept / weights, 6) if weights else 1.0,
        "fillers": sum(st.entries - st.kept for st in group),
        "weight_bits_pq": round(sum(st.code_bits * st.kept for st in group) / kept, 3) if kept else 0.0,
        "weight_bits_pqh": per_kept(sum(st.huffman_code_bits for st in group)),
        "index_bits_pq": round(sum(st.index_bits * st.kept for st in group) / kept, 3) if kept else 0.0,
        "index_bits_pqh": per_kept(sum(st.huffman_index_bits for st in group)),
        "dense_bytes": by["dense"], "pruned_bytes": by["pruned"], "pq_bytes": by["quantized"],
        "pqh_bytes": by["huffman"],
        "compression_ratio_p": round(by["dense"] / by["pruned"], 3),
        "compression_ratio_pq": round(by["dense"] / by["quantized"], 3),
        "compression_ratio_pqh": round(by["dense"] / by["huffman"], 3),
    }
