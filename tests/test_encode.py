import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.compression.encode import (huffman_decode, huffman_encode, huffman_lengths, relative_index_decode,
                                    relative_index_encode)
from sim.compression.quantize import quantize_network
from sim.compression.storage import decode_layer, layer_storage, network_storage, storage_bytes, storage_table
from sim.compression.train import init_weights
from sim.workload.load import network_from_dict


@pytest.mark.parametrize("values", [
    np.array([], np.int64), np.array([7]), np.array([3, 3, 3, 3]), np.arange(32),
    np.random.default_rng(0).geometric(0.2, 5000), np.random.default_rng(1).integers(-40, 40, 3000)])
def test_huffman_round_trip(values):
    enc = huffman_encode(values)
    np.testing.assert_array_equal(huffman_decode(enc), values)
    assert enc.n_bits == sum(dict(zip(enc.symbols, enc.lengths))[v] for v in values.tolist())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 63), min_size=1, max_size=300))
def test_huffman_round_trip_property(values):
    values = np.array(values)
    np.testing.assert_array_equal(huffman_decode(huffman_encode(values)), values)


def test_huffman_is_optimal_prefix_code():
    values = np.random.default_rng(2).choice(8, size=20000, p=[0.4, 0.2, 0.15, 0.1, 0.05, 0.05, 0.03, 0.02])
    enc = huffman_encode(values)
    p = np.bincount(values) / values.size
    entropy = -(p * np.log2(p)).sum()
    assert entropy <= enc.n_bits / values.size < entropy + 1
    lengths = huffman_lengths(values)
    assert sum(2.0 ** -n for n in lengths.values()) == pytest.approx(1.0)  # Kraft equality: a full tree
    assert lengths[0] == 1  # by hand: the other symbols merge into one 60% subtree, so the 40% symbol is a leaf of the root
    assert lengths[0] <= min(lengths.values()) and lengths[7] == max(lengths.values())


def test_corrupt_huffman_stream_is_detected():
    enc = huffman_encode(np.array([0, 1, 1, 2, 2, 2, 2]))
    short = type(enc)(enc.symbols, enc.lengths, enc.data, enc.n_bits - 1, enc.count)
    with pytest.raises(ValueError, match="corrupt"):
        huffman_decode(short)


def test_relative_index_fillers_and_round_trip(rng):
    # EIE's column [0,0,1,2,0x18,3] with 4-bit gaps: one filler bridges the 18 zeros.
    col = np.array([0, 0, 1, 2] + [0] * 18 + [3])
    enc = relative_index_encode(col, col != 0, 4)
    np.testing.assert_array_equal(enc.gaps, [2, 0, 15, 3])
    np.testing.assert_array_equal(enc.codes, [1, 2, 0, 3])
    assert enc.fillers == 1 and enc.entries == 4
    for bits in (1, 3, 5, 8):
        kept = rng.random((37, 29)) < 0.07
        codes = rng.integers(0, 32, kept.shape) * kept
        enc = relative_index_encode(codes, kept, bits)
        pos, got = relative_index_decode(enc)
        np.testing.assert_array_equal(pos, np.flatnonzero(kept))
        np.testing.assert_array_equal(got, codes[kept])
        gaps = np.diff(np.concatenate(([-1], np.flatnonzero(kept)))) - 1
        assert enc.fillers == int((gaps // (2 ** bits - 1)).sum())


def _mlp(rng, density=0.1):
    spec = {"input_shape": [64], "layers": [{"name": "fc1", "type": "fc", "out_features": 40},
                                            {"name": "fc2", "type": "fc", "out_features": 10}]}
    net = init_weights(network_from_dict(spec, "m.yaml"), 0)
    for lay in net.weighted_layers:
        lay.weight[rng.random(lay.weight.shape) >= density] = 0
    return net


def test_storage_table_counts_by_hand(rng):
    net = quantize_network(_mlp(rng), "kmeans", 4)
    layers = network_storage(net, 5)
    fc1 = layers[0]
    kept = np.count_nonzero(net.layer("fc1").weight)
    assert fc1.kept == kept and fc1.bits("dense") == 40 * 64 * 32 + 40 * 32
    assert fc1.bits("pruned") == fc1.entries * (32 + 5) + 40 * 32
    assert fc1.bits("quantized") == fc1.entries * (4 + 5) + 16 * 32 + 40 * 32
    assert fc1.bits("huffman") == (fc1.huffman_code_bits + fc1.huffman_index_bits + fc1.huffman_table_bits
                                   + 16 * 32 + 40 * 32)
    assert fc1.huffman_code_bits < kept * 4  # 4-bit codes of a bell-shaped weight histogram compress
    table = storage_table(layers)
    assert list(table["layer"]) == ["fc1", "fc2", "total"]
    total = table.iloc[-1]
    assert total["pqh_bytes"] == storage_bytes(layers, "huffman") == table["pqh_bytes"][:2].sum()
    assert total["compression_ratio_pq"] == pytest.approx(total["dense_bytes"] / total["pq_bytes"], rel=1e-3)


@pytest.mark.parametrize("method,bits", [("kmeans", 5), ("linear", 8), ("linear", 4), (None, None)])
def test_stored_streams_decode_to_the_weights(rng, method, bits):
    net = _mlp(rng, 0.05)
    if method:
        net = quantize_network(net, method, bits, per_channel=method == "linear")
    for lay in net.weighted_layers:
        _, streams = layer_storage(lay, 3)  # 3-bit gaps at 5% density: many fillers
        np.testing.assert_array_equal(decode_layer(lay, streams), lay.weight)
