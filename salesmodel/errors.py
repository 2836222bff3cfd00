"""The errors salesmodel raises: one root, one kind per cause.

The command line maps ``InputError``, ``ParamsError`` and ``InfeasibleError`` to
exit status 2 and everything else to 1, and prints only the message.
"""
from __future__ import annotations

import reprlib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "SalesmodelError",
    "InputError",
    "ParamsError",
    "InfeasibleError",
    "RunError",
    "ClusterLostError",
    "short_list",
]

_short = reprlib.Repr()
_short.maxlist = 8
_short.maxtuple = 8
_short.maxstring = 60
_short.maxother = 60


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else f"{text[:limit // 2 - 2]}...{text[-(limit // 2 - 2):]}"


def short_list(values: Iterable[Any], limit: int = 8) -> str:
    """Render a few values and say how many more there are: ``'a', 'b' (and 3 more)``."""
    values = list(values)
    # Each value is shortened reprlib-style, so a hostile 10,000-character value stays a short message.
    shown = ", ".join(_short.repr(v) if isinstance(v, str) else _cut(str(v)) for v in values[:limit])
    if len(values) > limit:
        shown += f" (and {len(values) - limit} more)"
    return shown


class SalesmodelError(Exception):
    """Root of every error salesmodel raises on purpose."""

    exit_code: int = 1


class InputError(SalesmodelError, ValueError):
    """Input data is wrong: names the file, column, rows and what was expected.

    ``failures`` optionally carries a DataFrame of failure cases
    (file, column, check, row, value) for programmatic use.
    """

    exit_code = 2

    def __init__(self, message: str, *, failures: Any = None) -> None:
        super().__init__(message)
        self.failures = failures


class ParamsError(SalesmodelError, ValueError):
    """Scenario parameters or function arguments are wrong.

    Raised for an argument (``salesmodel.domain.constraints.param_error``), it carries ``param``,
    ``func``, ``expected`` and ``value``; callers read those, never the message.
    """

    exit_code = 2
    param: str | None = None
    func: str | None = None
    expected: str | None = None
    value: Any = None


class InfeasibleError(SalesmodelError, ValueError):
    """The request cannot be met; the message states the feasible range.

    Callers read the data, never the message: ``feasible`` (the limits: the range of totals
    that could be met), ``level`` (the level column whose sharing failed, e.g. ``rep_id``),
    ``units`` (the parent units whose total could not be shared, each as ``{level column:
    id}`` down its path), ``locked`` (locked targets caused it) and ``rows`` (the 1-based rows
    of an input file to blame, once a pipeline step has named them).
    """

    exit_code = 2

    def __init__(self, message: str, *, feasible: Any = None, level: str | None = None,
                 units: tuple[dict[str, str], ...] = (), locked: bool = False,
                 rows: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.feasible = feasible
        self.level = level
        self.units = tuple(units)
        self.locked = bool(locked)
        self.rows = tuple(rows)


class RunError(SalesmodelError, RuntimeError):
    """A notebook failed during a run; keeps the evidence."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        notebook: str | None = None,
        cell_index: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
        kept_at: str | None = None,
    ) -> None:
        super().__init__(message)
        self.notebook = notebook
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        self.kept_at = kept_at


class ClusterLostError(RunError):
    """The Dask cluster a run was sent to lost a worker (or the connection to it) during ``step``;
    nothing of the run was kept."""

    def __init__(self, message: str, *, step: str, ename: str | None = None, evalue: str | None = None) -> None:
        super().__init__(message, notebook=None, ename=ename, evalue=evalue)
        self.step = step
