"""Sweep workers die with the sweep: a ``kill -9`` of the parent must not leave pool workers running.

On Linux the kernel does it (prctl PR_SET_PDEATHSIG: SIGKILL when the parent exits); everywhere a
daemon thread also polls the parent's pid, which covers fork-server workers, whose direct parent is
the fork server rather than the sweep."""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

from ..outdir import pid_alive

PR_SET_PDEATHSIG = 1
POLL_S = 1.0


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the polling thread still covers it


def _watch(pid: int) -> None:
    while True:
        time.sleep(POLL_S)
        if os.getppid() == 1 or not pid_alive(pid):
            os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Pool initializer: end this worker when ``parent_pid`` (the sweep) is gone."""
    _set_pdeathsig()
    if not pid_alive(parent_pid):  # the parent died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), daemon=True, name="sim-parent-watch").start()
