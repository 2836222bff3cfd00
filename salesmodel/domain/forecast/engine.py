"""Where the models run: this machine (statsforecast's processes) or a Dask cluster.

On Dask, statsforecast's own distributed backend (fugue) fits the series on the
workers; nothing here schedules work itself. The cluster is a running Dask scheduler
named by its address (``forecast.scheduler`` in the params), or the Dask client already
active in the session.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.errors import ParamsError

#: Where the forecast runs. Mirrors params.ForecastParams.engine.
ENGINES: tuple[str, ...] = ("local", "dask")


def check_engine(engine: str, scheduler: str | None, who: str) -> None:
    """Raise :class:`ParamsError` for an unknown engine or a scheduler given without Dask."""
    if engine not in ENGINES:
        raise param_error("engine", who, f"one of {', '.join(ENGINES)}", engine)
    if scheduler is not None and engine != "dask":
        raise param_error("scheduler", who, "None unless engine='dask'", scheduler, after=f" (engine={engine!r})")
    if scheduler is not None and (not isinstance(scheduler, str) or not scheduler.strip()):
        raise param_error("scheduler", who, "a Dask scheduler address such as 'tcp://host:8786'", scheduler)


@contextlib.contextmanager
def dask_session(engine: str, scheduler: str | None, who: str) -> Iterator[None]:
    """Within the block, Dask work goes to ``scheduler`` (or the session's active client)."""
    if engine != "dask":
        yield
        return
    try:
        from distributed import Client, get_client
    except ImportError:
        raise ParamsError(
            f"The 'engine' parameter of {who} is 'dask', but Dask is not installed: "
            "install salesmodel[distributed]."
        ) from None
    if scheduler is None:
        try:
            get_client()
        except ValueError:
            raise ParamsError(
                f"The 'engine' parameter of {who} is 'dask', but no scheduler was given and no Dask client is active: "
                "set forecast.scheduler to the cluster's address (e.g. 'tcp://host:8786')."
            ) from None
        yield
        return
    try:
        client = Client(scheduler, set_as_default=True, timeout="20s")
    except OSError as exc:
        raise ParamsError(f"The 'scheduler' parameter of {who} names no reachable Dask scheduler ({scheduler!r}): {exc}") from None
    with client:
        yield


def dask_frame(df: pd.DataFrame):
    """The long frame as a Dask data frame, a few partitions per worker, series kept whole."""
    import dask.dataframe as dd
    from distributed import get_client

    workers = max(len(get_client().scheduler_info().get("workers", {})), 1)
    n = df["unique_id"].nunique()
    parts = max(min(2 * workers, n), 1)
    # Partition on whole series (sorted ids cut in equal runs): fugue groups by unique_id anyway.
    return dd.from_pandas(df.reset_index(drop=True), npartitions=parts, sort=False)
