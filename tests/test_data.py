import gzip

import numpy as np
import pytest

from sim.errors import ConfigError
from sim.workload.data import inputs_for, load_dataset, read_idx, shape_for
from sim.workload.load import network_from_dict


def test_digits_split_is_fixed_disjoint_and_scaled():
    ds = load_dataset("digits")
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (1258, 180, 359)
    for x in (ds.x_train, ds.x_val, ds.x_test):
        assert x.dtype == np.float32 and x.shape[1] == 64 and x.min() >= 0.0 and x.max() <= 1.0
    rows = {tuple(r) for r in np.concatenate([ds.x_train, ds.x_val, ds.x_test]).round(4)}
    assert len(rows) > 1700  # the three splits do not repeat samples (a few digits images are duplicates)
    again = load_dataset("digits")
    np.testing.assert_array_equal(again.y_test, ds.y_test)
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_inputs_for_reshapes_for_conv_input():
    net = network_from_dict({"input_shape": [1, 8, 8], "dataset": "digits",
                             "layers": [{"name": "c", "type": "conv2d", "out_channels": 2, "kernel_size": 3}]}, "m.yaml")
    x, y = inputs_for(net, "test")
    assert x.shape == (359, 1, 8, 8) and y.shape == (359,)
    assert y.dtype == np.int64


def test_shape_mismatch_is_a_config_error():
    with pytest.raises(ConfigError, match="needs 784 features"):
        shape_for(np.zeros((3, 64), np.float32), (1, 28, 28), "m.yaml")


def _write_idx(path, array, gz=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def test_mnist_idx_files_are_read_and_split(tmp_path, rng):
    xtr = rng.integers(0, 256, (60, 4, 4))
    ytr = rng.integers(0, 10, 60)
    _write_idx(tmp_path / "train-images-idx3-ubyte", xtr)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", ytr)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", xtr[:20], gz=True)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", ytr[:20], gz=True)
    ds = load_dataset("mnist", tmp_path)
    assert ds.image_shape == (1, 4, 4)
    assert len(ds.y_train) + len(ds.y_val) == 60 and len(ds.y_test) == 20
    np.testing.assert_allclose(ds.x_test, xtr[:20].reshape(20, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_val, ytr[-len(ds.y_val):])


def test_bad_idx_and_missing_files_are_config_errors(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ConfigError, match="IDX"):
        read_idx(str(tmp_path / "bad"))
    with pytest.raises(ConfigError, match="not found"):
        load_dataset("mnist", tmp_path)
    with pytest.raises(ConfigError, match="data_dir"):
        load_dataset("mnist")
    with pytest.raises(ConfigError, match="must be one of"):
        load_dataset("cifar")
