"""Output folders: names made safe, ``--out`` checked before any work, staging folders of killed runs
cleaned, and a staging folder that becomes the output only when everything in it is written.

A report folder is named from user text (a design's or model's ``name``), so that text must never
climb out of ``reports/`` (``../../x``) or make nested folders (``a/b``).
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import ConfigError

MAX_NAME_CHARS = 80
STAGING_TAG = ".staging-"  # staging folders are .<name>.staging-<pid>-<random>
STALE_AFTER_S = 60.0  # a staging folder whose process is gone and that is this old is debris


def safe_name(text, fallback: str = "unnamed") -> str:
    """``text`` as one folder-name component: letters, digits, ``.``, ``_``, ``+``, ``-`` only, no leading
    dot, at most MAX_NAME_CHARS characters."""
    name = re.sub(r"[^A-Za-z0-9._+-]+", "_", str(text)).strip("._") or fallback
    return name[:MAX_NAME_CHARS]


def default_out(*parts: str, names=()) -> str:
    """``reports/<parts...>/<name1>-<name2>`` with every user-given name made safe."""
    return os.path.join(*parts, "-".join(safe_name(n) for n in names)) if names else os.path.join(*parts)


def check_out_dir(out, flag: str = "--out") -> Path:
    """ConfigError unless ``out`` is (or can be made as) a writable folder: not an existing file, not
    under a file, and its nearest existing ancestor writable (tested by creating a folder in it, which
    works for root too). Creates nothing that stays."""
    out = Path(out)
    text = str(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(flag, f"{text} exists and is not a folder; give a folder for the reports")
    probe_in = out if out.is_dir() else None
    if probe_in is None:
        parent = out.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise ConfigError(flag, f"cannot create {text}: {parent} is a file, not a folder")
        probe_in = parent
    try:
        probe = tempfile.mkdtemp(prefix=".sim-write-check-", dir=probe_in)
        os.rmdir(probe)
    except OSError as exc:
        raise ConfigError(flag, f"cannot write in {probe_in} ({exc.strerror or exc})") from None
    return out


def check_out_file(out, flag: str = "--out") -> Path:
    """ConfigError unless ``out`` can be written as a file: not an existing folder, and its folder
    (or the nearest existing ancestor) writable. Creates nothing that stays."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(flag, f"{out} is a folder; give a file name")
    if not out.name or out.name in (".", ".."):
        raise ConfigError(flag, f"{out} is not a file name")
    check_out_dir(out.parent if str(out.parent) else Path("."), flag)
    return out


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file beside it and a rename; nothing is left on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def pid_alive(pid: int) -> bool:
    """Does process ``pid`` exist (signal 0; a process we may not signal still exists)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_staging(parent: Path, name: str) -> None:
    """Remove ``.<name>.staging-<pid>-*`` folders in ``parent`` left by runs that were killed."""
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    prefix = f".{name}{STAGING_TAG}"
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(prefix) or not entry.is_dir():
            continue
        pid_text = entry.name[len(prefix):].split("-", 1)[0]
        try:
            pid = int(pid_text)
        except ValueError:
            continue
        try:
            old = now - entry.stat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if (pid != os.getpid() and not pid_alive(pid)) or (pid == os.getpid() and old):
            shutil.rmtree(entry, ignore_errors=True)


def make_staging(out: Path) -> Path:
    """A fresh hidden staging folder beside ``out``, named with this process id (for cleaning)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out.parent, out.name)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}{STAGING_TAG}{os.getpid()}-", dir=out.parent))


def publish(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out`` (created if needed); files in ``out`` that the
    run does not write are kept."""
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(staging.iterdir()):
        os.replace(f, out / f.name)


@contextmanager
def staged_output(out):
    """Write into the yielded staging folder; on success its files move into ``out``, on any failure
    nothing is left (and ``out`` is not created)."""
    out = Path(out)
    staging = make_staging(out)
    try:
        yield staging
        publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged_outputs(out_dir, model_path):
    """Stage a report folder and a model file (YAML + .npz beside it) that may live elsewhere.

    Yields (staging folder, staging model path, final(path) mapping a staged path to its final
    one); on success the model's files move beside ``model_path`` and the folder's into ``out_dir``."""
    out, model = Path(out_dir), Path(model_path)
    inside = model.parent.absolute() == out.absolute()
    with staged_output(out) as stage:
        if inside:
            yield str(stage), str(stage / model.name), lambda f: str(out / Path(f).name)
        else:
            with staged_output(model.parent) as mstage:
                def final(f):
                    return str((model.parent if Path(f).parent == mstage else out) / Path(f).name)
                yield str(stage), str(mstage / model.name), final
