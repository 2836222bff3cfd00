"""The worker processes that execute notebooks (a run's two, a batch's scenarios): they die with the
process that started them, Ctrl-C stops the notebook a worker is running, and an idle worker leaves
quietly."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["InProcess", "busy", "quiet_resource_tracker", "worker_pool", "worker_setup"]


class InProcess:
    """An executor that runs each call at once, in this process (inside a daemonic batch worker,
    which may not start processes of its own, or when one notebook at a time is asked)."""

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever reads the result
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        return None


# True while a worker executes a notebook: SIGINT then stops the notebook; an idle worker leaves quietly.
_busy = False


@contextlib.contextmanager
def busy() -> Iterator[None]:
    """A worker executes a notebook inside this: SIGINT then stops the notebook instead of leaving."""
    global _busy
    _busy = True
    try:
        yield
    finally:
        _busy = False


def _worker_sigint(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
    if _busy:
        raise KeyboardInterrupt
    os._exit(128 + signum)  # idle, waiting for work: nothing to stop and nothing to print


def _die_with_parent(parent_pid: int) -> None:
    """Stop this worker at once when the process that started it dies, even by ``kill -9``.

    On Linux the kernel sends SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon thread also
    watches the parent's pid, which covers other systems and a parent that died before prctl.
    The notebook kernels a worker starts follow it: jupyter_client gives them ``JPY_PARENT_PID``
    and ipykernel's parent poller ends a kernel whose parent is gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):  # no libc prctl (musl without it, a sandbox): the thread remains
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="salesmodel-parent-watch", daemon=True).start()


def worker_setup(parent_pid: int) -> None:
    """Initializer of every worker process (run, batch): it dies with its parent, Ctrl-C stops the
    notebook it is running, and a stop never prints a worker's traceback."""
    import logging

    _die_with_parent(parent_pid)
    # a notebook stopped by Ctrl-C leaves nbclient's tasks to end with "Kernel died": the stop, not an error
    logging.getLogger("asyncio").disabled = True
    signal.signal(signal.SIGINT, _worker_sigint)
    for name in ("SIGTERM", "SIGHUP"):  # the parent stops its workers itself; their own default is silent
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


def quiet_resource_tracker() -> None:
    """After ``kill -9`` of a run, multiprocessing's resource tracker removes the pool's semaphores
    itself and warns about them on the caller's terminal; the warning reports the kill, not a leak.
    The tracker takes this process's ``-W`` options when it starts (with the first pool)."""
    option = "ignore:resource_tracker:UserWarning"
    if option not in sys.warnoptions:
        sys.warnoptions.append(option)


def worker_pool(workers: int) -> Any:
    """A pool of ``workers`` spawned processes set up by :func:`worker_setup` (run and batch)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    quiet_resource_tracker()
    # spawn: a clean interpreter per worker (no forked threads or open solver state)
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=worker_setup, initargs=(os.getpid(),))
