"""Targets: exact, explainable decomposition down the organisation and the calendar.

One module per noun: ``allocation`` (decompose, cascade, largest_remainder),
``phasing`` (split_over_time, weekday_weights), ``raking`` (rake), ``commitments``
(reconcile, reconcile_commitments), ``budget`` (budget_totals, expense_budget), ``achievability``; ``plan`` assembles them into the plan tables (units
from the inputs, the company total, the cascade, the phased plans). All pure:
DataFrames and plain values in, DataFrames out. Tracking actuals against the plan is
:mod:`salesmodel.domain.tracking` (one home: tracking builds on targets, never the reverse).
"""
from __future__ import annotations

from salesmodel.domain.targets.achievability import achievability
from salesmodel.domain.targets.allocation import cascade, decompose, largest_remainder
from salesmodel.domain.targets.budget import budget_totals, expense_budget
from salesmodel.domain.targets.commitments import reconcile, reconcile_commitments
from salesmodel.domain.targets.phasing import split_over_time, weekday_weights
from salesmodel.domain.targets.plan import (
    LEVEL_COLUMNS,
    Plan,
    build_plan,
    company_total,
    monthly_history,
    naive_forecast,
    plan_units,
    rollup,
    seasonal_month_weights,
)
from salesmodel.domain.targets.raking import RakeResult, rake

__all__ = [
    "LEVEL_COLUMNS",
    "Plan",
    "RakeResult",
    "achievability",
    "budget_totals",
    "build_plan",
    "cascade",
    "company_total",
    "decompose",
    "expense_budget",
    "largest_remainder",
    "monthly_history",
    "naive_forecast",
    "plan_units",
    "rake",
    "reconcile",
    "reconcile_commitments",
    "rollup",
    "seasonal_month_weights",
    "split_over_time",
    "weekday_weights",
]
