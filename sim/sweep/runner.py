"""Evaluate a sweep's points on a local process pool, in-process, or on a Dask cluster, recording
each finished chunk in a store (in memory, or sweep.csv when resuming from a folder).

Work goes out in chunks of points that share one execution (same compression, batch and seed), so
a worker's execution cache is hit by every point of a chunk and a chunk's rows cost one fsync.
At most ``IN_FLIGHT_PER_WORKER`` chunks per worker are outstanding: that bounds what a kill loses.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading

from ..errors import ConfigError, SimulationError
from .execute import evaluate_chunk
from .expand import Point, execution_key
from .orphans import die_with_parent
from .spec import SweepSpec

MAX_CHUNK_POINTS = 25
IN_FLIGHT_PER_WORKER = 2


def default_workers() -> int:
    """Cores this process may use (respects CPU affinity, e.g. in containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_chunks(spec: SweepSpec, points: list[Point], workers: int,
                max_points: int = MAX_CHUNK_POINTS) -> list[list[Point]]:
    """Points grouped by execution key (first-seen order, index order within), cut into chunks
    small enough that every worker gets several."""
    groups: dict[str, list[Point]] = {}
    for p in points:
        groups.setdefault(execution_key(spec, p.values), []).append(p)
    size = max(1, min(max_points, -(-len(points) // (4 * max(1, workers)))))
    return [g[i:i + size] for g in groups.values() for i in range(0, len(g), size)]


class _Inline:
    """Evaluate chunks in this process (one worker: no pickling, no process start-up)."""

    workers = 1

    def submit(self, spec, chunk):
        fut = cf.Future()
        fut.set_result(evaluate_chunk(spec, chunk))
        return fut

    def wait(self, futures):
        return set(futures), set()

    def result(self, fut):
        return fut.result()

    def close(self):
        pass


def _claim_fork_safe_threads() -> bool:
    """Can this process still fork safely once it runs parallel kernels? GNU OpenMP (numba's
    default threading layer on Linux) aborts a child forked after its threads started. If no
    parallel kernel has run yet, pick numba's fork-safe layer for this process now (the parent
    only runs kernels from its main thread, so the layer need not be thread-safe)."""
    import numba

    try:
        return numba.threading_layer() != "omp"
    except ValueError:  # not initialised: no parallel kernel has run in this process yet
        numba.config.THREADING_LAYER = "forksafe"
        return True


class _LocalPool:
    """A process pool on this machine."""

    def __init__(self, workers: int):
        # fork starts workers with sim already imported (fast); but forking a process that runs
        # other threads (a Dask client, say, or GNU OpenMP's pool) can deadlock or abort the
        # child, so then use a fork server.
        methods = multiprocessing.get_all_start_methods()
        method = "fork" if "fork" in methods and threading.active_count() == 1 and _claim_fork_safe_threads() \
            else "forkserver" if "forkserver" in methods else "spawn"
        self.workers = workers
        self.forks = method == "fork"
        self.pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method),
                                           initializer=die_with_parent, initargs=(os.getpid(),))

    def submit(self, spec, chunk):
        return self.pool.submit(evaluate_chunk, spec, chunk)

    def wait(self, futures):
        done, pending = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done, pending

    def result(self, fut):
        try:
            return fut.result()
        except cf.process.BrokenProcessPool:
            raise SimulationError("a sweep worker process died (out of memory?); finished points are saved in "
                                  "sweep.csv, rerun to resume") from None

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)  # after an error or Ctrl-C: drop queued chunks


class _Dask:
    """A Dask distributed cluster at ``address`` (or an existing ``distributed.Client``)."""

    def __init__(self, scheduler):
        try:
            import distributed
        except ImportError:
            raise ConfigError("sim.sweep", "scheduler: a Dask cluster needs the dask[distributed] package; "
                                           "pip install 'dask[distributed]'") from None
        self._distributed = distributed
        if isinstance(scheduler, distributed.Client):
            self.client, self._own = scheduler, False
        else:
            try:
                self.client, self._own = distributed.Client(scheduler, timeout="20s"), True
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError("sim.sweep", f"scheduler: cannot connect to a Dask scheduler at {scheduler!r} "
                                               f"({exc})") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self._spec = None

    def submit(self, spec, chunk):
        if self._spec is None:  # send the spec once; each task then carries only its points
            self._spec = self.client.scatter(spec, broadcast=True)
        return self.client.submit(evaluate_chunk, self._spec, chunk, pure=False)

    def wait(self, futures):
        res = self._distributed.wait(list(futures), return_when="FIRST_COMPLETED")
        return set(res.done), set(res.not_done)

    def result(self, fut):
        return fut.result()

    def close(self):
        if self._own:
            self.client.close()


def backend_for(workers: int, scheduler):
    if scheduler is not None:
        return _Dask(scheduler)
    return _Inline() if workers == 1 else _LocalPool(workers)


def progress_bar(total: int, initial: int, desc: str, enabled: bool):
    """Points done of ``total`` (sim.progress.bar: on a terminal only)."""
    from ..progress import bar
    return bar(total, desc, "pt", initial=initial, enabled=enabled, smoothing=0.1, mininterval=0.5)


def evaluate(spec: SweepSpec, todo: list[Point], backend, store, bar) -> None:
    """Evaluate ``todo`` on ``backend``, recording each finished chunk in ``store`` as it arrives."""
    by_index = {p.index: p for p in todo}

    def record(rows):
        store.record([(by_index[i].point_id, line) for i, line in rows])
        bar.update(len(rows))

    if getattr(backend, "forks", False):
        # Evaluate the first point here, before the pool forks (on first submit): every worker
        # then inherits its execution (all of it, in a hardware-only sweep), the imports and the
        # compiled kernels instead of each redoing them.
        record(evaluate_chunk(spec, todo[:1]))
        todo = todo[1:]
    queue, running = list(reversed(make_chunks(spec, todo, backend.workers))), set()
    try:
        while queue or running:
            while queue and len(running) < IN_FLIGHT_PER_WORKER * backend.workers:
                running.add(backend.submit(spec, queue.pop()))
            done, running = backend.wait(running)
            for fut in done:
                record(backend.result(fut))
    finally:
        bar.close()
