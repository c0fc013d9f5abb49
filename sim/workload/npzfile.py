"""Reading a model's .npz weights safely, and checking every array against its layer.

A truncated, empty or non-zip file, a pickled object array, a wrong dtype or shape, NaN or inf
anywhere, a codebook longer than ``2**bits`` or a code that points past it: each is one problem
naming the file and the array, never a traceback or a silently wrong result.
"""
from __future__ import annotations

import zipfile
import zlib

import numpy as np

from ..limits import MAX_NPZ_BYTES, human_bytes, short

CODE_DTYPES = "iu"  # integer kinds a code / qvalue array may have


def read_npz(path: str, problems: list[str]) -> dict | None:
    """{key: array} of an .npz, or None with a problem appended ("weights: ..." naming the file)."""
    import os
    size = os.path.getsize(path)
    if size > MAX_NPZ_BYTES:
        problems.append(f"weights: {path} is {human_bytes(size)}; at most {human_bytes(MAX_NPZ_BYTES)}")
        return None
    if size == 0:
        problems.append(f"weights: {path} is empty; expected an .npz archive of arrays")
        return None
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            problems.append(f"weights: {path} is a single .npy array; expected an .npz archive of arrays")
            return None
        with npz:
            arrays = {k: npz[k] for k in npz.files}
        bad = [k for k, v in arrays.items() if not isinstance(v, np.ndarray)]
        if bad:
            problems.append(f"weights: {path}: member {short(bad[0])} is not a .npy array")
            return None
        return arrays
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, RuntimeError,
            NotImplementedError, MemoryError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        problems.append(f"weights: cannot read {path} as .npz ({type(exc).__name__}: {first})")
        return None


def _numeric(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "fiu"


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite_problem(name: str, arr: np.ndarray) -> str | None:
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        bad = np.flatnonzero(~np.isfinite(arr.reshape(-1)))
        return f"array {name!r}: must be finite; {bad.size} NaN/inf values (first at flat index {bad[0]})"
    if arr.size and arr.dtype.itemsize > 4 and float(np.max(np.abs(arr))) > FLOAT32_MAX:
        return f"array {name!r}: values up to {float(np.max(np.abs(arr))):.3g} overflow float32 (max {FLOAT32_MAX:.3g})"
    return None


def float_array_problem(name: str, arr: np.ndarray, shape: tuple | None = None) -> str | None:
    """Why ``arr`` is not a finite numeric array (of ``shape``), or None."""
    if not _numeric(arr):
        return f"array {name!r}: must be numeric (float or int); got dtype {arr.dtype}"
    if shape is not None and tuple(arr.shape) != tuple(shape):
        return f"array {name!r}: must have shape {list(shape)}; got {list(arr.shape)}"
    return _finite_problem(name, arr)


def quant_problems(layer_name: str, q: dict, arrays: dict, weight_shape: tuple) -> list[str]:
    """Problems of a layer's encoding arrays (codebook/codes or qvalues/scale) for quant ``q``."""
    out: list[str] = []
    kind, bits = q.get("kind"), int(q.get("bits", 8))
    get = {k: arrays.get(f"{layer_name}/{k}") for k in ("codebook", "codes", "scale", "qvalues")}
    if kind == "kmeans" and (get["codebook"] is not None or get["codes"] is not None):
        cb, codes = get["codebook"], get["codes"]
        if cb is None or codes is None:
            missing = "codebook" if cb is None else "codes"
            out.append(f"array '{layer_name}/{missing}': missing; k-means weights need both codebook and codes")
            return out
        msg = float_array_problem(f"{layer_name}/codebook", cb)
        if msg is None and (cb.ndim != 1 or not 1 <= cb.size <= 2 ** bits):
            msg = (f"array '{layer_name}/codebook': must be 1-D with 1 to 2**{bits} = {2 ** bits} centroids "
                   f"(quant.bits {bits}); got shape {list(cb.shape)}")
        if msg:
            out.append(msg)
        if codes.dtype.kind not in CODE_DTYPES:
            out.append(f"array '{layer_name}/codes': must be integers; got dtype {codes.dtype}")
        elif tuple(codes.shape) != tuple(weight_shape):
            out.append(f"array '{layer_name}/codes': must have the weight's shape {list(weight_shape)}; got "
                       f"{list(codes.shape)}")
        elif codes.size and not msg and (codes.min() < 0 or codes.max() >= cb.size):
            out.append(f"array '{layer_name}/codes': must index the {cb.size}-entry codebook (0..{cb.size - 1}); "
                       f"got values {int(codes.min())}..{int(codes.max())}")
    if kind in ("linear", "binary") and (get["qvalues"] is not None or get["scale"] is not None):
        qv, scale = get["qvalues"], get["scale"]
        if qv is None or scale is None:
            missing = "qvalues" if qv is None else "scale"
            out.append(f"array '{layer_name}/{missing}': missing; {kind} weights need both qvalues and scale")
            return out
        lo, hi = (-1, 1) if kind == "binary" else (-(2 ** (min(bits, 8) - 1)), 2 ** (min(bits, 8) - 1) - 1)
        if qv.dtype.kind not in CODE_DTYPES:
            out.append(f"array '{layer_name}/qvalues': must be integers; got dtype {qv.dtype}")
        elif tuple(qv.shape) != tuple(weight_shape):
            out.append(f"array '{layer_name}/qvalues': must have the weight's shape {list(weight_shape)}; got "
                       f"{list(qv.shape)}")
        elif qv.size and (qv.min() < lo or qv.max() > hi):
            out.append(f"array '{layer_name}/qvalues': must be in [{lo}, {hi}] for {kind} {bits}-bit weights; got "
                       f"values {int(qv.min())}..{int(qv.max())}")
        msg = float_array_problem(f"{layer_name}/scale", scale)
        if msg is None and scale.size not in (1, weight_shape[0]):
            msg = (f"array '{layer_name}/scale': must hold 1 value or one per output ({weight_shape[0]}); got shape "
                   f"{list(scale.shape)}")
        if msg is None and not np.all(scale > 0):
            msg = f"array '{layer_name}/scale': must be > 0; got min {float(scale.min()):g}"
        if msg:
            out.append(msg)
    return out
