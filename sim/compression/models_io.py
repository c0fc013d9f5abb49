"""Model files for training and compression: architectures, byte-identical .npz, in-place YAML keys."""
from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

import numpy as np

from ..workload.load import network_from_dict, read_yaml, save_network
from ..workload.network import Network

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed entry time: the same arrays always give the same bytes


def load_architecture(path: str | os.PathLike) -> Network:
    """The network a model YAML describes, ignoring its ``weights`` and ``accuracy`` (for training
    from scratch, before any weights file exists). Weights are zero until initialised."""
    data = read_yaml(path)
    data = {k: v for k, v in data.items() if k not in ("weights", "accuracy")}
    data["layers"] = [({k: v for k, v in spec.items() if k not in ("quant", "weight_density")}
                       if isinstance(spec, dict) else spec) for spec in (data.get("layers") or [])] or None
    return network_from_dict(data, str(path))


def has_weights(path: str | os.PathLike) -> bool:
    """Whether the model YAML names a weights file that exists."""
    data = read_yaml(path)
    w = data.get("weights")
    return isinstance(w, str) and os.path.exists(os.path.join(os.path.dirname(str(path)), w))


def write_npz(path: str | os.PathLike, arrays: dict) -> None:
    """Write a compressed .npz whose bytes depend only on ``arrays`` (sorted keys, fixed timestamps)."""
    path = Path(path)
    tmp = path.with_suffix(".tmp.npz")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())
    os.replace(tmp, path)


def weight_arrays(net: Network) -> dict:
    """The .npz arrays of a network's weights and encodings, keyed as ``sim.workload.load`` reads them."""
    arrays = {}
    for layer in net.weighted_layers:
        arrays[f"{layer.name}/weight"] = layer.weight
        if layer.bias is not None:
            arrays[f"{layer.name}/bias"] = layer.bias
        if layer.quant is not None:
            for k in ("codebook", "codes", "scale", "qvalues"):
                if getattr(layer.quant, k) is not None:
                    arrays[f"{layer.name}/{k}"] = np.asarray(getattr(layer.quant, k))
    return arrays


def save_model(net: Network, path: str | os.PathLike, extra: dict | None = None) -> None:
    """``save_network`` (YAML + .npz beside it), then rewrite the .npz byte-reproducibly."""
    save_network(net, path, extra)
    write_npz(Path(path).with_suffix(".npz"), weight_arrays(net))


def set_top_keys(path: str | os.PathLike, values: dict) -> None:
    """Set top-level scalar keys of a YAML file in place, keeping its comments and layout.

    An existing ``key: ...`` line is replaced; a missing key is inserted before ``layers:``.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for key, value in values.items():
        text = f"{key}: {value}\n"
        pattern = re.compile(rf"^{re.escape(key)}\s*:")
        for i, line in enumerate(lines):
            if pattern.match(line):
                lines[i] = text
                break
        else:
            at = next((i for i, line in enumerate(lines) if line.startswith("layers:")), len(lines))
            lines.insert(at, text)
    tmp = path.with_suffix(".tmp.yaml")
    tmp.write_text("".join(lines), encoding="utf-8")
    os.replace(tmp, path)
