import numpy as np
import pytest

from sim.compression.quantize import (binary_quantize, dequantize, init_centroids, kmeans_1d, kmeans_quantize,
                                      linear_quantize, quantize_network)
from sim.compression.storage import layer_storage, weight_sharing_rate
from sim.compression.train import init_weights
from sim.workload.load import network_from_dict
from sim.workload.network import Layer, Quant


def _sparse(rng, shape, density):
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) >= density] = 0.0
    return w


@pytest.mark.parametrize("bits", [1, 2, 4, 5, 6, 8, 9])
@pytest.mark.parametrize("init", ["linear", "density", "random"])
def test_kmeans_centroid_count_bits_and_zeros(rng, bits, init):
    w = _sparse(rng, (64, 50), 0.4)
    codebook, codes = kmeans_quantize(w, bits, init, rng)
    assert codebook.shape == (2 ** bits,) and codebook.dtype == np.float32
    assert codes.shape == w.shape and codes.dtype == (np.uint8 if bits <= 8 else np.uint16)
    assert codes.max() < 2 ** bits
    deq = np.where(w != 0, codebook[codes], 0)
    assert np.all(deq[w == 0] == 0) and np.all(codes[w == 0] == 0)
    assert len(np.unique(deq[w != 0])) <= 2 ** bits
    # Each kept weight sits at its nearest centroid (Lloyd's fixed point).
    nearest = np.abs(w[w != 0][:, None] - codebook[None, :]).min(axis=1)
    np.testing.assert_allclose(np.abs(w[w != 0] - codebook[codes[w != 0]]), nearest, atol=1e-6)
    if init == "density" and bits <= 6:  # 1280 kept weights, centroids at quantiles: every cluster is used
        assert len(np.unique(codes[w != 0])) == 2 ** bits


def test_centroid_initializations(rng):
    v = rng.standard_normal(10000)
    np.testing.assert_allclose(init_centroids(v, 4, "linear", rng), np.linspace(v.min(), v.max(), 4))
    dens = init_centroids(v, 4, "density", rng)
    np.testing.assert_allclose(dens, np.quantile(v, [0.125, 0.375, 0.625, 0.875]))
    # density-based init puts centroids where the weights are: closer to 0 than linear init
    assert np.abs(dens).max() < np.abs(init_centroids(v, 4, "linear", rng)).max()
    assert set(init_centroids(v, 4, "random", np.random.default_rng(1))) <= set(v)


def test_kmeans_1d_two_obvious_clusters():
    v = np.array([-1.0, -1.1, -0.9, 2.0, 2.2])
    c, labels = kmeans_1d(v, np.array([0.0, 0.1]))
    np.testing.assert_allclose(c, [-1.0, 2.1])
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 1])


@pytest.mark.parametrize("bits", [8, 4])
@pytest.mark.parametrize("per_channel", [False, True])
def test_linear_int_quantization(rng, bits, per_channel):
    w = _sparse(rng, (16, 3, 3, 3), 0.5)
    q, scale = linear_quantize(w, bits, per_channel)
    qmax = 2 ** (bits - 1) - 1
    assert q.dtype == np.int8 and np.abs(q).max() == qmax
    assert scale.shape == ((16,) if per_channel else (1,))
    s = scale.reshape(-1, 1, 1, 1) if per_channel else scale
    assert np.all(np.abs(q * s - w) <= s / 2 + 1e-7)
    assert np.all(q[w == 0] == 0)


def test_binary_is_sign_times_mean_magnitude(rng):
    w = _sparse(rng, (8, 10), 0.5)
    q, scale = binary_quantize(w)
    assert set(np.unique(q)) <= {-1, 0, 1} and np.all((q == 0) == (w == 0))
    assert scale[0] == pytest.approx(np.abs(w[w != 0]).mean())


def test_quantize_network_by_layer_type_keeps_invariant(rng):
    spec = {"input_shape": [1, 8, 8], "layers": [
        {"name": "conv1", "type": "conv2d", "out_channels": 4, "kernel_size": 3},
        {"name": "flatten", "type": "flatten"}, {"name": "fc1", "type": "fc", "out_features": 10}]}
    net = init_weights(network_from_dict(spec, "m.yaml"), 0)
    net.layer("fc1").weight[:, ::2] = 0
    q = quantize_network(net, "kmeans", {"conv": 8, "fc": 5})
    assert q.layer("conv1").quant.bits == 8 and q.layer("fc1").quant.bits == 5
    fc = q.layer("fc1")
    kept = net.layer("fc1").weight != 0
    np.testing.assert_array_equal(fc.weight != 0, kept)  # exact zeros stay, nothing else becomes zero
    np.testing.assert_array_equal(fc.weight, dequantize(fc.quant, kept))
    lin = quantize_network(net, "linear", {"fc": 8}, per_channel=True)
    assert lin.layer("conv1").quant is None and lin.layer("fc1").quant.scale.shape == (10,)
    assert net.layer("fc1").quant is None  # the input network is untouched


def test_deep_compression_weight_sharing_example():
    """Deep Compression Sec. 3: 16 weights, 4 clusters, 32-bit: 16*32 / (16*2 + 4*32) = 3.2."""
    assert weight_sharing_rate(16, 4, 32) == pytest.approx(3.2)
    w = np.array([[2.09, -0.98, 1.48, 0.09], [0.05, -0.14, -1.08, 2.12],
                  [-0.91, 1.92, 0.0, -1.03], [1.87, 0.0, 1.53, 1.49]], np.float32)  # the paper's Fig. 3
    w[w == 0] = 0.01  # the figure's matrix is dense: no pruned weights here
    codebook, codes = kmeans_quantize(w, 2, "linear")
    layer = Layer(name="fig3", kind="fc", in_shape=(4,), out_shape=(4,), weight=codebook[codes],
                  quant=Quant(kind="kmeans", bits=2, codebook=codebook, codes=codes))
    st, _ = layer_storage(layer, index_bits=4)
    shared_bits = st.entries * st.code_bits + st.table_bits  # codes + codebook, index excluded as in Eq. 1
    assert st.entries == 16 and shared_bits == 16 * 2 + 4 * 32
    assert st.bits("dense") / shared_bits == pytest.approx(3.2)
