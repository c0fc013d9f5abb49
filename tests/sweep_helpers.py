"""Small sweep specs for the sweep tests: a tiny synthetic fc model on the systolic design."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_MODEL = {
    "version": 1, "name": "tinyfc", "input_shape": [32], "input_density": 0.5, "seed": 1,
    "layers": [
        {"name": "fc1", "type": "fc", "out_features": 48, "weight_density": 0.5},
        {"name": "relu1", "type": "relu"},
        {"name": "fc2", "type": "fc", "out_features": 10},
    ],
}


def write_model(folder: Path) -> Path:
    path = folder / "tinyfc.yaml"
    path.write_text(yaml.safe_dump(TINY_MODEL, sort_keys=False))
    return path


def write_spec(folder: Path, name: str = "spec", **sections) -> Path:
    """A spec over hwconfigs/systolic.yaml and the tiny model; ``sections`` add or replace keys."""
    spec = {"version": 1, "name": name, "hardware": str(ROOT / "hwconfigs" / "systolic.yaml"),
            "model": str(write_model(folder)), "engine": "analytical", "executor": "reference"}
    spec.update(sections)
    spec = {k: v for k, v in spec.items() if v is not None}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
