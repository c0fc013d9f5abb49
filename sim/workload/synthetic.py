"""Seeded synthetic weights at a stated density, for models that carry none (model YAMLs without
``weights``, SCALE-Sim topologies).

Two generators, picked by layer size:

- Layers of at most ``COMPRESSED_ABOVE_ELEMENTS`` weights (every layer of the shipped LeNet,
  ResNet-18 and ResNet-50 models, the conv layers and ``fc8`` of AlexNet and VGG-16): a dense
  He-normal draw, pruned by magnitude to exactly ``round(density * size)`` nonzeros. Kept as is so
  that the numbers of the small shipped models and their example reports do not change.
- Larger layers: drawn directly in compressed form (``compressed_weight``): the kept positions
  are a uniform random subset of exactly that size, drawn chunk by chunk (a multivariate
  hypergeometric split of the count over fixed-size chunks, then a permutation inside each
  chunk), and the kept values are drawn from the distribution that magnitude pruning of a
  He-normal tensor leaves: ``|w| = s * Phi^-1(1 - u / 2)`` with ``u ~ U(0, density)`` (the normal
  tail beyond the pruning threshold) and a random sign. Only the nonzeros and one chunk exist at
  a time; the dense float32 result is written once (4 bytes per weight, where the dense draw
  plus ``abs`` plus ``argpartition`` needed 16), or the layer is kept as a ``Packed`` weight
  (positions and values only, 12 bytes per nonzero) for executors that read it in compressed
  form (``sim.execution.sampled``). The statistics (exact nonzero count, uniform
  positions, the value distribution) equal the small-layer generator's; the individual draws differ.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# 2**22 = 4.2M weights: the fc6 / fc7 layers of AlexNet and VGG-16 (the fc layers that
# sim.execution.sampled samples, SAMPLE_THRESHOLD) are drawn in compressed form; every other shipped layer is not.
COMPRESSED_ABOVE_ELEMENTS = 1 << 22
_CHUNK = 1 << 20  # positions per chunk of the compressed sampler: an 8 MB permutation at a time


@dataclass(frozen=True)
class Packed:
    """A weight held in compressed form: ``positions`` (sorted flat indices into ``shape``, int64)
    and ``values`` (float32, never 0) of its stored weights; every other weight is 0."""

    shape: tuple
    positions: np.ndarray
    values: np.ndarray

    @property
    def nnz(self) -> int:
        return int(self.positions.size)

    @property
    def nbytes(self) -> int:
        return int(self.positions.nbytes + self.values.nbytes)

    def dense(self) -> np.ndarray:
        return dense_from(self.shape, self.positions, self.values)

    def rows_cols(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, flat column) of every stored weight, row-major (the order ``np.nonzero`` gives)."""
        fan = int(np.prod(self.shape[1:]))
        return np.divmod(self.positions, fan)


def dense_weight(layer) -> np.ndarray:
    """A layer's dense float32 weight: built from its ``Packed`` form (``attrs["packed"]``) when it
    has one (a new array each call: free it after use), else ``layer.weight`` itself."""
    packed = layer.attrs.get("packed")
    return layer.weight if packed is None else packed.dense()


def packed_weight(shape: tuple, density: float, rng: np.random.Generator) -> Packed:
    """The weight ``synthetic_weight`` draws for a layer above ``COMPRESSED_ABOVE_ELEMENTS`` (same
    draws from ``rng``), kept in compressed form."""
    return Packed(tuple(int(s) for s in shape), *compressed_weight(shape, density, rng))


def synthetic_weight(shape: tuple, density: float, rng: np.random.Generator) -> np.ndarray:
    """He-normal weights pruned by magnitude to exactly round(density * size) nonzeros (dense float32)."""
    size = int(np.prod(shape))
    if size > COMPRESSED_ABOVE_ELEMENTS:
        return dense_from(shape, *compressed_weight(shape, density, rng))
    fan_in = int(np.prod(shape[1:]))
    w = rng.standard_normal(shape, dtype=np.float32)
    w[w == 0] = np.finfo(np.float32).tiny  # float32 draws are exactly 0 about once in 7e6; 0 would mean pruned
    w *= np.float32(np.sqrt(2.0 / max(fan_in, 1)))
    keep = int(round(density * w.size))
    if keep < w.size:
        flat = w.reshape(-1)
        # Indices of the (size - keep) smallest magnitudes; partition is O(n) where a sort is O(n log n).
        drop = np.argpartition(np.abs(flat), w.size - keep - 1)[: w.size - keep] if keep else slice(None)
        flat[drop] = 0.0
    return w


def sample_positions(size: int, keep: int, rng: np.random.Generator) -> np.ndarray:
    """A uniform random subset of ``keep`` of ``range(size)`` (sorted int64), in O(keep + chunk) memory."""
    if keep <= 0:
        return np.zeros(0, dtype=np.int64)
    if keep >= size:
        return np.arange(size, dtype=np.int64)
    starts = np.arange(0, size, _CHUNK, dtype=np.int64)
    lengths = np.minimum(_CHUNK, size - starts)
    counts = rng.multivariate_hypergeometric(lengths, keep, method="marginals")
    out = np.empty(keep, dtype=np.int64)
    at = 0
    for start, length, count in zip(starts, lengths, counts):
        if count:
            pick = np.sort(rng.choice(int(length), int(count), replace=False, shuffle=False))
            out[at:at + count] = start + pick
            at += count
    return out


def kept_magnitudes(count: int, density: float, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` signed values distributed as the survivors of magnitude pruning of N(0, scale^2) to ``density``."""
    from ..kernels.normal import inverse_normal  # imported on use: only large layers are drawn this way

    p = rng.random(count) * (float(density) / 2.0)  # the lower tail: Phi^-1(1 - p) = -Phi^-1(p)
    np.maximum(p, 1e-300, out=p)
    mag = (inverse_normal(p) * -scale).astype(np.float32)
    mag[rng.random(count) < 0.5] *= np.float32(-1.0)
    return mag


def compressed_weight(shape: tuple, density: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(flat positions int64 sorted, values float32) of a magnitude-pruned He-normal weight at
    exactly ``round(density * size)`` nonzeros, without a dense draw."""
    size = int(np.prod(shape))
    fan_in = int(np.prod(shape[1:]))
    keep = int(round(float(density) * size))
    idx = sample_positions(size, keep, rng)
    scale = float(np.sqrt(2.0 / max(fan_in, 1)))
    values = kept_magnitudes(keep, density if keep < size else 1.0, scale, rng)
    values[values == 0] = np.finfo(np.float32).tiny  # 0 would mean pruned
    return idx, values


def compressed_nm_weight(shape: tuple, n: int, m: int, rng: np.random.Generator,
                         density: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(flat positions, values) of an N:M weight: in every group of ``m`` consecutive weights of
    an output's fan-in (the last group may be short), ``min(n, group)`` uniformly chosen positions,
    each also kept with probability ``density`` first (the density-then-N:M order of topology loading,
    in expectation). Built row block by row block, so memory is O(nonzeros + block)."""
    rows = int(shape[0])
    fan = int(np.prod(shape[1:]))
    groups = -(-fan // m)
    scale = float(np.sqrt(2.0 / max(fan, 1)))
    block = max(1, _CHUNK // max(groups * m, 1))
    parts_idx = []
    for r0 in range(0, rows, block):
        r1 = min(rows, r0 + block)
        keys = rng.random((r1 - r0, groups, m))
        col = np.arange(groups * m).reshape(groups, m)
        keys[:, col >= fan] = 2.0  # padding slots of the short last group are never chosen
        if density < 1.0:
            keys[rng.random(keys.shape) >= density] = 2.0
        rank = np.argsort(keys, axis=2)[:, :, :n]
        chosen = np.take_along_axis(keys, rank, axis=2) < 2.0
        pos = np.take_along_axis(np.broadcast_to(col, keys.shape), rank, axis=2)
        r = np.broadcast_to(np.arange(r0, r1)[:, None, None], pos.shape)
        flat = (r * fan + pos)[chosen]
        parts_idx.append(np.sort(flat.astype(np.int64)))
    idx = np.concatenate(parts_idx) if parts_idx else np.zeros(0, dtype=np.int64)
    values = kept_magnitudes(len(idx), min(1.0, n / m), scale, rng)
    values[values == 0] = np.finfo(np.float32).tiny
    return idx, values


def dense_from(shape: tuple, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The dense float32 tensor of (flat positions, values)."""
    w = np.zeros(int(np.prod(shape)), dtype=np.float32)
    w[idx] = values
    return w.reshape(shape)
