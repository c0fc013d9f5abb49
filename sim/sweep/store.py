"""sweep.csv as a crash-safe, append-only store keyed by point id.

Why it survives ``kill -9`` at any moment:

- the file is created with its header by writing a temporary file and renaming it, so it either
  does not exist or has a complete header;
- finished rows are appended with one ``write`` on an ``O_APPEND`` descriptor followed by ``fsync``;
  an interrupted write can only leave an unterminated tail, never a gap or a torn middle row;
- on reopening, an unterminated tail is cut off (that row was in flight; it is recomputed), and a
  point id seen twice keeps its first row;
- the final reordering by point index rewrites the whole file to a temporary and renames it.

Only one sweep may write a folder at a time (an advisory ``flock`` that dies with its process).
"""
from __future__ import annotations

import csv
import fcntl
import os
import tempfile
from pathlib import Path

from ..errors import ConfigError
from .execute import format_row

SWEEP_CSV = "sweep.csv"
LOCK_FILE = ".sweep.lock"
FILE_MODE = 0o644
TEMP_PREFIXES = (".sweep.csv.", ".pareto.csv.", ".pareto.png.", ".vs_")  # see write_atomic and plots._save


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data`` all at once: temporary file, fsync, rename, fsync the folder."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)  # mkstemp makes 0600; reports are for everyone who can read the folder
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def sweep_text(header: str, rows: dict[str, str], order: dict[str, int]) -> str:
    """sweep.csv's content: ``header``, then the ``rows`` (point id -> line) in point order."""
    return header + "".join(line for _, line in sorted(rows.items(), key=lambda kv: order[kv[0]]))


class MemoryStore:
    """The rows of a sweep kept in memory (``sim.sweep`` without a folder): nothing touches the disk."""

    def __init__(self, columns: list[str]):
        self.columns = list(columns)
        self.header = format_row(self.columns)
        self.rows: dict[str, str] = {}

    def record(self, rows: list[tuple[str, str]]) -> None:
        for pid, line in rows:
            self.rows.setdefault(pid, line)

    def text(self, order: dict[str, int]) -> str:
        """sweep.csv's content: the header, then the rows in point order."""
        return sweep_text(self.header, self.rows, order)

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(self, *exc) -> None:
        pass


class SweepStore:
    """The rows of one sweep folder. ``rows`` maps point id -> its CSV line (with newline)."""

    def __init__(self, out_dir: str | os.PathLike, columns: list[str], point_ids: set[str]):
        self.dir = Path(out_dir)
        self.path = self.dir / SWEEP_CSV
        self.columns = list(columns)
        self.header = format_row(self.columns)
        self.rows: dict[str, str] = {}
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._point_ids = point_ids

    def open(self) -> "SweepStore":
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise ConfigError(str(self.dir),
                              "another sweep is writing to this folder; wait for it or use another output folder")
        try:
            self._remove_leftovers()
            if self.path.exists():
                self._recover()
            else:
                write_atomic(self.path, self.header.encode())
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            self.close()
            raise
        return self

    def _remove_leftovers(self) -> None:
        """Temporary files of an atomic write that a kill interrupted (we hold the lock: no one
        else is writing them)."""
        for f in self.dir.iterdir():
            if f.name.startswith(TEMP_PREFIXES) and f.is_file():
                f.unlink()

    def _recover(self) -> None:
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a row cut short by a kill: it was in flight, drop it
            with open(self.path, "r+b") as f:
                f.truncate(end)
                f.flush()
                os.fsync(f.fileno())
            data = data[:end]
        if not data:
            write_atomic(self.path, self.header.encode())
            return
        lines = data.decode("utf-8").splitlines(keepends=True)
        if lines[0] != self.header:
            raise ConfigError(str(self.path), "exists with other columns than this spec's ("
                              f"{lines[0].strip()[:120]}...); use another output folder or delete it")
        stale, duplicated = [], False
        for n, line in enumerate(lines[1:], start=2):
            fields = next(csv.reader([line]))
            if len(fields) != len(self.columns):
                raise ConfigError(str(self.path), f"line {n}: {len(fields)} fields, expected {len(self.columns)}; "
                                  "the file was edited by hand? use another output folder or delete it")
            pid = fields[0]
            if pid not in self._point_ids:
                stale.append(pid)
            elif pid in self.rows:
                duplicated = True
            else:
                self.rows[pid] = line
        if stale:
            raise ConfigError(str(self.path), f"{len(stale)} rows (e.g. point {stale[0]}) are not points of this spec: "
                              "the spec, its base design or its model changed since they were written; use "
                              "another output folder or delete it")
        if duplicated:  # cannot come from our appends; heal it anyway, keeping the first row of each id
            write_atomic(self.path, (self.header + "".join(self.rows.values())).encode())

    def append(self, lines: list[str]) -> None:
        """Add finished rows durably: one write of whole lines, then fsync."""
        data = "".join(lines).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)

    def record(self, rows: list[tuple[str, str]]) -> None:
        """Append (point id, line) pairs not already stored."""
        new = [(pid, line) for pid, line in rows if pid not in self.rows]
        if new:
            self.append([line for _, line in new])
            self.rows.update(new)

    def text(self, order: dict[str, int]) -> str:
        """sweep.csv's content: the header, then the rows in point order (``order``: point id -> index)."""
        return sweep_text(self.header, self.rows, order)

    def finalize(self, order: dict[str, int]) -> None:
        """Rewrite the file with rows in point order (``order``: point id -> index)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        write_atomic(self.path, self.text(order).encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "SweepStore":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()
