"""Model files for training and compression: architectures and in-place YAML keys."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ..workload.load import network_from_dict
from ..yamlfile import read_yaml
from ..workload.network import Network


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
