"""Sparse storage formats: relative indices with filler entries, and canonical Huffman coding.

Relative index (Deep Compression Sec. 2, EIE Sec. III): kept weights are stored in flat order,
each with a ``b``-bit index gap (zeros skipped since the previous stored entry). A gap the field
cannot hold is bridged by filler entries. Here the largest field value ``M = 2**b - 1`` *is* the
filler: it advances M positions and stores no weight, while real entries use gaps 0..M-1. This
keeps all ``2**bits`` codebook entries for real weights (EIE instead spends code 0 on a zero
weight). A filler still occupies one slot of the fixed-width weight stream (code 0), as Deep
Compression counts its filler zeros, so storage is accounted per stored entry.

Huffman (Deep Compression Sec. 4): weight codes and index gaps are each Huffman coded with a
canonical code built from their own histogram; ``huffman_decode`` inverts it exactly.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from numba import njit

LENGTH_FIELD_BITS = 5  # a canonical code table sends each used symbol and its code length (< 32)


@dataclass(frozen=True)
class RelativeIndex:
    """One layer in relative-index form. ``gaps`` and ``codes`` have one entry per stored slot
    (kept weights and fillers); ``length`` is the flat size of the dense tensor."""

    gaps: np.ndarray  # int64, in 0..2**index_bits - 1; the maximum marks a filler
    codes: np.ndarray  # int64 weight code per slot; 0 at fillers
    index_bits: int
    length: int

    @property
    def entries(self) -> int:
        return int(self.gaps.size)

    @property
    def fillers(self) -> int:
        return int((self.gaps == 2 ** self.index_bits - 1).sum())


def relative_index_encode(codes: np.ndarray, kept: np.ndarray, index_bits: int) -> RelativeIndex:
    """Encode the codes at kept positions of a tensor (flattened in C order) with b-bit gaps."""
    if index_bits < 1:
        raise ValueError(f"index_bits must be >= 1; got {index_bits}")
    span = 2 ** index_bits - 1  # filler value = positions a filler advances
    positions = np.flatnonzero(kept.ravel())
    gaps = np.diff(np.concatenate(([-1], positions))) - 1  # zeros skipped before each kept weight
    n_fill = gaps // span
    remainder = gaps - n_fill * span
    total = int(positions.size + n_fill.sum())
    # Slot of each kept weight: after its own fillers and everything before it.
    slot = np.cumsum(n_fill + 1) - 1
    out_gaps = np.full(total, span, dtype=np.int64)
    out_codes = np.zeros(total, dtype=np.int64)
    out_gaps[slot] = remainder
    out_codes[slot] = codes.ravel()[positions]
    return RelativeIndex(out_gaps, out_codes, int(index_bits), int(kept.size))


def relative_index_decode(enc: RelativeIndex) -> tuple[np.ndarray, np.ndarray]:
    """(flat positions int64, codes int64) of the stored weights, fillers removed."""
    span = 2 ** enc.index_bits - 1
    filler = enc.gaps == span
    advance = np.where(filler, span, enc.gaps + 1)
    positions = np.cumsum(advance) - 1
    return positions[~filler], enc.codes[~filler]


@dataclass(frozen=True)
class Huffman:
    """A canonical Huffman encoding of a symbol sequence."""

    symbols: np.ndarray  # int64 alphabet in canonical order (by code length, then value)
    lengths: np.ndarray  # int64 code length of each of ``symbols``
    data: np.ndarray  # uint8, the bitstream packed MSB first
    n_bits: int
    count: int  # symbols encoded

    def table_bits(self, symbol_bits: int) -> int:
        """Bits to transmit the code table: each used symbol and its code length."""
        return int(self.symbols.size * (symbol_bits + LENGTH_FIELD_BITS))


def huffman_lengths(values: np.ndarray) -> dict:
    """{symbol: code length in bits} of an optimal prefix code for the histogram of ``values``.

    Ties are broken by the smallest symbol in a subtree, so the code is deterministic.
    """
    syms, counts = np.unique(values, return_counts=True)
    if syms.size == 0:
        return {}
    if syms.size == 1:
        return {int(syms[0]): 1}  # one symbol still needs one bit per occurrence
    heap = [(int(c), int(s), [int(s)]) for s, c in zip(syms, counts)]
    heapq.heapify(heap)
    depth = {int(s): 0 for s in syms}
    while len(heap) > 1:
        c1, k1, m1 = heapq.heappop(heap)
        c2, k2, m2 = heapq.heappop(heap)
        for s in m1 + m2:
            depth[s] += 1
        heapq.heappush(heap, (c1 + c2, min(k1, k2), m1 + m2))
    return depth


def _canonical(lengths: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, lengths, codes) in canonical order: shorter codes first, then by symbol."""
    items = sorted(lengths.items(), key=lambda kv: (kv[1], kv[0]))
    symbols = np.array([s for s, _ in items], dtype=np.int64)
    lens = np.array([n for _, n in items], dtype=np.int64)
    codes = np.zeros(len(items), dtype=np.int64)
    code = 0
    for i in range(1, len(items)):
        code = (code + 1) << (lens[i] - lens[i - 1])
        codes[i] = code
    return symbols, lens, codes


def huffman_encode(values: np.ndarray) -> Huffman:
    """Canonical Huffman encoding of an integer sequence."""
    values = np.asarray(values, dtype=np.int64).ravel()
    symbols, lens, codes = _canonical(huffman_lengths(values))
    if values.size == 0:
        return Huffman(symbols, lens, np.zeros(0, np.uint8), 0, 0)
    where = np.searchsorted(symbols, values, sorter=np.argsort(symbols))
    rank = np.argsort(symbols)[where]
    L, C = lens[rank], codes[rank]
    max_len = int(lens.max())
    j = np.arange(max_len)
    # Bit j (MSB first) of each code word; positions beyond a word's length are dropped.
    bits = (C[:, None] >> np.maximum(L[:, None] - 1 - j, 0)) & 1
    stream = bits[j < L[:, None]].astype(np.uint8)
    return Huffman(symbols, lens, np.packbits(stream), int(stream.size), int(values.size))


@njit(cache=True)
def canonical_decode(bits, first_code, first_rank, n_of_len, symbols, out):
    """Decode ``out.size`` symbols from unpacked ``bits`` with a canonical code table.

    first_code[L], first_rank[L], n_of_len[L]: smallest code of length L, its rank in ``symbols``
    and how many codes have length L. Returns the bits consumed (-1 if the stream is corrupt).
    """
    pos = 0
    for i in range(out.size):
        code = 0
        length = 0
        while True:
            if pos >= bits.size:
                return -1
            code = (code << 1) | bits[pos]
            pos += 1
            length += 1
            if length >= n_of_len.size:
                return -1
            offset = code - first_code[length]
            if n_of_len[length] > 0 and 0 <= offset < n_of_len[length]:
                out[i] = symbols[first_rank[length] + offset]
                break
    return pos


def huffman_decode(enc: Huffman) -> np.ndarray:
    """The exact int64 sequence that ``huffman_encode`` was given."""
    out = np.zeros(enc.count, dtype=np.int64)
    if enc.count == 0:
        return out
    max_len = int(enc.lengths.max())
    first_code = np.zeros(max_len + 2, np.int64)
    first_rank = np.zeros(max_len + 2, np.int64)
    n_of_len = np.zeros(max_len + 2, np.int64)
    _, _, codes = _canonical(dict(zip(enc.symbols.tolist(), enc.lengths.tolist())))
    for rank in range(enc.symbols.size - 1, -1, -1):  # backwards: keep the first code of each length
        L = int(enc.lengths[rank])
        first_code[L], first_rank[L] = codes[rank], rank
        n_of_len[L] += 1
    bits = np.unpackbits(enc.data)[:enc.n_bits].astype(np.int64)
    used = canonical_decode(bits, first_code, first_rank, n_of_len, enc.symbols, out)
    if used != enc.n_bits:
        raise ValueError(f"corrupt Huffman stream: decoded {used} of {enc.n_bits} bits")
    return out
