"""Where a user's relative path points: as given from the working directory, else inside the
repository checkout (so ``hwconfigs/sonic.yaml`` works from a notebook or a shell anywhere)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_path(path: str | os.PathLike) -> str:
    """``path`` as given when it exists (or is absolute), else relative to the repository when
    that exists, else as given (the loader then reports it as not found)."""
    path = str(path)
    if os.path.exists(path) or os.path.isabs(path):
        return path
    alt = REPO_ROOT / path
    return str(alt) if alt.exists() else path


def resolve_beside(path: str, file: str) -> str:
    """A path written inside ``file`` (a sweep spec, say): absolute, beside ``file``, from the
    working directory, or from the repository; as given when none exists."""
    if os.path.isabs(path):
        return path
    for base in (os.path.dirname(file), os.getcwd(), str(REPO_ROOT)):
        candidate = os.path.normpath(os.path.join(base, path))
        if os.path.exists(candidate):
            return candidate
    return path
