"""Where sweep cells run: one ``concurrent.futures.Executor`` interface, three engines.

- ``serial`` (the library's default): in this process, one task at a time; needs nothing.
- ``auto`` (``--workers auto``, the main job's default): :func:`auto_workers` picks ``processes`` with one worker per
  usable core (at most :data:`AUTO_MAX_WORKERS`, at most one per missing cell, as many as half the machine's memory
  holds at the config's per-worker estimate) when the config's work estimate repays starting them, else serial.
- ``processes`` (``--workers N``): ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start
  method (``fork`` is unsafe once threads exist - tqdm, BLAS, a Dask client; on this 2-core machine
  spawn and forkserver both start a worker in about 0.15-0.2 s, so the simplest safe one is used).
- ``dask`` (``--scheduler ADDRESS`` or ``--scheduler local``): ``distributed.Client(...).get_executor()``
  on an existing cluster, or on a ``LocalCluster`` of ``--workers`` single-threaded processes. Dask is
  the optional ``dist`` extra; without it only this engine is unavailable.

:func:`open_executor` validates its arguments, starts the engine and returns a context manager whose
``executor`` has ``submit`` and works with ``concurrent.futures.wait`` / ``as_completed``. Results never
depend on the engine: every cell carries its own seed (see ``sims.sweep.runner``).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib
import logging
import math
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sims.engine.validation import Interval, check_number

__all__ = [
    "MAX_WORKERS",
    "START_METHOD",
    "SerialExecutor",
    "ExecutorHandle",
    "AUTO_MAX_WORKERS",
    "AUTO_MIN_WORK",
    "auto_workers",
    "check_executor_args",
    "check_int",
    "dask_available",
    "open_executor",
]

#: upper bound of ``--workers`` (a typo like ``--workers 4000`` must not fork-bomb the machine)
MAX_WORKERS = 1024
#: most worker processes ``workers="auto"`` starts
AUTO_MAX_WORKERS = 4
#: ``workers="auto"`` stays serial below this much work (``SweepConfig.work_estimate``, about multiply-adds): a worker
#: imports numpy / scipy first (about a second on 2 cores); the main job's default grid (n = 64, about 3e8) already
#: runs faster in 2 processes (8.1 s vs 9.5 s serial), its --quick grid (about 1e7) is faster serial
AUTO_MIN_WORK = 1e8
#: multiprocessing start method of the process engine
START_METHOD = "spawn"
#: default seconds to wait for a Dask scheduler (and its first worker) to answer
DEFAULT_SCHEDULER_TIMEOUT = 10.0
#: the Dask setting that LocalCluster workers leave unset (see _open_dask)
_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"

_ADDRESS = re.compile(r"^(?:(?P<proto>[a-z][a-z0-9+.-]*)://)?(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})$")


class SerialExecutor(cf.Executor):
    """Runs each submitted call at once, in this process; returns an already finished ``Future``.

    ``KeyboardInterrupt`` (and other ``BaseException``) propagates out of ``submit`` itself, so Ctrl-C
    stops a serial sweep immediately.
    """

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fut: cf.Future = cf.Future()
        fut.set_running_or_notify_cancel()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        else:
            fut.set_result(result)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


@dataclass
class ExecutorHandle:
    """A started engine. Use as a context manager (``with open_executor(...) as h: h.executor.submit``)."""

    executor: cf.Executor
    kind: str  # "serial" | "processes" | "dask"
    n_workers: int
    address: str | None = None
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the engine."""
        d: dict[str, Any] = {"kind": self.kind, "workers": self.n_workers}
        if self.kind == "processes":
            d["start_method"] = START_METHOD
        if self.address is not None:
            d["scheduler"] = self.address
        return d

    def close(self, *, cancel: bool = False) -> None:
        """Stop the engine (``cancel=True``: drop queued tasks, do not wait for running ones)."""
        closers, self._closers = self._closers, []
        try:
            self.executor.shutdown(wait=not cancel, cancel_futures=cancel)
        except TypeError:  # executors without cancel_futures (Dask's ClientExecutor)
            self.executor.shutdown(wait=not cancel)
        _run_closers(closers)

    def __enter__(self) -> "ExecutorHandle":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(cancel=exc_type is not None)


def _run_closers(closers: list[Callable[[], None]]) -> None:
    """Call ``closers`` last first; closing must not mask the run's own error."""
    for fn in reversed(closers):
        try:
            fn()
        except Exception:  # noqa: BLE001
            pass


def check_int(name: str, value: Any, lo: int, hi: int) -> int:
    """``check_number(..., integer=True)`` on ``[lo, hi]`` (exact for ints of any size)."""
    return check_number(name, value, Interval(lo, hi, "[]"), integer=True)


def dask_available() -> tuple[bool, str]:
    """``(True, "")`` when ``dask.distributed`` imports, else ``(False, reason)``."""
    try:
        importlib.import_module("distributed")
    except Exception as exc:  # ImportError, or a broken install
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def check_executor_args(
    workers: Any = None,
    scheduler: Any = None,
    scheduler_timeout: Any = DEFAULT_SCHEDULER_TIMEOUT,
) -> tuple[int | None, str | None, float]:
    """Validate the engine flags (no side effects); returns them normalized.

    ``workers``: ``None`` (serial) or an int in ``[1, MAX_WORKERS]``; with ``scheduler="local"`` the
    number of LocalCluster processes; not allowed with a remote scheduler (its cluster decides).
    ``scheduler``: ``None``, ``"local"`` or ``[protocol://]host:port``.
    """
    if workers is not None:
        workers = check_int("--workers", workers, 1, MAX_WORKERS)
    timeout = check_number("--scheduler-timeout", scheduler_timeout, Interval(0, 3600, "(]"))
    if scheduler is None:
        return workers, None, timeout
    if not isinstance(scheduler, str):
        raise ValueError(f"--scheduler == {scheduler!r}, must be 'local' or an address like tcp://host:8786")
    if scheduler != "local":
        m = _ADDRESS.match(scheduler)
        if m is None or not (1 <= int(m.group("port")) <= 65535):
            raise ValueError(
                f"--scheduler == {scheduler!r}, must be 'local' or an address like tcp://host:8786 "
                "(port in [1, 65535])"
            )
        if workers is not None:
            raise ValueError(
                f"--workers == {workers} cannot be combined with --scheduler == {scheduler!r}: "
                "a remote cluster has its own workers (use --workers with --scheduler local)"
            )
    ok, why = dask_available()
    if not ok:
        raise ValueError(
            f"--scheduler == {scheduler!r} needs dask.distributed (the 'dist' extra: "
            f"pip install 'monosem[dist]'), which is not importable here ({why})"
        )
    return workers, scheduler, timeout


def open_executor(
    workers: int | None = None,
    scheduler: str | None = None,
    *,
    scheduler_timeout: float = DEFAULT_SCHEDULER_TIMEOUT,
) -> ExecutorHandle:
    """Start the engine chosen by the flags: serial, a process pool, or a Dask client.

    Raises ``ValueError`` (naming the flag) for bad values, a missing ``dist`` extra, or a scheduler that
    does not answer within ``scheduler_timeout`` seconds.
    """
    workers, scheduler, timeout = check_executor_args(workers, scheduler, scheduler_timeout)
    if scheduler is not None:
        return _open_dask(scheduler, workers, timeout)
    if workers is None:
        return ExecutorHandle(SerialExecutor(), "serial", 1)
    ctx = multiprocessing.get_context(START_METHOD)
    pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_follow_parent,
                                  initargs=(os.getpid(),))
    return ExecutorHandle(pool, "processes", workers)


#: seconds between two checks of a worker process that its parent is still alive
PARENT_POLL_S = 0.5


def _follow_parent(parent_pid: int) -> None:
    """Initializer of every worker process: exit when the parent dies (``kill -9`` of the CLI).

    A worker would otherwise finish its batch of cells - minutes of CPU - before it noticed that no one
    reads the results, and multiprocessing's resource tracker would live as long as it. Linux: the
    kernel sends SIGKILL when the parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere (POSIX): a
    daemon thread polls ``os.getppid()`` every :data:`PARENT_POLL_S` seconds and ends the process
    with ``os._exit`` once the worker has been re-parented.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except Exception:  # noqa: BLE001 - the polling thread below still covers it
            pass
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="sims-follow-parent", daemon=True).start()


def _open_dask(scheduler: str, workers: int | None, timeout: float) -> ExecutorHandle:
    from distributed import Client

    quiet = _QuietLogs("distributed", "tornado", "asyncio")
    closers: list[Callable[[], None]] = []
    with quiet:
        if scheduler == "local":
            import dask
            from distributed import LocalCluster

            n = workers or max(1, min(os.cpu_count() or 1, 4))
            # Worker processes inherit an ignored SIGINT: Ctrl-C reaches this process only, which
            # then closes the cluster (otherwise every worker prints its own KeyboardInterrupt).
            # Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's
            # dynamic mmap threshold: every numpy temporary above 128 KiB is then mapped and zeroed afresh,
            # and the cells run about twice as slowly as in this process (measured on the main job's
            # cells); the workers of a LocalCluster keep glibc's defaults.
            with _sigint_ignored(), dask.config.set({_TRIM: None}):
                cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            closers.append(cluster.close)
            client = Client(cluster, timeout=timeout)
            address = "local"
        else:
            try:
                client = Client(scheduler, timeout=timeout)
            except Exception as exc:  # OSError / TimeoutError from the comm layer
                raise ValueError(
                    f"--scheduler == {scheduler!r}: no Dask scheduler answered within {timeout:g} s "
                    f"({type(exc).__name__}); start one (dask scheduler) or use --scheduler local"
                ) from None
            address = scheduler
        closers.append(client.close)  # closed first (reversed order), then its LocalCluster
        try:
            client.wait_for_workers(1, timeout=timeout)
        except Exception:
            _run_closers(closers)
            raise ValueError(
                f"--scheduler == {scheduler!r}: the scheduler has no workers after {timeout:g} s"
            ) from None
        n_workers = max(1, sum(client.nthreads().values()))
    return ExecutorHandle(client.get_executor(pure=False), "dask", n_workers, address, closers)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


class _QuietLogs:
    """Raise the level of noisy loggers to ERROR for a block (a refused connection must not print)."""

    def __init__(self, *names: str) -> None:
        self.names = names
        self.saved: list[tuple[logging.Logger, int]] = []

    def __enter__(self) -> None:
        for n in self.names:
            lg = logging.getLogger(n)
            self.saved.append((lg, lg.level))
            lg.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: Any) -> None:
        for lg, lvl in self.saved:
            lg.setLevel(lvl)
        self.saved.clear()


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _physical_memory() -> float | None:
    try:
        return float(os.sysconf("SC_PAGE_SIZE")) * float(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - Windows
        return None


def auto_workers(n_missing: int, work: float | None, worker_bytes: float | None = None, *,
                 cpus: int | None = None, memory: float | None = None) -> int | None:
    """Worker processes for ``workers="auto"`` (``None``: serial): ``min(cpus, AUTO_MAX_WORKERS, n_missing)``,
    lowered so that the workers' estimated peaks (``worker_bytes`` each) fit half of ``memory`` (default: the
    machine's), when ``work`` (the missing cells' estimate, about multiply-adds) is at least
    :data:`AUTO_MIN_WORK`; serial when that leaves fewer than 2, when ``work`` is None (no estimate) or small."""
    if work is None or not work >= AUTO_MIN_WORK:
        return None
    k = min(usable_cpus() if cpus is None else cpus, AUTO_MAX_WORKERS, int(n_missing))
    memory = _physical_memory() if memory is None else memory
    if worker_bytes and memory:
        k = min(k, int(0.5 * memory // worker_bytes))
    return k if k >= 2 else None


def auto_cells_per_task(n_cells: int, n_workers: int, kind: str) -> int:
    """Cells per task for ``cells_per_task="auto"``: 1 when serial, else so that tasks ~ 4 x workers
    (enough tasks to balance the load, few enough that start-up and transfer do not dominate)."""
    if kind == "serial" or n_cells <= 0:
        return 1
    return max(1, math.ceil(n_cells / (4 * n_workers)))
