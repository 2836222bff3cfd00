"""Chance: the probability of meeting a target as a function of the target.

A unit's year, if sales follow its baseline forecast, is taken as normal with the
baseline's mean and spread (months added up with a correlation between them, as
:func:`salesmodel.domain.targets.achievability` does). From that one distribution:

- :func:`chance_of` the chance of meeting a target, :func:`target_for_chance` the
  target met with a given chance;
- :func:`chance_curve` the curve (target against chance) for several units, with the
  plan's own target on it and the target at 50%;
- :func:`company_spread` the company's mean and spread from the reconciled company
  series of the baseline (so units that move together are not treated as independent);
- :func:`momentum` the momentum basis: last year plus the year-on-year change of the
  recent months, at an annual rate.

Equal-chance allocation (every child of a parent asked the same chance) is a fill of
:mod:`salesmodel.domain.targets.allocation` (``_fill_chance``). All pure.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from salesmodel.domain.targets.achievability import achievability
from salesmodel.errors import InputError

__all__ = [
    "CURVE_PROBABILITIES",
    "MONTH_CORRELATION",
    "chance_curve",
    "chance_of",
    "company_spread",
    "momentum",
    "target_for_chance",
]

#: Correlation between a unit's months when their spreads are added up (achievability's default).
MONTH_CORRELATION = 0.5
#: The chances the curve is drawn at (1% to 99%).
CURVE_PROBABILITIES = tuple(round(p, 2) for p in np.arange(0.01, 0.995, 0.01))


def chance_of(target: float | np.ndarray, mean: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """P(outcome >= target) for a normal outcome (no spread: 1 when the mean reaches the target, else 0)."""
    t, m, s = (np.asarray(v, dtype=float) for v in (target, mean, sd))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.norm.sf((t - m) / np.where(s > 0, s, np.nan))
    return np.where(s > 0, p, (m >= t).astype(float))


def target_for_chance(chance: float | np.ndarray, mean: float | np.ndarray, sd: float | np.ndarray) -> np.ndarray:
    """The target met with probability ``chance`` (0 < chance < 1): mean + sd x z, z the upper quantile."""
    p = np.asarray(chance, dtype=float)
    return np.asarray(mean, dtype=float) + np.asarray(sd, dtype=float) * stats.norm.isf(p)


def company_spread(levels: pd.DataFrame | None, plan_year: int, *,
                   correlation: float = MONTH_CORRELATION) -> tuple[float, float] | None:
    """The company's plan-year mean and spread from the reconciled company series (level ``total``).

    The months of ``baseline_forecast_levels`` at level ``total`` are added up as
    :func:`~salesmodel.domain.targets.achievability.achievability` adds them (their spreads read
    from the intervals, ``correlation`` between months). None when the table lacks the
    company series or its intervals.
    """
    if levels is None or "level" not in levels or "ds" not in levels:
        return None
    total = levels[(levels["level"] == "total") & (pd.to_datetime(levels["ds"]).dt.year == int(plan_year))]
    if total.empty or not [c for c in total.columns if c.startswith("yhat_lo_")]:
        return None
    out = achievability(pd.DataFrame({"unit": ["company"], "target": [0.0]}), total.assign(unit="company"),
                        keys="unit", correlation=correlation)
    return float(out["baseline"].iloc[0]), float(out["baseline_sd"].iloc[0])


def chance_curve(units: pd.DataFrame, *, probabilities: Sequence[float] = CURVE_PROBABILITIES) -> pd.DataFrame:
    """The chance curve of each unit: the target met with each chance, and where the plan sits.

    ``units`` has ``level``, ``unit_id``, ``baseline``, ``baseline_sd``, ``target`` (the
    plan's) and ``last_year``. Returns one row per unit and point: ``point`` is ``curve``
    (one of ``probabilities``), ``plan`` (the plan's target and its chance) or ``median``
    (the target met with a 50% chance, the baseline itself); with ``target``,
    ``probability``, ``growth_over_baseline`` and ``growth_over_last_year``.
    """
    need = ["level", "unit_id", "baseline", "baseline_sd", "target", "last_year"]
    missing = [c for c in need if c not in units.columns]
    if missing:
        raise InputError(f"chance_curve: the units table has no column {missing} (columns: {list(units.columns)}).")
    p = np.asarray(probabilities, dtype=float)
    if p.size == 0 or ((p <= 0) | (p >= 1)).any():
        raise InputError("chance_curve: the probabilities must lie strictly between 0 and 1.")
    rows = []
    for u in units.itertuples(index=False):
        mu, sd = float(u.baseline), float(u.baseline_sd)
        curve = pd.DataFrame({"point": "curve", "probability": p, "target": target_for_chance(p, mu, sd)})
        plan = pd.DataFrame({"point": ["plan"], "probability": chance_of(float(u.target), mu, sd),
                             "target": [float(u.target)]})
        median = pd.DataFrame({"point": ["median"], "probability": [0.5], "target": [mu]})
        part = pd.concat([curve, plan, median], ignore_index=True)
        part.insert(0, "unit_id", str(u.unit_id))
        part.insert(0, "level", str(u.level))
        part["baseline"], part["baseline_sd"], part["last_year"] = mu, sd, float(u.last_year)
        rows.append(part)
    out = pd.concat(rows, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["growth_over_baseline"] = np.where(out["baseline"] > 0, out["target"] / out["baseline"] - 1.0, np.nan)
        out["growth_over_last_year"] = np.where(out["last_year"] > 0, out["target"] / out["last_year"] - 1.0, np.nan)
    return out[["level", "unit_id", "point", "probability", "target", "baseline", "baseline_sd", "last_year",
                "growth_over_baseline", "growth_over_last_year"]]


def momentum(monthly: pd.DataFrame, key: str, plan_year: int, months: int) -> pd.Series:
    """Momentum of each unit: last year plus the change of its last ``months`` months over the same
    months a year before, at an annual rate (x 12 / months), never below 0.

    ``monthly`` has ``month`` (first day), ``key`` and ``amount``; only months before the
    plan year count, and "last year" is the twelve months ending with the last month of
    history (as :func:`salesmodel.domain.targets.plan.plan_units`). A unit growing fast gets more
    than its last year, one that stalled less; summed over units it is the same measure
    of the group. Needs ``months + 12`` months of history (:func:`momentum_months_available`).
    """
    hist = monthly.loc[monthly["month"] < pd.Timestamp(year=plan_year, month=1, day=1)]
    available = momentum_months_available(hist)
    if not 1 <= months <= available:
        raise InputError(f"momentum: a window of {months} month(s) needs {months + 12} months of history; "
                         f"there are {available + 12}; feasible windows: 1 to {available} months.")
    last = hist["month"].max()
    last_year_start = last - pd.DateOffset(months=11)
    recent_start = last - pd.DateOffset(months=months - 1)
    before_start, before_end = recent_start - pd.DateOffset(months=12), last - pd.DateOffset(months=12)
    m = hist["month"]
    amount = hist["amount"].astype(float)
    by = hist[key]
    ly = amount.where(m >= last_year_start, 0.0).groupby(by).sum()
    recent = amount.where(m >= recent_start, 0.0).groupby(by).sum()
    before = amount.where((m >= before_start) & (m <= before_end), 0.0).groupby(by).sum()
    return (ly + (recent - before) * 12.0 / months).clip(lower=0.0).rename("momentum")


def momentum_months_available(monthly: pd.DataFrame) -> int:
    """The longest momentum window the history allows (its months less the twelve of the year before)."""
    if monthly.empty:
        return 0
    first, last = monthly["month"].min(), monthly["month"].max()
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    return max(int(span) - 12, 0)
