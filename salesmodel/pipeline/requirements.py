"""Requirements the params asked for that the plan does not meet: the ``unmet_requirements`` table."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from salesmodel.domain.constraints import within_tolerance

__all__ = ["unmet_requirements"]


def _frontier_cost(points: pd.DataFrame | None, measure: str, tolerance: float) -> str:
    """What meeting a territory tolerance would cost, read from the frontier (empty without one)."""
    column = f"max_{measure}_dev"
    if points is None or points.empty or column not in points.columns:
        return ""
    ok = points[within_tolerance(points[column], tolerance)].sort_values("max_disruption")
    if len(ok):
        row = ok.iloc[0]
        return (f"; meeting it takes moving {row['moved_share']:.1%} of potential ({int(row['moved_units'])} accounts), "
                f"the frontier's limit {row['max_disruption']:.0%}")
    row = points.sort_values("max_disruption").iloc[-1]
    return (f"; no point of the frontier meets it: at its largest limit ({row['max_disruption']:.0%}, "
            f"{row['moved_share']:.1%} of potential and {int(row['moved_units'])} accounts moved) the largest "
            f"deviation is {row[column]:.1%}")


def unmet_requirements(tables: Mapping[str, pd.DataFrame], *, balance_on: Mapping[str, float],
                       max_hires_per_month: int | None, max_starts_per_month: int | None) -> pd.DataFrame:
    """Requirements the params asked for that the plan does not meet (the ``unmet_requirements`` table).

    Territory tolerances (``balance_on``: measure -> tolerance) that the proposed design breaks,
    and months the capacity plan leaves short when a hiring cap was given. Each row names the
    params key, what was asked and what was achieved. The summary step passes the params' values.
    """
    rows: list[dict[str, Any]] = []
    terr = tables.get("territory_summary")
    if terr is not None and not terr.empty:
        proposed = terr[terr["plan"] == "proposed"].iloc[0]
        for measure, tolerance in balance_on.items():
            achieved = float(proposed.get(f"max_{measure}_dev", np.nan))
            if not within_tolerance(achieved, tolerance):
                rows.append({"step": "territory", "requirement": f"territory.balance_on.{measure}",
                             "asked": float(tolerance), "achieved": achieved,
                             "message": f"territory balance on {measure}: the proposed territories are up to "
                                        f"{achieved:.1%} off the mean, the tolerance is ±{tolerance:.1%}"
                                        + _frontier_cost(tables.get("territory_frontier"), measure, tolerance)})
    cap = tables.get("capacity_plan")
    # the limit that held the hires back: the monthly hires per team, else the company's starts a month
    if max_hires_per_month is not None:
        key, limit, what = "max_hires_per_month", max_hires_per_month, "hire(s) a month"
    else:
        key, limit, what = "max_starts_per_month", max_starts_per_month, "start(s) a month in the company"
    if cap is not None and limit is not None:
        short = cap[cap["shortfall"].astype(bool) & ~cap["lead_in"].astype(bool)]
        if len(short):
            rows.append({"step": "staffing", "requirement": f"staffing.{key}", "asked": float(limit),
                         "achieved": float(len(short)),
                         "message": f"capacity: with at most {limit} {what}, {len(short)} team-month(s) of "
                                    f"the plan year stay short of the target (first {short['month'].min()})"})
    return pd.DataFrame(rows, columns=["step", "requirement", "asked", "achieved", "message"])
