"""Where a run's parallel parts run: this machine, or the Dask cluster the run was asked to use.

The runner (``salesmodel run --scheduler ADDRESS``) connects a ``distributed.Client`` for the
run and makes it the run's cluster with :func:`running`; the forecast step then runs
statsforecast on Dask and the territory step maps its regions over the cluster
(:func:`cluster_map`). The params never name it: it says where the run runs, not what it
plans, and the tables are the same either way. ``running`` also says whether the steps
show progress bars (a terminal run) or stay quiet (tests, ``--quiet``, notebooks).

>>> current().client is None
True
>>> with running(progress=True):
...     current().progress
True
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["RunPlace", "cluster_lost", "cluster_map", "counted", "current", "running"]


@dataclass(frozen=True)
class RunPlace:
    """The run's cluster (a ``distributed.Client``; None: this machine) and whether steps show progress."""

    client: Any = None
    progress: bool = False


_HERE = RunPlace()
_PLACE: ContextVar[RunPlace | None] = ContextVar("salesmodel_run_place", default=None)


def current() -> RunPlace:
    """Where the steps of the run now running run."""
    return _PLACE.get() or _HERE


@contextmanager
def running(client: Any = None, *, progress: bool = False) -> Iterator[RunPlace]:
    """Within the block, steps run their parallel parts on ``client`` (None: here) and show progress or not."""
    place = RunPlace(client, progress)
    token = _PLACE.set(place)
    try:
        yield place
    finally:
        _PLACE.reset(token)


class _Bar:
    """One tqdm bar over every call of a runner (a frontier maps the regions once per limit)."""

    def __init__(self, desc: str, unit: str) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=0, desc=desc, unit=unit, leave=False)

    def add(self, n: int) -> None:
        self.bar.total += n
        self.bar.refresh()

    def done(self, n: int = 1) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


def counted(runner: Callable, bar: _Bar | None) -> Callable[[Callable, Iterable], list]:
    """``runner`` (``map``, a pool's ``map``) with each result counted on ``bar`` as it arrives, in order."""
    def run(function: Callable, tasks: Iterable) -> list:
        tasks = list(tasks)
        if bar is not None:
            bar.add(len(tasks))
        out = []
        for found in runner(function, tasks):
            out.append(found)
            if bar is not None:
                bar.done()
        return out

    return run


def cluster_map(client: Any, bar: _Bar | None = None) -> Callable[[Callable, Iterable], list]:
    """A ``map`` over the cluster: every task submitted at once (``client.map``), the results in the
    tasks' order (``client.gather``), each counted on ``bar`` as a worker finishes it."""
    from distributed import as_completed

    def run(function: Callable, tasks: Iterable) -> list:
        tasks = list(tasks)
        if not tasks:
            return []
        # pure=False: the tasks are frames; hashing them for keys would cost more than the names save
        futures = client.map(function, tasks, pure=False)
        if bar is not None:
            bar.add(len(futures))
            for _ in as_completed(futures):
                bar.done()
        return client.gather(futures)

    return run


@contextmanager
def progress_bar(desc: str, unit: str) -> Iterator[_Bar | None]:
    """A bar when the run shows progress, else None."""
    if not current().progress:
        yield None
        return
    bar = _Bar(desc, unit)
    try:
        yield bar
    finally:
        bar.close()


def cluster_lost(exc: BaseException | None) -> bool:
    """``exc`` (or its cause) says the cluster lost a worker or the connection to it."""
    try:
        from distributed import CancelledError
        from distributed.comm import CommClosedError
        from distributed.scheduler import KilledWorker
    except ImportError:  # pragma: no cover - without Dask no run has a cluster
        return False
    lost = (CommClosedError, KilledWorker, CancelledError)
    seen = 0
    while exc is not None and seen < 6:
        if isinstance(exc, lost) or type(exc).__name__ in {"KilledWorker", "CommClosedError", "FutureCancelledError"}:
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
