"""Same inputs and seed, same bytes, whatever BLAS kernel, thread count or SIMD width (issue 19).

A small model is trained from scratch, pruned with retraining, k-means quantized with centroid
fine-tuning and encoded (``python -m sim compress``), then run on a design (``python -m sim
run``), each time in a fresh subprocess under a different ``OPENBLAS_CORETYPE`` (the OpenBLAS
kernel numpy's products would use: Haswell, Sandybridge, Prescott split a float32 product's sum
differently), ``OMP_NUM_THREADS`` / ``NUMBA_NUM_THREADS`` (1 or 2) and, for the compression,
``NUMBA_CPU_NAME`` (numba code for the host's AVX-512, or for plain x86-64 SSE2). Every file
written (.npz, .yaml, .csv, .png) must be identical byte for byte.

``test_committed_models_reproduce`` reruns the fast shipped step (training LeNet-300-100) and
compares its weights with the committed ``models/lenet300.npz``, so CI's machine checks the bits
this repository ships.
"""
import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODEL = {"version": 1, "name": "repro", "input_shape": [64], "dataset": "digits", "layers": [
    {"name": "fc1", "type": "fc", "out_features": 48}, {"name": "relu1", "type": "relu"},
    {"name": "fc2", "type": "fc", "out_features": 24}, {"name": "relu2", "type": "relu"},
    {"name": "fc3", "type": "fc", "out_features": 10}]}
RECIPE = {"version": 1, "recipe": "deep_compression", "model": "repro.yaml", "output_model": "repro-dc.yaml",
          "seed": 3, "train": {"lr": 3.0e-3, "epochs": 4, "eval_every": 7},
          "stages": [
              {"prune": {"method": "percentile", "rate": 0.5, "output_rate_factor": 0.5, "rounds": 2,
                         "retrain": {"epochs": 2}}},
              {"prune": {"method": "threshold", "quality": 0.3, "retrain": {"epochs": 1}}},
              {"quantize": {"method": "kmeans", "bits": 4, "init": "density", "finetune": {"epochs": 2, "lr": 1e-3}}},
              {"encode": {"index_bits": 4}}]}
ENVS = [
    {"OPENBLAS_CORETYPE": "Haswell", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"},
    {"OPENBLAS_CORETYPE": "Sandybridge", "OMP_NUM_THREADS": "2", "NUMBA_NUM_THREADS": "2"},
    {"OPENBLAS_CORETYPE": "Prescott", "OMP_NUM_THREADS": "2", "NUMBA_NUM_THREADS": "1"},
]
X86 = platform.machine().lower() in ("x86_64", "amd64")


def _sim(cwd: Path, env_extra: dict, *args) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NUMBA_CPU_NAME")}
    env.update(env_extra, PYTHONPATH=str(ROOT), CI="1")
    out = subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"sim {' '.join(args)} under {env_extra} failed:\n{out.stdout}\n{out.stderr}"


def _files(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _compress_and_run(base: Path, env_extra: dict, run: bool = True) -> dict:
    base.mkdir()
    (base / "repro.yaml").write_text(yaml.safe_dump(MODEL))
    (base / "recipe.yaml").write_text(yaml.safe_dump(RECIPE))
    _sim(base, env_extra, "compress", "recipe.yaml", "--out", "out", "-q")
    if run:
        _sim(base, env_extra, "run", str(ROOT / "hwconfigs" / "eie.yaml"), "--model", "repro-dc.yaml",
             "--out", "run", "-q")
    return _files(base)


def test_compression_and_reports_are_byte_identical_across_blas_threads_and_simd(tmp_path):
    results = [_compress_and_run(tmp_path / f"env{i}", env) for i, env in enumerate(ENVS)]
    assert any(name.endswith(".npz") for name in results[0]) and any(name.startswith("run/") for name in results[0])
    assert {"out/compression.csv", "out/compression_layers.csv", "repro-dc.npz", "repro-dc.yaml",
            "run/summary.csv", "run/layers.csv", "run/energy.csv"} <= set(results[0])
    for env, files in zip(ENVS[1:], results[1:]):
        differ = sorted(n for n in set(files) | set(results[0]) if files.get(n) != results[0].get(n))
        assert not differ, f"{env} changed {differ}"
    if X86:  # numba code for another SIMD width (SSE2 instead of the host's AVX2 / AVX-512)
        generic = _compress_and_run(tmp_path / "generic", {**ENVS[0], "NUMBA_CPU_NAME": "generic"}, run=False)
        compressed = {n: h for n, h in results[0].items() if not n.startswith("run/")}
        assert generic == compressed


def test_blas_itself_differs_between_the_coretypes():
    """The environments above really change numpy's float32 products (else the test proves little)."""
    script = ("import numpy as np, hashlib; r = np.random.default_rng(0); "
              "a = r.standard_normal((300, 777)).astype(np.float32); b = r.standard_normal((777, 301)).astype(np.float32); "
              "print(hashlib.sha256((a @ b).tobytes()).hexdigest())")
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        pytest.skip("threadpoolctl not installed")
    if not X86 or not any(i.get("internal_api") == "openblas" for i in threadpool_info()):
        pytest.skip("numpy's BLAS is not an x86 OpenBLAS with selectable core types")
    hashes = set()
    for env in ENVS:
        e = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        e.update(env)
        hashes.add(subprocess.run([sys.executable, "-c", script], env=e, capture_output=True, text=True,
                                  check=True).stdout)
    assert len(hashes) > 1


def test_committed_models_reproduce(tmp_path):
    """Retrain the shipped dense LeNet-300-100 exactly as models/regenerate.sh does; same bytes."""
    for name in ("lenet300.yaml",):
        shutil.copy(ROOT / "models" / name, tmp_path / name)
    _sim(tmp_path, ENVS[1], "train", "lenet300.yaml")
    committed = np.load(ROOT / "models" / "lenet300.npz")
    fresh = np.load(tmp_path / "lenet300.npz")
    assert sorted(committed.files) == sorted(fresh.files)
    for key in committed.files:
        np.testing.assert_array_equal(fresh[key], committed[key], err_msg=key)
    assert (tmp_path / "lenet300.npz").read_bytes() == (ROOT / "models" / "lenet300.npz").read_bytes()
    assert yaml.safe_load((tmp_path / "lenet300.yaml").read_text()) == yaml.safe_load(
        (ROOT / "models" / "lenet300.yaml").read_text())


@pytest.mark.slow
def test_committed_sonic_recipe_reproduces(tmp_path):
    """The SONIC recipe (prune, k-means 6-bit, fine-tune; ~35 s) rebuilds models/lenet300-sonic.npz and its
    compression tables byte for byte from the committed dense model."""
    _sim(ROOT, ENVS[2], "compress", "models/lenet300-sonic-recipe.yaml", "--out", str(tmp_path / "out"), "-q",
         "--model-out", str(tmp_path / "lenet300-sonic.yaml"))
    assert (tmp_path / "lenet300-sonic.npz").read_bytes() == (ROOT / "models" / "lenet300-sonic.npz").read_bytes()
    for name in ("compression.csv", "compression_layers.csv"):
        committed = ROOT / "reports" / "examples" / "compression" / "lenet300-sonic" / name
        assert (tmp_path / "out" / name).read_bytes() == committed.read_bytes(), name
