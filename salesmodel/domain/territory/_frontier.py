"""The disruption-balance frontier: the plan designed at each disruption limit, and the smallest limit
whose plan meets the tolerances (see :func:`salesmodel.domain.territory.design`).
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import pandas as pd

from salesmodel.domain.constraints import param_error
from salesmodel.domain.territory._design import design
from salesmodel.domain.territory._plan import TerritoryPlan
from salesmodel.domain.territory._units import DEFAULT_BALANCE

DEFAULT_FRONTIER = (0.0, 0.05, 0.10, 0.20, 0.40, 1.0)


def frontier(
    units: pd.DataFrame,
    k: int,
    *,
    current: Any,
    limits: Any = DEFAULT_FRONTIER,
    balance_on: dict[str, float] | None = DEFAULT_BALANCE,
    disruption_on: str | None = None,
    unconstrained: TerritoryPlan | None = None,
    **design_args: Any,
) -> tuple[pd.DataFrame, dict[float, TerritoryPlan]]:
    """The best balance found at each disruption limit.

    First the unconstrained plan (a fresh start, no limit, territories named after today's
    to move the least). Then, from the smallest limit up, two searches per limit: one from
    the unconstrained plan with the moves beyond the limit sent back to today's
    territories (those that cost the least balance per unit of disruption first), one from
    the plan at the limit before (it moves less than this limit allows); the better
    balanced of the two is the point, so every point is at least as balanced as the one
    before. A limit at or above the unconstrained plan's disruption takes that plan.
    ``unconstrained`` gives that plan (e.g. one searched longer); else it is designed
    here with ``design_args``.

    Returns the frontier table (one row per limit: ``max_disruption``, ``moved_share``,
    ``moved_units``, ``max_<measure>_dev``, ``within_tolerance``, ``status``,
    ``stopped_by``) and the plans by limit. Searches end on counts, so the frontier
    replays exactly.

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"unit_id": list("abcdef"), "x": [0, 1, 2, 3, 4, 5], "y": [0] * 6,
    ...                       "potential": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]})
    >>> table, plans = frontier(units, 2, current={"a": "N", "b": "N", "c": "S", "d": "S", "e": "S", "f": "S"},
    ...                         limits=[0, 0.5], balance_on={"potential": 0.0}, method="heuristic")
    >>> table[["max_disruption", "max_potential_dev", "within_tolerance"]].values.tolist()
    [[0.0, 0.3333333333333333, False], [0.5, 0.0, True]]
    """
    if isinstance(limits, (str, bytes)) or not hasattr(limits, "__iter__"):
        raise param_error("limits", "frontier", "a list of shares between 0 and 1", limits)
    limits = sorted({float(x) for x in limits})
    if not limits or any(not 0 <= x <= 1 for x in limits):
        raise param_error("limits", "frontier", "a list of shares between 0 and 1", limits)
    rows, plans, previous = [], {}, None

    def run(limit: float | None, start: TerritoryPlan | None) -> TerritoryPlan:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return design(units, k, current=current, max_disruption=limit, balance_on=balance_on,
                          disruption_on=disruption_on,
                          start=None if start is None else start.assignment[["unit_id", "territory"]], **design_args)

    free = unconstrained if unconstrained is not None else run(None, None)
    measure = disruption_on or (next(iter(free.balance_on)) if free.balance_on else "units")
    free_moved = float((free.disruption or {}).get(measure, 0.0))
    for limit in limits:
        if free_moved <= limit + 1e-12 and (previous is None or _balance_key(free) <= _balance_key(previous)):
            plan = dataclasses.replace(free, max_disruption=limit)
        else:
            plan = run(limit, free)
            if float((plan.disruption or {}).get(measure, 0.0)) > limit + 1e-9:
                plan = None  # not every move could be sent back within the limit
            if previous is not None and (plan is None or _balance_key(previous) < _balance_key(plan)):
                plan = run(limit, previous)
            elif plan is None:
                plan = run(limit, None)
        plans[limit] = plan
        previous = plan
        row: dict[str, Any] = {"max_disruption": limit,
                               "moved_share": float((plan.disruption or {}).get(measure, 0.0)),
                               "moved_units": int(plan.assignment["moved"].sum()) if "moved" in plan.assignment else 0}
        for m in plan.balance_on:
            row[f"max_{m}_dev"] = float(plan.metrics[f"{m}_dev"].abs().max())
        row["within_tolerance"] = bool(plan.feasible)
        row["status"] = plan.status
        row["stopped_by"] = str(plan.stopped_by)
        rows.append(row)
    return pd.DataFrame(rows), plans


def _balance_key(plan: TerritoryPlan) -> tuple[bool, float, float]:
    """Orders plans: meeting every tolerance first, then the largest deviation over its
    tolerance, then the objective."""
    worst = max((float(plan.metrics[f"{m}_dev"].abs().max()) / max(t, 1e-9) for m, t in plan.balance_on.items()), default=0.0)
    return (not plan.feasible, round(worst, 9), round(float(plan.objective), 9))


def smallest_meeting(table: pd.DataFrame) -> float | None:
    """The smallest disruption limit of a :func:`frontier` whose plan meets every
    requirement, or None when none does."""
    ok = table[table["within_tolerance"]]
    return float(ok["max_disruption"].min()) if len(ok) else None
