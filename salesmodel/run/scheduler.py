"""The Dask cluster of a run (``salesmodel run --scheduler ADDRESS``): connecting to it, and what
the run's record says about it.

The runner connects before anything runs (:func:`scheduler_client`: a scheduler that does not answer
is refused in one message) and makes the client the run's cluster
(:func:`salesmodel.pipeline.cluster.running`); the manifest records :func:`cluster_record`.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any

from salesmodel.errors import ParamsError
from salesmodel.pipeline import cluster
from salesmodel.schema.vocabulary import word

__all__ = ["CONNECT_TIMEOUT_S", "cluster_record", "scheduler_client"]

# How long `salesmodel run --scheduler` waits for the scheduler to answer before refusing the run.
CONNECT_TIMEOUT_S = 10.0


def scheduler_client(scheduler: Any, language: str) -> tuple[Any, bool]:
    """The run's Dask client and whether the run opened it (an address) or was given it (a client).

    Refuses, in one message and before anything runs, a run without the ``distributed`` extra or
    an address whose scheduler does not answer within CONNECT_TIMEOUT_S."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise ParamsError(word("run_scheduler_no_dask", language)) from None
    if not isinstance(scheduler, str):
        return scheduler, False
    import logging

    quiet = logging.getLogger("distributed")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # the refusal below is the one message, not Dask's retries
    try:
        client = Client(scheduler, set_as_default=True, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError, TypeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ParamsError(word("run_scheduler_unreachable", language).format(
            address=scheduler, seconds=CONNECT_TIMEOUT_S, reason=reason[:300])) from None
    finally:
        quiet.setLevel(level)
    return client, True


def _worker_peak_mb() -> float:
    """Peak resident memory of the Dask worker this runs on, in MB (run on every worker)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20), 1)


def cluster_record() -> dict[str, Any] | None:
    """Where the run's parallel parts ran, for the manifest: None (this machine), or the scheduler,
    its workers and the largest peak memory among them."""
    client = cluster.current().client
    if client is None:
        return None
    record: dict[str, Any] = {"scheduler": client.scheduler.address}
    with contextlib.suppress(Exception):  # the record is a courtesy once the tables are made
        record["workers"] = len(client.scheduler_info().get("workers", {}))
        peaks = client.run(_worker_peak_mb)
        record["peak_memory_mb_largest_worker"] = max(peaks.values()) if peaks else None
    return record
